#!/usr/bin/env python3
"""Export a pmixer/SASRec.pytorch state dict to a SeqRec source folder.

    .venv/bin/python export_pmixer.py SASRec.epoch=601.lr=0.001.layer=2.head=1.hidden=50.maxlen=200.pth \
        --variant v1 --maxlen 200 --num-heads 1 -o work/pmixer-v1 \
        [--norm-first] [--dropout-rate 0.5] [--source "pmixer/SASRec.pytorch@<commit>"] \
        [--dataset "..."] [--trained "..."] [--item-ids "..."] [--vocab vocab.tsv]

pmixer's main.py saves `model.state_dict()`; this is loaded with weights_only=True (plain tensors).
The weights cannot tell V2 from V3 or post-LN from pre-LN (MODELS.md section 1), and num_heads is
not derivable, so --variant, --num-heads and (V3) --norm-first must be given; what *is* derivable
(hidden_units, num_blocks, itemnum, maxlen) is checked against the tensor shapes.
"""
import argparse
import json
import os
import re
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

BLOCK_KEYS = ["attention_layernorms.{l}.weight", "attention_layernorms.{l}.bias",
              "attention_layers.{l}.in_proj_weight", "attention_layers.{l}.in_proj_bias",
              "attention_layers.{l}.out_proj.weight", "attention_layers.{l}.out_proj.bias",
              "forward_layernorms.{l}.weight", "forward_layernorms.{l}.bias",
              "forward_layers.{l}.conv1.weight", "forward_layers.{l}.conv1.bias",
              "forward_layers.{l}.conv2.weight", "forward_layers.{l}.conv2.bias"]
TOP_KEYS = ["item_emb.weight", "pos_emb.weight", "last_layernorm.weight", "last_layernorm.bias"]


def load_state_dict(path):
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]  # tolerate {"state_dict": ...} wrappers
    obj = {re.sub(r"^module\.", "", k): v for k, v in obj.items()}  # DataParallel prefix
    return obj


def check(state, variant, maxlen, num_heads, norm_first):
    """Return (hidden_units, num_blocks, itemnum); exit with a clear message if inconsistent."""
    errors = []
    d = state["item_emb.weight"].shape[1]
    blocks = sorted({int(m.group(1)) for k in state
                     for m in [re.match(r"attention_layers\.(\d+)\.", k)] if m})
    if blocks != list(range(len(blocks))) or not blocks:
        errors.append(f"attention_layers indices {blocks} are not 0..n-1")
    expected = set(TOP_KEYS) | {k.format(l=l) for l in blocks for k in BLOCK_KEYS}
    if set(state) != expected:
        errors.append(f"missing {sorted(expected - set(state))}, unexpected "
                      f"{sorted(set(state) - expected)}")
    pos_rows = state["pos_emb.weight"].shape[0]
    want_rows = maxlen if variant == "v1" else maxlen + 1
    if pos_rows != want_rows:
        errors.append(f"pos_emb has {pos_rows} rows; {variant} with maxlen {maxlen} needs "
                      f"{want_rows}")
    if d % num_heads:
        errors.append(f"hidden_units {d} is not divisible by num_heads {num_heads}")
    if norm_first and variant != "v3":
        errors.append("--norm-first exists only in v3")
    if errors:
        sys.exit("export_pmixer: " + "; ".join(errors))
    return d, len(blocks), state["item_emb.weight"].shape[0] - 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("state_dict", help=".pth written by pmixer's main.py (model.state_dict())")
    p.add_argument("--variant", required=True, choices=["v1", "v2", "v3"],
                   help="which upstream model.py trained it (MODELS.md section 6.1)")
    p.add_argument("--maxlen", type=int, required=True)
    p.add_argument("--num-heads", type=int, required=True)
    p.add_argument("--norm-first", action="store_true", help="v3 trained with --norm_first")
    p.add_argument("--dropout-rate", type=float, help="training only; recorded if given")
    p.add_argument("--source", default="pmixer/SASRec.pytorch", help="repo@commit")
    p.add_argument("--dataset", default="unknown", help="dataset name and split, free text")
    p.add_argument("--trained", default="unknown", help="how it was trained, free text")
    p.add_argument("--item-ids", default="item id of the user/item text file (1..itemnum); "
                   "0 = padding row")
    p.add_argument("--vocab", help="optional vocab.tsv (internal id, token, title) to copy")
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args()

    state = load_state_dict(args.state_dict)
    d, n_blocks, itemnum = check(state, args.variant, args.maxlen, args.num_heads,
                                 args.norm_first)
    hp = {"variant": args.variant, "maxlen": args.maxlen, "hidden_units": d,
          "num_blocks": n_blocks, "num_heads": args.num_heads, "layer_norm_eps": 1e-8,
          "ffn_activation": "relu", "item_emb_scale": "sqrt(hidden_units)", "padding": "left",
          "padding_id": 0, "pos_emb_rows": int(state["pos_emb.weight"].shape[0])}
    if args.variant == "v3":
        hp["norm_first"] = bool(args.norm_first)
    if args.dropout_rate is not None:
        hp["dropout_rate"] = args.dropout_rate

    os.makedirs(args.out, exist_ok=True)
    tensors = {k: v.detach().to(torch.float32).contiguous().numpy() for k, v in state.items()}
    safetensors_io.save(os.path.join(args.out, "weights.safetensors"), tensors,
                        {"source": args.source})
    cfg = {"family": f"pmixer-sasrec-{args.variant}", "source": args.source,
           "n_items": itemnum + 1, "hyperparameters": hp, "item_ids": args.item_ids,
           "dataset": args.dataset, "trained": args.trained,
           "checkpoint": {"file": os.path.basename(args.state_dict)}}
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    if args.vocab:
        shutil.copyfile(args.vocab, os.path.join(args.out, "vocab.tsv"))
    print(f"exported pmixer-sasrec-{args.variant}: {len(tensors)} tensors, d={d}, "
          f"blocks={n_blocks}, items 1..{itemnum}, to {args.out}")


if __name__ == "__main__":
    main()
