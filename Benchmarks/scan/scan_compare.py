"""Catalogue-scan comparison for issue 18: FAISS (IndexFlatIP exact, IndexScalarQuantizer 8-bit with
recall@10 against exact) and ONNX Runtime (MatMul + TopK) on the item table of a SeqRec benchmark model
folder (weights.safetensors from Benchmarks/pycompare/workloads.py), one thread each, same queries.

Usage: scan_compare.py <model folder> [--batches 1,32] [--repeats 30] [--json out.json]
Prints one markdown row per (engine, batch): p50 and min ms per batch, and recall@10 where approximate.
SeqRec's own rows come from `seqrec-bench inprocess` in Benchmarks/scan/run (same run, same machine).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pycompare"))
from safetensors_io import read_safetensors  # noqa: E402


def timed(function, repeats):
    samples = []
    for _ in range(3):
        function()
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    return samples[len(samples) // 2], samples[0]


def recall(found, exact):
    hits = sum(len(set(f) & set(e)) for f, e in zip(found, exact))
    return hits / exact.size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json")
    args = parser.parse_args()

    import faiss
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    faiss.omp_set_num_threads(1)
    tensors = read_safetensors(os.path.join(args.folder, "weights.safetensors"))
    table = np.ascontiguousarray(tensors["item_embedding.weight"][1:], dtype=np.float32)  # row 0 = PAD
    rows, width = table.shape
    rng = np.random.default_rng(18)
    flat = faiss.IndexFlatIP(width)
    flat.add(table)
    sq8 = faiss.IndexScalarQuantizer(width, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    sq8.train(table)
    sq8.add(table)

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["query", "table_t"], ["scores"]),
         helper.make_node("TopK", ["scores", "k"], ["values", "indices"], axis=-1)],
        "scan", [helper.make_tensor_value_info("query", TensorProto.FLOAT, ["B", width])],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, ["B", 10]),
         helper.make_tensor_value_info("indices", TensorProto.INT64, ["B", 10])],
        [numpy_helper.from_array(np.ascontiguousarray(table.T), "table_t"),
         numpy_helper.from_array(np.array([10], dtype=np.int64), "k")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    results = []
    for batch in [int(b) for b in args.batches.split(",")]:
        # Queries shaped like readouts: a table row plus noise, so the top-10 is not degenerate.
        queries = (table[rng.integers(0, rows, batch)] + rng.standard_normal((batch, width), dtype=np.float32)
                   * np.float32(0.1)).astype(np.float32)
        _, exact = flat.search(queries, 10)
        _, approximate = sq8.search(queries, 10)
        for name, run, found in [
            ("FAISS IndexFlatIP (exact)", lambda: flat.search(queries, 10), exact),
            ("FAISS IndexScalarQuantizer 8-bit", lambda: sq8.search(queries, 10), approximate),
            ("ONNX Runtime MatMul+TopK (exact)", lambda: session.run(None, {"query": queries}), None),
        ]:
            repeats = max(5, args.repeats // (4 if batch > 1 else 1))
            p50, best = timed(run, repeats)
            row = {"engine": name, "rows": rows, "batch": batch, "p50_ms": p50, "min_ms": best}
            if found is not None:
                row["recall_at_10"] = recall(found, exact)
            if name.startswith("ONNX"):
                indices = session.run(None, {"query": queries})[1]
                row["recall_at_10"] = recall(indices, exact)
            results.append(row)
            print(f"| {name} | {rows:,} | {batch} | {p50:.2f} | {best:.2f} | "
                  f"{row['recall_at_10']:.4f} |", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
