"""Model folders for the comparison: the real ml-100k fixtures for 1,683 items, and synthetic
RecBole-shaped weights (numpy, fixed seed) for the 100k and 1M catalogs.

A folder holds weights.safetensors + config.json in the layout of shared/fixtures, so `seqrec
convert` reads it and PyTorch/ONNX Runtime load the very same arrays.
"""
import json
import os

import numpy as np

from safetensors_io import write_safetensors

FAMILIES = ("sasrec", "gru4rec", "bert4rec")
FAMILY_IDS = {"sasrec": "recbole-sasrec", "gru4rec": "recbole-gru4rec", "bert4rec": "recbole-bert4rec"}
FIXTURE_NAMES = {"sasrec": "recbole-sasrec-ml100k", "gru4rec": "recbole-gru4rec-ml100k",
                 "bert4rec": "recbole-bert4rec-ml100k"}
ML100K_ITEMS = 1683  # RecBole n_items for ml-100k: 1,682 items + PAD

TRANSFORMER_HYPERPARAMETERS = {
    "n_layers": 2, "n_heads": 2, "hidden_size": 64, "inner_size": 256, "hidden_act": "gelu",
    "layer_norm_eps": 1e-12, "MAX_ITEM_LIST_LENGTH": 50,
}
GRU_HYPERPARAMETERS = {"embedding_size": 64, "hidden_size": 128, "num_layers": 1,
                       "MAX_ITEM_LIST_LENGTH": 50}


def scored_items(family, config):
    """N: the number of scored rows (PAD included); BERT4Rec's table has one more row (MASK)."""
    rows = config["n_items"]
    return rows - 1 if family == "bert4rec" else rows


def model_folder(family, catalog, shared_fixtures, work_dir):
    """The folder with weights + config for (family, catalog), creating synthetic ones on demand."""
    if catalog == ML100K_ITEMS:
        folder = os.path.join(shared_fixtures, FIXTURE_NAMES[family])
        if not os.path.isfile(os.path.join(folder, "weights.safetensors")):
            raise FileNotFoundError(f"fixture {folder} is missing; pass --fixtures")
        return folder
    folder = os.path.join(work_dir, "models", f"{family}-{catalog}")
    if not os.path.isfile(os.path.join(folder, "config.json")):
        os.makedirs(folder, exist_ok=True)
        write_synthetic(family, catalog, folder)
    return folder


def _normal(generator, shape, scale=0.02):
    return (generator.standard_normal(shape, dtype=np.float32) * np.float32(scale)).astype(np.float32)


def _layer_norm(generator, prefix, width, tensors):
    tensors[prefix + ".weight"] = (1.0 + _normal(generator, (width,), 0.05)).astype(np.float32)
    tensors[prefix + ".bias"] = _normal(generator, (width,), 0.05)


def _transformer_layers(generator, tensors, hp):
    hidden, inner = hp["hidden_size"], hp["inner_size"]
    for k in range(hp["n_layers"]):
        attention = f"trm_encoder.layer.{k}.multi_head_attention."
        for name in ("query", "key", "value", "dense"):
            tensors[attention + name + ".weight"] = _normal(generator, (hidden, hidden))
            tensors[attention + name + ".bias"] = _normal(generator, (hidden,))
        _layer_norm(generator, attention + "LayerNorm", hidden, tensors)
        ffn = f"trm_encoder.layer.{k}.feed_forward."
        tensors[ffn + "dense_1.weight"] = _normal(generator, (inner, hidden))
        tensors[ffn + "dense_1.bias"] = _normal(generator, (inner,))
        tensors[ffn + "dense_2.weight"] = _normal(generator, (hidden, inner))
        tensors[ffn + "dense_2.bias"] = _normal(generator, (hidden,))
        _layer_norm(generator, ffn + "LayerNorm", hidden, tensors)


def synthetic_tensors(family, catalog, seed=20261122):
    """RecBole state_dict of the given family with `catalog` scored rows (PAD included).

    Item rows are N(0, 1) scaled by 1/sqrt(d)·3 so that scores spread like a trained model's
    rather than collapsing to ties; the rest uses RecBole's N(0, 0.02) initialiser."""
    generator = np.random.default_rng(seed)
    tensors = {}
    if family == "gru4rec":
        hp = dict(GRU_HYPERPARAMETERS)
        emb, hidden = hp["embedding_size"], hp["hidden_size"]
        tensors["item_embedding.weight"] = _normal(generator, (catalog, emb), 3.0 / emb ** 0.5)
        tensors["gru_layers.weight_ih_l0"] = _normal(generator, (3 * hidden, emb), 0.1)
        tensors["gru_layers.weight_hh_l0"] = _normal(generator, (3 * hidden, hidden), 0.1)
        tensors["dense.weight"] = _normal(generator, (emb, hidden), 0.1)
        tensors["dense.bias"] = _normal(generator, (emb,), 0.1)
        return tensors, hp, catalog
    hp = dict(TRANSFORMER_HYPERPARAMETERS)
    hidden = hp["hidden_size"]
    rows = catalog + 1 if family == "bert4rec" else catalog
    tensors["item_embedding.weight"] = _normal(generator, (rows, hidden), 3.0 / hidden ** 0.5)
    tensors["position_embedding.weight"] = _normal(generator, (hp["MAX_ITEM_LIST_LENGTH"], hidden))
    _layer_norm(generator, "LayerNorm", hidden, tensors)
    _transformer_layers(generator, tensors, hp)
    if family == "bert4rec":
        tensors["output_ffn.weight"] = _normal(generator, (hidden, hidden), 0.1)
        tensors["output_ffn.bias"] = _normal(generator, (hidden,))
        _layer_norm(generator, "output_ln", hidden, tensors)
        tensors["output_bias"] = _normal(generator, (catalog,))
        hp["n_items"] = catalog
        hp["mask_token"] = catalog
    return tensors, hp, rows


def write_synthetic(family, catalog, folder):
    tensors, hyperparameters, rows = synthetic_tensors(family, catalog)
    write_safetensors(os.path.join(folder, "weights.safetensors"), tensors,
                      {"source": "SeqRec Benchmarks/pycompare synthetic weights"})
    config = {
        "family": FAMILY_IDS[family],
        "source": "synthetic (Benchmarks/pycompare/workloads.py, numpy seed 20261122)",
        "n_items": rows,
        "hyperparameters": hyperparameters,
        "item_ids": "synthetic: 0 = [PAD], 1..N-1 items" + (", N = [MASK]" if family == "bert4rec" else ""),
        "dataset": f"none: random weights of RecBole shape with {catalog} scored rows",
        "trained": "not trained",
    }
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump(config, handle, indent=2)


def load_config(folder):
    with open(os.path.join(folder, "config.json")) as handle:
        return json.load(handle)


def bench_session(batch_index, position, catalog):
    """Deterministic session items shared with seqrec-bench: ids in 1 … N-1 (never PAD)."""
    return 1 + (position * 7919 + batch_index * 104729 + 17) % (catalog - 1)


def bench_sessions(batch, length, catalog):
    return np.array([[bench_session(b, j, catalog) for j in range(length)] for b in range(batch)],
                    dtype=np.int64)
