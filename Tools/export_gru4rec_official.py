#!/usr/bin/env python3
"""Export an official GRU4Rec (hidasib/GRU4Rec_PyTorch_Official) model to a SeqRec source folder.

    .venv/bin/python export_gru4rec_official.py model.pt -o work/gru4rec \
        --upstream-dir /path/to/GRU4Rec_PyTorch_Official [--item-file ml-100k.item]

Input, either:
  * a model saved by upstream `GRU4Rec.savemodel()` / `run.py -s`: `torch.save` of the whole
    `gru4rec_pytorch.GRU4Rec` object. Unpickling it imports the upstream module by its name
    `gru4rec_pytorch`, so pass --upstream-dir = a checkout of the upstream repo (the folder that
    holds gru4rec_pytorch.py), and the file must be trusted (weights_only=False). We read
    `.model` (the GRU4RecModel nn.Module), `.data_iterator.itemidmap` (pandas Series:
    index = item id as read from the training file, value = item index) and the hyper-parameters
    stored on the object (`layers`, `embedding`, `constrained_embedding`, loss, ...);
  * or a plain state dict of GRU4RecModel (weights_only=True), then --vocab-from is required:
    a text file with one item id per line in index order, or a pickled itemidmap Series.

Output: weights.safetensors (the inner model's state_dict, upstream names), config.json,
vocab.tsv (index, item id, title if --item-file has a movie_title column). No padding id: index 0
is a real item.
"""
import argparse
import csv
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

TRAINING_ONLY = ["loss", "elu_param", "bpreg", "logq", "n_sample", "sample_alpha", "batch_size",
                 "learning_rate", "momentum", "dropout_p_embed", "dropout_p_hidden", "n_epochs"]


def load(path, upstream_dir):
    if upstream_dir:
        sys.path.insert(0, os.path.abspath(upstream_dir))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
        return None, obj  # a plain state dict
    except Exception:
        pass  # not plain tensors: the pickled GRU4Rec object
    try:
        gru = torch.load(path, map_location="cpu", weights_only=False)  # trusted file only
    except ModuleNotFoundError as e:
        sys.exit(f"{e}: pass --upstream-dir pointing at a GRU4Rec_PyTorch_Official checkout")
    return gru, gru.model.state_dict()


def mode_from_keys(state):
    # MODELS.md 7.1: separate if E.weight exists, one-hot if GE.* exists, constrained otherwise.
    if "E.weight" in state:
        return "separate"
    if any(k.startswith("GE.") for k in state):
        return "one-hot"
    return "constrained"


def read_vocab_from(path):
    if path.endswith((".pickle", ".pkl")):
        import pandas as pd
        s = pd.read_pickle(path)
        return [str(k) for k, _ in sorted(s.items(), key=lambda kv: int(kv[1]))]
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t")[0] for line in f if line.strip()]


def read_titles(path):
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = [h.split(":")[0] for h in next(rows)]
        if "movie_title" not in header:
            return {}
        return {r[0]: r[header.index("movie_title")] for r in rows}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", help="file from GRU4Rec.savemodel() or a GRU4RecModel state dict")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--upstream-dir", help="checkout holding gru4rec_pytorch.py (to unpickle)")
    p.add_argument("--vocab-from", help="item ids in index order (.txt) or itemidmap (.pickle); "
                   "overrides the model's own itemidmap")
    p.add_argument("--item-file", help="RecBole-style .item file with movie_title for titles")
    p.add_argument("--source", default="hidasib/GRU4Rec_PyTorch_Official", help="repo@commit")
    p.add_argument("--dataset", default="unknown", help="dataset and split, free text")
    p.add_argument("--trained", default="unknown", help="how it was trained, free text")
    args = p.parse_args()

    gru, state = load(args.model, args.upstream_dir)
    if args.vocab_from:
        tokens = read_vocab_from(args.vocab_from)
    elif gru is not None:
        imap = gru.data_iterator.itemidmap
        tokens = [str(k) for k, _ in sorted(imap.items(), key=lambda kv: int(kv[1]))]
        if [int(v) for v in sorted(imap.values)] != list(range(len(imap))):
            sys.exit("itemidmap values are not 0..n-1")
    else:
        sys.exit("a plain state dict has no item map: pass --vocab-from")

    n_items = state["Wy.weight"].shape[0]
    if len(tokens) != n_items:
        sys.exit(f"vocab has {len(tokens)} ids but Wy.weight has {n_items} rows")
    mode = mode_from_keys(state)
    cells = sorted({int(k.split(".")[1]) for k in state if k.startswith("G.")})
    layers = [int(state[f"G.{j}.weight_hh"].shape[1]) for j in cells]
    if mode == "one-hot":
        layers = [int(state["GE.Wh0"].shape[0])] + layers
    hp = {"layers": layers, "embedding_mode": mode, "output_bias": True,
          "constrained_embedding": mode == "constrained",
          "embedding": int(state["E.weight"].shape[1]) if mode == "separate" else 0}
    if cells:
        hp["gru_input_size"] = int(state[f"G.{cells[0]}.weight_ih"].shape[1])
    if gru is not None:
        # The object's own settings must agree with what the keys say.
        if list(gru.layers) != layers or bool(gru.constrained_embedding) != (mode == "constrained"):
            sys.exit(f"object says layers={gru.layers}, constrained={gru.constrained_embedding}; "
                     f"weights say layers={layers}, mode={mode}")
        hp.update({k: getattr(gru, k) for k in TRAINING_ONLY if hasattr(gru, k)})
        hp["note"] = "training-only settings are recorded as the object held them"

    os.makedirs(args.out, exist_ok=True)
    tensors = {k: v.detach().to(torch.float32).contiguous().numpy() for k, v in state.items()}
    safetensors_io.save(os.path.join(args.out, "weights.safetensors"), tensors,
                        {"source": args.source})
    titles = read_titles(args.item_file)
    with open(os.path.join(args.out, "vocab.tsv"), "w", encoding="utf-8") as f:
        for i, tok in enumerate(tokens):
            f.write(f"{i}\t{tok}\t{titles.get(tok, '')}\n")
    cfg = {"family": "gru4rec-official", "source": args.source, "n_items": int(n_items),
           "hyperparameters": hp,
           "item_ids": "GRU4Rec item index 0..n_items-1 = position in the official itemidmap "
                       "(order of first appearance in the training data); no padding id "
                       "(see vocab.tsv)",
           "dataset": args.dataset, "trained": args.trained}
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False, default=str)
        f.write("\n")
    print(f"exported gru4rec-official ({mode}, layers {layers}, {n_items} items) to {args.out}")


if __name__ == "__main__":
    main()
