#!/usr/bin/env python3
"""NumPy-only scorer for an exported `recbole-sasrec` folder (MODELS.md section 3); no torch.

    python3 Tools/numpy_sasrec.py --model Models/recbole-sasrec-ml100k \
        --input sessions.jsonl --k 20 --format jsonl
    python3 Tools/numpy_sasrec.py --model ../shared/fixtures/recbole-sasrec-ml100k --check-golden

Same contract as `seqrec recommend` (see evaluate_ml100k.py), so it can stand in for the CLI.
Its purpose is to prove an exported folder is complete: it reads only weights.safetensors and
config.json, never the RecBole checkpoint. --check-golden compares with the folder's golden.json.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

_ERF = np.vectorize(math.erf, otypes=[np.float64])
ACT = {"gelu": lambda x: x * 0.5 * (1.0 + _ERF(x / math.sqrt(2.0))),
       "relu": lambda x: np.maximum(x, 0.0),
       "swish": lambda x: x / (1.0 + np.exp(-x)), "tanh": np.tanh,
       "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x))}


class SASRec:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        if cfg["family"] != "recbole-sasrec":
            sys.exit(f"{folder}: family {cfg['family']}, this scorer handles recbole-sasrec only")
        hp = cfg["hyperparameters"]
        self.w, _ = safetensors_io.load(os.path.join(folder, "weights.safetensors"))
        # float64 internally: this is a reference, not a speed path.
        self.w = {k: v.astype(np.float64) for k, v in self.w.items()}
        self.L, self.heads = hp["MAX_ITEM_LIST_LENGTH"], hp["n_heads"]
        self.layers, self.eps = hp["n_layers"], hp["layer_norm_eps"]
        self.act = ACT[hp["hidden_act"]]

    def ln(self, x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return self.w[p + ".weight"] * (x - mu) / np.sqrt(var + self.eps) + self.w[p + ".bias"]

    def lin(self, x, p):
        return x @ self.w[p + ".weight"].T + self.w[p + ".bias"]

    def scores(self, session):
        """Raw logits over all rows (row 0 = PAD included) for one full history."""
        t = np.asarray(session[-self.L:], dtype=np.int64)  # most recent L items
        m = len(t)
        E = self.w["item_embedding.weight"]
        x = self.ln(E[t] + self.w["position_embedding.weight"][:m], "LayerNorm")
        causal = np.triu(np.full((m, m), -10000.0), 1)  # only real tokens: causal is all
        H = x.shape[1]
        dh = H // self.heads
        for k in range(self.layers):
            a = f"trm_encoder.layer.{k}.multi_head_attention"
            q, kk, v = (self.lin(x, f"{a}.{n}").reshape(m, self.heads, dh).transpose(1, 0, 2)
                        for n in ("query", "key", "value"))
            s = q @ kk.transpose(0, 2, 1) / math.sqrt(dh) + causal
            s = np.exp(s - s.max(-1, keepdims=True))
            c = (s / s.sum(-1, keepdims=True)) @ v
            x = self.ln(self.lin(c.transpose(1, 0, 2).reshape(m, H), f"{a}.dense") + x,
                        f"{a}.LayerNorm")
            f = f"trm_encoder.layer.{k}.feed_forward"
            x = self.ln(self.lin(self.act(self.lin(x, f"{f}.dense_1")), f"{f}.dense_2") + x,
                        f"{f}.LayerNorm")
        return E @ x[m - 1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="exported folder (weights.safetensors, ...)")
    p.add_argument("--input")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--format", default="jsonl", choices=["jsonl"])
    p.add_argument("--check-golden", action="store_true")
    args = p.parse_args()
    model = SASRec(args.model)

    if args.check_golden:
        with open(os.path.join(args.model, "golden.json")) as f:
            cases = json.load(f)["cases"]
        worst, same = 0.0, 0
        for c in cases:
            s = model.scores(c["session"]).astype(np.float32)
            ids = [i for i, _ in c["top"]]
            ref = np.array([v for _, v in c["top"]], dtype=np.float32)
            worst = max(worst, float(np.abs(s[ids] - ref).max()))
            if "scores" in c:
                worst = max(worst, float(np.abs(s - np.array(c["scores"], np.float32)).max()))
            same += ids[:10] == list(np.lexsort((np.arange(len(s)), -s))[:10])
        print(f"{args.model}: {len(cases)} cases, max |score diff| {worst:.2e}, "
              f"identical top-10 in {same}/{len(cases)}")
        sys.exit(0 if worst < 1e-4 else 1)

    with open(args.input) as f:
        for line in f:
            if not line.strip():
                continue
            s = model.scores(json.loads(line)["session"])
            s[0] = -np.inf  # never recommend PAD
            top = np.lexsort((np.arange(len(s)), -s))[:args.k]
            print(json.dumps({"items": [int(i) for i in top],
                              "scores": [round(float(s[i]), 6) for i in top]}))


if __name__ == "__main__":
    main()
