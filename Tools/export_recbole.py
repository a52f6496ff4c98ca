#!/usr/bin/env python3
"""Export a RecBole 1.2.x checkpoint (SASRec, BERT4Rec, GRU4Rec, NARM, STAMP, CORE, SR-GNN, GC-SAN, LightSANs)
to a SeqRec source folder, after checking that the dataset it rebuilds is the one the model was trained on.

    .venv/bin/python export_recbole.py work/sasrec/saved/SASRec-<date>.pth \
        --dataset-dir ../shared/datasets/ml-100k -o Models/recbole-sasrec-ml100k \
        [--result work/sasrec/result.json] [--golden [--golden-sessions FILE]] [--min-lift 3]

Output (layout of shared/fixtures/<name>/): weights.safetensors (state_dict, upstream names, float32), config.json,
vocab.tsv (internal id, token, title; row 0 = [PAD]) and, with --golden, golden.json (upstream full_sort_predict).

Before torch is imported, the file is inspected without running its code (checkpoint_probe): complete, a RecBole
Trainer checkpoint (else the right exporter is named), a supported model with every hyperparameter its forward
pass needs in the stored config, and --dataset-dir holding <dataset>.inter (RecBole would otherwise try to
download the dataset: never done here). Then the dataset is rebuilt from the stored config and RecBole's own
id -> token table (field2id_token) becomes vocab.tsv. The rebuilt dataset must be the training one: its item
count must equal the item table's rows, and the model must rank the held-out next items of RecBole's own test
split far better than chance: Hit@10 at least --min-lift (default 3) times the 10/(items) of a random ranking.
A dataset whose rows were reordered or filtered differently gives other ids, and a model that ranks at chance.
"""
import csv
import importlib.metadata
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_probe  # noqa: E402
import golden_io  # noqa: E402
from export_common import ExportError, Parser, import_torch, nearest, numpy_aliases, run  # noqa: E402

TOOL = "export_recbole"
FIELDS = ["MAX_ITEM_LIST_LENGTH", "USER_ID_FIELD", "ITEM_ID_FIELD", "LIST_SUFFIX",
          "ITEM_LIST_LENGTH_FIELD", "NEG_PREFIX"]
TRANSFORMER = ["n_layers", "n_heads", "hidden_size", "inner_size", "hidden_act",
               "layer_norm_eps", "hidden_dropout_prob", "attn_dropout_prob",
               "initializer_range", "loss_type"]
# RecBole model name -> (SeqRec family, hyperparameters as the fixtures list them: what the forward pass needs,
# plus the training settings worth recording).
FAMILIES = {
    "SASRec": ("recbole-sasrec", TRANSFORMER + FIELDS),
    "BERT4Rec": ("recbole-bert4rec", TRANSFORMER + ["mask_ratio", "ft_ratio", "transform"] + FIELDS),
    "GRU4Rec": ("recbole-gru4rec", ["embedding_size", "hidden_size", "num_layers", "dropout_prob",
                                    "loss_type"] + FIELDS),
    "NARM": ("recbole-narm", ["embedding_size", "hidden_size", "n_layers", "dropout_probs", "loss_type"] + FIELDS),
    "STAMP": ("recbole-stamp", ["embedding_size", "loss_type"] + FIELDS),
    "CORE": ("recbole-core", ["embedding_size", "inner_size", "n_layers", "n_heads", "hidden_dropout_prob",
                              "attn_dropout_prob", "hidden_act", "layer_norm_eps", "initializer_range",
                              "loss_type", "dnn_type", "sess_dropout", "item_dropout", "temperature"] + FIELDS),
    "SRGNN": ("recbole-srgnn", ["embedding_size", "step", "loss_type"] + FIELDS),
    "GCSAN": ("recbole-gcsan", ["weight", "n_layers", "n_heads", "hidden_size", "inner_size", "hidden_dropout_prob",
                                "attn_dropout_prob", "hidden_act", "layer_norm_eps", "initializer_range", "step",
                                "reg_weight", "loss_type"] + FIELDS),
    "LightSANs": ("recbole-lightsans", ["k_interests", "n_layers", "n_heads", "hidden_size", "inner_size",
                                        "hidden_dropout_prob", "attn_dropout_prob", "hidden_act", "layer_norm_eps",
                                        "initializer_range", "loss_type"] + FIELDS),
}
# Training-only settings a checkpoint may lack (older RecBole versions) without changing the forward pass.
OPTIONAL = {"initializer_range", "hidden_dropout_prob", "attn_dropout_prob", "dropout_prob", "dropout_probs",
            "mask_ratio", "ft_ratio", "transform", "sess_dropout", "item_dropout", "reg_weight", "NEG_PREFIX"}
ITEM_TABLE = "item_embedding.weight"
HIT_K = 10


def _plain(v):
    """Config values as JSON (RecBole keeps some as numpy scalars or enums)."""
    import numpy as np
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (str, int, float, bool, list, dict)) or v is None:
        return v
    return str(v)


def precheck(probe, dataset_dir):
    """Everything that needs no torch: kind, model, stored config, tensors, dataset folder."""
    checkpoint_probe.require_kind(probe, ["recbole-trainer"], TOOL)
    config = probe.config
    model = config.get("model")
    if model not in FAMILIES:
        raise ExportError(f"{probe.path}: RecBole model {model!r} is not supported{nearest(str(model), FAMILIES)} "
                          f"(supported: {', '.join(FAMILIES)})")
    missing = [k for k in FAMILIES[model][1] if k not in config and k not in OPTIONAL]
    if missing:
        raise ExportError(f"{probe.path}: the stored {model} config lacks {', '.join(missing)}: not a RecBole 1.2.x "
                          "checkpoint?")
    if ITEM_TABLE not in probe.tensors:
        raise ExportError(f"{probe.path}: state_dict has no {ITEM_TABLE}")
    dataset = config.get("dataset")
    if not os.path.isdir(dataset_dir):
        raise ExportError(f"--dataset-dir {dataset_dir}: no such folder (it must hold the RecBole atomic files "
                          f"{dataset}.inter [, {dataset}.item] the model was trained on; nothing is downloaded)")
    inter = os.path.join(dataset_dir, f"{dataset}.inter")
    if not os.path.isfile(inter):
        found = sorted(f for f in os.listdir(dataset_dir) if f.endswith(".inter"))
        raise ExportError(f"--dataset-dir {dataset_dir}: has no {dataset}.inter, the interaction file of the dataset "
                          f"{dataset!r} this checkpoint was trained on" + (f" (found {', '.join(found)})" if found
                                                                            else ""))
    return model


def first_appearance_tokens(dataset_dir, dataset_name, item_field):
    """[PAD] + item tokens in order of first appearance in the .inter file (RecBole's remap when only the
    .inter file is loaded and nothing is filtered)."""
    with open(os.path.join(dataset_dir, f"{dataset_name}.inter"), encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t")
        header = [h.split(":")[0] for h in next(rows)]
        if item_field not in header:
            raise ExportError(f"{dataset_name}.inter: no {item_field} column (header {header})")
        col = header.index(item_field)
        seen = {}
        for r in rows:
            if len(r) > col:
                seen.setdefault(r[col], None)
    return ["[PAD]"] + list(seen)


def read_titles(dataset_dir, dataset_name, item_field):
    path = os.path.join(dataset_dir, f"{dataset_name}.item")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = [h.split(":")[0] for h in next(rows)]
        if "movie_title" not in header or item_field not in header:
            return {}
        i, t = header.index(item_field), header.index("movie_title")
        return {r[i]: r[t] for r in rows if len(r) > max(i, t)}


class Rebuilt:
    """The checkpoint's model on RecBole's own dataset, rebuilt from its stored config."""

    def __init__(self, checkpoint, dataset_dir):
        self.torch = torch = import_torch()
        numpy_aliases()
        try:
            from recbole.data import create_dataset, data_preparation
            from recbole.data.dataset import Dataset
            from recbole.utils import get_model
        except ImportError as e:
            raise ExportError(f"exporting needs recbole 1.2.1 ({e}): run `bash Tools/setup_venv.sh`")
        torch.autograd.set_detect_anomaly(False)  # RecBole's import turns it on

        def no_download(self):
            raise ExportError(f"RecBole wanted to download {self.dataset_name}: pass --dataset-dir with its files")
        Dataset._download = no_download

        try:  # trusted after the probe: a RecBole Trainer checkpoint (it pickles RecBole's Config)
            ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
        except (RuntimeError, EOFError, OSError, ImportError, AttributeError) as e:
            raise ExportError(f"{checkpoint}: torch cannot load it ({type(e).__name__}: {e})")
        self.ckpt, self.config, self.state = ckpt, ckpt["config"], ckpt["state_dict"]
        config = self.config
        config["data_path"] = os.path.abspath(dataset_dir)
        config["device"] = torch.device("cpu")
        config["use_gpu"] = False
        config["save_dataset"] = config["save_dataloaders"] = False
        self.dataset = create_dataset(config)
        # Counts before the split (data_preparation's datasets count augmented rows).
        self.counts = {"interactions": int(self.dataset.inter_num), "users": int(self.dataset.user_num) - 1,
                       "items": int(self.dataset.item_num) - 1}
        self.tokens = list(self.dataset.field2id_token[config["ITEM_ID_FIELD"]])
        self.sequences = self._user_sequences()
        train, _, self.test = data_preparation(config, self.dataset)
        self.model = get_model(config["model"])(config, train._dataset)
        try:
            self.model.load_state_dict(self.state)
        except RuntimeError as e:
            raise ExportError(f"{checkpoint}: its weights do not fit a {config['model']} built from its own config on "
                              f"this dataset: {str(e).splitlines()[0]} (wrong --dataset-dir?)")
        self.model.eval()

    def _user_sequences(self):
        """Each user's internal item ids in RecBole's order (stable sort by user, then timestamp)."""
        import numpy as np
        feat, config = self.dataset.inter_feat, self.config
        column = (lambda name: np.asarray(feat[name]))  # a DataFrame before data_preparation, tensors after
        uid, iid = column(config["USER_ID_FIELD"]), column(config["ITEM_ID_FIELD"])
        time_field = config["TIME_FIELD"]
        keys = (column(time_field), uid) if time_field in feat else (uid,)
        order = np.lexsort(keys)
        sequences = {}
        for u, i in zip(uid[order], iid[order]):
            sequences.setdefault(int(u), []).append(int(i))
        return [sequences[u] for u in sorted(sequences)]

    def held_out_ranks(self):
        """Rank (1 = best) of each held-out test item of RecBole's test split, PAD masked, as RecBole evaluates."""
        torch = self.torch
        ranks = []
        with torch.no_grad():
            for interaction, _, positive_u, positive_i in self.test:
                scores = self.model.full_sort_predict(interaction).view(len(positive_u), -1)
                scores[:, 0] = -float("inf")
                target = scores[positive_u, positive_i]
                ranks += (1 + (scores > target.unsqueeze(1)).sum(dim=1)).tolist()
        return ranks

    def scores(self, sessions):
        """Raw full_sort_predict scores for untruncated sessions: RecBole keeps the last L items, right-padded."""
        torch, config = self.torch, self.config
        from recbole.data.interaction import Interaction
        L = config["MAX_ITEM_LIST_LENGTH"]
        seq = torch.zeros((len(sessions), L), dtype=torch.int64)
        lengths = torch.zeros(len(sessions), dtype=torch.int64)
        for row, s in enumerate(sessions):
            s = s[-L:]
            seq[row, :len(s)] = torch.tensor(s)
            lengths[row] = len(s)
        field = config["ITEM_ID_FIELD"] + config["LIST_SUFFIX"]
        with torch.no_grad():
            out = self.model.full_sort_predict(Interaction({field: seq, config["ITEM_LIST_LENGTH_FIELD"]: lengths}))
        return out.view(len(sessions), -1)[:, :self.counts["items"] + 1].numpy()


def check_training_dataset(rebuilt, min_lift):
    """The model ranks the held-out next items far better than chance, or the dataset is not its training set."""
    ranks = rebuilt.held_out_ranks()
    n_items = rebuilt.counts["items"]
    hit = sum(r <= HIT_K for r in ranks) / len(ranks)
    mrr = sum(1 / r for r in ranks if r <= HIT_K) / len(ranks)
    chance = HIT_K / n_items
    lift = hit / chance
    line = (f"held-out test items of {len(ranks)} users: Hit@{HIT_K} {hit:.4f}, MRR@{HIT_K} {mrr:.4f}; a random "
            f"ranking gives Hit@{HIT_K} {chance:.4f}: {lift:.1f}x chance")
    if lift < min_lift:
        raise ExportError(f"{line}, below the required {min_lift}x: this is not the dataset the model was trained on "
                          "(other rows, order or filters give other item ids), or the model is untrained")
    return line


def export(args):
    probe = checkpoint_probe.probe(args.checkpoint)
    model = precheck(probe, args.dataset_dir)
    result = None
    if args.result:
        try:
            with open(args.result, encoding="utf-8") as f:
                result = json.load(f)
        except (OSError, ValueError) as e:
            raise ExportError(f"--result {args.result}: cannot be read as JSON ({e})")
    golden_sessions = golden_io.read_sessions(args.golden_sessions) if args.golden_sessions else None

    rebuilt = Rebuilt(args.checkpoint, args.dataset_dir)
    config, state, n_items = rebuilt.config, rebuilt.state, rebuilt.counts["items"] + 1
    family, hp_keys = FAMILIES[model]
    dataset_name = config["dataset"]
    rows = state[ITEM_TABLE].shape[0]
    expected_rows = n_items + 1 if model == "BERT4Rec" else n_items  # BERT4Rec adds [MASK]
    if rows != expected_rows or len(rebuilt.tokens) != n_items:
        raise ExportError(f"the item table has {rows} rows, the rebuilt {dataset_name} gives {n_items} items "
                          f"(PAD included; {model} needs {expected_rows} rows): not the training dataset")
    line = check_training_dataset(rebuilt, args.min_lift)
    print(f"dataset check: {line}")
    order_note = "in order of first appearance in %s.inter" % dataset_name
    if first_appearance_tokens(args.dataset_dir, dataset_name, config["ITEM_ID_FIELD"]) != rebuilt.tokens:
        order_note = "as RecBole remapped them (not plain first-appearance order)"
        print("note: RecBole ids differ from first-appearance order; vocab.tsv follows RecBole")

    torch = rebuilt.torch
    os.makedirs(args.out, exist_ok=True)
    version = importlib.metadata.version("recbole")
    source = f"RUCAIBox/RecBole@v{version} (PyPI recbole=={version})"
    import safetensors_io
    tensors = {k: v.detach().cpu().to(torch.float32).contiguous().numpy() for k, v in state.items()}
    safetensors_io.save(os.path.join(args.out, "weights.safetensors"), tensors, {"source": source})

    titles = read_titles(args.dataset_dir, dataset_name, config["ITEM_ID_FIELD"])
    with open(os.path.join(args.out, "vocab.tsv"), "w", encoding="utf-8") as f:
        for i, tok in enumerate(rebuilt.tokens):
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
    counts = rebuilt.counts
    cfg = {
        "family": family,
        "source": source,
        "n_items": int(rows),
        "hyperparameters": hp,
        "item_ids": item_ids,
        "dataset": (f"{dataset_name} (RecBole atomic files, {counts['interactions']} interactions of "
                    f"{counts['users']} users and {counts['items']} items after RecBole's filters). RecBole "
                    f"sequential setup, eval_args {json.dumps(_plain(config['eval_args']))}: per user the last "
                    "interaction is test, the second last valid, full ranking over all items, PAD masked, seen "
                    f"items not masked. Checked at export: {line}."),
        "trained": trained_text(config, rebuilt.ckpt, result),
    }
    if result:
        cfg["reported_metrics"] = {
            "protocol": "RecBole full ranking over all items (PAD excluded), leave-one-out test, "
                        f"topk {_plain(config['topk'])}",
            "test": result["test"], "best_valid": result["best_valid"]}
        cfg["training_command"] = result.get("command")
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"exported {model} ({len(tensors)} tensors, {rows} item rows) to {args.out}")
    if args.golden:
        write_golden(rebuilt, golden_sessions, args.out)
    return cfg


def write_golden(rebuilt, sessions, out):
    config, n_items = rebuilt.config, rebuilt.counts["items"] + 1
    origin = "the given --golden-sessions"
    if sessions is None:
        sessions = golden_io.pick_sessions(rebuilt.sequences)
        origin = (f"deterministic picks from the users of the rebuilt {config['dataset']} (whole sequences and "
                  "prefixes, RecBole's order)")
    golden_io.check_ids(sessions, 1, n_items - 1, f"{config['dataset']} item ids")
    L = config["MAX_ITEM_LIST_LENGTH"]
    desc = (f"Produced with RecBole {config['model']} code (recbole {importlib.metadata.version('recbole')}, PyTorch "
            f"{rebuilt.torch.__version__}, CPU, float32) by Tools/export_recbole.py --golden: model.eval(), "
            f"torch.no_grad(), one full_sort_predict call on all {len(sessions)} cases. Sessions: {origin}; full "
            f"histories, oldest first (the runtime truncates to the last {L}); the input row holds the last "
            f"min(n, {L}) items right-padded with 0. Raw scores over all {n_items} rows, row 0 ([PAD]) included as "
            f"upstream computes it; 'top' = [id, score] pairs, score descending, ties by lower id; 'scores' (first "
            f"{golden_io.N_FULL} cases) = the full vector. Values are the shortest decimals of the float32 results.")
    count = golden_io.write(os.path.join(out, "golden.json"), sessions, rebuilt.scores(sessions), desc)
    print(f"wrote {count} golden cases to {os.path.join(out, 'golden.json')}")


def _negatives(config):
    neg = config["train_neg_sample_args"]
    if not neg or neg.get("distribution") in (None, "none"):
        return "none (train_neg_sample_args None: softmax over all items)"
    return json.dumps(_plain(neg))


def trained_text(config, ckpt, result):
    parts = [f"RecBole Trainer.fit, best-valid checkpoint = epoch {ckpt.get('epoch')} (0-based, "
             f"selected by valid {config['valid_metric']})"]
    if result:
        parts.append(f"{result['epochs_run']} epochs run (max {config['epochs']}, early stopping "
                     f"{config['stopping_step']}"
                     + (", stopped by the wall-time budget" if result.get("stopped_by_time_budget") else "") + ")")
        parts.append(f"training wall time {result['train_wall_seconds']:.0f} s "
                     f"(~{result['seconds_per_epoch_mean']} s per epoch incl. validation)")
    parts.append(f"seed {config['seed']}, reproducibility {config['reproducibility']}, CPU float32, "
                 f"Adam lr {config['learning_rate']}, train_batch_size {config['train_batch_size']}, loss "
                 f"{config['loss_type']}, negatives " + _negatives(config))
    return ". ".join(parts) + "."


def main():
    p = Parser(TOOL, description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", help=".pth saved by RecBole's Trainer")
    p.add_argument("--dataset-dir", required=True, help="folder holding <dataset>.inter [and .item]")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--result", help="result.json of train_recbole_sasrec.py (adds metrics)")
    p.add_argument("--golden", action="store_true", help="also write golden.json from RecBole's own forward pass")
    p.add_argument("--golden-sessions", help="sessions for --golden (a golden.json or JSONL of {\"session\": [ids]}); "
                   "default: 128 picked from the rebuilt dataset")
    p.add_argument("--min-lift", type=float, default=3.0,
                   help=f"refuse unless Hit@{HIT_K} on the held-out items is this many times chance (default 3)")
    args = p.parse_args()
    if args.golden_sessions and not args.golden:
        raise ExportError("--golden-sessions needs --golden")
    export(args)


if __name__ == "__main__":
    run(main, TOOL)
