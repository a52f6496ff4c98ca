"""SeqRec's side of the comparison: `seqrec convert` for the model file and the in-process
benchmark executable (`seqrec-bench inprocess … --format json`) for timings and top-k."""
import json
import os
import subprocess


class SeqRecTools:
    def __init__(self, seqrec, seqrec_bench):
        for path in (seqrec, seqrec_bench):
            if not os.access(path, os.X_OK):
                raise FileNotFoundError(f"{path} is not an executable; build with `swift build -c release`")
        self.seqrec = seqrec
        self.seqrec_bench = seqrec_bench

    def convert(self, folder, output):
        if os.path.isfile(output) and os.path.getmtime(output) >= os.path.getmtime(
                os.path.join(folder, "weights.safetensors")):
            return output
        os.makedirs(os.path.dirname(output), exist_ok=True)
        subprocess.run([self.seqrec, "convert", folder, "-o", output + ".partial"], check=True,
                       stdout=subprocess.DEVNULL)
        os.replace(output + ".partial", output)
        return output

    def inprocess(self, model, batch, k, kernels, warmup, iterations, max_seconds, min_iterations,
                  session_length):
        command = [self.seqrec_bench, "inprocess", "--model", model, "--batch", str(batch),
                   "--k", str(k), "--kernels", kernels, "--warmup", str(warmup),
                   "--iterations", str(iterations), "--max-seconds", str(max_seconds),
                   "--min-iterations", str(min_iterations),
                   "--session-length", str(session_length), "--repeats", "1", "--format", "json"]
        completed = subprocess.run(command, check=True, capture_output=True, text=True)
        result = json.loads(completed.stdout)
        result["min_us"] = min(run["min"] for run in result["runs"])  # fastest call, as timing.py reports
        return result

    def bandwidth(self, rows, dim, repeats):
        command = [self.seqrec_bench, "bandwidth", "--rows", str(rows), "--dim", str(dim),
                   "--repeats", str(repeats), "--format", "json"]
        completed = subprocess.run(command, check=True, capture_output=True, text=True)
        return json.loads(completed.stdout)


class SeqRecEngine:
    """Adapter with the same shape as the Python engines' results (one repeat per call)."""

    def __init__(self, tools, model, kernels, name=None):
        self.tools = tools
        self.model = model
        self.kernels = kernels
        self.name = name or f"seqrec-{kernels}"

    def measure(self, batch, k, warmup, iterations, max_seconds, min_iterations, session_length):
        return self.tools.inprocess(self.model, batch, k, self.kernels, warmup, iterations,
                                    max_seconds, min_iterations, session_length)
