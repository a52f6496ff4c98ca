"""Tables for the comparison: medians across repeats with min–max, ratios, and the issue's
targets checked on numbers of the same run."""
from timing import summarize_repeats

PYTHON_ENGINES = ("ort-spin", "ort-nospin", "torch-eager")
LABELS = {"ort-spin": "ORT spin", "ort-nospin": "ORT no-spin", "torch-eager": "torch eager",
          "seqrec-blas": "SeqRec BLAS", "seqrec-simd": "SeqRec SIMD", "seqrec-auto": "SeqRec auto",
          "seqrec-naive": "SeqRec naive", "seqrec-simd-avx512": "SeqRec SIMD AVX-512",
          "seqrec-simd-avx2": "SeqRec SIMD AVX2", "seqrec-simd-portable": "SeqRec SIMD portable",
          "seqrec-before": "SeqRec before (auto)"}


def _cell(runs, key):
    median, low, high = summarize_repeats(runs, key)
    return f"{median:,.0f} ({low:,.0f}–{high:,.0f})"


def _median(runs, key="p50_us"):
    return summarize_repeats(runs, key)[0]


def seqrec_names(entry):
    """This build's SeqRec paths (a baseline build, "seqrec-before", is shown but never chosen)."""
    return [name for name in entry["runs"] if name.startswith("seqrec-") and name != "seqrec-before"]


def best_seqrec(entry, key="p50_us"):
    return min((_median(entry["runs"][name], key), name) for name in seqrec_names(entry))


def shipped_seqrec(entry, key="p50_us"):
    """SeqRec as deployed: the automatic kernel choice when it was measured, else the best path."""
    if "seqrec-auto" in entry["runs"]:
        return _median(entry["runs"]["seqrec-auto"], key), "seqrec-auto"
    return best_seqrec(entry, key)


def best_ort(entry, key="p50_us"):
    return min((_median(entry["runs"][name], key), name) for name in ("ort-spin", "ort-nospin"))


def one_line(entry):
    parts = [f"{entry['family']:>8} items={entry['catalog']:>7} B={entry['batch']:>2}"]
    for name, runs in entry["runs"].items():
        parts.append(f"{name} p50={_median(runs):,.0f}us")
    return " | ".join(parts)


def _table(results, key, title):
    before = "seqrec-before" in results[0]["runs"]
    names = list(PYTHON_ENGINES) + seqrec_names(results[0]) + (["seqrec-before"] if before else [])
    lines = [f"### {title}", "",
             "| family | items | batch | " + " | ".join(LABELS.get(n, n) for n in names)
             + " | SeqRec/ORT | SeqRec/torch |" + (" before/ORT | after/before |" if before else ""),
             "|---|--:|--:|" + "--:|" * (len(names) + 2 + (2 if before else 0))]
    for entry in results:
        seqrec, _ = shipped_seqrec(entry, key)
        ort, _ = best_ort(entry, key)
        torch = _median(entry["runs"]["torch-eager"], key)
        cells = [_cell(entry["runs"][name], key) for name in names]
        extra = ""
        if before:
            baseline = _median(entry["runs"]["seqrec-before"], key)
            extra = f" {baseline / ort:.2f} | {seqrec / baseline:.2f} |"
        lines.append(f"| {entry['family']} | {entry['catalog']:,} | {entry['batch']} | "
                     + " | ".join(cells) + f" | {seqrec / ort:.2f} | {seqrec / torch:.2f} |" + extra)
    lines.append("")
    return lines


def _checks(results):
    lines = ["### Same function: top-10 of the first session vs PyTorch", "",
             "| family | items | engine | top-10 items equal | max score diff |", "|---|--:|---|---|--:|"]
    seen = set()
    for entry in results:
        key = (entry["family"], entry["catalog"])
        if key in seen:
            continue
        seen.add(key)
        for name, check in entry["checks"].items():
            lines.append(f"| {entry['family']} | {entry['catalog']:,} | {LABELS.get(name, name)} | "
                         f"{'yes' if check['items_equal'] else 'NO'} | {check['max_score_diff']:.2e} |")
    lines.append("")
    return lines


def _find(results, family, catalog, batch):
    for entry in results:
        if (entry["family"], entry["catalog"], entry["batch"]) == (family, catalog, batch):
            return entry
    return None


def _target_ratio(results, family, catalog, batch, limit, label):
    entry = _find(results, family, catalog, batch)
    if entry is None:
        return f"| {label} | not run | | |"
    seqrec, seqrec_name = shipped_seqrec(entry)
    ort, ort_name = best_ort(entry)
    ratio = seqrec / ort
    verdict = "met" if ratio <= limit else f"MISSED by {ratio / limit:.2f}×"
    return (f"| {label} | {LABELS[seqrec_name]} {seqrec:,.0f} µs vs {LABELS[ort_name]} {ort:,.0f} µs"
            f" | {ratio:.3f} (≤ {limit:.2f}) | {verdict} |")


def _targets(document):
    results = document["results"]
    lines = ["### Targets (ratios from this run; p50 medians across repeats; SeqRec = automatic kernel "
             "choice; ORT = the faster of spinning on/off)", "",
             "| target | measured | ratio (limit) | verdict |", "|---|---|---|---|"]
    lines.append(_target_ratio(results, "sasrec", 1683, 1, 1 / 3, "SASRec B=1, 1,683 items: p50 ≤ 1/3 ORT"))
    lines.append(_target_ratio(results, "gru4rec", 1683, 1, 1 / 3, "GRU4Rec B=1, 1,683 items: p50 ≤ 1/3 ORT"))
    lines.append(_target_ratio(results, "sasrec", 1683, 32, 0.6, "SASRec B=32, 1,683 items: per request ≤ 0.6 ORT"))
    for family in ("sasrec", "gru4rec", "bert4rec"):
        for batch in (1, 32):
            lines.append(_target_ratio(results, family, 1683, batch, 0.5,
                                       f"issue 17: {family} B={batch}, 1,683 items: p50 ≤ 0.5 × ORT best"))
    bandwidth = document.get("bandwidth")
    for family in ("sasrec", "gru4rec", "bert4rec"):
        entry = _find(results, family, 1_000_000, 1)
        if entry is None or not bandwidth:
            continue
        seqrec, name = shipped_seqrec(entry)
        bound = bandwidth["bound_us"]
        ratio = seqrec / bound
        verdict = "met" if ratio <= 1.1 else f"MISSED by {ratio / 1.1:.2f}×"
        lines.append(f"| {family} 1M items, d 64, B=1: p50 ≤ 1.1 × bandwidth bound | {LABELS[name]} "
                     f"{seqrec:,.0f} µs vs bound {bound:,.0f} µs ({bandwidth['gb_per_s']:.1f} GB/s) | "
                     f"{ratio:.2f} (≤ 1.10) | {verdict} |")
    lines.append("")
    return lines


def markdown(document):
    machine = document["machine"]
    lines = ["## SeqRec vs ONNX Runtime vs PyTorch (one run)", "",
             f"- date {machine['date_utc']}, commit {machine['commit']}, CPU {machine['cpu']} "
             f"({machine['cores']} cores), kernel {machine['kernel']}",
             "- CPU features: " + ", ".join(machine.get("cpu_features", [])) + "; OpenBLAS "
             + str(machine.get("openblas", {})),
             f"- torch {machine['torch']}, onnxruntime {machine['onnxruntime']}, numpy "
             f"{machine['numpy']}, Python {machine['python']}; load average at start "
             + ", ".join(f"{x:.2f}" for x in machine["load_average"]),
             "- cells: median across repeats (min–max) of each repeat's percentile, µs per batch "
             "call; per-request = batch value / batch",
             "- SeqRec/ORT and SeqRec/torch: SeqRec's automatic kernel choice (else its best path) over "
             "the faster ORT mode, resp. torch", ""]
    if document.get("bandwidth"):
        b = document["bandwidth"]
        lines += [f"- memory-bandwidth probe: {b['rows']:,}×{b['dim']} f32 table "
                  f"({b['bytes'] / 1e6:,.0f} MB) streamed at {b['gb_per_s']:.2f} GB/s (best of "
                  f"{b['repeats']}; median {b['median_gb_per_s']:.2f}) → bound {b['bound_us']:,.0f} µs", ""]
    results = document["results"]
    lines += _table(results, "p50_us", "p50 latency per batch call (µs)")
    if all("min_us" in runs[0] for entry in results for runs in entry["runs"].values()):
        lines += _table(results, "min_us", "fastest call per batch call (µs): the least disturbed by other "
                        "processes on a loaded machine")
    lines += _table(results, "p99_us", "p99 latency per batch call (µs)")
    lines += _checks(results)
    lines += _targets(document)
    return "\n".join(lines)
