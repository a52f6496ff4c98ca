"""Issue 18's done-when table in one run (Benchmarks/scan/run calls this): SeqRec fp32 / bf16 / int8-exact
(whole requests: SASRec encoder + full-catalogue top-10, `seqrec-bench inprocess`), with `--scan-threads`
variants, ONNX Runtime Gemm+TopK and FAISS IndexFlatIP / IndexScalarQuantizer 8-bit (the scan alone, with
recall@10 against exact), on one synthetic RecBole-shaped SASRec table, plus the bandwidth probe; machine,
commit and load average before and after. Prints markdown; --json writes every row.

A mode the binary cannot run (a scan table `seqrec convert` refuses, a SEQREC_SCAN_TABLE value or a
SEQREC_SCAN_THREADS value seqrec-bench rejects) is listed as skipped with the tool's own message, never
dropped silently.

Modes: fp32 = the file with the int8 table, SEQREC_SCAN_TABLE=fp32; int8 = same file, auto; bf16 = a file
converted with --scan-table bf16, auto. Override a mode's policy with SCAN_POLICY_<MODE>=<value>.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "pycompare"))
import workloads  # noqa: E402

TABLE_OF_MODE = {"fp32": "int8", "int8": "int8", "bf16": "bf16"}
POLICY_OF_MODE = {"fp32": "fp32", "int8": "auto", "bf16": "auto"}
SCAN_STATS = re.compile(r"exact scan \(SEQREC_SCAN_TABLE=(\w+)\): (\d+) sessions, (\d+) fp32 fallbacks, (\d+) rows re-scored")


def load_average():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def machine():
    model, flags = "?", set()
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    wanted = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16") if f in flags]
    return f"{model}, {os.cpu_count()} vCPU, {' '.join(wanted)}"


def commit():
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return head + (" + uncommitted changes" if dirty else "")


def first_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:140] if lines else "(no message)"


def convert(binary, folder, work, items, table):
    """The model file with `table` scan table, converting it once; (path, None) or (None, why skipped)."""
    path = os.path.join(work, f"sasrec-{items}-{table}.seqrec")
    if os.path.isfile(path):
        return path, None
    began = time.perf_counter()
    done = subprocess.run([binary, "convert", folder, "-o", path, "--no-verify", "--scan-table", table],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return None, f"`seqrec convert --scan-table {table}` failed: {first_line(done.stderr + done.stdout)}"
    print(f"converted {path} in {time.perf_counter() - began:.1f} s", flush=True)
    return path, None


def seqrec_row(bench, model, mode, batch, threads, options):
    # seqrec-bench takes the scan threads from SEQREC_SCAN_THREADS, as `seqrec serve` takes its default.
    env = dict(os.environ, SEQREC_SCAN_TABLE=os.environ.get(f"SCAN_POLICY_{mode.upper()}", POLICY_OF_MODE[mode]),
               SEQREC_SCAN_THREADS=str(threads))
    command = [bench, "inprocess", "--model", model, "--batch", str(batch), "--format", "json"] + options
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"skipped": f"seqrec-bench (SEQREC_SCAN_TABLE={env['SEQREC_SCAN_TABLE']}"
                           f", SEQREC_SCAN_THREADS={threads}): {first_line(done.stderr)}"}
    report = json.loads(done.stdout)
    row = {"p50_ms": report["p50_us"] / 1e3, "min_ms": report["p50_spread"]["min"] / 1e3,
           "max_ms": report["p50_spread"]["max"] / 1e3, "top_items": report["top_items"],
           "top_scores": report["top_scores"], "calls": report["iterations"] * report["repeats"]}
    match = SCAN_STATS.search(done.stderr)
    if match and int(match.group(2)) > 0:
        sessions, fallbacks, rescored = int(match.group(2)), int(match.group(3)), int(match.group(4))
        row["fallback"] = f"{fallbacks}/{sessions} ({fallbacks / sessions:.1%})"
        row["rescored"] = rescored
    elif match:
        row["unused"] = f"the {match.group(1)} table was not used at this batch size (the fp32 scan ran)"
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--work", default="/tmp/seqrec-scan")
    parser.add_argument("--modes", default="fp32,int8,bf16")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=2.0)
    parser.add_argument("--budget", type=float, default=6.0, help="FAISS/ORT seconds per row after 3 calls")
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "release"),
                        help="folder with seqrec and seqrec-bench (default: this checkout's release build)")
    parser.add_argument("--json")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    binary = os.path.join(args.bin, "seqrec")
    bench = os.path.join(args.bin, "seqrec-bench")
    python = sys.executable
    began = time.perf_counter()
    # fp32 first whatever the order given: the reduced modes' exactness column compares with its row.
    modes = sorted(args.modes.split(","), key=lambda mode: mode != "fp32")
    threads = [int(t) for t in args.threads.split(",")]
    batches = [int(b) for b in args.batches.split(",")]

    print(f"# scan comparison, {args.items:,} items × 64, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, "
          f"commit {commit()}")
    print(f"machine: {machine()}")
    print(f"load average before: {load_average()}", flush=True)
    folder = workloads.model_folder("sasrec", args.items, "", args.work)
    models, skipped = {}, {}
    for mode in modes:
        table = TABLE_OF_MODE.get(mode)
        if table is None:
            skipped[mode] = f"unknown mode {mode!r} (known: {', '.join(TABLE_OF_MODE)})"
        elif table not in models:
            models[table], why = convert(binary, folder, args.work, args.items, table)
            if why:
                skipped[mode] = why
        elif models[table] is None:
            skipped[mode] = f"no file with a {table} scan table (see above)"

    probe = subprocess.run([bench, "bandwidth", "--repeats", "7", "--format", "json"], capture_output=True, text=True)
    bandwidth = json.loads(probe.stdout) if probe.returncode == 0 else None
    if bandwidth:
        table_gb = args.items * 64 * 4 / 1e9
        print(f"bandwidth probe (1M × 64 f32, huge pages): best {bandwidth['gb_per_s']:.2f} GB/s, median "
              f"{bandwidth['median_gb_per_s']:.2f} GB/s → streaming the {table_gb:.2f} GB fp32 table takes "
              f"{table_gb / bandwidth['gb_per_s'] * 1e3:.1f} ms at best, the int8 table (80 B a row) "
              f"{args.items * 80 / 1e9 / bandwidth['gb_per_s'] * 1e3:.1f} ms")
    else:
        print(f"bandwidth probe failed: {first_line(probe.stderr)}")

    options = ["--repeats", str(args.repeats), "--max-seconds", str(args.max_seconds), "--warmup", "3",
               "--min-iterations", "5"]
    rows = []
    for batch in batches:
        for thread_count in threads:
            reference = None
            for mode in modes:   # modes take turns within one (batch, threads): ratios from the same minute
                row = {"engine": f"SeqRec {mode}" + (" (exact)" if mode != "fp32" else ""), "batch": batch,
                       "threads": thread_count, "rows": args.items - 1}
                if mode in skipped:
                    row["skipped"] = skipped[mode]
                else:
                    row.update(seqrec_row(bench, models[TABLE_OF_MODE[mode]], mode, batch, thread_count, options))
                if mode == "fp32" and "p50_ms" in row:
                    reference = row
                if "p50_ms" in row and reference is not None and row is not reference:
                    row["same_as_fp32"] = (row["top_items"] == reference["top_items"]
                                           and row["top_scores"] == reference["top_scores"])
                rows.append(row)
                print(f"  {row['engine']} B={batch} threads={thread_count}: "
                      + (f"{row['p50_ms']:.2f} ms" if "p50_ms" in row else f"skipped: {row['skipped']}"), flush=True)

    for engine in ("faiss", "ort"):   # separate processes: each holds its own copy of the table
        out = os.path.join(args.work, f"compare-{engine}-{args.items}.json")
        done = subprocess.run([python, os.path.join(HERE, "scan_compare.py"), folder, "--engines", engine,
                               "--batches", ",".join(map(str, batches)), "--repeats", "30", "--budget",
                               str(args.budget), "--work", args.work, "--json", out], capture_output=True, text=True)
        if done.returncode != 0:
            rows.append({"engine": engine, "skipped": first_line(done.stderr.splitlines()[-1] if done.stderr else "")})
            continue
        with open(out) as handle:
            for row in json.load(handle):
                row["threads"] = 1
                rows.append(row)

    print()
    print("| engine | rows | B | scan threads | p50 ms per batch | min–max ms | recall@10 / exactness | fp32 fallback | notes |")
    print("|---|--:|--:|--:|--:|--:|---|---|---|")
    for row in rows:
        if "skipped" in row:
            print(f"| {row['engine']} | | {row.get('batch', '')} | {row.get('threads', '')} | — | — | — | — | "
                  f"skipped: {row['skipped']} |")
            continue
        if row["engine"].startswith("SeqRec"):
            exactness = "exact (is the fp32 path)" if row["engine"] == "SeqRec fp32" else (
                "same top-10 items and scores as fp32" if row.get("same_as_fp32") else
                "DIFFERS from fp32" if "same_as_fp32" in row else "exact (fp32 row missing)")
            notes = f"{row['rescored']} rows re-scored per session" if "rescored" in row else row.get("unused", "")
            fallback = row.get("fallback", "—")
            notes += ("; " if notes else "") + f"{row['calls']} calls"
        else:
            exactness = f"{row['recall_at_10']:.4f}"
            fallback, notes = "—", f"scan only, {row['calls']} calls"
        print(f"| {row['engine']} | {row['rows']:,} | {row['batch']} | {row['threads']} | {row['p50_ms']:.2f} | "
              f"{row['min_ms']:.2f}–{row['max_ms']:.2f} | {exactness} | {fallback} | {notes} |")
    print()
    print(f"load average after: {load_average()}; wall time {time.perf_counter() - began:.0f} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"bandwidth": bandwidth, "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()
