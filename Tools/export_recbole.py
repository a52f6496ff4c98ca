#!/usr/bin/env python3
"""Export a RecBole 1.2.x checkpoint (SASRec, BERT4Rec, GRU4Rec) to a SeqRec source folder.

    .venv/bin/python export_recbole.py work/sasrec/saved/SASRec-<date>.pth \
        --dataset-dir ../../shared/datasets/ml-100k -o ../Models/recbole-sasrec-ml100k \
        [--result work/sasrec/result.json]

Output (layout of shared/fixtures/<name>/): weights.safetensors (state_dict, upstream names,
float32), config.json, vocab.tsv (internal id, token, title; row 0 = [PAD]).
The checkpoint is the dict RecBole's Trainer saves ({config, state_dict, epoch, ...}); it pickles
RecBole's Config, so recbole must be importable and the file must be trusted (weights_only=False).
Item ids come from RecBole itself: the dataset is rebuilt from the checkpoint's config (data_path
pointed at --dataset-dir) and dataset.field2id_token[ITEM_ID_FIELD] is the id -> token table.
"""
import argparse
import csv
import importlib.metadata
import json
import os
import sys

import numpy as np

for _alias, _target in (("float_", np.float64), ("complex_", np.complex128),
                        ("unicode_", np.str_), ("Inf", np.inf), ("NaN", np.nan)):
    if not hasattr(np, _alias):  # RecBole 1.2.1 predates NumPy 2
        setattr(np, _alias, _target)

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

FIELDS = ["MAX_ITEM_LIST_LENGTH", "USER_ID_FIELD", "ITEM_ID_FIELD", "LIST_SUFFIX",
          "ITEM_LIST_LENGTH_FIELD", "NEG_PREFIX"]
TRANSFORMER = ["n_layers", "n_heads", "hidden_size", "inner_size", "hidden_act",
               "layer_norm_eps", "hidden_dropout_prob", "attn_dropout_prob",
               "initializer_range", "loss_type"]
FAMILIES = {  # RecBole model name -> (SeqRec family, hyperparameters the forward pass needs)
    "SASRec": ("recbole-sasrec", TRANSFORMER + FIELDS),
    "BERT4Rec": ("recbole-bert4rec", TRANSFORMER + ["mask_ratio", "ft_ratio", "transform"] + FIELDS),
    "GRU4Rec": ("recbole-gru4rec", ["embedding_size", "hidden_size", "num_layers", "dropout_prob",
                                    "loss_type"] + FIELDS),
}
ITEM_TABLE = {"SASRec": "item_embedding.weight", "BERT4Rec": "item_embedding.weight",
              "GRU4Rec": "item_embedding.weight"}


def _plain(v):
    """Config values as JSON (RecBole keeps some as numpy scalars or enums)."""
    if isinstance(v, (np.generic,)):
        return v.item()
    if isinstance(v, (str, int, float, bool, list, dict)) or v is None:
        return v
    return str(v)


def rebuild_item_tokens(config, dataset_dir):
    """RecBole's own id -> token list for the item field, from the checkpoint's config."""
    from recbole.data import create_dataset
    config["data_path"] = os.path.abspath(dataset_dir)
    dataset = create_dataset(config)
    tokens = list(dataset.field2id_token[config["ITEM_ID_FIELD"]])
    return tokens, dataset


def first_appearance_tokens(dataset_dir, dataset_name, item_field):
    """Independent check: [PAD] + item tokens in order of first appearance in the .inter file
    (what RecBole's remap does when only the .inter file is loaded and nothing is filtered)."""
    path = os.path.join(dataset_dir, f"{dataset_name}.inter")
    with open(path, encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t")
        header = [h.split(":")[0] for h in next(rows)]
        col = header.index(item_field)
        seen = {}
        for r in rows:
            seen.setdefault(r[col], None)
    return ["[PAD]"] + list(seen)


def read_titles(dataset_dir, dataset_name, item_field):
    path = os.path.join(dataset_dir, f"{dataset_name}.item")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = [h.split(":")[0] for h in next(rows)]
        if "movie_title" not in header:
            return {}
        i, t = header.index(item_field), header.index("movie_title")
        return {r[i]: r[t] for r in rows if len(r) > max(i, t)}


def export(checkpoint, dataset_dir, outdir, result=None):
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)  # trusted, our own
    config, state = ckpt["config"], ckpt["state_dict"]
    model = config["model"]
    if model not in FAMILIES:
        sys.exit(f"unsupported RecBole model {model!r} (supported: {', '.join(FAMILIES)})")
    family, hp_keys = FAMILIES[model]
    dataset_name = config["dataset"]

    tokens, dataset = rebuild_item_tokens(config, dataset_dir)
    n_items = int(dataset.item_num)  # RecBole's N, PAD included
    rows = state[ITEM_TABLE[model]].shape[0]
    expected_rows = n_items + 1 if model == "BERT4Rec" else n_items  # BERT4Rec adds [MASK]
    if rows != expected_rows or len(tokens) != n_items:
        sys.exit(f"item table has {rows} rows, dataset gives N={n_items}: wrong dataset?")
    simple = first_appearance_tokens(dataset_dir, dataset_name, config["ITEM_ID_FIELD"])
    order_note = "in order of first appearance in %s.inter" % dataset_name
    if simple != tokens:  # e.g. filtering or a loaded .item file changes RecBole's ids
        order_note = "as RecBole remapped them (not plain first-appearance order)"
        print("note: RecBole ids differ from first-appearance order; vocab.tsv follows RecBole")

    os.makedirs(outdir, exist_ok=True)
    version = importlib.metadata.version("recbole")
    source = f"RUCAIBox/RecBole@v{version} (PyPI recbole=={version})"
    tensors = {k: v.detach().cpu().to(torch.float32).contiguous().numpy()
               for k, v in state.items()}
    safetensors_io.save(os.path.join(outdir, "weights.safetensors"), tensors,
                        {"source": source})

    titles = read_titles(dataset_dir, dataset_name, config["ITEM_ID_FIELD"])
    with open(os.path.join(outdir, "vocab.tsv"), "w", encoding="utf-8") as f:
        for i, tok in enumerate(tokens):
            title = "" if i == 0 else titles.get(tok, "")
            f.write(f"{i}\t{tok}\t{title.replace(chr(9), ' ')}\n")
        if model == "BERT4Rec":  # the extra item_embedding row, as the BERT4Rec fixture lists it
            f.write(f"{n_items}\t[MASK]\t\n")

    hp = {k: _plain(config[k]) for k in hp_keys if k in config}
    hp["n_items"] = n_items
    item_ids = (f"RecBole internal item id: 0 = [PAD], 1..{n_items - 1} = {dataset_name} "
                f"{config['ITEM_ID_FIELD']} tokens {order_note} (see vocab.tsv)")
    if model == "BERT4Rec":
        hp["mask_token"] = n_items
        item_ids += f"; {n_items} = [MASK] (item_embedding row only, never scored)"
    inter = dataset.inter_num
    split = config["eval_args"]
    cfg = {
        "family": family,
        "source": source,
        "n_items": int(rows),
        "hyperparameters": hp,
        "item_ids": item_ids,
        "dataset": (f"{dataset_name} (RecBole atomic files, {inter} interactions of "
                    f"{dataset.user_num - 1} users and {n_items - 1} items after RecBole's "
                    f"filters). RecBole sequential setup, eval_args {json.dumps(_plain(split))}: "
                    "per user the last interaction is test, the second last valid, full ranking "
                    "over all items, PAD masked, seen items not masked."),
        "trained": trained_text(config, ckpt, result),
    }
    if result:
        cfg["reported_metrics"] = {
            "protocol": "RecBole full ranking over all items (PAD excluded), leave-one-out test, "
                        f"topk {_plain(config['topk'])}",
            "test": result["test"], "best_valid": result["best_valid"]}
        cfg["training_command"] = result.get("command")
    with open(os.path.join(outdir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"exported {model} ({len(tensors)} tensors, {rows} item rows) to {outdir}")
    return cfg


def _negatives(config):
    neg = config["train_neg_sample_args"]
    if not neg or neg.get("distribution") in (None, "none"):
        return "none (train_neg_sample_args None: softmax over all items)"
    return json.dumps(_plain(neg))


def trained_text(config, ckpt, result):
    parts = [f"RecBole Trainer.fit, best-valid checkpoint = epoch {ckpt['epoch']} (0-based, "
             f"selected by valid {config['valid_metric']})"]
    if result:
        parts.append(f"{result['epochs_run']} epochs run (max {config['epochs']}, early stopping "
                     f"{config['stopping_step']}"
                     + (", stopped by the wall-time budget" if result.get("stopped_by_time_budget")
                        else "") + ")")
        parts.append(f"training wall time {result['train_wall_seconds']:.0f} s "
                     f"(~{result['seconds_per_epoch_mean']} s per epoch incl. validation)")
    parts.append(f"seed {config['seed']}, reproducibility {config['reproducibility']}, CPU float32, "
                 f"1 torch thread, Adam lr {config['learning_rate']}, train_batch_size "
                 f"{config['train_batch_size']}, loss {config['loss_type']}, "
                 "negatives " + _negatives(config))
    return ". ".join(parts) + "."


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", help=".pth saved by RecBole's Trainer")
    p.add_argument("--dataset-dir", required=True, help="folder holding <dataset>.inter/.item")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--result", help="result.json of train_recbole_sasrec.py (adds metrics)")
    args = p.parse_args()
    result = json.load(open(args.result)) if args.result else None
    export(args.checkpoint, args.dataset_dir, args.out, result)


if __name__ == "__main__":
    main()
