#!/usr/bin/env python3
"""Wrap a shared RecBole fixture's weights into a RecBole Trainer checkpoint (venv; for the by-hand export tests).

    Tools/.venv/bin/python Tools/tests/wrap_recbole_fixture.py ../shared/fixtures/recbole-narm-ml100k \
        --data-path ../shared/datasets -o /tmp/narm.pth [--rename-key OLD=NEW]

The checkpoint is what RecBole's Trainer._save_checkpoint writes ({config, epoch, cur_step, best_valid_score,
state_dict, other_parameter, optimizer}), with RecBole's own Config built for the fixture's model and
hyperparameters on ml-100k (LS valid_and_test, TO, full ranking, CE) and the model's load_state_dict run on the
fixture weights (strict), so export_recbole.py can be tested on trained weights whose golden outputs are known.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from export_common import numpy_aliases  # noqa: E402

numpy_aliases()
import torch  # noqa: E402

MODEL = {"recbole-sasrec": "SASRec", "recbole-bert4rec": "BERT4Rec", "recbole-gru4rec": "GRU4Rec",
         "recbole-narm": "NARM", "recbole-stamp": "STAMP", "recbole-core": "CORE", "recbole-srgnn": "SRGNN",
         "recbole-gcsan": "GCSAN", "recbole-lightsans": "LightSANs"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("fixture")
    p.add_argument("--data-path", required=True, help="folder holding ml-100k/")
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args()
    import safetensors_io
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model
    torch.autograd.set_detect_anomaly(False)

    with open(os.path.join(args.fixture, "config.json")) as f:
        fixture = json.load(f)
    model = MODEL[fixture["family"]]
    hp = {k: v for k, v in fixture["hyperparameters"].items() if k not in ("n_items", "mask_token")}
    config = Config(model=model, dataset="ml-100k", config_dict={
        **hp, "data_path": os.path.abspath(args.data_path), "device": "cpu", "use_gpu": False,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
        "train_neg_sample_args": None, "topk": [10, 20], "valid_metric": "MRR@10", "epochs": 3,
        "show_progress": False, "checkpoint_dir": "/tmp"})
    dataset = create_dataset(config)
    train, _, _ = data_preparation(config, dataset)
    net = get_model(model)(config, train._dataset)
    tensors, _ = safetensors_io.load(os.path.join(args.fixture, "weights.safetensors"))
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
    torch.save({"config": config, "epoch": 1, "cur_step": 0, "best_valid_score": 0.0,
                "state_dict": net.state_dict(), "other_parameter": net.other_parameter(),
                "optimizer": None}, args.out)
    print(f"wrote {args.out} ({model})")


if __name__ == "__main__":
    main()
