"""The exporters' catalogue of user mistakes: each gives one line on stderr, a non-zero exit, no traceback and no
output folder. Standard library only, and every exporter runs with `python -S` (no site-packages: no torch, no
numpy), so this runs in CI as it runs here:

    python3 -m unittest discover -s Tools/tests -p 'test_exporter_errors.py' -v

(also run by the Swift test ToolsCatalogueTests). The checkpoints are tiny files written by upstream code
(Tools/tests/data, see make_test_checkpoints.py).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
sys.path.insert(0, TOOLS)

import checkpoint_probe  # noqa: E402
import golden_io  # noqa: E402
from export_common import ExportError  # noqa: E402

RECBOLE = os.path.join(DATA, "recbole-gru4rec-tiny.pth")
GRU4REC = os.path.join(DATA, "gru4rec-official-tiny.pt")
PMIXER_NAME = "SASRec.epoch=1.lr=0.001.layer=2.head=2.hidden=8.maxlen=5.pth"
PMIXER = os.path.join(DATA, "pmixer-v3", PMIXER_NAME)
TINY = os.path.join(DATA, "tiny")


class Catalogue(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="exporter-errors-")
        self.out = os.path.join(self.tmp, "out")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def refuses(self, tool, args, *fragments, status=2):
        """Runs Tools/<tool>.py without site-packages and checks the refusal."""
        run = subprocess.run([sys.executable, "-S", os.path.join(TOOLS, f"{tool}.py"), *args, "-o", self.out],
                             capture_output=True, text=True, timeout=60)
        lines = run.stderr.splitlines()
        self.assertEqual(run.returncode, status, run.stderr)
        self.assertEqual(len(lines), 1, run.stderr)
        self.assertTrue(lines[0].startswith(f"{tool}: "), lines[0])
        self.assertNotIn("Traceback", run.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        self.assertFalse(os.path.exists(self.out), "an output folder was written")
        return lines[0]

    def copy(self, path, name=None, size=None, flip=None):
        dest = os.path.join(self.tmp, name or os.path.basename(path))
        with open(path, "rb") as f:
            data = bytearray(f.read())
        if size is not None:
            data = data[:size]
        if flip is not None:
            data[flip] ^= 0xFF
        with open(dest, "wb") as f:
            f.write(data)
        return dest

    def pmixer_run(self, args_txt=True, name=PMIXER_NAME, edit=None):
        """A copy of the pmixer run folder: the checkpoint and (optionally edited) args.txt."""
        folder = os.path.join(self.tmp, "run")
        os.makedirs(folder)
        shutil.copyfile(PMIXER, os.path.join(folder, name))
        if args_txt:
            with open(os.path.join(DATA, "pmixer-v3", "args.txt")) as f:
                text = f.read()
            with open(os.path.join(folder, "args.txt"), "w") as f:
                f.write(edit(text) if edit else text)
        return os.path.join(folder, name)

    # Broken files, for every exporter.
    def test_truncated_checkpoint(self):
        for tool, path in (("export_recbole", RECBOLE), ("export_pmixer", PMIXER),
                           ("export_gru4rec_official", GRU4REC)):
            half = self.copy(path, size=os.path.getsize(path) // 2)
            extra = ["--dataset-dir", TINY] if tool == "export_recbole" else []
            self.refuses(tool, [half, *extra], "truncated or damaged")

    def test_flipped_byte_fails_the_checksum(self):
        bad = self.copy(PMIXER, name=PMIXER_NAME, flip=os.path.getsize(PMIXER) // 2)
        self.refuses("export_pmixer", [bad], "damaged")

    def test_empty_missing_directory_and_text_files(self):
        empty = self.copy(PMIXER, size=0)
        self.refuses("export_pmixer", [empty], "is empty")
        self.refuses("export_pmixer", [os.path.join(self.tmp, "none.pth")], "no such file")
        self.refuses("export_gru4rec_official", [self.tmp], "is a directory")
        text = os.path.join(self.tmp, "notes.pth")
        with open(text, "w") as f:
            f.write("not a checkpoint\n")
        self.refuses("export_recbole", [text, "--dataset-dir", TINY], "not a PyTorch checkpoint")

    # A checkpoint of one kind given to another kind's exporter names the right one.
    def test_wrong_exporter(self):
        self.refuses("export_pmixer", [RECBOLE], "RecBole Trainer checkpoint of GRU4Rec", "Tools/export_recbole.py")
        self.refuses("export_pmixer", [GRU4REC], "official GRU4Rec saved model", "Tools/export_gru4rec_official.py")
        self.refuses("export_recbole", [PMIXER, "--dataset-dir", TINY], "pmixer", "Tools/export_pmixer.py")
        self.refuses("export_recbole", [GRU4REC, "--dataset-dir", TINY], "Tools/export_gru4rec_official.py")
        self.refuses("export_gru4rec_official", [RECBOLE], "Tools/export_recbole.py")
        self.refuses("export_gru4rec_official", [PMIXER], "Tools/export_pmixer.py")

    # RecBole's dataset folder: never a download.
    def test_missing_dataset_folder(self):
        self.refuses("export_recbole", [RECBOLE, "--dataset-dir", os.path.join(self.tmp, "tiny")], "no such folder",
                     "tiny.inter", "nothing is downloaded")

    def test_dataset_folder_without_the_interaction_file(self):
        folder = os.path.join(self.tmp, "tiny")
        os.makedirs(folder)
        shutil.copyfile(os.path.join(TINY, "tiny.inter"), os.path.join(folder, "other.inter"))
        self.refuses("export_recbole", [RECBOLE, "--dataset-dir", folder], "has no tiny.inter", "found other.inter")

    # Misspelt flags: refused with the nearest valid one; no abbreviations.
    def test_misspelt_flags(self):
        self.refuses("export_pmixer", [PMIXER, "--num-head", "2"], "--num-head", "did you mean --num-heads?")
        self.refuses("export_recbole", [RECBOLE, "--dataset_dir", TINY], "did you mean --dataset-dir?")
        self.refuses("export_gru4rec_official", [GRU4REC, "--upstream_dir", "x"], "did you mean --upstream-dir?")
        self.refuses("export_pmixer", [PMIXER, "--norm-first", "yes"], "invalid choice")

    # pmixer: flags that contradict args.txt or the file name.
    def test_pmixer_contradicting_flags(self):
        cases = [(["--variant", "v2"], "variant", "--variant says v2"),
                 (["--num-heads", "1"], "num_heads", "--num-heads says 1"),
                 (["--maxlen", "50"], "maxlen", "--maxlen says 50"),
                 (["--norm-first", "false"], "norm_first", "--norm-first says False")]
        for flags, *fragments in cases:
            self.refuses("export_pmixer", [self.pmixer_run(), *flags], *fragments)
            shutil.rmtree(os.path.join(self.tmp, "run"))

    def test_pmixer_args_txt_of_another_run(self):
        path = self.pmixer_run(edit=lambda t: t.replace("maxlen,5", "maxlen,7"))
        self.refuses("export_pmixer", [path], "maxlen", "args.txt", "says 7")

    def test_pmixer_misspelt_args_txt_key(self):
        path = self.pmixer_run(edit=lambda t: t.replace("norm_first", "norm_frist"))
        self.refuses("export_pmixer", [path], "'norm_frist'", "did you mean 'norm_first'?")

    def test_pmixer_renamed_checkpoint(self):
        path = self.pmixer_run(args_txt=False, name=PMIXER_NAME.replace("layer=2", "layer=3"))
        self.refuses("export_pmixer", [path], "layer=3", "renamed")

    def test_pmixer_settings_nothing_records_must_be_given(self):
        path = self.pmixer_run(args_txt=False)
        self.refuses("export_pmixer", [path], "--variant v2 or v3")
        self.refuses("export_pmixer", [path, "--variant", "v3"], "--norm-first")
        self.refuses("export_pmixer", [path, "--variant", "v1"], "--variant v1: pos_emb has 6 rows", "v1 needs maxlen rows")
        renamed = os.path.join(self.tmp, "model.pth")
        shutil.copyfile(PMIXER, renamed)
        self.refuses("export_pmixer", [renamed, "--variant", "v3", "--norm-first"], "--maxlen", "--num-heads")

    def test_pmixer_checks_pass_then_torch_is_needed(self):
        # Everything the checks can decide is consistent: the one-line answer without torch is how to get it.
        self.refuses("export_pmixer", [self.pmixer_run(), "--variant", "v3", "--maxlen", "5", "--norm-first"],
                     "the checks passed", "Tools/setup_venv.sh")

    # GRU4Rec: what the saved object needs.
    def test_gru4rec_object_needs_the_upstream_module(self):
        self.refuses("export_gru4rec_official", [GRU4REC], "--upstream-dir", "gru4rec_pytorch.py")
        self.refuses("export_gru4rec_official", [GRU4REC, "--upstream-dir", self.tmp], "does not exist")

    def test_golden_needs_sessions(self):
        fake = os.path.join(self.tmp, "up")
        os.makedirs(fake)
        open(os.path.join(fake, "gru4rec_pytorch.py"), "w").close()
        self.refuses("export_gru4rec_official", [GRU4REC, "--upstream-dir", fake, "--golden"], "--golden needs sessions")
        self.refuses("export_pmixer", [self.pmixer_run(), "--golden"], "--golden needs sessions")
        self.refuses("export_recbole", [RECBOLE, "--dataset-dir", TINY, "--golden-sessions", "x.jsonl"],
                     "--golden-sessions needs --golden")


class ProbeTest(unittest.TestCase):
    """checkpoint_probe reads the three kinds without torch."""

    def test_kinds_tensors_and_config(self):
        recbole = checkpoint_probe.probe(RECBOLE)
        self.assertEqual((recbole.kind, recbole.model, recbole.config["dataset"]), ("recbole-trainer", "GRU4Rec", "tiny"))
        self.assertEqual(recbole.config["MAX_ITEM_LIST_LENGTH"], 5)
        self.assertEqual(recbole.tensors["item_embedding.weight"].shape, (61, 8))
        pmixer = checkpoint_probe.probe(PMIXER)
        self.assertEqual(pmixer.kind, "pmixer-state-dict")
        self.assertEqual(pmixer.tensors["pos_emb.weight"].shape, (6, 8))
        self.assertEqual(len(pmixer.tensors), 28)
        gru = checkpoint_probe.probe(GRU4REC)
        self.assertEqual(gru.kind, "gru4rec-official-object")
        self.assertEqual({k: t.shape for k, t in gru.tensors.items()}["Wy.weight"], (60, 8))

    def test_nothing_is_imported(self):
        before = set(sys.modules)
        checkpoint_probe.probe(GRU4REC)
        checkpoint_probe.probe(RECBOLE)
        new = {m for m in set(sys.modules) - before if m.split(".")[0] in ("torch", "recbole", "gru4rec_pytorch",
                                                                             "pandas", "numpy")}
        self.assertEqual(new, set())


class GoldenSessionsTest(unittest.TestCase):
    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.remove, path)
        return path

    def test_reads_golden_and_jsonl(self):
        self.assertEqual(golden_io.read_sessions(self.write('{"k":1,"cases":[{"session":[1,2],"top":[]}]}')), [[1, 2]])
        self.assertEqual(golden_io.read_sessions(self.write('{"session":[3]}\n\n{"session":[4,5]}\n')), [[3], [4, 5]])

    def test_bad_sessions(self):
        for text in ('{"session":[]}', '{"session":[1.5]}', '{"session":[true]}', '{"x":1}', "nonsense", ""):
            with self.assertRaises(ExportError, msg=text):
                golden_io.read_sessions(self.write(text))
        with self.assertRaises(ExportError):
            golden_io.check_ids([[1, 61]], 1, 60, "ids")


if __name__ == "__main__":
    unittest.main()
