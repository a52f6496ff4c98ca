"""Draws latency-vs-load.png from summary.csv (Benchmarks/scan-serve/run): p50 and p99 per offered rate,
the issue's p99 target (50 ms) and the throughput actually reached, with the run's header as subtitle."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/summary.csv")))
header = open(f"{out}/run.txt").read().strip().lstrip("# ")
offered = [float(r["offered_rps"]) for r in rows]
figure, axis = plt.subplots(figsize=(8, 5))
for key, label, style in (("p50_ms", "p50", "o-"), ("p99_ms", "p99", "s-")):
    axis.plot(offered, [float(r[key]) for r in rows], style, label=label)
axis.axhline(50, color="grey", linestyle="--", linewidth=1, label="target p99 ≤ 50 ms")
for r in rows:
    axis.annotate(f"{float(r['throughput_rps']):.0f}/s\nload {r['load1_after']}", (float(r["offered_rps"]), float(r["p99_ms"])),
                  textcoords="offset points", xytext=(0, 8), ha="center", fontsize=7)
axis.set_yscale("log")
axis.set_xlabel("offered load (requests/s, open loop)")
axis.set_ylabel("latency (ms, from scheduled send)")
axis.set_title("seqrec serve: exact top-10 from the int8 scan, latency vs load", fontsize=11)
figure.text(0.5, 0.01, header, ha="center", fontsize=7, wrap=True)
axis.legend()
axis.grid(True, which="both", alpha=0.3)
figure.tight_layout(rect=(0, 0.04, 1, 1))
figure.savefig(f"{out}/latency-vs-load.png", dpi=110)
