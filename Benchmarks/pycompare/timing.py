"""The timing loop and statistics used for the Python engines; the same method as the Swift side
(Benchmarks/SeqRecBench): warm-up, then per-call wall time, nearest-rank percentiles, repeated,
summarised as median and min–max across repeats."""
import math
import time

WARMUP_SECONDS = 0.5
PERCENTILES = (("p50_us", 50.0), ("p90_us", 90.0), ("p99_us", 99.0), ("p999_us", 99.9))


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (p in 0…100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def time_calls(call, warmup, iterations, max_seconds, min_iterations=20):
    """Run `call` warmup times untimed (at most WARMUP_SECONDS, at least twice), then up to
    `iterations` timed calls (stopping early after max_seconds, but never before min_iterations calls).
    Returns a dict of percentiles in microseconds. Same rule as SeqRecBench's TimingLoop."""
    warmup_deadline = time.perf_counter() + WARMUP_SECONDS
    for index in range(warmup):
        call()
        if index >= 1 and time.perf_counter() > warmup_deadline:
            break
    samples = []
    deadline = time.perf_counter() + max_seconds
    while len(samples) < iterations:
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000.0)
        if len(samples) >= min_iterations and time.perf_counter() > deadline:
            break
    samples.sort()
    result = {name: percentile(samples, p) for name, p in PERCENTILES}
    result["mean_us"] = sum(samples) / len(samples)
    result["min_us"] = samples[0]
    result["iterations"] = len(samples)
    return result


def summarize_repeats(runs, key="p50_us"):
    """(median, min, max) of one statistic across repeats."""
    values = sorted(run[key] for run in runs)
    middle = len(values) // 2
    median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    return median, values[0], values[-1]
