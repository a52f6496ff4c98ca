"""SeqRec vs ONNX Runtime (1 intra-op thread, spinning on and off) vs PyTorch eager (1 thread),
in one run, on the same weights and sessions. Entry point: Benchmarks/compare."""
import argparse
import datetime
import gc
import json
import os
import platform
import subprocess
import sys

import numpy as np
import onnxruntime
import torch

import engines
import report
import timing
import torch_models
import workloads
from safetensors_io import read_safetensors
from seqrec_engine import SeqRecEngine, SeqRecTools

SESSION_LENGTH = 50


def parse_arguments():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=root)
    parser.add_argument("--fixtures", default=None,
                        help="folder with the ml-100k fixtures (default: ../shared/fixtures, else the "
                             "project's own copies in Tests/Fixtures)")
    parser.add_argument("--work", default=os.path.join(root, "Benchmarks", "work"))
    parser.add_argument("--families", default="sasrec,gru4rec,bert4rec")
    parser.add_argument("--catalogs", default="1683,100000,1000000")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--kernels", default="auto,blas,simd")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=1.5)
    parser.add_argument("--min-iterations", type=int, default=20,
                        help="timed calls per repeat even past --max-seconds")
    parser.add_argument("--build-dir", default=None, help="folder with seqrec and seqrec-bench")
    parser.add_argument("--baseline-build-dir", default=None,
                        help="folder with another build's seqrec-bench, timed as 'SeqRec before' (auto "
                             "kernels) in the same run: before/after ratios of one change")
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--markdown-out", default=None)
    parser.add_argument("--prepare-only", action="store_true",
                        help="write the model folders and .seqrec files under --work, time nothing")
    return parser.parse_args()


def find_fixtures(arguments):
    candidates = [arguments.fixtures] if arguments.fixtures else [
        os.path.join(arguments.root, "..", "shared", "fixtures"),
        os.path.join(arguments.root, "Tests", "Fixtures")]
    for candidate in candidates:
        if candidate and os.path.isdir(candidate):
            return os.path.abspath(candidate)
    raise SystemExit("ml-100k fixtures not found: pass --fixtures <shared/fixtures>")


def machine_info(root):
    def first_line(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, cwd=root).stdout.strip()
        except OSError:
            return "unknown"
    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = set()
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    wanted = ("avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16")
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_features": [flag for flag in wanted if flag in flags],
        "openblas": openblas_core(),
        "commit": first_line(["git", "rev-parse", "--short", "HEAD"]),
        "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
        "python": platform.python_version(), "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
        "load_average": os.getloadavg(),
    }


def openblas_core():
    """The kernel family the system OpenBLAS (the one SeqRec links) picks in this environment, and the
    OPENBLAS_CORETYPE that forces it when set."""
    import ctypes
    import ctypes.util
    try:
        library = ctypes.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
        library.openblas_get_corename.restype = ctypes.c_char_p
        library.openblas_get_config.restype = ctypes.c_char_p
        return {"corename": library.openblas_get_corename().decode(),
                "config": library.openblas_get_config().decode(),
                "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    except (OSError, AttributeError) as error:
        return {"error": str(error)}


def agreement(reference, other):
    """Top-k items equal, and the largest score difference (engines use different sum orders)."""
    items_equal = reference[0] == other[0]
    difference = max(abs(a - b) for a, b in zip(reference[1], other[1]))
    return {"items_equal": items_equal, "max_score_diff": difference}


def run_model(family, catalog, arguments, tools, fixtures, results):
    folder = workloads.model_folder(family, catalog, fixtures, arguments.work)
    config = workloads.load_config(folder)
    tensors = read_safetensors(os.path.join(folder, "weights.safetensors"))
    module = torch_models.build(family, tensors, config["hyperparameters"], arguments.k)
    del tensors
    scored = workloads.scored_items(family, config)
    mask_token = config["n_items"] - 1
    tag = f"{family}-{catalog}"
    probe_sessions = workloads.bench_sessions(1, SESSION_LENGTH, scored)
    probe_inputs = torch_models.model_inputs(family, probe_sessions, mask_token)
    onnx_path = engines.export_onnx(module, *probe_inputs,
                                    os.path.join(arguments.work, "onnx", tag + ".onnx"))
    model_path = tools.convert(folder, os.path.join(arguments.work, "seqrec", tag + ".seqrec"))
    if arguments.prepare_only:
        print(f"prepared {model_path} and {onnx_path}", flush=True)
        return
    python_engines = [engines.OnnxRuntimeEngine(onnx_path, True),
                      engines.OnnxRuntimeEngine(onnx_path, False), engines.TorchEngine(module)]
    seqrec_engines = [SeqRecEngine(tools, model_path, kernels) for kernels in arguments.kernels.split(",")]
    if arguments.baseline_build_dir:
        baseline = SeqRecTools(os.path.join(arguments.baseline_build_dir, "seqrec"),
                               os.path.join(arguments.baseline_build_dir, "seqrec-bench"))
        seqrec_engines.append(SeqRecEngine(baseline, model_path, "auto", name="seqrec-before"))
    reference = engines.top_items(python_engines[2], *probe_inputs)
    checks = {engine.name: agreement(reference, engines.top_items(engine, *probe_inputs))
              for engine in python_engines[:2]}
    for batch in (int(b) for b in arguments.batches.split(",")):
        inputs = torch_models.model_inputs(
            family, workloads.bench_sessions(batch, SESSION_LENGTH, scored), mask_token)
        runs = {engine.name: [] for engine in python_engines + seqrec_engines}
        for repeat in range(arguments.repeats):
            for engine in python_engines:
                runs[engine.name].append(timing.time_calls(
                    engine.runner(*inputs), arguments.warmup, arguments.iterations, arguments.max_seconds,
                    arguments.min_iterations))
            for engine in seqrec_engines:
                measured = engine.measure(batch, arguments.k, arguments.warmup, arguments.iterations,
                                          arguments.max_seconds, arguments.min_iterations, SESSION_LENGTH)
                runs[engine.name].append(measured)
                if batch == 1 and repeat == 0:
                    checks[engine.name] = agreement(reference, (measured["top_items"], measured["top_scores"]))
        entry = {"family": family, "catalog": catalog, "batch": batch, "runs": runs, "checks": checks}
        results.append(entry)
        print(report.one_line(entry), flush=True)
    del module, python_engines
    gc.collect()


def main():
    arguments = parse_arguments()
    fixtures = find_fixtures(arguments)
    build_dir = arguments.build_dir or os.path.join(arguments.root, ".build", "release")
    tools = SeqRecTools(os.path.join(build_dir, "seqrec"), os.path.join(build_dir, "seqrec-bench"))
    engines.configure_torch()
    info = machine_info(arguments.root)
    print(json.dumps(info), flush=True)
    results = []
    for catalog in (int(c) for c in arguments.catalogs.split(",")):
        for family in arguments.families.split(","):
            run_model(family, catalog, arguments, tools, fixtures, results)
    if arguments.prepare_only:
        return 0
    bandwidth = tools.bandwidth(1_000_000, 64, max(3, arguments.repeats)) \
        if "1000000" in arguments.catalogs.split(",") else None
    document = {"machine": info, "arguments": vars(arguments), "results": results,
                "bandwidth": bandwidth}
    markdown = report.markdown(document)
    print(markdown)
    if arguments.json_out:
        with open(arguments.json_out, "w") as handle:
            json.dump(document, handle, indent=1)
    if arguments.markdown_out:
        with open(arguments.markdown_out, "w") as handle:
            handle.write(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
