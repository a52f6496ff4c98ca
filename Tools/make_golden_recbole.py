#!/usr/bin/env python3
"""Golden outputs for an exported RecBole model, in the format of shared/fixtures/*/golden.json.

    Tools/.venv/bin/python Tools/make_golden_recbole.py CKPT.pth -o Models/recbole-sasrec-ml100k \
        [--sessions-from ../shared/fixtures/recbole-sasrec-ml100k]

Lets the Swift converter/runtime check the shipped model itself, not only the fixtures: same
sessions as the given fixture (real ml-100k user prefixes, lengths 1..736, so truncation to
MAX_ITEM_LIST_LENGTH is exercised), scored by RecBole's own full_sort_predict in one batch,
eval mode, no grad. The fixture's vocab.tsv must equal the model's (same id space): checked.
"""
import argparse
import filecmp
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_recommend  # noqa: E402  (sets the NumPy aliases and 1 torch thread)
import torch  # noqa: E402

K = 100
N_FULL = 8  # cases that carry the full score vector


def f32(x):
    """Shortest decimal that round-trips to this float32."""
    return np.format_float_positional(np.float32(x), unique=True, trim="-")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("-o", "--out", required=True, help="exported model folder (has vocab.tsv)")
    p.add_argument("--sessions-from", default=os.path.join(
        here, "..", "..", "shared", "fixtures", "recbole-sasrec-ml100k"))
    args = p.parse_args()

    if not filecmp.cmp(os.path.join(args.sessions_from, "vocab.tsv"),
                       os.path.join(args.out, "vocab.tsv"), shallow=False):
        sys.exit("the fixture's vocab.tsv differs from the model's: sessions would mean other items")
    with open(os.path.join(args.sessions_from, "golden.json")) as f:
        sessions = [c["session"] for c in json.load(f)["cases"]]

    model, config, n_items = reference_recommend.load_model(args.checkpoint)
    L = config["MAX_ITEM_LIST_LENGTH"]
    from recbole.data.interaction import Interaction
    seq = torch.zeros((len(sessions), L), dtype=torch.int64)
    lengths = torch.zeros(len(sessions), dtype=torch.int64)
    for row, s in enumerate(sessions):
        s = s[-L:]  # RecBole keeps the most recent L items, right-padded
        seq[row, :len(s)] = torch.tensor(s)
        lengths[row] = len(s)
    field = config["ITEM_ID_FIELD"] + config["LIST_SUFFIX"]
    with torch.no_grad():
        scores = model.full_sort_predict(
            Interaction({field: seq, config["ITEM_LIST_LENGTH_FIELD"]: lengths}))
    scores = scores.view(len(sessions), -1)[:, :n_items].numpy().astype(np.float32)

    desc = (f"Produced with RecBole {config['model']} code (recbole 1.2.1, PyTorch "
            f"{torch.__version__}, CPU, float32) by Tools/make_golden_recbole.py: model.eval(), "
            f"torch.no_grad(), one full_sort_predict call on all {len(sessions)} cases. Sessions "
            f"are those of {os.path.basename(os.path.normpath(args.sessions_from))}/golden.json "
            f"(full histories, oldest first; the runtime truncates to the last {L}); the input "
            f"row holds the last min(n, {L}) items right-padded with 0. Raw logits over all "
            f"{n_items} rows, row 0 ([PAD]) included as upstream computes it; 'top' = {golden_io.K} pairs "
            f"[id, score], score descending, ties by lower id; 'scores' (first {golden_io.N_FULL} cases "
            "only) = the full vector. Values are the shortest decimals of the float32 results.")
    count = golden_io.write(os.path.join(args.out, "golden.json"), sessions, scores, desc)
    print(f"wrote {count} cases to {os.path.join(args.out, 'golden.json')}")


if __name__ == "__main__":
    main()
