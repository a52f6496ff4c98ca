"""The reference engines: PyTorch eager (1 thread) and ONNX Runtime (1 intra-op thread, spinning on
or off), running the modules of torch_models.py on the same weights and inputs."""
import os
import warnings

import numpy as np
import onnxruntime as ort
import torch

import torch_models


def configure_torch():
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set in this process: interop threads can be set once only


class TorchEngine:
    name = "torch-eager"

    def __init__(self, module):
        self.module = module

    def runner(self, sequences, lengths):
        module = self.module

        def call():
            with torch.inference_mode():
                return module(sequences, lengths)
        return call


def export_onnx(module, sequences, lengths, path):
    """Export with a dynamic batch axis; reuse an existing file (weights are deterministic)."""
    if os.path.isfile(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".partial"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, (sequences, lengths), temporary,
            input_names=["item_seq", "item_seq_len"], output_names=["scores", "items"],
            dynamic_axes={"item_seq": {0: "batch"}, "item_seq_len": {0: "batch"},
                          "scores": {0: "batch"}, "items": {0: "batch"}},
            opset_version=17, dynamo=False)
    os.replace(temporary, path)
    return path


class OnnxRuntimeEngine:
    def __init__(self, path, spinning):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.name = "ort-spin" if spinning else "ort-nospin"

    def runner(self, sequences, lengths):
        feeds = {"item_seq": sequences.numpy(), "item_seq_len": lengths.numpy()}
        session = self.session

        def call():
            return session.run(None, feeds)
        return call


def top_items(engine, sequences, lengths):
    """Top-k items and scores of the first query, as plain lists."""
    scores, items = engine.runner(sequences, lengths)()
    scores = np.asarray(scores)[0].tolist()
    items = np.asarray(items)[0].tolist()
    return items, scores
