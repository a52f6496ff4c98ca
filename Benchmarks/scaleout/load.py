"""Client load for the scale-out harness: threads, each with its own FailoverClient (through HAProxy, or
straight to the replicas with session affinity), sessions growing one click at a time, every call
accounted for (answered, failed, still pending when the load stopped)."""

import random
import threading
import time

import seqrec_pool as sp


class LoadStats:
    def __init__(self):
        self.lock = threading.Lock()
        self.issued = 0
        self.answered = 0
        self.failures = []  # (kind, repr(error))
        self.latencies = []  # seconds, answered calls
        self.client_stats = {}

    def merge_client(self, stats: dict):
        with self.lock:
            for key, value in stats.items():
                self.client_stats[key] = self.client_stats.get(key, 0) + value

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


class SteadyLoad:
    """`threads` per kind ("haproxy": one endpoint, the balancer; "direct": every replica, affinity),
    each sending about `rate` calls per second until stop()."""

    def __init__(self, haproxy_endpoint, replica_endpoints, items: int, threads: int = 3, rate: float = 60.0,
                 sessions_per_thread: int = 20, clicks: int = 20, seed: int = 1):
        self.stats = {"haproxy": LoadStats(), "direct": LoadStats()}
        self.stop_event = threading.Event()
        self.workers = []
        for kind, endpoints in (("haproxy", [haproxy_endpoint]), ("direct", replica_endpoints)):
            for number in range(threads):
                rng = random.Random(seed * 1000 + number + (500 if kind == "direct" else 0))
                worker = threading.Thread(target=self._run, daemon=True,
                                          args=(kind, number, endpoints, items, rate, sessions_per_thread, clicks, rng))
                self.workers.append(worker)

    def start(self):
        for worker in self.workers:
            worker.start()

    def stop(self, timeout: float = 30.0):
        self.stop_event.set()
        for worker in self.workers:
            worker.join(timeout)
        return all(not worker.is_alive() for worker in self.workers)

    def _run(self, kind, number, endpoints, items, rate, sessions_per_thread, clicks, rng):
        stats = self.stats[kind]
        client = sp.FailoverClient(endpoints, timeout=5.0, max_attempts=4)
        sessions = {}
        serial = 0
        for slot in range(sessions_per_thread):
            sessions[slot] = (f"{kind}-{number}-{serial}", [])
            serial += 1
        interval = 1.0 / rate
        next_send = time.monotonic()
        slot = 0
        try:
            while not self.stop_event.is_set():
                key, clicked = sessions[slot]
                if len(clicked) >= clicks:
                    key, clicked = f"{kind}-{number}-{serial}", []
                    serial += 1
                clicked.append(rng.randint(1, items))
                sessions[slot] = (key, clicked)
                slot = (slot + 1) % sessions_per_thread
                with stats.lock:
                    stats.issued += 1
                start = time.perf_counter()
                try:
                    client.recommend(list(clicked), k=10, session_key=key, deadline_ms=2000)
                except Exception as error:  # every kind of failure is what the harness counts
                    with stats.lock:
                        stats.failures.append((type(error).__name__, repr(error)[:300]))
                else:
                    elapsed = time.perf_counter() - start
                    with stats.lock:
                        stats.answered += 1
                        stats.latencies.append(elapsed)
                next_send += interval
                pause = next_send - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                else:
                    next_send = time.monotonic()
        finally:
            stats.merge_client(client.stats)
            client.close()


def click_stream(endpoints, items: int, sessions: int, clicks: int, connections: int, use_key: bool, seed: int):
    """Sessions growing one click at a time, interleaved: click c of every session before click c+1,
    the sessions split over `connections` threads. Returns (answered, failures)."""
    rng = random.Random(seed)
    streams = [[rng.randint(1, items) for _ in range(clicks)] for _ in range(sessions)]
    results = {"answered": 0, "failures": []}
    lock = threading.Lock()

    def run(thread_index):
        client = sp.FailoverClient(endpoints, timeout=5.0)
        mine = [s for s in range(sessions) if s % connections == thread_index]
        try:
            for click in range(1, clicks + 1):
                for session in mine:
                    key = f"click-{seed}-{session}" if use_key else None
                    try:
                        client.recommend(streams[session][:click], k=10, session_key=key, deadline_ms=5000)
                        with lock:
                            results["answered"] += 1
                    except Exception as error:
                        with lock:
                            results["failures"].append(repr(error)[:300])
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results["answered"], results["failures"]
