"""Catalogue-scan comparison for issue 18: FAISS (IndexFlatIP exact, IndexScalarQuantizer 8-bit with
recall@10 against exact) and ONNX Runtime (Gemm + TopK) on the item table of a SeqRec benchmark model
folder (weights.safetensors from Benchmarks/pycompare/workloads.py), one thread each, same queries.

Usage: scan_compare.py <model folder> [--engines faiss,ort] [--batches 1,32] [--repeats 30]
                       [--budget 6] [--work DIR] [--json out.json]
Prints one markdown row per (engine, batch): p50 and min–max ms per batch, recall@10 against IndexFlatIP.
The table is memory-mapped from the safetensors file (no Python copy): FAISS copies it into its indexes,
ONNX Runtime loads it as an external-data initializer (a 10M × 64 table exceeds protobuf's 2 GB), so run
the engines in separate processes (Benchmarks/scan/scan_bench.py does) to keep one copy in memory at once.
SeqRec's own rows come from `seqrec-bench inprocess` in the same run (scan_bench.py).
"""
import argparse
import json
import os
import struct
import tempfile
import time

import numpy as np

QUERY_SEED = 18


def item_table(folder):
    """The item table without its PAD row, memory-mapped read-only from weights.safetensors."""
    path = os.path.join(folder, "weights.safetensors")
    with open(path, "rb") as handle:
        (header_length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_length))
    entry = header["item_embedding.weight"]
    if entry["dtype"] != "F32":
        raise ValueError(f"{path}: item_embedding.weight is {entry['dtype']}, expected F32")
    rows, width = entry["shape"]
    start = 8 + header_length + entry["data_offsets"][0]
    table = np.memmap(path, dtype="<f4", mode="r", offset=start, shape=(rows, width))
    return table[1:]  # row 0 = PAD


def queries_for(table, batch):
    """Queries shaped like readouts: a table row plus noise, so the top-10 is not degenerate."""
    rng = np.random.default_rng(QUERY_SEED + batch)
    rows, width = table.shape
    picked = np.asarray(table[np.sort(rng.integers(0, rows, batch))], dtype=np.float32)
    return (picked + rng.standard_normal((batch, width), dtype=np.float32) * np.float32(0.1)).astype(np.float32)


def timed(function, repeats, budget):
    """p50, min and max ms of up to `repeats` calls after one warm-up, stopping after `budget` seconds
    once 3 calls are in."""
    function()
    samples = []
    began = time.perf_counter()
    while len(samples) < repeats and (len(samples) < 3 or time.perf_counter() - began < budget):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    return samples[len(samples) // 2], samples[0], samples[-1], len(samples)


def recall(found, exact):
    hits = sum(len(set(f) & set(e)) for f, e in zip(found, exact))
    return hits / exact.size


def faiss_rows(table, batches, repeats, budget):
    import faiss

    faiss.omp_set_num_threads(1)
    rows, width = table.shape
    flat = faiss.IndexFlatIP(width)
    flat.add(table)
    sq8 = faiss.IndexScalarQuantizer(width, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    sq8.train(table[:: max(1, rows // 1_000_000)])  # per-dimension ranges: 1M rows are plenty
    sq8.add(table)
    results = []
    for batch in batches:
        queries = queries_for(table, batch)
        _, exact = flat.search(queries, 10)
        _, approximate = sq8.search(queries, 10)
        for name, index, found in [("FAISS IndexFlatIP (exact)", flat, exact),
                                   ("FAISS IndexScalarQuantizer 8-bit", sq8, approximate)]:
            p50, low, high, count = timed(lambda: index.search(queries, 10), repeats, budget)
            results.append({"engine": name, "rows": rows, "batch": batch, "p50_ms": p50, "min_ms": low,
                            "max_ms": high, "calls": count, "recall_at_10": recall(found, exact)})
    return results


def ort_rows(table, batches, repeats, budget, work):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rows, width = table.shape
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory(dir=work) as folder:
        # The table as an external-data initializer written straight from the mapping: a 10M × 64 table
        # in the protobuf itself exceeds its 2 GB limit ("Failed to serialize proto").
        np.ascontiguousarray(table).tofile(os.path.join(folder, "table.bin"))
        initializer = onnx.TensorProto(name="table", data_type=TensorProto.FLOAT, dims=[rows, width],
                                       data_location=TensorProto.EXTERNAL)
        for key, value in (("location", "table.bin"), ("offset", "0"), ("length", str(rows * width * 4))):
            entry = initializer.external_data.add()
            entry.key, entry.value = key, value
        graph = helper.make_graph(
            [helper.make_node("Gemm", ["query", "table"], ["scores"], transB=1),
             helper.make_node("TopK", ["scores", "k"], ["values", "indices"], axis=-1)],
            "scan", [helper.make_tensor_value_info("query", TensorProto.FLOAT, ["B", width])],
            [helper.make_tensor_value_info("values", TensorProto.FLOAT, ["B", 10]),
             helper.make_tensor_value_info("indices", TensorProto.INT64, ["B", 10])],
            [initializer, numpy_helper.from_array(np.array([10], dtype=np.int64), "k")])
        path = os.path.join(folder, "scan.onnx")
        onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    results = []
    for batch in batches:
        queries = queries_for(table, batch)
        indices = session.run(None, {"query": queries})[1]
        scores = np.asarray(table) @ queries.T  # the exact reference for the recall column: [rows, B]
        exact = np.argpartition(-scores, 10, axis=0)[:10].T
        del scores
        p50, low, high, count = timed(lambda: session.run(None, {"query": queries}), repeats, budget)
        results.append({"engine": "ONNX Runtime Gemm+TopK (exact)", "rows": rows, "batch": batch, "p50_ms": p50,
                        "min_ms": low, "max_ms": high, "calls": count, "recall_at_10": recall(indices, exact)})
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--engines", default="faiss,ort")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--budget", type=float, default=6.0, help="seconds per (engine, batch) after 3 calls")
    parser.add_argument("--work", default=tempfile.gettempdir())
    parser.add_argument("--json")
    args = parser.parse_args()

    table = item_table(args.folder)
    batches = [int(b) for b in args.batches.split(",")]
    results = []
    for engine in args.engines.split(","):
        if engine == "faiss":
            results += faiss_rows(table, batches, args.repeats, args.budget)
        elif engine == "ort":
            results += ort_rows(table, batches, args.repeats, args.budget, args.work)
        else:
            raise SystemExit(f"unknown engine {engine!r}: faiss or ort")
    for row in results:
        print(f"| {row['engine']} | {row['rows']:,} | {row['batch']} | {row['p50_ms']:.2f} | "
              f"{row['min_ms']:.2f}–{row['max_ms']:.2f} | {row['recall_at_10']:.4f} |", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
