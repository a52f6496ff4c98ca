"""RecBole's session-based zoo (NARM, STAMP, CORE trm/ave, SR-GNN, GC-SAN, LightSANs) side by side in
one run: SeqRec (`seqrec-bench inprocess`) against the UPSTREAM RecBole 1.2.1 model on the same
fixture weights, in PyTorch eager (1 thread) and, where the upstream model exports to ONNX, in ONNX
Runtime (1 intra-op thread, spinning on and off). Entry point: Benchmarks/compare-zoo.

Export: `torch.onnx.export` (TorchScript tracer, opset 17, dynamic batch) of the upstream
`full_sort_predict` followed by top-k over the items (PAD excluded). A traced graph is accepted only
when ONNX Runtime's top-k items AND scores equal upstream PyTorch's on sessions OTHER than the probe
used for tracing (every batch timed is checked): a model whose forward pass leaves PyTorch (NumPy,
Python loops over values) traces into a graph that is only right for the probe, and is reported as
not exportable with the reason, not timed.
"""
import argparse
import datetime
import json
import os
import sys
import warnings

import numpy as np
import torch
from torch import nn

import engines
import timing
from compare import find_fixtures, machine_info
from safetensors_io import read_safetensors
from seqrec_engine import SeqRecEngine, SeqRecTools
from workloads import bench_sessions

SESSION_LENGTH = 50
# family id in config.json → (upstream RecBole class, fixture folders)
ZOO = {
    "narm": ("NARM", "recbole-narm-ml100k"),
    "stamp": ("STAMP", "recbole-stamp-ml100k"),
    "core-trm": ("CORE", "recbole-core-ml100k"),
    "core-ave": ("CORE", "recbole-core-ave-ml100k"),
    "srgnn": ("SRGNN", "recbole-srgnn-ml100k"),
    "gcsan": ("GCSAN", "recbole-gcsan-ml100k"),
    "lightsans": ("LightSANs", "recbole-lightsans-ml100k"),
}


def parse_arguments():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=root)
    parser.add_argument("--fixtures", default=None,
                        help="folder with the recbole-*-ml100k fixtures (default: ../shared/fixtures, else "
                             "the project's copies in Tests/Fixtures)")
    parser.add_argument("--work", default=os.path.join(root, "Benchmarks", "work"))
    parser.add_argument("--models", default=",".join(ZOO))
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--kernels", default="auto")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=1.5)
    parser.add_argument("--min-iterations", type=int, default=20)
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--markdown-out", default=None)
    return parser.parse_args()


class _Counts:
    """What a RecBole model asks its dataset at construction: the item count (and CORE the list length)."""

    def __init__(self, n_items, max_length, list_field):
        self.n_items = n_items
        self.field2seqlen = {list_field: max_length}

    def num(self, field):
        return self.n_items


def upstream_model(class_name, folder):
    """The upstream RecBole model with the fixture's hyperparameters and weights, in eval mode."""
    for alias, target in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
        if not hasattr(np, alias):  # RecBole 1.2.1 still names these NumPy 1 aliases
            setattr(np, alias, target)
    from recbole.utils import get_model
    with open(os.path.join(folder, "config.json")) as handle:
        config = json.load(handle)
    hyperparameters = dict(config["hyperparameters"])
    hyperparameters["device"] = torch.device("cpu")
    hyperparameters["model"] = class_name
    counts = _Counts(config["n_items"], hyperparameters["MAX_ITEM_LIST_LENGTH"],
                     hyperparameters["ITEM_ID_FIELD"] + hyperparameters["LIST_SUFFIX"])
    model = get_model(class_name)(hyperparameters, counts)
    torch.autograd.set_detect_anomaly(False)  # RecBole's import turns it on
    tensors = read_safetensors(os.path.join(folder, "weights.safetensors"))
    model.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in tensors.items()})
    return model.eval(), hyperparameters


class UpstreamTopK(nn.Module):
    """(item_seq [B, L], item_seq_len [B]) → top-k (scores, items) of upstream full_sort_predict, PAD
    excluded: the same answer a SeqRec RECOMMEND gives."""

    def __init__(self, model, hyperparameters, k):
        super().__init__()
        self.model = model
        self.k = k
        self.sequence_field = hyperparameters["ITEM_ID_FIELD"] + hyperparameters["LIST_SUFFIX"]
        self.length_field = hyperparameters["ITEM_LIST_LENGTH_FIELD"]

    def forward(self, item_seq, item_seq_len):
        scores = self.model.full_sort_predict({self.sequence_field: item_seq, self.length_field: item_seq_len})
        scores = scores.view(item_seq.shape[0], -1)[:, 1:]
        values, indices = torch.topk(scores, self.k, dim=-1)
        return values, indices + 1


class OnnxRuntimeZooEngine(engines.OnnxRuntimeEngine):
    """Feeds only the inputs the exported graph kept (CORE never reads item_seq_len, so the tracer drops it)."""

    def runner(self, sequences, lengths):
        kept = {node.name for node in self.session.get_inputs()}
        feeds = {name: value.numpy() for name, value in (("item_seq", sequences), ("item_seq_len", lengths))
                 if name in kept}
        session = self.session

        def call():
            return session.run(None, feeds)
        return call


def inputs_for(sessions):
    sequences = torch.from_numpy(sessions).contiguous()
    return sequences, torch.full((sequences.shape[0],), sequences.shape[1], dtype=torch.long)


def probe_inputs(length, catalog):
    """A trace probe unlike every timed session (those come from workloads.bench_sessions)."""
    rng = np.random.default_rng(7)
    return inputs_for(rng.integers(1, catalog, size=(2, length), dtype=np.int64))


def try_export(module, path):
    """(path, None) when the tracer produced a file, else (None, one-line reason)."""
    if os.path.isfile(path):
        os.remove(path)  # always re-export: the verdict belongs to this run
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sequences, lengths = probe_inputs(SESSION_LENGTH, 1683)
    caught = []
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            torch.onnx.export(
                module, (sequences, lengths), path, input_names=["item_seq", "item_seq_len"],
                output_names=["scores", "items"],
                dynamic_axes={"item_seq": {0: "batch"}, "item_seq_len": {0: "batch"},
                              "scores": {0: "batch"}, "items": {0: "batch"}},
                opset_version=17, dynamo=False)
            caught = [str(w.message).split("\n")[0] for w in seen if "Tracer" in type(w.message).__name__
                      or "trace might not generalize" in str(w.message) or "NumPy" in str(w.message)]
    except Exception as error:  # noqa: BLE001 — the reason is the result
        line = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        return None, "torch.onnx.export failed — " + line[:300], []
    return path, None, sorted(set(caught))[:3]


def try_dynamo_export(module, path):
    """The second exporter (torch.export → ONNX), tried when the traced graph was rejected: a one-line
    reason when it fails, else None (its graph is then checked like the tracer's would be: not here)."""
    import logging
    logging.getLogger("torch").setLevel(logging.ERROR)
    sequences, lengths = probe_inputs(SESSION_LENGTH, 1683)
    batch = torch.export.Dim("batch")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (sequences, lengths), path, dynamo=True,
                              dynamic_shapes={"item_seq": {0: batch}, "item_seq_len": {0: batch}})
    except Exception as error:  # noqa: BLE001 — the reason is the result
        lines = [line.strip() for line in str(error).splitlines() if line.strip().startswith("<class")]
        return "torch.onnx.export(dynamo=True) failed — " + (lines[0] if lines else type(error).__name__)[:200]
    return None


def same_answer(reference, other, tolerance=1e-4):
    """Top-k items identical and scores within rtol 1e-4 (atol 1e-4 × max|score|), every session."""
    ref_scores, ref_items = (np.asarray(x) for x in reference)
    scores, items = (np.asarray(x) for x in other)
    if ref_items.shape != items.shape or not np.array_equal(ref_items, items):
        return False, "top-k items differ"
    scale = max(1.0, float(np.max(np.abs(ref_scores))))
    difference = float(np.max(np.abs(ref_scores - scores)))
    return difference <= tolerance * scale, f"max score difference {difference:.2e}"


def run_model(name, arguments, tools, results):
    class_name, fixture = ZOO[name]
    folder = os.path.join(arguments.fixtures, fixture)
    model, hyperparameters = upstream_model(class_name, folder)
    module = UpstreamTopK(model, hyperparameters, arguments.k).eval()
    catalog = json.load(open(os.path.join(folder, "config.json")))["n_items"]
    onnx_path, reason, tracer_warnings = try_export(module, os.path.join(arguments.work, "onnx", f"zoo-{name}.onnx"))
    model_path = tools.convert(folder, os.path.join(arguments.work, "seqrec", f"zoo-{name}.seqrec"))
    torch_engine = engines.TorchEngine(module)
    ort_engines = []
    if onnx_path:
        ort_engines = [OnnxRuntimeZooEngine(onnx_path, True), OnnxRuntimeZooEngine(onnx_path, False)]
    seqrec_engines = [SeqRecEngine(tools, model_path, kernels) for kernels in arguments.kernels.split(",")]
    entry = {"model": name, "upstream_class": class_name, "fixture": fixture, "catalog": catalog,
             "onnx": {"exported": onnx_path is not None, "reason": reason, "tracer_warnings": tracer_warnings},
             "batches": []}
    for batch in (int(b) for b in arguments.batches.split(",")):
        inputs = inputs_for(bench_sessions(batch, SESSION_LENGTH, catalog))
        with torch.inference_mode():
            reference = [x.numpy() for x in module(*inputs)]
        usable = []
        for engine in ort_engines:
            try:
                ok, detail = same_answer(reference, engine.runner(*inputs)())
            except Exception as error:  # noqa: BLE001 — a graph that cannot run these sessions is the finding
                message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                ok, detail = False, "ONNX Runtime cannot run it: " + message.split("Status Message: ")[-1][:200]
            entry["onnx"].setdefault("checks", {})[f"{engine.name} B={batch}"] = detail
            if ok:
                usable.append(engine)
            elif entry["onnx"]["exported"]:
                entry["onnx"]["exported"] = False
                entry["onnx"]["reason"] = (f"the traced graph is wrong on sessions other than the trace probe "
                                           f"({detail} at B={batch}): the forward pass leaves PyTorch "
                                           "(see tracer warnings)")
        if not entry["onnx"]["exported"]:
            usable = []
        runs = {engine.name: [] for engine in usable + [torch_engine] + seqrec_engines}
        checks = {}
        for repeat in range(arguments.repeats):
            for engine in usable + [torch_engine]:
                runs[engine.name].append(timing.time_calls(
                    engine.runner(*inputs), arguments.warmup, arguments.iterations, arguments.max_seconds,
                    arguments.min_iterations))
            for engine in seqrec_engines:
                measured = engine.measure(batch, arguments.k, arguments.warmup, arguments.iterations,
                                          arguments.max_seconds, arguments.min_iterations, SESSION_LENGTH)
                runs[engine.name].append(measured)
                if repeat == 0:
                    first = (np.asarray(reference[0][:1]), np.asarray(reference[1][:1]))
                    mine = (np.asarray([measured["top_scores"]]), np.asarray([measured["top_items"]]))
                    checks[engine.name] = same_answer(first, mine)[1] + (
                        ", top-k items equal" if np.array_equal(first[1], mine[1]) else ", TOP-K ITEMS DIFFER")
        entry["batches"].append({"batch": batch, "runs": runs, "checks": checks})
        line = " | ".join(f"{k} p50={timing.summarize_repeats(v)[0]:,.0f}us" for k, v in runs.items())
        print(f"{name:>10} B={batch:>2} | {line}", flush=True)
    if not entry["onnx"]["exported"]:
        entry["onnx"]["dynamo"] = try_dynamo_export(module,
                                                    os.path.join(arguments.work, "onnx", f"zoo-{name}-dynamo.onnx")) \
            or "torch.onnx.export(dynamo=True) produced a file (not checked or timed)"
    results.append(entry)


def cell(runs):
    median, low, high = timing.summarize_repeats(runs)
    return f"{median:,.0f} ({low:,.0f}–{high:,.0f})"


def markdown(document):
    info = document["machine"]
    kernels = document["arguments"]["kernels"].split(",")
    lines = ["## RecBole zoo: SeqRec vs upstream RecBole in ONNX Runtime and PyTorch (one run)", "",
             f"- date {info['date_utc']}, commit {info['commit']}, CPU {info['cpu']} ({info['cores']} cores), "
             f"load average at start {', '.join(f'{x:.2f}' for x in info['load_average'])}",
             f"- torch {info['torch']}, onnxruntime {info['onnxruntime']}, recbole {document['recbole']}; "
             "OpenBLAS " + str(info["openblas"].get("corename")),
             "- p50 µs per batch call, median of the repeats (min–max); sessions of 50 items; "
             "SeqRec/ORT uses the faster ORT mode; the fastest call (median across repeats) is the one least "
             "disturbed by other processes on a loaded machine", "",
             "| model | B | ORT spin | ORT no-spin | torch eager (upstream) | "
             + " | ".join(f"SeqRec {k}" for k in kernels) + " | SeqRec/ORT | SeqRec/torch | fastest call: SeqRec/ORT |",
             "|---|--:|--:|--:|--:|" + "--:|" * len(kernels) + "--:|--:|--:|"]
    for entry in document["results"]:
        for b in entry["batches"]:
            runs = b["runs"]
            ort = [timing.summarize_repeats(runs[n])[0] for n in ("ort-spin", "ort-nospin") if n in runs]
            seqrec = timing.summarize_repeats(runs[f"seqrec-{kernels[0]}"])[0]
            torch_p50 = timing.summarize_repeats(runs["torch-eager"])[0]
            ort_min = [timing.summarize_repeats(runs[n], "min_us")[0] for n in ("ort-spin", "ort-nospin") if n in runs]
            seqrec_min = timing.summarize_repeats(runs[f"seqrec-{kernels[0]}"], "min_us")[0]
            lines.append(
                f"| {entry['model']} | {b['batch']} | "
                + (cell(runs["ort-spin"]) if "ort-spin" in runs else "—") + " | "
                + (cell(runs["ort-nospin"]) if "ort-nospin" in runs else "—") + " | "
                + cell(runs["torch-eager"]) + " | "
                + " | ".join(cell(runs[f"seqrec-{k}"]) for k in kernels) + " | "
                + (f"{seqrec / min(ort):.2f}" if ort else "—") + f" | {seqrec / torch_p50:.2f} | "
                + (f"{seqrec_min / min(ort_min):.2f}" if ort_min else "—") + " |")
    lines += ["", "| model | upstream class | exports to ONNX | why not / checks | SeqRec vs upstream (first session) |",
              "|---|---|---|---|---|"]
    for entry in document["results"]:
        onnx = entry["onnx"]
        detail = onnx["reason"] if not onnx["exported"] else "; ".join(
            f"{k}: {v}" for k, v in onnx.get("checks", {}).items())
        if onnx.get("tracer_warnings") and not onnx["exported"]:
            detail += " — tracer: " + " / ".join(w.split(". ")[0] for w in onnx["tracer_warnings"])
        if onnx.get("dynamo"):
            detail += "; " + onnx["dynamo"]
        seqrec = "; ".join(f"{k} B={b['batch']}: {v}" for b in entry["batches"][:1] for k, v in b["checks"].items())
        lines.append(f"| {entry['model']} | {entry['upstream_class']} | {'yes' if onnx['exported'] else 'no'} | "
                     f"{detail} | {seqrec} |")
    return "\n".join(lines) + "\n"


def main():
    arguments = parse_arguments()
    arguments.fixtures = find_fixtures(arguments)
    build_dir = arguments.build_dir or os.path.join(arguments.root, ".build", "release")
    tools = SeqRecTools(os.path.join(build_dir, "seqrec"), os.path.join(build_dir, "seqrec-bench"))
    engines.configure_torch()
    import importlib.metadata
    info = machine_info(arguments.root)
    print(json.dumps(info), flush=True)
    results = []
    for name in arguments.models.split(","):
        if name not in ZOO:
            raise SystemExit(f"unknown model {name!r}; choose from {', '.join(ZOO)}")
        run_model(name, arguments, tools, results)
    document = {"machine": info, "arguments": vars(arguments), "results": results,
                "recbole": importlib.metadata.version("recbole"),
                "finished_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M UTC")}
    text = markdown(document)
    print(text)
    if arguments.json_out:
        with open(arguments.json_out, "w") as handle:
            json.dump(document, handle, indent=1, default=str)
    if arguments.markdown_out:
        with open(arguments.markdown_out, "w") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
