"""Exporter round trips with the upstream code (venv; run by hand, not in CI):

    SEQREC_PMIXER_DIR=<pmixer checkout>/python SEQREC_GRU4REC_DIR=<GRU4Rec_PyTorch_Official checkout> \
    [SEQREC_SHARED=../shared] [SEQREC_BIN=.build/release/seqrec] \
    OMP_NUM_THREADS=1 Tools/.venv/bin/python -m unittest discover -s Tools/tests -p 'test_exporters_torch.py' -v

* RoundTrip: each tiny upstream checkpoint of Tools/tests/data is exported with --golden (scores from the upstream
  PyTorch model), converted by `seqrec convert` (which verifies against golden.json by default) and served by
  `seqrec recommend`; a tiny RecBole dataset with its rows reordered is refused by the dataset check.
* RecBoleFamilies (SEQREC_SHARED): every shared recbole-* fixture's weights, wrapped into a RecBole Trainer checkpoint
  (wrap_recbole_fixture.py), exported with --golden on the fixture's own sessions: hyperparameters, n_items and
  vocab.tsv equal the fixture's, and golden.json equals the fixture's golden outputs (top-100 ids, scores within
  1e-6 of the largest |score|); then converted (verified) and served like the round trips. Slow: about a minute per family on 2 shared cores.
Tests whose requirement is missing are skipped and say which.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
ROOT = os.path.dirname(TOOLS)
DATA = os.path.join(HERE, "data")
PMIXER_DIR = os.environ.get("SEQREC_PMIXER_DIR")
GRU4REC_DIR = os.environ.get("SEQREC_GRU4REC_DIR")
SHARED = os.environ.get("SEQREC_SHARED")
SEQREC = os.environ.get("SEQREC_BIN", os.path.join(ROOT, ".build", "release", "seqrec"))

try:
    import recbole  # noqa: F401
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


def read_json(folder, name):
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        return json.load(f)


def tool(name, *args):
    return subprocess.run([sys.executable, "-W", "ignore", os.path.join(TOOLS, name), *args], capture_output=True,
                          text=True, timeout=1800)


class ServeCheck:
    """Converts an exported folder with `seqrec convert` (verified against its golden.json) and serves it."""

    def convert_and_serve(self, folder, first_item):
        if not os.access(SEQREC, os.X_OK):
            self.skipTest(f"no seqrec binary at {SEQREC} (swift build -c release)")
        model = os.path.join(self.tmp, "model.seqrec")
        run = subprocess.run([SEQREC, "convert", folder, "-o", model], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("verified: 128 golden cases", run.stdout)
        with open(os.path.join(folder, "golden.json")) as f:
            cases = json.load(f)["cases"]
        sessions = os.path.join(self.tmp, "sessions.jsonl")
        with open(sessions, "w") as f:
            f.writelines(json.dumps({"session": c["session"]}) + "\n" for c in cases)
        served = subprocess.run([SEQREC, "recommend", "--model", model, "--input", sessions, "--k", "5",
                                 "--format", "jsonl"], capture_output=True, text=True)
        self.assertEqual(served.returncode, 0, served.stderr)
        answers = [json.loads(line) for line in served.stdout.splitlines()]
        self.assertEqual(len(answers), len(cases))
        for case, answer in zip(cases, answers):  # the served top 5 = upstream's (ids; scores within 1e-4 of max)
            top = [(i, s) for i, s in case["top"] if i >= first_item][:5]
            scale = max(abs(s) for _, s in case["top"])
            for (item, score), got_item, got_score in zip(top, answer["items"], answer["scores"]):
                self.assertLessEqual(abs(got_score - score), 1e-4 * scale)
                if got_item != item:  # only inside a near-tie
                    self.assertLessEqual(min((abs(score - s) for i, s in top if i == got_item), default=float("inf")), 1e-5 * scale)


@unittest.skipUnless(HAVE_TORCH, "needs torch and recbole (Tools/setup_venv.sh)")
class RoundTrip(unittest.TestCase, ServeCheck):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="exporter-roundtrip-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def export(self, name, *args):
        out = os.path.join(self.tmp, "folder")
        run = tool(name, *args, "-o", out, "--golden")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertTrue(os.path.isfile(os.path.join(out, "golden.json")))
        return out, run.stdout

    def test_recbole(self):
        folder, log = self.export("export_recbole.py", os.path.join(DATA, "recbole-gru4rec-tiny.pth"),
                                  "--dataset-dir", os.path.join(DATA, "tiny"))
        self.assertIn("x chance", log)
        self.convert_and_serve(folder, first_item=1)

    def test_recbole_reordered_dataset_is_refused(self):
        folder = os.path.join(self.tmp, "tiny")
        os.makedirs(folder)
        with open(os.path.join(DATA, "tiny", "tiny.inter")) as f:
            header, *rows = f.readlines()
        random.Random(1).shuffle(rows)
        with open(os.path.join(folder, "tiny.inter"), "w") as f:
            f.writelines([header] + rows)
        run = tool("export_recbole.py", os.path.join(DATA, "recbole-gru4rec-tiny.pth"), "--dataset-dir", folder,
                   "-o", os.path.join(self.tmp, "out"))
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn("not the dataset the model was trained on", run.stderr)
        self.assertEqual(len(run.stderr.strip().splitlines()), 1, run.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out")))

    @unittest.skipUnless(PMIXER_DIR, "needs SEQREC_PMIXER_DIR (upstream python/ folder with model.py, v3)")
    def test_pmixer(self):
        ckpt = os.path.join(DATA, "pmixer-v3", "SASRec.epoch=1.lr=0.001.layer=2.head=2.hidden=8.maxlen=5.pth")
        folder, log = self.export("export_pmixer.py", ckpt, "--upstream-dir", PMIXER_DIR, "--data-file",
                                  os.path.join(DATA, "tiny-pmixer.txt"))
        self.assertIn("pmixer-sasrec-v3", log)
        self.assertIn("norm_first=True", log)  # from args.txt, no flag given
        self.convert_and_serve(folder, first_item=1)

    @unittest.skipUnless(GRU4REC_DIR, "needs SEQREC_GRU4REC_DIR (GRU4Rec_PyTorch_Official checkout)")
    def test_gru4rec_official(self):
        for name, mode in (("gru4rec-official-tiny.pt", "constrained"), ("gru4rec-official-onehot-tiny.pt", "onehot")):
            with self.subTest(mode=mode):
                folder, _ = self.export("export_gru4rec_official.py", os.path.join(DATA, name), "--upstream-dir",
                                        GRU4REC_DIR, "--data-file", os.path.join(DATA, "tiny-gru4rec.tsv"))
                self.assertEqual(read_json(folder, "config.json")["hyperparameters"]["embedding_mode"], mode)
                self.convert_and_serve(folder, first_item=0)
                shutil.rmtree(folder)


FAMILY_FIXTURES = ["recbole-sasrec-ml100k", "recbole-bert4rec-ml100k", "recbole-gru4rec-ml100k",
                   "recbole-narm-ml100k", "recbole-stamp-ml100k", "recbole-core-ml100k", "recbole-core-ave-ml100k",
                   "recbole-srgnn-ml100k", "recbole-gcsan-ml100k", "recbole-lightsans-ml100k"]


@unittest.skipUnless(HAVE_TORCH and SHARED, "needs torch, recbole and SEQREC_SHARED (the shared folder)")
class RecBoleFamilies(unittest.TestCase, ServeCheck):
    def test_every_family_exports_its_fixture(self):
        import numpy as np
        only = os.environ.get("SEQREC_FAMILIES")
        for name in FAMILY_FIXTURES:
            if only and not any(f in name for f in only.split(",")):
                continue
            with self.subTest(fixture=name), tempfile.TemporaryDirectory() as tmp:
                fixture = os.path.join(SHARED, "fixtures", name)
                ckpt = os.path.join(tmp, "model.pth")
                wrap = tool(os.path.join("tests", "wrap_recbole_fixture.py"), fixture, "--data-path",
                            os.path.join(SHARED, "datasets"), "-o", ckpt)
                self.assertEqual(wrap.returncode, 0, wrap.stderr[-2000:])
                out = os.path.join(tmp, "out")
                run = tool("export_recbole.py", ckpt, "--dataset-dir", os.path.join(SHARED, "datasets", "ml-100k"),
                           "-o", out, "--golden", "--golden-sessions", os.path.join(fixture, "golden.json"))
                self.assertEqual(run.returncode, 0, run.stderr[-2000:])
                print(f"{name}: {run.stdout.splitlines()[0]}", file=sys.stderr)
                mine, theirs = (read_json(d, "config.json") for d in (out, fixture))
                self.assertEqual(mine["family"], theirs["family"])
                self.assertEqual(mine["n_items"], theirs["n_items"])
                self.assertEqual(mine["hyperparameters"], theirs["hyperparameters"])
                with open(os.path.join(out, "vocab.tsv"), "rb") as a, open(os.path.join(fixture, "vocab.tsv"), "rb") as b:
                    self.assertEqual(a.read(), b.read())
                mine, theirs = (read_json(d, "golden.json")["cases"] for d in (out, fixture))
                for index, (x, y) in enumerate(zip(mine, theirs)):
                    scale = max(abs(s) for _, s in y["top"])
                    self.assertEqual([i for i, _ in x["top"]], [i for i, _ in y["top"]], f"case {index}")
                    worst = max(abs(np.float32(a[1]) - np.float32(b[1])) for a, b in zip(x["top"], y["top"]))
                    if "scores" in y:
                        worst = max(worst, float(np.max(np.abs(np.array(x["scores"], np.float32)
                                                               - np.array(y["scores"], np.float32)))))
                    self.assertLessEqual(worst, 1e-6 * scale, f"case {index}")
                if os.access(SEQREC, os.X_OK):  # the round trip on to the runtime, where it knows the family
                    self.tmp = tmp
                    self.convert_and_serve(out, first_item=1)


if __name__ == "__main__":
    unittest.main()
