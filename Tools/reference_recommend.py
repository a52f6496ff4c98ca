#!/usr/bin/env python3
"""PyTorch stand-in for `seqrec recommend` on a RecBole checkpoint (reference, not the product).

    .venv/bin/python reference_recommend.py --checkpoint work/sasrec/saved/SASRec-....pth \
        --input sessions.jsonl --k 20 --format jsonl > results.jsonl

Same contract as the Swift CLI that evaluate_ml100k.py drives: one `{"session": [ids]}` per
input line (RecBole internal ids, oldest first, full history), one `{"items", "scores"}` per
output line, best first, PAD never returned, seen items kept. Scores come from RecBole's own
model code (full_sort_predict), with the input built as RecBole's data_augmentation does:
the last MAX_ITEM_LIST_LENGTH items, right-padded, item_length = min(n, L).
Use it to check evaluate_ml100k.py end to end against RecBole's printed metrics, and as a
scoring reference for the Swift runtime:
    python3 evaluate_ml100k.py --vocab ... --seqrec ".venv/bin/python reference_recommend.py \
        --checkpoint CKPT"
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np

for _alias, _target in (("float_", np.float64), ("complex_", np.complex128),
                        ("unicode_", np.str_), ("Inf", np.inf), ("NaN", np.nan)):
    if not hasattr(np, _alias):  # RecBole 1.2.1 predates NumPy 2
        setattr(np, _alias, _target)

import torch  # noqa: E402

torch.set_num_threads(1)


class _CountsOnly:
    """The only thing RecBole's sequential models read from a dataset at construction."""

    def __init__(self, n_items):
        self.n_items = n_items

    def num(self, field):
        return self.n_items


def load_model(path):
    from recbole.utils import get_model
    ckpt = torch.load(path, map_location="cpu", weights_only=False)  # trusted, our own file
    config, state = ckpt["config"], ckpt["state_dict"]
    rows = state["item_embedding.weight"].shape[0]
    n_items = rows - 1 if config["model"] == "BERT4Rec" else rows  # BERT4Rec adds [MASK]
    config["device"] = torch.device("cpu")
    model = get_model(config["model"])(config, _CountsOnly(n_items))
    torch.autograd.set_detect_anomaly(False)  # RecBole's import turns it on
    model.load_state_dict(state)
    return model.eval(), config, n_items


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--format", default="jsonl", choices=["jsonl"])
    p.add_argument("--batch", type=int, default=256)
    args = p.parse_args()

    model, config, n_items = load_model(args.checkpoint)
    L = config["MAX_ITEM_LIST_LENGTH"]
    seq_field = config["ITEM_ID_FIELD"] + config["LIST_SUFFIX"]
    len_field = config["ITEM_LIST_LENGTH_FIELD"]
    from recbole.data.interaction import Interaction
    with open(args.input) as f:
        sessions = [json.loads(line)["session"] for line in f if line.strip()]
    out = sys.stdout
    with torch.no_grad():
        for start in range(0, len(sessions), args.batch):
            chunk = sessions[start:start + args.batch]
            seq = torch.zeros((len(chunk), L), dtype=torch.int64)
            lengths = torch.zeros(len(chunk), dtype=torch.int64)
            for row, s in enumerate(chunk):
                s = s[-L:]
                seq[row, :len(s)] = torch.tensor(s, dtype=torch.int64)
                lengths[row] = len(s)
            scores = model.full_sort_predict(Interaction({seq_field: seq, len_field: lengths}))
            scores = scores.view(len(chunk), -1)[:, :n_items]
            scores[:, 0] = -np.inf  # PAD is never recommended (RecBole does the same)
            top = torch.topk(scores, args.k, dim=1)
            for items, vals in zip(top.indices.tolist(), top.values.tolist()):
                out.write(json.dumps({"items": items, "scores": vals}) + "\n")


if __name__ == "__main__":
    main()
