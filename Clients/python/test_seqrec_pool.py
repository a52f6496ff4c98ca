#!/usr/bin/env python3
"""Tests of seqrec_pool.py: the rendezvous hash (the same vectors as the Swift client's, checked by
Tests/SeqRecServerTests/RendezvousAgreementTests.swift), the retry budget, back-off, and failover
against in-process fake replicas that speak the protocol (connect refused, NOT_PROCESSED, connection
lost with the request unanswered, GOAWAY OK and UNAVAILABLE).

Run: python3 -m unittest -v test_seqrec_pool   (from Clients/python; no third-party packages)
"""

import random
import socket
import struct
import threading
import time
import unittest

import seqrec_client as sc
import seqrec_pool as sp

# key, endpoints, expected order: computed with Sources/SeqRecClient/Rendezvous.swift.
SWIFT_VECTORS = [
    ("session-1", ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"], [1, 2, 0]),
    ("session-2", ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"], [1, 0, 2]),
    ("", ["a:1", "b:2"], [0, 1]),
    ("kundin-ä", ["[::1]:7878", "10.0.0.2:7878", "10.0.0.3:7878", "10.0.0.4:7878"], [2, 1, 0, 3]),
]


def hello_ack(server_id="fake"):
    body = struct.pack(">H", 1) + b"".join(struct.pack(">I", sc.DEFAULT_LIMITS[name]) for name in sc.LIMIT_ORDER)
    return sc.encode_frame(sc.HELLO_ACK, 0, body + sc._str16(server_id, "server_id"))


def response(request_id, item):
    body = (sc._str16("fake", "model") + struct.pack(">IB", 1, 0) + struct.pack(">II", 1, item)
            + struct.pack("<f", 1.0) + struct.pack(">I", 0))
    return sc.encode_frame(sc.RECOMMEND_RESPONSE, request_id, body)


def error(request_id, status, message, not_processed):
    body = struct.pack(">H", status) + sc._str16(message, "message")
    return sc.encode_frame(sc.ERROR, request_id, body, flags=sc.FLAG_NOT_PROCESSED if not_processed else 0)


def goaway(status, message):
    return sc.encode_frame(sc.GOAWAY, 0, struct.pack(">H", status) + sc._str16(message, "message"))


class FakeReplica:
    """Answers HELLO and RECOMMEND; `behaviour(n)` decides the n-th RECOMMEND (0-based, over all
    connections): "ok" (items [replica id]), "not_processed", "invalid", "drop" (close unanswered),
    "goaway_unavailable" (GOAWAY UNAVAILABLE, then ERROR NOT_PROCESSED as a draining server does),
    "ok_then_goaway_ok" (answer, then GOAWAY OK and close as a connection at its maximum age)."""

    def __init__(self, ident, behaviour=lambda n: "ok"):
        self.ident, self.behaviour = ident, behaviour
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.endpoint = f"127.0.0.1:{self.port}"
        self.connections = 0
        self.recommends = 0
        self.answered = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn, size):
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _serve(self, conn):
        with conn:
            if self._read(conn, len(sc.PREFACE)) != sc.PREFACE:
                return
            while True:
                header = self._read(conn, sc.HEADER_SIZE)
                if header is None:
                    return
                frame_type, _, request_id, _, length = sc.decode_header(header)
                if length and self._read(conn, length) is None:
                    return
                if frame_type == sc.HELLO:
                    conn.sendall(hello_ack(f"replica-{self.ident}"))
                    continue
                if frame_type != sc.RECOMMEND:
                    continue
                with self._lock:
                    action = self.behaviour(self.recommends)
                    self.recommends += 1
                if action == "ok":
                    conn.sendall(response(request_id, self.ident))
                    self.answered += 1
                elif action == "ok_then_goaway_ok":
                    conn.sendall(response(request_id, self.ident) + goaway(0, "connection reached its maximum age"))
                    self.answered += 1
                    return
                elif action == "ok_then_goaway_unavailable":
                    conn.sendall(response(request_id, self.ident) + goaway(14, "server is shutting down"))
                    self.answered += 1
                elif action == "not_processed":
                    conn.sendall(error(request_id, 8, "queue full", True))
                elif action == "invalid":
                    conn.sendall(error(request_id, 3, "k is 0", False))
                elif action == "goaway_unavailable":
                    conn.sendall(goaway(14, "server is shutting down") + error(request_id, 14, "draining", True))
                elif action == "drop":
                    return


def dead_endpoint():
    """An address nothing listens on (bound, then closed)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"127.0.0.1:{port}"


def key_preferring(endpoints, wanted_first):
    """A session key whose rendezvous order starts with endpoint index `wanted_first`."""
    names = [sp.endpoint_name(*sp.parse_endpoint(e)) for e in endpoints]
    for n in range(10000):
        if sp.rendezvous_order(f"s{n}", names)[0] == wanted_first:
            return f"s{n}"
    raise AssertionError("no key found")


class RendezvousTests(unittest.TestCase):
    def test_same_order_as_the_swift_client(self):
        for key, endpoints, expected in SWIFT_VECTORS:
            self.assertEqual(sp.rendezvous_order(key, endpoints), expected, key)

    def test_spread_and_minimal_movement(self):
        endpoints = ["10.0.0.1:7878", "10.0.0.2:7878", "10.0.0.3:7878"]
        owners = [sp.rendezvous_order(f"session-{n}", endpoints)[0] for n in range(3000)]
        for index in range(3):
            self.assertGreater(owners.count(index), 850)  # 1000 expected
        # Removing replica 2 moves exactly the sessions it owned; the others keep theirs.
        two = endpoints[:2]
        for n, owner in enumerate(owners):
            new_owner = sp.rendezvous_order(f"session-{n}", two)[0]
            if owner != 2:
                self.assertEqual(new_owner, owner)
            else:
                self.assertEqual(new_owner, sp.rendezvous_order(f"session-{n}", endpoints)[1])

    def test_bytes_and_str_keys_agree(self):
        self.assertEqual(sp.rendezvous_order("abc", ["a:1", "b:1", "c:1"]),
                         sp.rendezvous_order(b"abc", ["a:1", "b:1", "c:1"]))

    def test_endpoint_parsing(self):
        self.assertEqual(sp.parse_endpoint("127.0.0.1:7878"), ("127.0.0.1", 7878))
        self.assertEqual(sp.parse_endpoint("[::1]:7878"), ("::1", 7878))
        self.assertEqual(sp.endpoint_name("::1", 7878), "[::1]:7878")
        for bad in ["localhost", "host:", ":80", "h:0", "h:65536", "h:x", "[::1]7878"]:
            with self.assertRaises(ValueError, msg=bad):
                sp.parse_endpoint(bad)
        with self.assertRaises(ValueError):
            sp.FailoverClient(["a:1", "a:1"])
        with self.assertRaises(ValueError):
            sp.FailoverClient([])
        with self.assertRaises(ValueError):
            sp.FailoverClient(["a:1"], max_attempts=0)


class BudgetAndBackoffTests(unittest.TestCase):
    def test_budget_allows_reserve_plus_a_tenth_of_the_calls(self):
        budget = sp.RetryBudget(ratio=0.1, reserve=10)
        allowed = 0
        for _ in range(1000):
            budget.deposit()
            while budget.withdraw():
                allowed += 1
        # The reserve of 10 (the first deposit finds the bucket full), then one per ten later calls.
        self.assertEqual(allowed, 10 + 999 // 10)
        with self.assertRaises(ValueError):
            sp.RetryBudget(ratio=-1)

    def test_failing_fleet_gets_at_most_ten_percent_extra(self):
        attempts = []

        def refuse(host, port, timeout):
            attempts.append(port)
            raise ConnectionRefusedError(111, "refused")

        client = sp.FailoverClient(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"], max_attempts=3,
                                   connect=refuse, sleep=lambda s: None)
        failures = 0
        for n in range(1000):
            with self.assertRaises(sp.CallFailed):
                client.recommend([1], session_key=f"k{n}")
            failures += 1
        self.assertEqual(failures, 1000)
        self.assertLessEqual(len(attempts), 1000 + 10 + 100)
        self.assertEqual(client.stats["retries"], len(attempts) - 1000)
        self.assertGreater(client.stats["budget_exhausted"], 800)

    def test_backoff_doubles_with_jitter_up_to_the_cap(self):
        health = sp.EndpointHealth(0.1, 1.0, random.Random(7))
        for failures, base in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
            while health.consecutive_failures < failures:
                health.record_failure(100.0)
            self.assertGreaterEqual(health.down_until - 100.0, base / 2)
            self.assertLess(health.down_until - 100.0, base)
            self.assertFalse(health.is_healthy(100.0))
            self.assertTrue(health.is_healthy(100.0 + base))
        health.record_success()
        self.assertTrue(health.is_healthy(0.0))
        self.assertEqual(health.consecutive_failures, 0)


class FailoverTests(unittest.TestCase):
    def setUp(self):
        self.replicas = []

    def tearDown(self):
        for replica in self.replicas:
            replica.close()

    def replica(self, ident, behaviour=lambda n: "ok"):
        replica = FakeReplica(ident, behaviour)
        self.replicas.append(replica)
        return replica

    def test_a_session_sticks_to_its_replica_and_sessions_spread(self):
        replicas = [self.replica(i) for i in (1, 2, 3)]
        with sp.FailoverClient([r.endpoint for r in replicas]) as client:
            for key in ["alpha", "beta", "gamma"]:
                first = client.recommend([1], session_key=key).items
                for _ in range(5):
                    self.assertEqual(client.recommend([1, 2], session_key=key).items, first)
            for n in range(60):
                client.recommend([1], session_key=f"user-{n}")
            self.assertTrue(all(r.answered > 5 for r in replicas), [r.answered for r in replicas])
            # Without a key: round-robin.
            seen = {client.recommend([1]).items[0] for _ in range(3)}
            self.assertEqual(seen, {1, 2, 3})
        self.assertEqual(client.stats["retries"], 0)

    def test_connect_refused_fails_over_and_backs_off(self):
        live = self.replica(2)
        endpoints = [dead_endpoint(), live.endpoint]
        key = key_preferring(endpoints, 0)
        connects = []

        def connect(host, port, timeout):
            connects.append(port)
            return sc.Client(host, port, timeout=timeout)

        now = [1000.0]
        client = sp.FailoverClient(endpoints, connect=connect, clock=lambda: now[0])
        self.assertEqual(client.recommend([1], session_key=key).items, [2])
        self.assertEqual(client.stats[sp.REPLICA_FAILED], 1)
        self.assertEqual(client.healthy_endpoints(), [live.endpoint])
        # In back-off: the next calls go straight to the live replica, no connect to the dead one.
        before = len(connects)
        for _ in range(3):
            self.assertEqual(client.recommend([1], session_key=key).items, [2])
        self.assertEqual(len(connects), before)
        self.assertEqual(client.stats["retries"], 1)
        # After the back-off the dead one is probed first again (and fails over again).
        now[0] += 1.0
        self.assertEqual(client.recommend([1], session_key=key).items, [2])
        self.assertEqual(client.stats[sp.REPLICA_FAILED], 2)
        client.close()

    def test_not_processed_goes_to_the_next_replica_without_marking_it_down(self):
        busy = self.replica(1, lambda n: "not_processed")
        other = self.replica(2)
        endpoints = [busy.endpoint, other.endpoint]
        with sp.FailoverClient(endpoints) as client:
            self.assertEqual(client.recommend([1], session_key=key_preferring(endpoints, 0)).items, [2])
            self.assertEqual(client.stats[sp.NEXT_REPLICA], 1)
            self.assertEqual(len(client.healthy_endpoints()), 2)

    def test_connection_lost_with_the_request_unanswered_is_retried_elsewhere(self):
        dying = self.replica(1, lambda n: "drop")
        other = self.replica(2)
        endpoints = [dying.endpoint, other.endpoint]
        with sp.FailoverClient(endpoints) as client:
            self.assertEqual(client.recommend([1], session_key=key_preferring(endpoints, 0)).items, [2])
            self.assertEqual(client.stats[sp.REPLICA_FAILED], 1)
            self.assertEqual(client.healthy_endpoints(), [other.endpoint])

    def test_drain_goaway_moves_on_and_maximum_age_goaway_reconnects_to_the_same_replica(self):
        draining = self.replica(1, lambda n: "goaway_unavailable")
        other = self.replica(2)
        endpoints = [draining.endpoint, other.endpoint]
        with sp.FailoverClient(endpoints) as client:
            self.assertEqual(client.recommend([1], session_key=key_preferring(endpoints, 0)).items, [2])
            self.assertEqual(client.stats[sp.NEXT_REPLICA], 1)
            self.assertEqual(client.healthy_endpoints(), [other.endpoint])
        aging, spare = self.replica(3, lambda n: "ok_then_goaway_ok"), self.replica(4)
        with sp.FailoverClient([aging.endpoint, spare.endpoint]) as client:
            key = key_preferring([aging.endpoint, spare.endpoint], 0)
            for _ in range(4):
                self.assertEqual(client.recommend([1], session_key=key).items, [3])
            # Each GOAWAY OK was seen before the next send: a new connection, no retry, no failover.
            self.assertEqual(aging.connections, 4)
            self.assertEqual(client.stats["retries"], 0)
            self.assertEqual(spare.answered, 0)

    def test_drain_goaway_waiting_on_an_idle_connection_skips_the_replica_without_a_retry(self):
        # The first answer comes with GOAWAY UNAVAILABLE behind it (the replica started draining).
        draining = self.replica(1, lambda n: "ok_then_goaway_unavailable")
        other = self.replica(2)
        endpoints = [draining.endpoint, other.endpoint]
        key = key_preferring(endpoints, 0)
        with sp.FailoverClient(endpoints) as client:
            self.assertEqual(client.recommend([1], session_key=key).items, [1])
            self.assertEqual(client.recommend([1], session_key=key).items, [2])
            self.assertEqual(client.stats["skipped_draining"], 1)
            self.assertEqual(client.stats["retries"], 0)
            self.assertEqual(draining.recommends, 1)
            self.assertEqual(client.healthy_endpoints(), [other.endpoint])

    def test_retry_rules(self):
        refused = sc.SeqRecError(8, "queue full", not_processed=True, request_id=3)
        self.assertEqual(sp.classify(refused, None), sp.NEXT_REPLICA)
        self.assertEqual(sp.classify(refused, 14), sp.NEXT_REPLICA)
        self.assertEqual(sp.classify(refused, 0), sp.SAME_REPLICA)
        self.assertEqual(sp.classify(sc.SeqRecError(3, "bad k", request_id=3), None), sp.NEVER)
        self.assertEqual(sp.classify(sc.SeqRecError(4, "deadline", request_id=3), None), sp.NEVER)
        self.assertEqual(sp.classify(sc.SeqRecError(13, "connection closed by server: bad frame"), None),
                         sp.REPLICA_FAILED)
        self.assertEqual(sp.classify(ConnectionResetError(104, "reset"), None), sp.REPLICA_FAILED)
        self.assertEqual(sp.classify(socket.timeout("timed out"), None), sp.REPLICA_FAILED)
        self.assertEqual(sp.classify(sc.ProtocolViolation("server closed the connection"), None), sp.REPLICA_FAILED)
        self.assertEqual(sp.classify(ValueError("k"), None), sp.NEVER)

    def test_an_error_that_is_the_answer_is_not_retried(self):
        wrong = self.replica(1, lambda n: "invalid")
        other = self.replica(2)
        with sp.FailoverClient([wrong.endpoint, other.endpoint]) as client:
            with self.assertRaises(sc.SeqRecError) as caught:
                client.recommend([1], session_key=key_preferring([wrong.endpoint, other.endpoint], 0))
            self.assertEqual(caught.exception.status_name, "INVALID_ARGUMENT")
            self.assertEqual(other.answered, 0)
            self.assertEqual(client.stats["retries"], 0)

    def test_one_endpoint_behind_a_balancer_is_retried_on_a_new_connection(self):
        # Behind HAProxy the only endpoint is the balancer: a lost connection is retried through it.
        flaky = self.replica(1, lambda n: "drop" if n == 0 else "ok")
        with sp.FailoverClient([flaky.endpoint], initial_backoff=0.0, maximum_backoff=0.0) as client:
            self.assertEqual(client.recommend([1], session_key="k").items, [1])
            self.assertEqual(flaky.connections, 2)
            self.assertEqual(client.stats["retries"], 1)

    def test_max_attempts_bounds_a_call(self):
        failing = [self.replica(i, lambda n: "not_processed") for i in (1, 2, 3, 4)]
        sleeps = []
        with sp.FailoverClient([r.endpoint for r in failing], max_attempts=2, sleep=sleeps.append) as client:
            with self.assertRaises(sp.CallFailed) as caught:
                client.recommend([1], session_key="k")
            self.assertEqual(len(caught.exception.errors), 2)
            self.assertEqual(sum(r.recommends for r in failing), 2)


if __name__ == "__main__":
    unittest.main()
