#!/usr/bin/env python3
"""Issue 13's lifecycle measurement, in one run against a real `seqrec serve`:

1. capacity: closed loop, 64 connections, `--capacity-s` seconds;
2. open loop at `--fraction` of it for `--duration` seconds (latency from the scheduled send time,
   every request logged by `seqrec-bench load --latency-log`), while versions 1 and 2 of the same
   model alternate `--alternations` times: version 2's directory is renamed into the repository
   (or out of it) and `POST /v1/repository/reload` is called (policy `latest`: each call loads and
   warms one version from disk and retires the other);
3. failed / dropped / duplicated requests (the generator stops with an error on an answer to a
   request id not in flight: a duplicate), p50/p99 of requests due inside reload windows
   ([POST sent, answer received + --window-tail-ms]) versus outside them, and the reload times;
4. with `--memory-model FILE` (e.g. a synthetic 1M-item model), the server's RSS before, at the
   peak of (VmHWM), and after a reload from one copy of FILE to another.

Usage: Benchmarks/lifecycle/reload_under_load.py --model Models/sasrec-ml100k.seqrec --out DIR
Only the standard library; binaries from SEQREC_BIN_DIR (default .build/release).
"""
import argparse, csv, json, os, shutil, signal, socket, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SEQREC_BIN_DIR", os.path.join(ROOT, ".build", "release"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(admin, path):
    request = urllib.request.Request(f"http://127.0.0.1:{admin}{path}", data=b"", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as answer:
        return json.loads(answer.read())


def wait_ready(port, process):
    for _ in range(1200):
        if process.poll() is not None:
            raise SystemExit(f"seqrec serve exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("seqrec serve did not start")


def rss(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


def start_server(repository, out, name, extra=()):
    port, admin = free_port(), free_port()
    log = open(os.path.join(out, f"{name}.log"), "w")
    process = subprocess.Popen([os.path.join(BIN, "seqrec"), "serve", "--model-repository", repository,
                                "--port", str(port), "--admin-port", str(admin), "--workers", "1",
                                "--state-cache-mb", "0", "--log-format", "json", *extra],
                               stdout=log, stderr=log, cwd=ROOT)
    wait_ready(port, process)
    return process, port, admin


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def items_of(model):
    info = subprocess.run([os.path.join(BIN, "seqrec"), "inspect", model], capture_output=True, text=True, check=True).stdout
    for line in info.splitlines():
        if line.strip().startswith("n_items"):
            return int(line.split("=")[1].split()[0]) - 1
    return 1682


def reload_under_load(args):
    repository = os.path.join(args.out, "repository")
    staged = os.path.join(args.out, "staged-2")
    shutil.rmtree(repository, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    os.makedirs(os.path.join(repository, "shop", "1"))
    os.makedirs(staged)
    shutil.copyfile(args.model, os.path.join(repository, "shop", "1", "model.seqrec"))
    shutil.copyfile(args.model, os.path.join(staged, "model.seqrec"))  # a distinct copy: distinct pages
    process, port, admin = start_server(repository, args.out, "serve-reload")
    items = items_of(args.model)
    bench = os.path.join(BIN, "seqrec-bench")
    common = ["--port", str(port), "--model-name", "shop", "--items", str(items), "--connections", "64"]
    try:
        capacity_json = os.path.join(args.out, "capacity.json")
        subprocess.run([bench, "load", "--mode", "closed", "--duration", str(args.capacity_s), "--warmup", "2",
                        "--json", capacity_json, *common], check=True, capture_output=True)
        capacity = json.load(open(capacity_json))[0]["throughput_rps"]
        rate = int(capacity * args.fraction)
        latency_log = os.path.join(args.out, "latency.csv")
        load_json = os.path.join(args.out, "load.json")
        load = subprocess.Popen([bench, "load", "--mode", "open", "--rate", str(rate), "--duration", str(args.duration),
                                 "--warmup", "2", "--json", load_json, "--latency-log", latency_log, *common],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(2 + args.duration / (args.alternations + 1))
        windows, reloads, inside = [], [], True
        for number in range(args.alternations):
            if inside:
                os.rename(staged, os.path.join(repository, "shop", "2"))
            else:
                os.rename(os.path.join(repository, "shop", "2"), staged)
            inside = not inside
            begin = time.monotonic_ns()
            report = post(admin, "/v1/repository/reload")
            end = time.monotonic_ns()
            if len(report["loaded"]) != 1 or len(report["retired"]) != 1 or report["refused"]:
                raise SystemExit(f"reload {number} did not switch versions: {report}")
            windows.append((begin, end + args.window_tail_ms * 1_000_000))
            reloads.append((end - begin) / 1e6)
            time.sleep(max(0.0, args.duration / (args.alternations + 1) - (end - begin) / 1e9))
        with open(os.path.join(args.out, "windows.csv"), "w") as out:
            out.write("begin_ns,answered_ns\n")
            for (begin, end), milliseconds in zip(windows, reloads):
                out.write(f"{begin},{begin + int(milliseconds * 1e6)}\n")
        _, errors = load.communicate()
        if load.returncode != 0:
            raise SystemExit(f"load generator failed (a duplicated or unknown answer stops it): {errors}")
        summary = json.load(open(load_json))[0]
        # Control windows: as long as each reload window, half a period later (between reloads), so the
        # comparison is between equally long stretches at load-independent times.
        period = int(args.duration / (args.alternations + 1) * 1e9)
        controls = [(a + period // 2, b + period // 2) for a, b in windows]
        inside_latencies, outside_latencies, control_latencies, failed = [], [], [], 0
        profile = {}
        with open(latency_log) as log:
            for row in csv.DictReader(log):
                scheduled, latency, ok = int(row["scheduled_ns"]), int(row["latency_ns"]), row["ok"] == "1"
                failed += not ok
                inside = any(a <= scheduled <= b for a, b in windows)
                (inside_latencies if inside else outside_latencies).append(latency / 1e3)
                if any(a <= scheduled <= b for a, b in controls):
                    control_latencies.append(latency / 1e3)
                for a, _ in windows:
                    if a - 100_000_000 <= scheduled < a + 400_000_000:
                        profile.setdefault((scheduled - a) // 25_000_000, []).append(latency / 1e3)
        with open(os.path.join(args.out, "profile.csv"), "w") as out:
            out.write("offset_ms,requests,p50_us,p99_us\n")
            for key in sorted(profile):
                out.write(f"{key * 25},{len(profile[key])},{percentile(profile[key], 0.5):.0f},{percentile(profile[key], 0.99):.0f}\n")
        result = {
            "capacity_rps": capacity, "offered_rps": rate, "duration_s": args.duration, "alternations": len(reloads),
            "completed": summary["completed"], "errors": summary["errors"], "unanswered": summary["unanswered"],
            "failed_in_log": failed, "requests_inside_windows": len(inside_latencies),
            "requests_outside_windows": len(outside_latencies),
            "p50_inside_us": percentile(inside_latencies, 0.5), "p99_inside_us": percentile(inside_latencies, 0.99),
            "p50_outside_us": percentile(outside_latencies, 0.5), "p99_outside_us": percentile(outside_latencies, 0.99),
            "requests_in_control_windows": len(control_latencies),
            "p50_control_us": percentile(control_latencies, 0.5), "p99_control_us": percentile(control_latencies, 0.99),
            "reload_ms_median": percentile(reloads, 0.5), "reload_ms_max": max(reloads),
            "window_tail_ms": args.window_tail_ms,
        }
        result["p99_ratio_inside_outside"] = result["p99_inside_us"] / result["p99_outside_us"]
        result["p99_ratio_inside_control"] = result["p99_inside_us"] / result["p99_control_us"]
        return result
    finally:
        stop(process)


def reload_memory(args):
    repository = os.path.join(args.out, "repository-memory")
    shutil.rmtree(repository, ignore_errors=True)
    os.makedirs(os.path.join(repository, "big", "1"))
    os.makedirs(os.path.join(repository, "big", "2"))
    shutil.copyfile(args.memory_model, os.path.join(repository, "big", "1", "model.seqrec"))
    staged = os.path.join(args.out, "memory-model-2.seqrec")
    shutil.copyfile(args.memory_model, staged)
    process, port, admin = start_server(repository, args.out, "serve-memory")
    try:
        time.sleep(1)
        before = rss(process.pid)
        os.rename(staged, os.path.join(repository, "big", "2", "model.seqrec"))
        begin = time.monotonic()
        report = post(admin, "/v1/repository/reload")
        seconds = time.monotonic() - begin
        time.sleep(2)  # the retired version is released at once (no requests): let the lifecycle thread drop it
        after = rss(process.pid)
        return {"model_bytes": os.path.getsize(args.memory_model), "reload": report, "reload_s": seconds,
                "before": before, "after": after, "peak_rss_bytes": after["VmHWM"]}
    finally:
        stop(process)
        shutil.rmtree(repository, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--duration", type=float, default=240)
    parser.add_argument("--alternations", type=int, default=100)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--capacity-s", type=float, default=10)
    parser.add_argument("--window-tail-ms", type=int, default=50)
    parser.add_argument("--memory-model")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = {"machine": os.uname().nodename, "cores": os.cpu_count()}
    if args.memory_model:
        results["memory"] = reload_memory(args)
        print(json.dumps(results["memory"], indent=1), flush=True)
    if args.alternations > 0:
        results["reload_under_load"] = reload_under_load(args)
        print(json.dumps(results["reload_under_load"], indent=1), flush=True)
    with open(os.path.join(args.out, "lifecycle.json"), "w") as out:
        json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()
