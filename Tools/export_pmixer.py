#!/usr/bin/env python3
"""Export a pmixer/SASRec.pytorch state dict to a SeqRec source folder, refusing settings that contradict what
upstream recorded about it.

    .venv/bin/python export_pmixer.py ml-1m_default/SASRec.epoch=601.lr=0.001.layer=2.head=1.hidden=50.maxlen=200.pth \
        -o work/pmixer-v1 [--variant v1|v2|v3] [--maxlen N] [--num-heads N] [--norm-first true|false] \
        [--args-txt PATH | --no-args-txt] [--dropout-rate 0.5] [--source "pmixer/SASRec.pytorch@<commit>"] \
        [--dataset "..."] [--trained "..."] [--item-ids "..."] [--vocab vocab.tsv] \
        [--golden --upstream-dir CHECKOUT/python (--golden-sessions FILE | --data-file data/ml-1m.txt)]

What upstream records, and how each setting is decided (MODELS.md section 6):
  * the weights give hidden_units, num_blocks, itemnum and pos_emb's rows;
  * main.py names every checkpoint SASRec.epoch=E.lr=R.layer=B.head=H.hidden=D.maxlen=M.pth: layer and hidden
    must match the weights, head and maxlen give num_heads and maxlen;
  * main.py writes args.txt (every argument, `key,value` per line) into the run folder, beside the checkpoint: it
    gives maxlen, num_heads, dropout_rate and, since the v3 code (2025-05, current main), norm_first. A v3
    args.txt always has a norm_first line, a v1/v2 one never;
  * variant: pos_emb has maxlen rows in v1, maxlen + 1 in v2 and v3; v2 and v3 are told apart by args.txt.
A flag may repeat what these say; a flag that contradicts them is refused, as is an args.txt that contradicts the
file name (args.txt is rewritten by every run in the folder: pass --no-args-txt if it belongs to another run). A
setting nothing records must be given as a flag.
--golden writes golden.json from upstream's own model.py (--upstream-dir: the folder holding model.py of the
commit that trained the checkpoint), one session per call, left-padded as upstream's utils.evaluate does.
"""
import argparse
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_probe  # noqa: E402
import golden_io  # noqa: E402
from export_common import ExportError, Parser, import_torch, run  # noqa: E402

TOOL = "export_pmixer"
BLOCK_KEYS = ["attention_layernorms.{l}.weight", "attention_layernorms.{l}.bias",
              "attention_layers.{l}.in_proj_weight", "attention_layers.{l}.in_proj_bias",
              "attention_layers.{l}.out_proj.weight", "attention_layers.{l}.out_proj.bias",
              "forward_layernorms.{l}.weight", "forward_layernorms.{l}.bias",
              "forward_layers.{l}.conv1.weight", "forward_layers.{l}.conv1.bias",
              "forward_layers.{l}.conv2.weight", "forward_layers.{l}.conv2.bias"]
TOP_KEYS = ["item_emb.weight", "pos_emb.weight", "last_layernorm.weight", "last_layernorm.bias"]
NAME_FIELDS = {"epoch": int, "lr": float, "layer": int, "head": int, "hidden": int, "maxlen": int}
# main.py's arguments across versions (args.txt keys).
ARGS_KEYS = {"dataset", "train_dir", "batch_size", "lr", "maxlen", "hidden_units", "num_blocks", "num_epochs",
             "num_heads", "dropout_rate", "l2_emb", "device", "inference_only", "state_dict_path", "norm_first"}


def weights_shape(probe):
    """(hidden_units, num_blocks, itemnum, pos_emb rows) from the tensor table; ExportError if it is not pmixer's."""
    t = probe.tensors
    blocks = sorted({int(m.group(1)) for k in t for m in [re.match(r"attention_layers\.(\d+)\.", k)] if m})
    if not blocks or blocks != list(range(len(blocks))):
        raise ExportError(f"{probe.path}: attention_layers indices {blocks} are not 0..n-1")
    expected = set(TOP_KEYS) | {k.format(l=l) for l in blocks for k in BLOCK_KEYS}
    if set(t) != expected:
        raise ExportError(f"{probe.path}: not pmixer's SASRec tensors: missing {sorted(expected - set(t))[:4]}, "
                          f"unexpected {sorted(set(t) - expected)[:4]}")
    d = t["item_emb.weight"].shape[1]
    return d, len(blocks), t["item_emb.weight"].shape[0] - 1, t["pos_emb.weight"].shape[0]


def name_fields(path):
    """The fields main.py encodes in a checkpoint's file name ({} for a file named otherwise)."""
    base = os.path.basename(path)
    if not base.startswith("SASRec."):
        return {}
    out = {}
    for key, kind in NAME_FIELDS.items():
        m = re.search(r"(?:^|\.)" + key + r"=([0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)(?=\.)", base)
        if m:
            try:
                out[key] = kind(m.group(1))
            except ValueError:
                raise ExportError(f"{base}: file-name field {key}={m.group(1)} is not a number")
    return out


def read_args_txt(path):
    """args.txt as {key: string value}; unknown keys are an error (a misspelt or foreign file)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip("\n") for line in f if line.strip()]
    except OSError as e:
        raise ExportError(f"{path}: cannot be read ({e.strerror})")
    out = {}
    for n, line in enumerate(lines, 1):
        key, sep, value = line.partition(",")
        if not sep:
            raise ExportError(f"{path}:{n}: {line!r} is not a `key,value` line of pmixer's args.txt")
        if key not in ARGS_KEYS:
            from export_common import nearest
            raise ExportError(f"{path}:{n}: unknown argument {key!r}{nearest(key, ARGS_KEYS)}: not pmixer's args.txt?")
        out[key] = value
    return out


def _int(path, key, text):
    try:
        return int(text)
    except ValueError:
        raise ExportError(f"{path}: {key} is {text!r}, not an integer")


def resolve(name, claims):
    """The one value all given sources agree on. claims: [(source, value or None)]; None if none gives one."""
    given = [(s, v) for s, v in claims if v is not None]
    if not given:
        return None
    values = {v for _, v in given}
    if len(values) > 1:
        said = ", ".join(f"{s} says {v}" for s, v in given)
        raise ExportError(f"{name}: {said}; refusing to guess (a wrong {name} gives a silently wrong model)")
    return given[0][1]


def decide(args, probe):
    """Every hyperparameter, each from all the sources that record it; ExportError on any contradiction."""
    d, blocks, itemnum, pos_rows = weights_shape(probe)
    fields = name_fields(args.state_dict)
    for key, value in (("layer", blocks), ("hidden", d)):
        if key in fields and fields[key] != value:
            raise ExportError(f"{os.path.basename(args.state_dict)}: the file name says {key}={fields[key]}, the "
                              f"weights have {value} ({'blocks' if key == 'layer' else 'hidden units'}): renamed file?")
    txt, txt_path = {}, None
    if not args.no_args_txt:
        txt_path = args.args_txt or os.path.join(os.path.dirname(os.path.abspath(args.state_dict)), "args.txt")
        if args.args_txt or os.path.exists(txt_path):
            txt = read_args_txt(txt_path)
        else:
            txt_path = None
    src_txt = f"args.txt ({txt_path})"
    for key, value in (("hidden_units", d), ("num_blocks", blocks)):
        if key in txt and _int(txt_path, key, txt[key]) != value:
            raise ExportError(f"{src_txt} says {key}={txt[key]}, the weights have {value}: args.txt belongs to another "
                              "run in that folder (main.py rewrites it every run); pass --no-args-txt")
    name = f"file name {os.path.basename(args.state_dict)}"
    maxlen = resolve("maxlen", [(name, fields.get("maxlen")),
                                (src_txt, _int(txt_path, "maxlen", txt["maxlen"]) if "maxlen" in txt else None),
                                ("--maxlen", args.maxlen)])
    heads = resolve("num_heads", [(name, fields.get("head")),
                                  (src_txt, _int(txt_path, "num_heads", txt["num_heads"]) if "num_heads" in txt
                                   else None),
                                  ("--num-heads", args.num_heads)])
    if maxlen is None or heads is None:
        missing = [f for f, v in (("--maxlen", maxlen), ("--num-heads", heads)) if v is None]
        raise ExportError(f"neither the file name nor an args.txt records {' or '.join(missing)}: give "
                          f"{' and '.join(missing)}")
    if pos_rows not in (maxlen, maxlen + 1):
        raise ExportError(f"pos_emb has {pos_rows} rows: maxlen {maxlen} needs {maxlen} (v1) or {maxlen + 1} (v2, v3)")
    if heads < 1 or d % heads:
        raise ExportError(f"hidden_units {d} is not divisible by num_heads {heads}")

    txt_norm = None
    if "norm_first" in txt:
        if txt["norm_first"] not in ("True", "False"):
            raise ExportError(f"{src_txt}: norm_first is {txt['norm_first']!r}, expected True or False")
        txt_norm = txt["norm_first"] == "True"
    derived = "v1" if pos_rows == maxlen else ("v3" if txt_norm is not None else ("v2" if txt else None))
    how = {"v1": f"pos_emb has maxlen = {maxlen} rows", None: ""}.get(
        derived, f"pos_emb has maxlen + 1 rows and {src_txt} " + ("has" if derived == "v3" else "has no")
        + " norm_first line")
    variant = resolve("variant", [(how or "the weights", derived), ("--variant", args.variant)])
    if variant is None:
        raise ExportError(f"pos_emb has maxlen + 1 = {pos_rows} rows (v2 or v3) and no args.txt tells which: give "
                          "--variant v2 or v3 (current main is v3)")
    if variant == "v1" and pos_rows != maxlen or variant != "v1" and pos_rows != maxlen + 1:
        raise ExportError(f"--variant {variant}: pos_emb has {pos_rows} rows, maxlen {maxlen}: "
                          f"{'v1 needs maxlen rows' if variant == 'v1' else variant + ' needs maxlen + 1 rows'}")
    flag_norm = None if args.norm_first is None else args.norm_first == "true"
    norm_first = resolve("norm_first", [(src_txt, txt_norm), ("--norm-first", flag_norm)])
    if variant != "v3" and norm_first:
        raise ExportError("--norm-first exists only in v3")
    if variant == "v3" and norm_first is None:
        raise ExportError("v3 without an args.txt: give --norm-first true (pre-LN, main.py --norm_first) or false")
    dropout = resolve("dropout_rate", [(src_txt, float(txt["dropout_rate"]) if "dropout_rate" in txt else None),
                                       ("--dropout-rate", args.dropout_rate)])
    return {"d": d, "blocks": blocks, "itemnum": itemnum, "pos_rows": pos_rows, "maxlen": maxlen, "heads": heads,
            "variant": variant, "norm_first": bool(norm_first), "dropout": dropout, "fields": fields,
            "args_txt": txt_path}


def upstream_scores(upstream_dir, s, state, sessions):
    """Scores of upstream's model.py for each session, one call per session as utils.evaluate makes it."""
    torch = import_torch()
    import numpy as np
    path = os.path.join(upstream_dir or "", "model.py")
    if not upstream_dir or not os.path.isfile(path):
        raise ExportError("--golden needs --upstream-dir: the folder holding upstream's model.py (python/ on main)")
    with open(path, encoding="utf-8") as f:
        has_norm_first = "norm_first" in f.read()
    if has_norm_first != (s["variant"] == "v3"):
        raise ExportError(f"{path} is {'v3 code (norm_first)' if has_norm_first else 'v1/v2 code'}, the checkpoint is "
                          f"{s['variant']}: check out the commit that trained it")
    sys.path.insert(0, os.path.abspath(upstream_dir))
    import model as upstream
    ns = argparse.Namespace(hidden_units=s["d"], maxlen=s["maxlen"], num_blocks=s["blocks"], num_heads=s["heads"],
                            dropout_rate=s["dropout"] or 0.0, device="cpu", norm_first=s["norm_first"])
    net = upstream.SASRec(0, s["itemnum"], ns)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    net.eval()
    items = np.arange(s["itemnum"] + 1)
    out = np.zeros((len(sessions), s["itemnum"] + 1), dtype=np.float32)
    with torch.no_grad():
        for row, session in enumerate(sessions):
            seq = np.zeros([s["maxlen"]], dtype=np.int32)
            idx = s["maxlen"] - 1
            for i in reversed(session):
                seq[idx] = i
                idx -= 1
                if idx == -1:
                    break
            out[row] = net.predict(np.array([0]), seq[None], items)[0].numpy()
    return out


def golden_sessions(args, itemnum):
    if args.golden_sessions:
        sessions = golden_io.read_sessions(args.golden_sessions)
    elif args.data_file:
        users = {}
        try:
            with open(args.data_file, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    parts = line.split()
                    if len(parts) != 2:
                        raise ExportError(f"{args.data_file}:{n}: expected `user item` per line")
                    users.setdefault(int(parts[0]), []).append(int(parts[1]))
        except OSError as e:
            raise ExportError(f"--data-file {args.data_file}: cannot be read ({e.strerror})")
        sessions = golden_io.pick_sessions([users[u] for u in sorted(users)])
    else:
        raise ExportError("--golden needs sessions: --golden-sessions FILE or --data-file (pmixer's data/<name>.txt)")
    golden_io.check_ids(sessions, 1, itemnum, "pmixer item ids")
    return sessions


def main():
    p = Parser(TOOL, description=__doc__.split("\n")[0])
    p.add_argument("state_dict", help=".pth written by pmixer's main.py (model.state_dict())")
    p.add_argument("--variant", choices=["v1", "v2", "v3"], help="which upstream model.py trained it (MODELS.md 6.1)")
    p.add_argument("--maxlen", type=int)
    p.add_argument("--num-heads", type=int)
    p.add_argument("--norm-first", nargs="?", const="true", choices=["true", "false"],
                   help="v3 trained with --norm_first (pre-LN); `--norm-first false` for post-LN")
    p.add_argument("--args-txt", help="upstream's args.txt of the run (default: args.txt beside the checkpoint)")
    p.add_argument("--no-args-txt", action="store_true", help="ignore an args.txt beside the checkpoint")
    p.add_argument("--dropout-rate", type=float, help="training only; recorded")
    p.add_argument("--source", default="pmixer/SASRec.pytorch", help="repo@commit")
    p.add_argument("--dataset", default="unknown", help="dataset name and split, free text")
    p.add_argument("--trained", default="unknown", help="how it was trained, free text")
    p.add_argument("--item-ids", default="item id of the user/item text file (1..itemnum); 0 = padding row")
    p.add_argument("--vocab", help="optional vocab.tsv (internal id, token, title) to copy")
    p.add_argument("--golden", action="store_true", help="write golden.json from upstream's model.py")
    p.add_argument("--upstream-dir", help="folder holding upstream's model.py (for --golden)")
    p.add_argument("--golden-sessions", help="sessions for --golden (golden.json or JSONL of {\"session\": [ids]})")
    p.add_argument("--data-file", help="pmixer data file (`user item` lines) to pick --golden sessions from")
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args()
    if args.no_args_txt and args.args_txt:
        raise ExportError("--args-txt and --no-args-txt contradict each other")
    if args.vocab and not os.path.isfile(args.vocab):
        raise ExportError(f"--vocab {args.vocab}: no such file")

    probe = checkpoint_probe.probe(args.state_dict)
    checkpoint_probe.require_kind(probe, ["pmixer-state-dict"], TOOL)
    s = decide(args, probe)
    sessions = golden_sessions(args, s["itemnum"]) if args.golden else None

    torch = import_torch()
    try:
        state = torch.load(args.state_dict, map_location="cpu", weights_only=True)
    except Exception as e:  # the probe read it; torch refusing it now is still the file's problem
        raise ExportError(f"{args.state_dict}: torch cannot load it ({type(e).__name__}: {str(e)[:200]})")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    state = {re.sub(r"^module\.", "", k): v.detach().to(torch.float32).contiguous().numpy() for k, v in state.items()}

    hp = {"variant": s["variant"], "maxlen": s["maxlen"], "hidden_units": s["d"], "num_blocks": s["blocks"],
          "num_heads": s["heads"], "layer_norm_eps": 1e-8, "ffn_activation": "relu",
          "item_emb_scale": "sqrt(hidden_units)", "padding": "left", "padding_id": 0, "pos_emb_rows": s["pos_rows"]}
    if s["variant"] == "v3":
        hp["norm_first"] = s["norm_first"]
    if s["dropout"] is not None:
        hp["dropout_rate"] = s["dropout"]

    import safetensors_io
    os.makedirs(args.out, exist_ok=True)
    safetensors_io.save(os.path.join(args.out, "weights.safetensors"), state, {"source": args.source})
    checkpoint = {"file": os.path.basename(args.state_dict)}
    if s["args_txt"]:
        checkpoint["args_txt"] = s["args_txt"]
    cfg = {"family": f"pmixer-sasrec-{s['variant']}", "source": args.source, "n_items": s["itemnum"] + 1,
           "hyperparameters": hp, "item_ids": args.item_ids, "dataset": args.dataset, "trained": args.trained,
           "checkpoint": checkpoint}
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    if args.vocab:
        shutil.copyfile(args.vocab, os.path.join(args.out, "vocab.tsv"))
    print(f"exported pmixer-sasrec-{s['variant']}: {len(state)} tensors, d={s['d']}, blocks={s['blocks']}, "
          f"heads={s['heads']}, maxlen={s['maxlen']}" + (f", norm_first={s['norm_first']}" if s["variant"] == "v3"
                                                          else "") + f", items 1..{s['itemnum']}, to {args.out}")
    if sessions is not None:
        scores = upstream_scores(args.upstream_dir, s, state, sessions)
        desc = (f"Produced with upstream pmixer/SASRec.pytorch model.py ({os.path.abspath(args.upstream_dir)}, "
                f"{s['variant']}) by Tools/export_pmixer.py --golden: SASRec(0, {s['itemnum']}, args) with the exported "
                f"hyperparameters, load_state_dict(strict=True), model.eval(), torch.no_grad(), CPU float32, one "
                f"session per call. Input left-padded as upstream utils.evaluate: the last {s['maxlen']} items, pads "
                f"(0) first. Scores: model.predict(np.array([0]), seq[None], np.arange({s['itemnum'] + 1}))[0], raw "
                "logits for every row, row 0 (padding) included. 'top' = [id, score] pairs, score descending, ties "
                f"by lower id; 'scores' (first {golden_io.N_FULL} cases) = the full vector; shortest float32 decimals.")
        count = golden_io.write(os.path.join(args.out, "golden.json"), sessions, scores, desc)
        print(f"wrote {count} golden cases to {os.path.join(args.out, 'golden.json')}")


if __name__ == "__main__":
    run(main, TOOL)
