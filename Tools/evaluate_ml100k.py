#!/usr/bin/env python3
"""Evaluate a model served by SeqRec on MovieLens-100k with RecBole's protocol (stdlib + NumPy).

    python3 Tools/evaluate_ml100k.py --vocab Models/recbole-sasrec-ml100k/vocab.tsv \
        --seqrec "swift run -c release seqrec recommend --model Models/sasrec.seqrec" \
        [--dataset-dir ../shared/datasets/ml-100k] [--split test|valid] [--json out.json]
    python3 Tools/evaluate_ml100k.py --vocab ... --check-golden ../shared/fixtures/recbole-sasrec-ml100k

What it expects from the CLI (the --seqrec command, split with shlex; we append
`--input FILE --k 20 --format jsonl`):
  * FILE holds one JSON object per line, `{"session": [id, ...]}`, ids = RecBole internal item
    ids (vocab.tsv column 1), oldest first, FULL history (the runtime truncates to its max length);
  * stdout has exactly one line per input line, in the same order:
    `{"items": [id, ...], "scores": [float, ...]}`, at least 20 items, best first, ranked over
    all real items (never PAD), items already in the session NOT removed.
Stdout lines that do not start with "{" (e.g. `swift run` build progress) are skipped;
stderr is passed through.

Protocol (RecBole 1.2.1, eval_args split LS valid_and_test, order TO, mode full):
  * each user's events are sorted by the min-max-normalised timestamp *as float32*, stable,
    so events about 1 s apart can tie and keep ml-100k.inter line order (83 users);
  * test: target = the user's last item, history = every earlier item; valid: target = second
    last, history = the items before it. One case per user (943);
  * full ranking, one target: Recall@K = Hit@K, MRR@K = 1/rank, NDCG@K = 1/log2(rank+1),
    Precision@K = Hit@K / K, averaged over users.
"""
import argparse
import csv
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np

KS = (10, 20)


def read_vocab(path):
    """token -> internal id, from vocab.tsv (internal id, token, title)."""
    tok2id = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            tok2id[parts[1]] = int(parts[0])
    return tok2id


def user_sequences(dataset_dir):
    """{user token: [item tokens in RecBole's order]}, users in order of first appearance."""
    with open(os.path.join(dataset_dir, "ml-100k.inter"), encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t")
        header = [h.split(":")[0] for h in next(rows)]
        iu, ii, it = header.index("user_id"), header.index("item_id"), header.index("timestamp")
        users, items, times = [], [], []
        for r in rows:
            users.append(r[iu]); items.append(r[ii]); times.append(float(r[it]))
    t = np.array(times, dtype=np.float64)
    # RecBole: normalize in float64, then the column becomes a float32 tensor.
    norm = ((t - t.min()) / (t.max() - t.min())).astype(np.float32)
    by_user = {}
    for idx, u in enumerate(users):
        by_user.setdefault(u, []).append(idx)
    seqs = {}
    for u, idxs in by_user.items():
        idxs = np.array(idxs)
        order = idxs[np.argsort(norm[idxs], kind="stable")]  # ties keep file order
        seqs[u] = [items[i] for i in order]
    return seqs


def naive_sequences(dataset_dir):
    """Same, ordered by the raw integer timestamp: only used to show what the ties change."""
    with open(os.path.join(dataset_dir, "ml-100k.inter"), encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    by_user = {}
    for r in rows:
        by_user.setdefault(r[0], []).append((int(float(r[3])), r[1]))
    return {u: [i for _, i in sorted(v, key=lambda x: x[0])] for u, v in by_user.items()}


def build_cases(seqs, tok2id, split):
    drop = 1 if split == "test" else 2
    cases = []
    for u, items in seqs.items():
        ids = [tok2id[i] for i in items]
        history, target = ids[:len(ids) - drop], ids[len(ids) - drop]
        cases.append((u, history, target))
    return cases


def run_cli(command, sessions, k):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "sessions.jsonl")
        with open(path, "w") as f:
            for s in sessions:
                f.write(json.dumps({"session": s}) + "\n")
        cmd = shlex.split(command) + ["--input", path, "--k", str(k), "--format", "jsonl"]
        print("running:", " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
        out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, text=True).stdout
    # `swift run` may print build progress on stdout: lines not starting with "{" are skipped.
    lines = out.splitlines()
    results = [json.loads(line) for line in lines if line.lstrip().startswith("{")]
    skipped = sum(1 for line in lines if line.strip() and not line.lstrip().startswith("{"))
    if skipped:
        print(f"note: skipped {skipped} non-JSON stdout lines", file=sys.stderr)
    if len(results) != len(sessions):
        sys.exit(f"CLI returned {len(results)} result lines for {len(sessions)} sessions")
    return [r["items"] for r in results]


def metrics(rankings, targets):
    """RecBole's full-ranking metrics for one target per case; rank is 1-based."""
    sums = {f"{m}@{k}": 0.0 for k in KS for m in ("recall", "mrr", "ndcg", "hit", "precision")}
    for items, target in zip(rankings, targets):
        if len(items) < max(KS):
            sys.exit(f"a result has only {len(items)} items, need {max(KS)}")
        if 0 in items[:max(KS)]:
            sys.exit("a result contains PAD (id 0)")
        rank = items.index(target) + 1 if target in items[:max(KS)] else None
        for k in KS:
            hit = rank is not None and rank <= k
            sums[f"recall@{k}"] += hit
            sums[f"hit@{k}"] += hit
            sums[f"precision@{k}"] += hit / k
            sums[f"mrr@{k}"] += 1.0 / rank if hit else 0.0
            sums[f"ndcg@{k}"] += 1.0 / math.log2(rank + 1) if hit else 0.0
    return {name: round(v / len(targets), 4) for name, v in sums.items()}


def check_golden(fixture, seqs, tok2id, dataset_dir):
    """Each golden session was cut from a real user history: count how many are prefixes of
    some user's sequence in our ordering, and in naive integer-timestamp ordering."""
    golden = json.load(open(os.path.join(fixture, "golden.json")))
    ours = [[tok2id[i] for i in s] for s in seqs.values()]
    naive = [[tok2id[i] for i in s] for s in naive_sequences(dataset_dir).values()]

    def is_prefix(sess, pool):
        n = len(sess)
        return any(len(p) >= n and p[:n] == sess for p in pool)

    sessions = [c["session"] for c in golden["cases"]]
    a = sum(is_prefix(s, ours) for s in sessions)
    b = sum(is_prefix(s, naive) for s in sessions)
    print(f"{fixture}: {a}/{len(sessions)} golden sessions are user prefixes in RecBole order "
          f"(float32 normalised time, stable); {b}/{len(sessions)} with naive int-time order")
    return a == len(sessions)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vocab", required=True, help="the model's vocab.tsv (id, token, title)")
    p.add_argument("--dataset-dir", default=os.path.join(here, "..", "..", "shared", "datasets",
                                                         "ml-100k"))
    p.add_argument("--seqrec", default="swift run -c release seqrec recommend --model "
                   "Models/sasrec-ml100k.seqrec",
                   help="recommend command; --input/--k/--format are appended")
    p.add_argument("--split", choices=["test", "valid"], default="test")
    p.add_argument("--json", help="also write the metrics here")
    p.add_argument("--dump-sessions", help="write the sessions JSONL here and exit")
    p.add_argument("--check-golden", nargs="*", metavar="FIXTURE",
                   help="only check session construction against fixture golden.json files")
    args = p.parse_args()

    tok2id = read_vocab(args.vocab)
    seqs = user_sequences(args.dataset_dir)
    if args.check_golden is not None:
        ok = all([check_golden(f, seqs, tok2id, args.dataset_dir) for f in args.check_golden])
        sys.exit(0 if ok else 1)

    cases = build_cases(seqs, tok2id, args.split)
    sessions = [h for _, h, _ in cases]
    if args.dump_sessions:
        with open(args.dump_sessions, "w") as f:
            for s in sessions:
                f.write(json.dumps({"session": s}) + "\n")
        print(f"wrote {len(sessions)} sessions to {args.dump_sessions}")
        return
    rankings = run_cli(args.seqrec, sessions, max(KS))
    result = metrics(rankings, [t for _, _, t in cases])
    report = {"protocol": f"RecBole full ranking, leave-one-out {args.split}, {len(cases)} users, "
                          "seen items not removed", "command": args.seqrec, "metrics": result}
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
