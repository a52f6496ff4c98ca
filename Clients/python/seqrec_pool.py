#!/usr/bin/env python3
"""Several SeqRec replicas behind one client: session affinity, failover and a retry budget
(docs/DEPLOY.md). Standard library only; uses seqrec_client.py for the wire protocol.

    from seqrec_pool import FailoverClient
    with FailoverClient(["10.0.0.1:7878", "10.0.0.2:7878", "10.0.0.3:7878"]) as client:
        result = client.recommend([1, 2, 3], k=10, session_key="session-42")

- Affinity: a rendezvous (highest-random-weight) hash of the session key orders the replicas, so a
  session's clicks reach the replica that holds its state while that replica is healthy; adding or
  removing a replica moves only the sessions it wins or won. The hash is the Swift client's
  (FNV-1a 64 + the splitmix64 finaliser over "host:port"), so Swift and Python gateways agree.
- Failover: every SeqRec call is idempotent. A connect failure, a connection lost with the request
  unanswered, or an ERROR flagged NOT_PROCESSED sends the call to the next replica; a graceful GOAWAY
  (maximum connection age, idle) reconnects to the same replica, while GOAWAY UNAVAILABLE (drain)
  moves on.
- Retry budget: each call deposits `ratio` (0.1), each retry withdraws 1, starting from (and capped
  at) `reserve`, so retries add at most ~10 % to the load of a failing fleet.
- Health: a replica whose connection failed is avoided for an exponential back-off with jitter
  (initial × 2^(failures−1), capped); it is tried again, first, once the back-off has passed.

One call at a time per FailoverClient (like Client); use one per thread.
"""

import inspect
import random
import socket
import select
import time
from typing import Callable, Dict, List, Optional, Sequence, Union

import seqrec_client as sc

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x00000100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF


def _fnv1a(data: bytes, seed: int) -> int:
    value = seed
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return value


def _mix(value: int) -> int:
    """The splitmix64 finaliser: spreads FNV's weak low bits over the whole word."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def rendezvous_order(key: Union[str, bytes], endpoints: Sequence[str]) -> List[int]:
    """Indices of `endpoints`, best first for `key`; ties (vanishingly rare) go to the lower index."""
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    key_hash = _fnv1a(raw, _FNV_OFFSET)
    weights = [_mix(_fnv1a(name.encode("utf-8"), key_hash)) for name in endpoints]
    return sorted(range(len(endpoints)), key=lambda index: (-weights[index], index))


def parse_endpoint(text: str):
    """("host", port) of "host:port" or "[v6]:port"; ValueError names what is wrong."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"endpoint '{text}' is not host:port (IPv6: [addr]:port)")
    return host, int(port)


def endpoint_name(host: str, port: int) -> str:
    """The name the rendezvous hash uses (the Swift client's Endpoint.description)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class RetryBudget:
    """Counted in thousandths of a retry, so ten deposits of 0.1 make exactly one."""

    UNIT = 1000

    def __init__(self, ratio: float = 0.1, reserve: float = 10.0):
        if not 0 <= ratio <= 100 or not 0 <= reserve <= 1_000_000:
            raise ValueError(f"retry budget ratio must be 0...100 and reserve 0...1000000, got {ratio}, {reserve}")
        self.per_call = round(ratio * self.UNIT)
        self.capacity = max(self.UNIT, round(reserve * self.UNIT))
        self.balance = round(reserve * self.UNIT)

    def deposit(self):
        """A call is being made (its first attempt)."""
        self.balance = min(self.capacity, self.balance + self.per_call)

    def withdraw(self) -> bool:
        """True (and the retry is paid for) when the budget allows one more retry."""
        if self.balance < self.UNIT:
            return False
        self.balance -= self.UNIT
        return True


class EndpointHealth:
    """One replica's health as this client sees it: up, or down until its back-off has passed."""

    def __init__(self, initial_backoff: float, maximum_backoff: float, rng: random.Random):
        self.initial_backoff, self.maximum_backoff, self._rng = initial_backoff, maximum_backoff, rng
        self.consecutive_failures = 0
        self.down_until = 0.0

    def is_healthy(self, now: float) -> bool:
        return self.down_until <= now

    def record_success(self):
        self.consecutive_failures = 0
        self.down_until = 0.0

    def record_failure(self, now: float):
        self.consecutive_failures += 1
        backoff = min(self.maximum_backoff, self.initial_backoff * 2 ** min(self.consecutive_failures - 1, 30))
        # Jitter in [½, 1) × back-off, so clients that failed together do not return together.
        self.down_until = now + backoff * (0.5 + 0.5 * self._rng.random())


# What went wrong with one attempt, and what it means for the call and the replica.
NEVER, NEXT_REPLICA, SAME_REPLICA, REPLICA_FAILED = "never", "next", "same", "failed"


def classify(error: BaseException, goaway_status: Optional[int]) -> str:
    """The retry rule of one failed attempt. `goaway_status`: the GOAWAY the connection had received."""
    if isinstance(error, sc.SeqRecError):
        if error.request_id == 0 and not error.not_processed:
            return REPLICA_FAILED  # a fatal GOAWAY: the connection ended, the request unanswered
        if not error.not_processed:
            return NEVER  # the answer (bad request, not found, deadline passed after running)
        if goaway_status == 0:
            return SAME_REPLICA  # max connection age / idle: the replica is fine, reconnect
        return NEXT_REPLICA  # overload, draining: not run, try another replica now
    if isinstance(error, (sc.ProtocolViolation, OSError)):
        return REPLICA_FAILED  # connect failure, reset, timeout, EOF with the request unanswered
    return NEVER


class _Draining(Exception):
    """The cached connection to a replica holds a drain GOAWAY (UNAVAILABLE): skip the replica."""


class CallFailed(Exception):
    """Every attempt the retry rules and the budget allowed failed; `errors` lists them in order."""

    def __init__(self, errors: List[BaseException]):
        self.errors = errors
        super().__init__(f"call failed after {len(errors)} attempt(s): " + "; ".join(repr(e) for e in errors))


class FailoverClient:
    """Calls spread over several replicas with affinity, failover, a retry budget and health."""

    def __init__(self, endpoints: Sequence[str], timeout: float = 5.0, max_attempts: int = 3,
                 retry_budget: Optional[RetryBudget] = None, initial_backoff: float = 0.1,
                 maximum_backoff: float = 5.0, auth_token: bytes = b"",
                 connect: Optional[Callable[[str, int, float], "sc.Client"]] = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 rng: Optional[random.Random] = None):
        if not endpoints:
            raise ValueError("a FailoverClient needs at least one endpoint")
        self.addresses = [parse_endpoint(text) for text in endpoints]
        self.names = [endpoint_name(host, port) for host, port in self.addresses]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"endpoints must be distinct, got {list(endpoints)}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts counts the first attempt and must be at least 1, got {max_attempts}")
        if not 0 <= initial_backoff <= maximum_backoff:
            raise ValueError("need 0 <= initial_backoff <= maximum_backoff")
        self.timeout, self.max_attempts = timeout, max_attempts
        self.budget = retry_budget or RetryBudget()
        self._connect = connect or (lambda host, port, t: sc.Client(host, port, timeout=t, auth_token=auth_token))
        self._clock, self._sleep = clock, sleep
        rng = rng or random.Random()
        self.health = [EndpointHealth(initial_backoff, maximum_backoff, rng) for _ in self.addresses]
        self._clients: List[Optional[sc.Client]] = [None] * len(self.addresses)
        self._goaway: List[Optional[int]] = [None] * len(self.addresses)
        self._rotation = 0
        # Counters for callers and tests: calls, retries, and why attempts failed.
        self.stats: Dict[str, int] = {"calls": 0, "retries": 0, "budget_exhausted": 0, "reconnects": 0,
                                      "failed_calls": 0, "skipped_draining": 0, NEXT_REPLICA: 0, SAME_REPLICA: 0, REPLICA_FAILED: 0}
        self.last_endpoint: Optional[str] = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for index in range(len(self._clients)):
            self._drop(index)

    def healthy_endpoints(self) -> List[str]:
        now = self._clock()
        return [name for name, health in zip(self.names, self.health) if health.is_healthy(now)]

    # -- calls

    def recommend(self, session, session_key: Optional[Union[str, bytes]] = None, **options) -> "sc.RecommendResult":
        """Client.recommend on the replica the session key picks (round-robin without a key)."""
        def call(client):
            if session_key is not None and _accepts_session_key(client):
                return client.recommend(session, session_key=session_key, **options)
            return client.recommend(session, **options)
        return self._perform(session_key, call)

    def health_of(self, service: str = "") -> str:
        return self._perform(None, lambda client: client.health(service))

    def models(self, model: str = ""):
        return self._perform(None, lambda client: client.models(model))

    # -- failover

    def candidates(self, key) -> List[int]:
        """Replica indices in the order to try them: healthy ones first, the rest as a last resort."""
        if key is not None:
            order = rendezvous_order(key, self.names)
        else:
            start = self._rotation % len(self.names)
            self._rotation += 1
            order = list(range(start, len(self.names))) + list(range(start))
        now = self._clock()
        return [i for i in order if self.health[i].is_healthy(now)] + \
               [i for i in order if not self.health[i].is_healthy(now)]

    def _perform(self, key, call):
        self.stats["calls"] += 1
        self.budget.deposit()
        order = self.candidates(key)
        errors: List[BaseException] = []
        position = 0
        attempt = 1
        while True:
            index = order[position % len(order)]
            goaway = None
            try:
                client = self._client(index)
                self.last_endpoint = self.names[index]
                answer = call(client)
                self.health[index].record_success()
                if _goaway_status(client) is not None:
                    self._drop(index)  # it finishes nothing more; the next call reconnects
                return answer
            except _Draining:
                # A drain GOAWAY was waiting on the idle connection: nothing was sent, so this is
                # no retry; the replica is avoided for its back-off and the next one is asked.
                self.stats["skipped_draining"] += 1
                position += 1
            except (sc.SeqRecError, sc.ProtocolViolation, OSError) as error:
                client = self._clients[index]
                goaway = _goaway_status(client) if client is not None else None
                rule = classify(error, goaway)
                errors.append(error)
                if rule == NEVER:
                    raise
                self.stats[rule] += 1
                self._drop(index)
                if rule == REPLICA_FAILED:
                    self.health[index].record_failure(self._clock())
                elif rule == NEXT_REPLICA and goaway is not None:
                    # GOAWAY UNAVAILABLE: the replica drains; new connections would be refused soon.
                    self.health[index].record_failure(self._clock())
                if attempt >= self.max_attempts:
                    self.stats["failed_calls"] += 1
                    raise CallFailed(errors) from error
                if not self.budget.withdraw():
                    self.stats["budget_exhausted"] += 1
                    self.stats["failed_calls"] += 1
                    raise CallFailed(errors) from error
                self.stats["retries"] += 1
                attempt += 1
                if rule != SAME_REPLICA:
                    position += 1
                    if position % len(order) == 0:
                        # Every replica tried once: wait as the server advised (at least 1 ms per attempt).
                        advice = getattr(error, "retry_after_ms", 0) or 0
                        self._sleep(max(advice, attempt) / 1000.0)

    def _client(self, index: int) -> "sc.Client":
        client = self._clients[index]
        if client is not None and not _usable(client):
            draining = _goaway_status(client) == 14
            self._drop(index)
            client = None
            self.stats["reconnects"] += 1
            if draining:
                self.health[index].record_failure(self._clock())
                raise _Draining()
        if client is None:
            host, port = self.addresses[index]
            client = self._connect(host, port, self.timeout)
            self._clients[index] = client
        return client

    def _drop(self, index: int):
        client, self._clients[index] = self._clients[index], None
        if client is not None:
            try:
                client.close()
            except OSError:
                pass


def _accepts_session_key(client) -> bool:
    """Whether this seqrec_client speaks protocol v2's SESSION_KEY extension (docs/PROTOCOL.md)."""
    try:
        return "session_key" in inspect.signature(client.recommend).parameters
    except (TypeError, ValueError):
        return False


def _goaway_status(client) -> Optional[int]:
    """The status of a graceful GOAWAY the connection received (0 OK, 14 UNAVAILABLE), else None."""
    closed = getattr(client, "_closed_by_server", None)
    if not closed:
        return None
    # Client keeps the GOAWAY as "server sent GOAWAY <STATUS NAME>: <message>".
    name = closed.partition("GOAWAY ")[2].partition(":")[0]
    return sc.STATUS_NAMES.index(name) if name in sc.STATUS_NAMES else 14


def _usable(client) -> bool:
    """False when the connection was closed or a GOAWAY or end of stream is waiting on the socket.
    One request at a time means nothing else can arrive between calls, so the socket is read here
    without blocking: the next request then goes on a fresh connection instead of being refused."""
    sock = getattr(client, "_sock", None)
    if sock is None or _goaway_status(client) is not None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    if not readable:
        return True
    try:
        frame_type, _, _, _, body = client._read_frame()
        client._handle_unexpected(frame_type, body)
    except (sc.SeqRecError, sc.ProtocolViolation, OSError, socket.timeout):
        return False
    return _goaway_status(client) is None and getattr(client, "_sock", None) is not None
