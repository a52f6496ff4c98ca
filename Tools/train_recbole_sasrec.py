#!/usr/bin/env python3
"""Reproducible training of SeqRec's default model: RecBole 1.2.1 SASRec on MovieLens-100k.

From the repository root, with the venv made by Tools/setup_venv.sh:

    OMP_NUM_THREADS=1 Tools/.venv/bin/python Tools/train_recbole_sasrec.py \
        --data-path ../shared/datasets --work-dir Tools/work/sasrec --max-minutes 60 \
        --export Models/recbole-sasrec-ml100k

--max-minutes stops after the first epoch that ends past the budget, so how many epochs run
depends on machine speed; result.json records epochs_run, and re-running with
--epochs <epochs_run> --max-minutes 0 retraces the same run (same --seed, reproducibility True).

Architecture and evaluation follow RecBole's standard sequential setup exactly as the fixture
shared/fixtures/recbole-sasrec-ml100k/config.json describes; training knobs (epochs, early
stopping, batch size, learning rate, dropout) and the session length the model reads
(--max-seq-len, 50 in the fixture) are flags. --resume with a --learning-rate continues a run at
that rate (the restored optimizer's rate is overridden).
Writes <work-dir>/result.json with RecBole's own best-valid and test metrics and wall time.
"""
import argparse
import json
import os
import sys
import time

# One thread: it was measured faster than two on this 2-core box, and the box is shared.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np

# RecBole 1.2.1 predates NumPy 2, which removed these aliases; restore them before importing it.
for _alias, _target in (("float_", np.float64), ("complex_", np.complex128),
                        ("unicode_", np.str_), ("Inf", np.inf), ("NaN", np.nan)):
    if not hasattr(np, _alias):
        setattr(np, _alias, _target)

import torch

torch.set_num_threads(1)

# RecBole reloads its own best checkpoint (a pickled dict with its Config) through torch.load;
# torch >= 2.6 defaults to weights_only=True and refuses it. These files are our own, so trust them.
_torch_load = torch.load


def _trusted_load(*args, **kwargs):
    kwargs.setdefault("weights_only", False)
    return _torch_load(*args, **kwargs)


torch.load = _trusted_load

from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.model.sequential_recommender import SASRec  # noqa: E402
from recbole.trainer import Trainer  # noqa: E402
from recbole.utils import init_seed, init_logger  # noqa: E402

# Importing the sequential models (sine.py) turns anomaly detection on globally: ~2x slower.
torch.autograd.set_detect_anomaly(False)


class _TimeUp(Exception):
    """Raised from RecBole's per-epoch callback to stop at the wall-time budget."""


def build_config(args):
    # Fixed: the architecture and protocol of the shipped model (see fixture config.json).
    fixed = {
        "data_path": os.path.abspath(args.data_path),  # never RecBole's bundled ml-100k copy
        "checkpoint_dir": os.path.join(os.path.abspath(args.work_dir), "saved"),
        "loss_type": "CE",
        "train_neg_sample_args": None,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full",
                      "group_by": "user"},
        "metrics": ["Recall", "MRR", "NDCG", "Hit", "Precision"],
        "topk": [10, 20],
        "valid_metric": "MRR@10",
        "reproducibility": True,
        "n_layers": 2, "n_heads": 2,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12, "initializer_range": 0.02,
        "device": "cpu", "use_gpu": False, "show_progress": False,
    }
    # Tunable: training knobs, how many recent items the model reads (its position table) and
    # the width of the model.
    knobs = {
        "hidden_size": args.hidden_size,
        "inner_size": args.inner_size,
        "weight_decay": args.weight_decay,
        "seed": args.seed,
        "MAX_ITEM_LIST_LENGTH": args.max_seq_len,
        "epochs": args.epochs,
        "stopping_step": args.stopping_step,
        "train_batch_size": args.train_batch_size,
        "eval_batch_size": 2048,
        "learning_rate": args.learning_rate,
        "hidden_dropout_prob": args.dropout,
        "attn_dropout_prob": args.attn_dropout,
    }
    return Config(model="SASRec", dataset="ml-100k", config_dict={**fixed, **knobs})


def evaluate_only(args, trainer, valid_data, test_data):
    """RecBole's own evaluation of an existing checkpoint (dropout settings do not matter)."""
    ckpt = os.path.abspath(args.evaluate_only)
    kw = dict(load_best_model=True, model_file=ckpt, show_progress=False)
    valid, test = trainer.evaluate(valid_data, **kw), trainer.evaluate(test_data, **kw)
    result = {"checkpoint": ckpt, "epoch": int(torch.load(ckpt, map_location="cpu")["epoch"]),
              "best_valid": {k: round(float(v), 4) for k, v in valid.items()},
              "test": {k: round(float(v), 4) for k, v in test.items()}}
    out = os.path.join(args.work_dir, "evaluate.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2), flush=True)


def average_epochs(args, model, trainer, valid_data, test_data):
    """RecBole's own evaluation of the mean of the weights of epochs FIRST..LAST (kept by --keep-epochs);
    saved as a RecBole checkpoint (the run's best one with its weights replaced) for the exporter."""
    first, last = (int(part) for part in args.average_epochs.split("-"))
    states = [torch.load(os.path.join(args.work_dir, "epochs", f"epoch-{epoch}.pt"), map_location="cpu")
              for epoch in range(first, last + 1)]
    averaged = {name: (sum(state[name] for state in states) / len(states)
                       if states[0][name].is_floating_point() else states[0][name])
                for name in states[0]}
    model.load_state_dict(averaged)
    valid = trainer.evaluate(valid_data, load_best_model=False, show_progress=False)
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    saved = os.path.join(args.work_dir, "saved")
    template = next(os.path.join(saved, name) for name in sorted(os.listdir(saved))
                    if name.startswith("SASRec") and name.endswith(".pth"))
    checkpoint = torch.load(template, map_location="cpu")
    checkpoint["state_dict"], checkpoint["epoch"] = averaged, last
    checkpoint["averaged_epochs"] = [first, last]
    out = os.path.join(saved, f"averaged-{first}-{last}.pth")
    torch.save(checkpoint, out)
    result = {"checkpoint": out, "averaged_epochs": [first, last],
              "valid": {k: round(float(v), 4) for k, v in valid.items()},
              "test": {k: round(float(v), 4) for k, v in test.items()}}
    with open(os.path.join(args.work_dir, f"average-{first}-{last}.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2), flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # Defaults are relative to this file: <repo>/../shared/datasets and Tools/work (gitignored).
    p.add_argument("--data-path", default=os.path.join(here, "..", "..", "shared", "datasets"),
                   help="folder that contains ml-100k/ml-100k.inter")
    p.add_argument("--work-dir", default=os.path.join(here, "work", "sasrec"),
                   help="RecBole logs, checkpoints and result.json go here")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--stopping-step", type=int, default=8)
    p.add_argument("--train-batch-size", type=int, default=256)
    p.add_argument("--learning-rate", type=float, default=0.001)
    p.add_argument("--dropout", type=float, default=0.5, help="hidden_dropout_prob")
    p.add_argument("--attn-dropout", type=float, default=0.5, help="attn_dropout_prob")
    p.add_argument("--seed", type=int, default=2020, help="RecBole's seed (2020 in the fixture)")
    p.add_argument("--max-seq-len", type=int, default=50,
                   help="MAX_ITEM_LIST_LENGTH: the most recent items the model reads")
    p.add_argument("--hidden-size", type=int, default=64, help="hidden_size (64 in the fixture)")
    p.add_argument("--inner-size", type=int, default=256,
                   help="inner_size of the feed-forward layers (256 in the fixture)")
    p.add_argument("--weight-decay", type=float, default=0.0,
                   help="RecBole's weight_decay: L2 penalty inside Adam (0 in the fixture)")
    p.add_argument("--max-minutes", type=float, default=0,
                   help="stop after the first epoch that ends past this budget (0 = none)")
    p.add_argument("--resume", default="",
                   help="continue from a checkpoint this script saved (its best-valid epoch); "
                        "--epochs stays the total. Not bit-identical to one uninterrupted run "
                        "(RNG state is not saved), so the result records it")
    p.add_argument("--keep-epochs", action="store_true",
                   help="also save every epoch's weights to <work-dir>/epochs/ (for --average-epochs)")
    p.add_argument("--average-epochs", default="", metavar="FIRST-LAST",
                   help="no training: RecBole's valid and test metrics of the mean weights of epochs "
                        "FIRST..LAST kept by --keep-epochs in --work-dir; saved as saved/averaged-FIRST-LAST.pth")
    p.add_argument("--export", default="", help="export the best model to this folder")
    p.add_argument("--evaluate-only", default="", metavar="CKPT",
                   help="no training: RecBole's valid and test metrics of a saved checkpoint")
    args = p.parse_args()

    # Absolute paths, then work inside work-dir: RecBole writes log/ and log_tensorboard/ into
    # the current directory, which must not be the repository.
    args.data_path, args.work_dir = os.path.abspath(args.data_path), os.path.abspath(args.work_dir)
    for name in ("export", "resume", "evaluate_only"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    os.makedirs(args.work_dir, exist_ok=True)
    os.chdir(args.work_dir)
    if not os.path.exists(os.path.join(args.data_path, "ml-100k", "ml-100k.inter")):
        sys.exit(f"no ml-100k/ml-100k.inter under {args.data_path}")

    config = build_config(args)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = SASRec(config, train_data._dataset).to(config["device"])
    trainer = Trainer(config, model)
    if args.evaluate_only:
        evaluate_only(args, trainer, valid_data, test_data)
        return
    if args.average_epochs:
        average_epochs(args, model, trainer, valid_data, test_data)
        return

    if args.resume:
        # RecBole overwrites the file it resumes from; keep the original, resume from a copy.
        import shutil
        copy = os.path.join(config["checkpoint_dir"], "resumed-" + os.path.basename(args.resume))
        os.makedirs(config["checkpoint_dir"], exist_ok=True)
        shutil.copyfile(args.resume, copy)
        trainer.resume_checkpoint(copy)
        # The restored optimizer carries the checkpoint's learning rate; the flag wins, so a
        # resumed run can continue at a lower rate.
        for group in trainer.optimizer.param_groups:
            group["lr"] = args.learning_rate

    t0 = time.time()
    epoch_times = []

    epochs_dir = os.path.join(args.work_dir, "epochs")
    if args.keep_epochs:
        os.makedirs(epochs_dir, exist_ok=True)

    def on_epoch(epoch_idx, valid_score):
        epoch_times.append(time.time() - t0 - sum(epoch_times))
        if args.keep_epochs:  # for --average-epochs later
            torch.save(model.state_dict(), os.path.join(epochs_dir, f"epoch-{epoch_idx}.pt"))
        print(f"[train] epoch {epoch_idx} done at {time.time() - t0:.0f}s "
              f"(valid MRR@10 {valid_score:.4f})", flush=True)
        if args.max_minutes and time.time() - t0 > args.max_minutes * 60:
            raise _TimeUp()

    stopped_by_budget = False
    try:
        trainer.fit(train_data, valid_data, saved=True, show_progress=False,
                    callback_fn=on_epoch)
    except _TimeUp:
        stopped_by_budget = True  # the best-valid checkpoint is already on disk
    train_seconds = time.time() - t0
    # Re-evaluated rather than taken from fit(): a resumed run may not improve, and then
    # fit() has no best_valid_result. For a normal run the numbers are the same.
    best_valid = trainer.evaluate(valid_data, load_best_model=True, show_progress=False)
    test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    best = torch.load(trainer.saved_model_file, map_location="cpu")

    result = {
        "command": " ".join(["python"] + sys.argv),
        "recbole_checkpoint": os.path.abspath(trainer.saved_model_file),
        "epochs_run": len(epoch_times),
        "first_epoch": int(trainer.start_epoch),
        "best_epoch": int(best["epoch"]),
        "stopped_by_time_budget": stopped_by_budget,
        "resumed_from": os.path.abspath(args.resume) if args.resume else None,
        "seconds_per_epoch_mean": round(float(np.mean(epoch_times)), 1) if epoch_times else None,
        "train_wall_seconds": round(train_seconds, 1),
        "torch": torch.__version__, "numpy": np.__version__,
        "training_knobs": {k: config[k] for k in ("seed", "MAX_ITEM_LIST_LENGTH", "epochs", "stopping_step",
                                                  "train_batch_size", "learning_rate",
                                                  "weight_decay", "hidden_size", "inner_size",
                                                  "hidden_dropout_prob", "attn_dropout_prob")},
        "best_valid": {k: round(float(v), 4) for k, v in best_valid.items()},
        "test": {k: round(float(v), 4) for k, v in test.items()},
    }
    out = os.path.join(args.work_dir, "result.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2), flush=True)
    print(f"[train] wrote {out}", flush=True)

    if args.export:
        # Imported late so a problem in the exporter never costs the training result above.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import export_recbole
        export_recbole.export(trainer.saved_model_file, os.path.join(args.data_path, "ml-100k"),
                              args.export, result=result)


if __name__ == "__main__":
    main()
