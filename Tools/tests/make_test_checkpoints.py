#!/usr/bin/env python3
"""Makes the tiny upstream checkpoints in Tools/tests/data/ (venv + upstream checkouts; run by hand).

    Tools/.venv/bin/python Tools/tests/make_test_checkpoints.py \
        --pmixer-dir CHECKOUT_OF_pmixer/SASRec.pytorch/python --gru4rec-dir CHECKOUT_OF_GRU4Rec_PyTorch_Official

Every file is written by upstream code, never by ours (they test the exporters on real upstream files):
  * tiny/tiny.inter: a patterned dataset (80 users, 60 items; each user walks 12 steps of a cycle, item k is followed
    by item k+1), RecBole atomic format; tiny-gru4rec.tsv and tiny-pmixer.txt: the same interactions in
    GRU4Rec's TSV and pmixer's `user item` formats;
  * recbole-gru4rec-tiny.pth: RecBole 1.2.1 Trainer.fit (GRU4Rec, 8-d, 40 epochs, seed 2020) on tiny/: the
    checkpoint RecBole's Trainer saves;
  * pmixer-v3/SASRec.epoch=1.lr=0.001.layer=2.head=2.hidden=8.maxlen=5.pth + args.txt: upstream model.py (v3,
    norm_first) built with those arguments and randomly initialised as main.py does, saved with torch.save
    (state_dict) under main.py's file-name pattern, args.txt written as main.py writes it;
  * gru4rec-official-tiny.pt, gru4rec-official-onehot-tiny.pt: upstream GRU4Rec.fit (layers [8], constrained
    resp. one-hot input (embedding 0, constrained_embedding False), cross-entropy, 2 epochs,
    compatibility_mode=False) on tiny-gru4rec.tsv, saved with GRU4Rec.savemodel.
"""
import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, os.path.dirname(HERE))
from export_common import numpy_aliases  # noqa: E402

numpy_aliases()
import numpy as np  # noqa: E402
import torch  # noqa: E402

USERS, ITEMS, STEPS = 80, 60, 12


def write_dataset():
    os.makedirs(os.path.join(DATA, "tiny"), exist_ok=True)
    rows = []
    for u in range(USERS):
        start = (u * 7) % ITEMS
        for t in range(STEPS):
            rows.append((u + 1, (start + t) % ITEMS + 1, 1_000_000 + u * 100 + t))
    with open(os.path.join(DATA, "tiny", "tiny.inter"), "w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for u, i, ts in rows:
            f.write(f"{u}\t{i}\t{ts}\n")
    with open(os.path.join(DATA, "tiny-pmixer.txt"), "w") as f:  # pmixer's data/<name>.txt: `user item` lines
        for u, i, _ in rows:
            f.write(f"{u} {i}\n")
    with open(os.path.join(DATA, "tiny-gru4rec.tsv"), "w") as f:
        f.write("SessionId\tItemId\tTime\n")
        for u, i, ts in rows:
            f.write(f"{u}\t{i}\t{ts}\n")


def make_recbole():
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.trainer import Trainer
    from recbole.utils import get_model, init_seed
    torch.autograd.set_detect_anomaly(False)
    work = tempfile.mkdtemp()
    cwd = os.getcwd()
    os.chdir(work)  # the Trainer writes log folders into the working directory
    try:
        config = Config(model="GRU4Rec", dataset="tiny", config_dict={
            "data_path": DATA, "device": "cpu", "use_gpu": False, "embedding_size": 8, "hidden_size": 8,
            "MAX_ITEM_LIST_LENGTH": 5, "epochs": 40, "train_batch_size": 64, "learning_rate": 0.01,
            "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
            "train_neg_sample_args": None, "loss_type": "CE", "topk": [10], "valid_metric": "MRR@10",
            "stopping_step": 40, "show_progress": False, "checkpoint_dir": work, "seed": 2020,
            "load_col": {"inter": ["user_id", "item_id", "timestamp"]}})
        torch.autograd.set_detect_anomaly(False)
        init_seed(config["seed"], True)
        dataset = create_dataset(config)
        train, valid, _ = data_preparation(config, dataset)
        model = get_model("GRU4Rec")(config, train._dataset)
        trainer = Trainer(config, model)
        trainer.fit(train, valid, saved=True, show_progress=False)
        shutil.copyfile(trainer.saved_model_file, os.path.join(DATA, "recbole-gru4rec-tiny.pth"))
        trainer.tensorboard.close()  # before its folder is removed
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


def make_pmixer(pmixer_dir):
    sys.path.insert(0, pmixer_dir)
    import model as upstream
    args = argparse.Namespace(dataset="tiny", train_dir="v3", batch_size=128, lr=0.001, maxlen=5, hidden_units=8,
                              num_blocks=2, num_epochs=1, num_heads=2, dropout_rate=0.2, l2_emb=0.0, device="cpu",
                              inference_only=False, state_dict_path=None, norm_first=True)
    torch.manual_seed(0)
    net = upstream.SASRec(USERS, ITEMS, args)
    for _, param in net.named_parameters():  # main.py's initialisation
        try:
            torch.nn.init.xavier_normal_(param.data)
        except Exception:
            pass
    net.pos_emb.weight.data[0, :] = 0
    net.item_emb.weight.data[0, :] = 0
    folder = os.path.join(DATA, "pmixer-v3")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "args.txt"), "w") as f:  # as main.py writes it
        f.write("\n".join([str(k) + "," + str(v) for k, v in sorted(vars(args).items(), key=lambda x: x[0])]))
    name = "SASRec.epoch={}.lr={}.layer={}.head={}.hidden={}.maxlen={}.pth".format(
        1, args.lr, args.num_blocks, args.num_heads, args.hidden_units, args.maxlen)
    torch.save(net.state_dict(), os.path.join(folder, name))


def make_gru4rec(gru4rec_dir):
    sys.path.insert(0, gru4rec_dir)
    import pandas as pd
    from gru4rec_pytorch import GRU4Rec
    data = pd.read_csv(os.path.join(DATA, "tiny-gru4rec.tsv"), sep="\t", dtype={"ItemId": str})
    torch.manual_seed(42)
    np.random.seed(42)
    gru = GRU4Rec(layers=[8], loss="cross-entropy", batch_size=16, n_sample=0, n_epochs=2,
                  constrained_embedding=True, device=torch.device("cpu"))
    gru.fit(data, compatibility_mode=False)
    gru.savemodel(os.path.join(DATA, "gru4rec-official-tiny.pt"))
    torch.manual_seed(42)
    np.random.seed(42)
    onehot = GRU4Rec(layers=[8], loss="cross-entropy", batch_size=16, n_sample=0, n_epochs=2, embedding=0,
                     constrained_embedding=False, device=torch.device("cpu"))
    onehot.fit(data, compatibility_mode=False)
    onehot.savemodel(os.path.join(DATA, "gru4rec-official-onehot-tiny.pt"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pmixer-dir", required=True, help="pmixer/SASRec.pytorch checkout's python/ folder (v3)")
    p.add_argument("--gru4rec-dir", required=True, help="GRU4Rec_PyTorch_Official checkout")
    args = p.parse_args()
    torch.set_num_threads(1)
    write_dataset()
    make_pmixer(os.path.abspath(args.pmixer_dir))
    make_gru4rec(os.path.abspath(args.gru4rec_dir))
    make_recbole()
    for root, _, files in os.walk(DATA):
        for f in sorted(files):
            print(os.path.relpath(os.path.join(root, f), DATA), os.path.getsize(os.path.join(root, f)))


if __name__ == "__main__":
    main()
