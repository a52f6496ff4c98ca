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
import argparse, bisect, csv, http.client, json, os, shutil, signal, socket, subprocess, sys, time, urllib.request

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


def start_server(repository, out, name, extra=(), prefix=()):
    port, admin = free_port(), free_port()
    log = open(os.path.join(out, f"{name}.log"), "w")
    process = subprocess.Popen([*prefix, os.path.join(BIN, "seqrec"), "serve", "--model-repository", repository,
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


def threads_by_scheduling(pid):
    """{tid: (policy, nice)} of the server's threads (/proc/PID/task/TID/stat fields 19 and 41). The
    lifecycle threads are found by their scheduling: Foundation's Thread names do not reach the kernel."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
            threads[int(tid)] = (int(fields[38]), int(fields[16]))
        except (OSError, IndexError, ValueError):
            pass
    return threads


def schedstat(pid, tid):
    """(ns on the CPU, ns waiting on a run queue) of one thread."""
    with open(f"/proc/{pid}/task/{tid}/schedstat") as stat:
        on_cpu, waiting, _ = stat.read().split()
    return int(on_cpu), int(waiting)


def serving_wait_ns(pid, lifecycle_tids):
    """Run-queue wait of every server thread but the lifecycle ones (how long they waited for a CPU)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        if int(tid) not in lifecycle_tids:
            try:
                total += schedstat(pid, tid)[1]
            except OSError:
                pass
    return total


def tlb_shootdowns():
    with open("/proc/interrupts") as interrupts:
        for line in interrupts:
            if line.strip().startswith("TLB:"):
                return sum(int(field) for field in line.split()[1:] if field.isdigit())
    return 0


# Scheduling the driver can give the loader thread (which opens, warms and drops versions) before a
# reload, for a comparison inside one run: "server" leaves what the server set (SCHED_IDLE since the
# loader thread exists; nice 10 before), the others override it for that reload and the release after it.
VARIANTS = ("server", "idle", "nice10", "nice0")


def set_variant(tid, variant, server_setting):
    """Gives the loader thread `variant`'s scheduling; "server" restores `server_setting` (policy, nice)."""
    policy, nice = {"server": server_setting, "idle": (os.SCHED_IDLE, 0), "nice10": (os.SCHED_OTHER, 10),
                    "nice0": (os.SCHED_OTHER, 0)}[variant]
    os.sched_setscheduler(tid, policy, os.sched_param(0))
    os.setpriority(os.PRIO_PROCESS, tid, nice)


def scheduling_name(setting):
    policy, nice = setting
    return "SCHED_IDLE" if policy == os.SCHED_IDLE else f"SCHED_OTHER nice {nice}" if policy == os.SCHED_OTHER else str(setting)


def post_reload(connection):
    """POST /v1/repository/reload on a kept-alive connection (http.client: less driver CPU than urllib)."""
    connection.request("POST", "/v1/repository/reload", body=b"", headers={"Content-Type": "application/json"})
    answer = connection.getresponse()
    return json.loads(answer.read())


def reload_under_load(args):
    repository = os.path.join(args.out, "repository")
    staged = os.path.join(args.out, "staged-2")
    shutil.rmtree(repository, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    os.makedirs(os.path.join(repository, "shop", "1"))
    os.makedirs(staged)
    shutil.copyfile(args.model, os.path.join(repository, "shop", "1", "model.seqrec"))
    shutil.copyfile(args.model, os.path.join(staged, "model.seqrec"))  # a distinct copy: distinct pages
    variants = args.variants.split(",")
    if any(variant not in VARIANTS for variant in variants):
        raise SystemExit(f"--variants takes {', '.join(VARIANTS)}")
    # --pin: the server on CPU 0, the generator and this driver on CPU 1, so the generator's own
    # scheduling and the driver's Python do not land on the server's core (a client is elsewhere in
    # production). The driver runs SCHED_IDLE while the load runs (set after the server and the
    # generator started: children inherit the policy): its HTTP calls never delay the generator.
    server_cpus = ["taskset", "-c", str(args.server_cpu)] if args.pin else []
    client_cpus = ["taskset", "-c", str(1 - args.server_cpu)] if args.pin else []
    if args.pin:
        os.sched_setaffinity(0, {1 - args.server_cpu})
    process, port, admin = start_server(repository, args.out, "serve-reload", prefix=server_cpus)
    items = items_of(args.model)
    bench = os.path.join(BIN, "seqrec-bench")
    common = ["--port", str(port), "--model-name", "shop", "--items", str(items), "--connections", "64"]
    connection = http.client.HTTPConnection("127.0.0.1", admin, timeout=600)
    try:
        # One alternation there and back before the timed part: it starts the lifecycle threads.
        for move in ((staged, os.path.join(repository, "shop", "2")), (os.path.join(repository, "shop", "2"), staged)):
            os.rename(*move)
            report = post_reload(connection)
            if len(report["loaded"]) != 1 or len(report["retired"]) != 1:
                raise SystemExit(f"the warm-up reload did not switch versions: {report}")
        threads = threads_by_scheduling(process.pid)
        # The publisher runs at nice 10, the loader SCHED_IDLE (a server from before the loader thread
        # did everything on the nice-10 thread).
        publisher = next((tid for tid, (policy, nice) in threads.items() if policy == os.SCHED_OTHER and nice == 10), None)
        tid = next((tid for tid, (policy, _) in threads.items() if policy == os.SCHED_IDLE), publisher)
        if publisher is None:
            raise SystemExit(f"no nice-10 lifecycle thread in the server: {threads}")
        lifecycle_tids = {tid, publisher}
        server_setting = (os.sched_getscheduler(tid), os.getpriority(os.PRIO_PROCESS, tid))
        capacity_json = os.path.join(args.out, "capacity.json")
        subprocess.run([*client_cpus, bench, "load", "--mode", "closed", "--duration", str(args.capacity_s),
                        "--warmup", "2", "--json", capacity_json, *common], check=True, capture_output=True)
        capacity = json.load(open(capacity_json))[0]["throughput_rps"]
        rate = int(capacity * args.fraction)
        latency_log = os.path.join(args.out, "latency.csv")
        load_json = os.path.join(args.out, "load.json")
        load_before = os.getloadavg()
        load = subprocess.Popen([*client_cpus, bench, "load", "--mode", "open", "--rate", str(rate),
                                 "--duration", str(args.duration), "--warmup", "2", "--json", load_json,
                                 "--latency-log", latency_log, *common],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        period = args.duration / (args.alternations + 1)
        time.sleep(2 + period)
        windows, rows, inside = [], [], True
        previous = None
        for number in range(args.alternations):
            variant = variants[number % len(variants)]
            set_variant(tid, variant, server_setting)
            if inside:
                os.rename(staged, os.path.join(repository, "shop", "2"))
            else:
                os.rename(os.path.join(repository, "shop", "2"), staged)
            inside = not inside
            cpu_before, wait_before = schedstat(process.pid, tid)
            publisher_before = schedstat(process.pid, publisher)[0]
            serving_before, tlb_before = serving_wait_ns(process.pid, lifecycle_tids), tlb_shootdowns()
            if previous is not None:  # the previous reload's release (drop of the retired version) ran since
                previous["release_cpu_us"] = (cpu_before - previous["cpu_after"]) / 1e3
            begin = time.monotonic_ns()
            report = post_reload(connection)
            end = time.monotonic_ns()
            cpu_after, wait_after = schedstat(process.pid, tid)
            publisher_after = schedstat(process.pid, publisher)[0]
            serving_after, tlb_after = serving_wait_ns(process.pid, lifecycle_tids), tlb_shootdowns()
            if len(report["loaded"]) != 1 or len(report["retired"]) != 1 or report["refused"]:
                raise SystemExit(f"reload {number} did not switch versions: {report}")
            windows.append((begin, end + args.window_tail_ms * 1_000_000, variant))
            previous = {"variant": variant, "begin_ns": begin, "answered_ns": end, "reload_ms": (end - begin) / 1e6,
                        "lifecycle_cpu_us": (cpu_after - cpu_before) / 1e3,
                        "publisher_cpu_us": (publisher_after - publisher_before) / 1e3 if publisher != tid else 0,
                        "lifecycle_runqueue_wait_us": (wait_after - wait_before) / 1e3,
                        "serving_runqueue_wait_us": (serving_after - serving_before) / 1e3,
                        "tlb_shootdowns": tlb_after - tlb_before, "cpu_after": cpu_after}
            rows.append(previous)
            time.sleep(max(0.0, period - (end - begin) / 1e9))
        previous["release_cpu_us"] = (schedstat(process.pid, tid)[0] - previous["cpu_after"]) / 1e3
        _, errors = load.communicate()
        load_after = os.getloadavg()
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # the summary is not timed
        if load.returncode != 0:
            raise SystemExit(f"load generator failed (a duplicated or unknown answer stops it): {errors}")
        with open(os.path.join(args.out, "windows.csv"), "w") as out:
            fields = ["variant", "begin_ns", "answered_ns", "reload_ms", "lifecycle_cpu_us", "publisher_cpu_us",
                      "lifecycle_runqueue_wait_us",
                      "release_cpu_us", "serving_runqueue_wait_us", "tlb_shootdowns"]
            out.write(",".join(fields) + "\n")
            for row in rows:
                out.write(",".join(str(row[field]) for field in fields) + "\n")
        summary = json.load(open(load_json))[0]
        return summarize(args, latency_log, windows, rows, variants, period) | {
            "capacity_rps": capacity, "offered_rps": rate, "duration_s": args.duration, "alternations": len(rows),
            "completed": summary["completed"], "errors": summary["errors"], "unanswered": summary["unanswered"],
            "pinned": args.pin, "loader_scheduling_of_server": scheduling_name(server_setting),
            "load_average_before": load_before, "load_average_after": load_after,
            "window_tail_ms": args.window_tail_ms,
        }
    finally:
        connection.close()
        stop(process)


def summarize(args, latency_log, windows, rows, variants, period):
    """p50/p99 inside each variant's reload windows, outside every window, and in control windows:
    as long as each reload window, half a period later (no reload), so equally long stretches compare."""
    shift = int(period * 1e9) // 2
    controls = [(a + shift, b + shift, variant) for a, b, variant in windows]
    starts = [a for a, _, _ in windows]
    inside = {variant: [] for variant in variants}
    control = {variant: [] for variant in variants}
    outside, failed = [], 0
    profile = {}
    with open(latency_log) as log:
        for row in csv.DictReader(log):
            scheduled, latency, ok = int(row["scheduled_ns"]), int(row["latency_ns"]) / 1e3, row["ok"] == "1"
            failed += not ok
            # windows are ordered and disjoint: the last one that begins before `scheduled` is the only candidate
            index = bisect.bisect_right(starts, scheduled) - 1
            if index >= 0 and scheduled <= windows[index][1]:
                inside[windows[index][2]].append(latency)
            else:
                outside.append(latency)
            control_index = bisect.bisect_right(starts, scheduled - shift) - 1
            if control_index >= 0 and scheduled <= controls[control_index][1]:
                control[controls[control_index][2]].append(latency)
            # per-request latency profile around the POST: 5 ms bins from 50 ms before to 250 ms after
            nearest = bisect.bisect_right(starts, scheduled + 50_000_000) - 1
            if nearest >= 0 and -50_000_000 <= scheduled - starts[nearest] < 250_000_000:
                key = (windows[nearest][2], (scheduled - starts[nearest]) // 5_000_000)
                profile.setdefault(key, []).append(latency)
    with open(os.path.join(args.out, "profile.csv"), "w") as out:
        out.write("variant,offset_ms,requests,p50_us,p99_us,max_us\n")
        for variant, bin_ in sorted(profile):
            values = profile[(variant, bin_)]
            out.write(f"{variant},{bin_ * 5},{len(values)},{percentile(values, 0.5):.0f},"
                      f"{percentile(values, 0.99):.0f},{max(values):.0f}\n")
    p99_outside = percentile(outside, 0.99)
    result = {"failed_in_log": failed, "requests_outside_windows": len(outside),
              "p50_outside_us": percentile(outside, 0.5), "p99_outside_us": p99_outside, "variants": {}}
    for variant in variants:
        mine = [row for row in rows if row["variant"] == variant]
        entry = {
            "reloads": len(mine), "requests_inside_windows": len(inside[variant]),
            "p50_inside_us": percentile(inside[variant], 0.5), "p99_inside_us": percentile(inside[variant], 0.99),
            "requests_in_control_windows": len(control[variant]),
            "p50_control_us": percentile(control[variant], 0.5), "p99_control_us": percentile(control[variant], 0.99),
            "reload_ms_median": percentile([row["reload_ms"] for row in mine], 0.5),
            "reload_ms_max": max(row["reload_ms"] for row in mine),
            "lifecycle_cpu_us_median": percentile([row["lifecycle_cpu_us"] for row in mine], 0.5),
            "publisher_cpu_us_median": percentile([row["publisher_cpu_us"] for row in mine], 0.5),
            "lifecycle_runqueue_wait_us_median": percentile([row["lifecycle_runqueue_wait_us"] for row in mine], 0.5),
            "release_cpu_us_median": percentile([row["release_cpu_us"] for row in mine], 0.5),
            "serving_runqueue_wait_us_per_window_median": percentile([row["serving_runqueue_wait_us"] for row in mine], 0.5),
            "tlb_shootdowns_per_window_median": percentile([row["tlb_shootdowns"] for row in mine], 0.5),
        }
        entry["p99_ratio_inside_outside"] = entry["p99_inside_us"] / p99_outside
        entry["p99_ratio_inside_control"] = entry["p99_inside_us"] / entry["p99_control_us"]
        result["variants"][variant] = entry
    if len(variants) == 1:  # the headline fields of earlier runs, for one variant
        result |= {key: value for key, value in result["variants"][variants[0]].items() if key != "reloads"}
    return result


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
    parser.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True,
                        help="server on --server-cpu, generator and driver on the other CPU (default on)")
    parser.add_argument("--server-cpu", type=int, default=0, choices=(0, 1))
    parser.add_argument("--variants", default="server",
                        help="lifecycle-thread scheduling per reload, in turn, compared in one run: "
                             + ", ".join(VARIANTS) + " (server = what the server sets)")
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
