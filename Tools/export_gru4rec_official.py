#!/usr/bin/env python3
"""Export an official GRU4Rec (hidasib/GRU4Rec_PyTorch_Official) model to a SeqRec source folder.

    .venv/bin/python export_gru4rec_official.py model.pt -o work/gru4rec \
        --upstream-dir /path/to/GRU4Rec_PyTorch_Official [--item-file ml-100k.item] \
        [--golden (--golden-sessions FILE | --data-file train.tsv)]

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
The file is inspected without torch first (checkpoint_probe): complete, of this kind (else the right exporter is
named), and its tensors consistent with one embedding mode.

Output: weights.safetensors (the inner model's state_dict, upstream names), config.json (embedding_mode
`constrained`, `separate` or `onehot`, the spellings `seqrec convert` reads), vocab.tsv (index, item id, title if
--item-file has a movie_title column) and, with --golden, golden.json from upstream's GRU4RecModel.forward, one
item at a time from a zero state as upstream's evaluation feeds it (needs --upstream-dir). No padding id: index 0
is a real item.
"""
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_probe  # noqa: E402
import golden_io  # noqa: E402
from export_common import ExportError, Parser, import_torch, run  # noqa: E402

TOOL = "export_gru4rec_official"
TRAINING_ONLY = ["loss", "elu_param", "bpreg", "logq", "n_sample", "sample_alpha", "batch_size",
                 "learning_rate", "momentum", "dropout_p_embed", "dropout_p_hidden", "n_epochs"]


def mode_from_keys(names):
    # MODELS.md 7.1: separate if E.weight exists, one-hot if GE.* exists, constrained otherwise.
    if "E.weight" in names:
        return "separate"
    if any(k.startswith("GE.") for k in names):
        return "onehot"
    return "constrained"


def architecture(shapes, path):
    """(n_items, mode, layers, embedding, gru_input_size) from {name: shape}; ExportError if inconsistent."""
    for key in ("Wy.weight", "By.weight"):
        if key not in shapes:
            raise ExportError(f"{path}: no {key}: not a GRU4RecModel")
    n_items = shapes["Wy.weight"][0]
    mode = mode_from_keys(shapes)
    cells = sorted({int(k.split(".")[1]) for k in shapes if k.startswith("G.") and k.split(".")[1].isdigit()})
    start = 1 if mode == "onehot" else 0
    if cells != list(range(start, start + len(cells))):
        raise ExportError(f"{path}: GRU cells {cells} are not numbered {start}..")
    layers = [int(shapes[f"G.{j}.weight_hh"][1]) for j in cells]
    if mode == "onehot":
        if "GE.Wh0" not in shapes:
            raise ExportError(f"{path}: one-hot mode without GE.Wh0")
        layers = [int(shapes["GE.Wh0"][0])] + layers
    if not layers:
        raise ExportError(f"{path}: no GRU layer")
    embedding = int(shapes["E.weight"][1]) if mode == "separate" else 0
    gru_input = int(shapes[f"G.{cells[0]}.weight_ih"][1]) if cells else None
    want = {"separate": embedding, "constrained": layers[-1], "onehot": layers[0]}[mode]
    if cells and gru_input != want:
        raise ExportError(f"{path}: G.{cells[0]}.weight_ih takes {gru_input} inputs, {mode} mode feeds {want}")
    if shapes["Wy.weight"][1] != layers[-1] or shapes["By.weight"][0] != n_items:
        raise ExportError(f"{path}: Wy/By shapes {shapes['Wy.weight']}/{shapes['By.weight']} do not fit "
                          f"{n_items} items and a last layer of {layers[-1]}")
    return n_items, mode, layers, embedding, gru_input


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
    if not os.path.isfile(path):
        raise ExportError(f"--item-file {path}: no such file")
    with open(path, encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = [h.split(":")[0] for h in next(rows, [])]
        if "movie_title" not in header:
            return {}
        t = header.index("movie_title")
        return {r[0]: r[t] for r in rows if len(r) > t}


def data_file_sessions(path, tokens):
    """Sessions of an upstream-format TSV (SessionId, ItemId, Time columns), file order within a session, ids
    mapped through the model's item map, unknown items dropped."""
    index = {t: i for i, t in enumerate(tokens)}
    sessions = {}
    try:
        with open(path, encoding="utf-8") as f:
            rows = csv.reader(f, delimiter="\t")
            header = next(rows, [])
            if "SessionId" not in header or "ItemId" not in header:
                raise ExportError(f"--data-file {path}: expected a TSV with SessionId and ItemId columns "
                                  f"(header {header[:5]})")
            s, i = header.index("SessionId"), header.index("ItemId")
            for r in rows:
                if len(r) > max(s, i) and r[i] in index:
                    sessions.setdefault(r[s], []).append(index[r[i]])
    except OSError as e:
        raise ExportError(f"--data-file {path}: cannot be read ({e.strerror})")
    return golden_io.pick_sessions(list(sessions.values()))


def upstream_scores(model, layers, sessions, torch):
    """GRU4RecModel.forward one item at a time from zero hidden states (as upstream's batch_eval), per session."""
    import numpy as np
    out = []
    model.eval()
    with torch.no_grad():
        for session in sessions:
            H = [torch.zeros((1, n)) for n in layers]
            for item in session:
                O = model.forward(torch.tensor([item]), H, None, training=False)
            out.append(O[0].numpy().astype(np.float32))
    return np.stack(out)


def main():
    p = Parser(TOOL, description=__doc__.split("\n")[0])
    p.add_argument("model", help="file from GRU4Rec.savemodel() or a GRU4RecModel state dict")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--upstream-dir", help="checkout holding gru4rec_pytorch.py (to unpickle; for --golden)")
    p.add_argument("--vocab-from", help="item ids in index order (.txt) or itemidmap (.pickle); "
                   "overrides the model's own itemidmap")
    p.add_argument("--item-file", help="RecBole-style .item file with movie_title for titles")
    p.add_argument("--source", default="hidasib/GRU4Rec_PyTorch_Official", help="repo@commit")
    p.add_argument("--dataset", default="unknown", help="dataset and split, free text")
    p.add_argument("--trained", default="unknown", help="how it was trained, free text")
    p.add_argument("--golden", action="store_true", help="write golden.json from upstream's forward pass")
    p.add_argument("--golden-sessions", help="sessions for --golden (golden.json or JSONL of {\"session\": [ids]})")
    p.add_argument("--data-file", help="upstream-format TSV (SessionId, ItemId, Time) to pick --golden sessions from")
    args = p.parse_args()

    probe = checkpoint_probe.probe(args.model)
    checkpoint_probe.require_kind(probe, ["gru4rec-official-object", "gru4rec-official-state-dict"], TOOL)
    shapes = {k: t.shape for k, t in probe.tensors.items()}
    n_items, mode, layers, embedding, gru_input = architecture(shapes, args.model)
    upstream_module = os.path.join(args.upstream_dir or "", "gru4rec_pytorch.py")
    needs_upstream = probe.kind == "gru4rec-official-object" or args.golden
    if needs_upstream and not (args.upstream_dir and os.path.isfile(upstream_module)):
        why = "unpickling a saved GRU4Rec object" if probe.kind == "gru4rec-official-object" else "--golden"
        raise ExportError(f"{why} needs --upstream-dir: a GRU4Rec_PyTorch_Official checkout (the folder holding "
                          "gru4rec_pytorch.py)" + (f"; {upstream_module} does not exist" if args.upstream_dir else ""))
    if probe.kind == "gru4rec-official-state-dict" and not args.vocab_from:
        raise ExportError(f"{args.model}: a plain state dict has no item map: pass --vocab-from")
    if args.vocab_from and not os.path.isfile(args.vocab_from):
        raise ExportError(f"--vocab-from {args.vocab_from}: no such file")
    if args.golden and not (args.golden_sessions or args.data_file):
        raise ExportError("--golden needs sessions: --golden-sessions FILE or --data-file (upstream-format TSV)")
    titles = read_titles(args.item_file)

    torch = import_torch()
    if args.upstream_dir:
        sys.path.insert(0, os.path.abspath(args.upstream_dir))
    gru = None
    try:
        if probe.kind == "gru4rec-official-state-dict":
            state = torch.load(args.model, map_location="cpu", weights_only=True)
        else:  # trusted after the probe: upstream's own pickled GRU4Rec object
            gru = torch.load(args.model, map_location="cpu", weights_only=False)
            state = gru.model.state_dict()
    except (RuntimeError, EOFError, OSError, ImportError, AttributeError) as e:
        raise ExportError(f"{args.model}: torch cannot load it ({type(e).__name__}: {str(e)[:200]})")

    if args.vocab_from:
        tokens = read_vocab_from(args.vocab_from)
    else:
        imap = gru.data_iterator.itemidmap
        tokens = [str(k) for k, _ in sorted(imap.items(), key=lambda kv: int(kv[1]))]
        if [int(v) for v in sorted(imap.values)] != list(range(len(imap))):
            raise ExportError(f"{args.model}: its itemidmap values are not 0..n-1")
    if len(tokens) != n_items:
        raise ExportError(f"the vocabulary has {len(tokens)} ids but Wy.weight has {n_items} rows")

    hp = {"layers": layers, "embedding_mode": mode, "output_bias": True,
          "constrained_embedding": mode == "constrained", "embedding": embedding}
    if gru_input is not None:
        hp["gru_input_size"] = gru_input
    if gru is not None:
        # The object's own settings must agree with what the keys say.
        if list(gru.layers) != layers or bool(gru.constrained_embedding) != (mode == "constrained"):
            raise ExportError(f"the object says layers={gru.layers}, constrained={gru.constrained_embedding}; "
                              f"the weights say layers={layers}, mode={mode}")
        hp.update({k: getattr(gru, k) for k in TRAINING_ONLY if hasattr(gru, k)})
        hp["note"] = "training-only settings are recorded as the object held them"

    import safetensors_io
    os.makedirs(args.out, exist_ok=True)
    tensors = {k: v.detach().to(torch.float32).contiguous().numpy() for k, v in state.items()}
    safetensors_io.save(os.path.join(args.out, "weights.safetensors"), tensors, {"source": args.source})
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

    if args.golden:
        sessions = (golden_io.read_sessions(args.golden_sessions) if args.golden_sessions
                    else data_file_sessions(args.data_file, tokens))
        golden_io.check_ids(sessions, 0, n_items - 1, "GRU4Rec item indices")
        if gru is not None:
            model = gru.model
        else:
            import gru4rec_pytorch
            model = gru4rec_pytorch.GRU4RecModel(n_items, layers, 0.0, 0.0, embedding, mode == "constrained")
            model.load_state_dict(state, strict=True)
        model = model.to("cpu")
        scores = upstream_scores(model, layers, sessions, torch)
        desc = (f"Produced with upstream GRU4Rec_PyTorch_Official gru4rec_pytorch.py "
                f"({os.path.abspath(upstream_module)}) by Tools/export_gru4rec_official.py --golden: GRU4RecModel "
                f"({mode}, layers {layers}), CPU float32, torch.no_grad(). Per case: H = zeros per layer, then "
                "O = model.forward(torch.tensor([item]), H, None, training=False) for every item of the session in "
                "order (no truncation); the golden vector is O[0] after the last item: raw scores over all items, "
                "output bias included, no padding row. 'top' = [id, score] pairs, score descending, ties by lower "
                f"id; 'scores' (first {golden_io.N_FULL} cases) = the full vector; shortest float32 decimals.")
        count = golden_io.write(os.path.join(args.out, "golden.json"), sessions, scores, desc)
        print(f"wrote {count} golden cases to {os.path.join(args.out, 'golden.json')}")


if __name__ == "__main__":
    run(main, TOOL)
