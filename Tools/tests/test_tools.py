"""NumPy-only checks of the Python tools (no torch): `python3 -m unittest discover Tools/tests`.

Tests that need ../shared (fixtures, ml-100k) are skipped when it is not beside the repository.
"""
import glob
import json
import os
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
SHARED = os.path.join(TOOLS, "..", "..", "shared")
sys.path.insert(0, TOOLS)

import evaluate_ml100k as ev  # noqa: E402
import safetensors_io  # noqa: E402

ML100K = os.path.join(SHARED, "datasets", "ml-100k")
SASREC = os.path.join(SHARED, "fixtures", "recbole-sasrec-ml100k")


class SafetensorsTest(unittest.TestCase):
    def test_round_trip(self):
        t = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "i": np.array([1, 2], np.int64)}
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            safetensors_io.save(p, t, {"source": "test"})
            back, meta = safetensors_io.load(p)
            self.assertEqual(meta, {"source": "test"})
            for k in t:
                np.testing.assert_array_equal(back[k], t[k])
                self.assertEqual(back[k].dtype, t[k].dtype)
            with open(p, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
            self.assertEqual(n % 8, 0)  # data starts 8-byte aligned

    @unittest.skipUnless(os.path.isdir(os.path.join(SHARED, "fixtures")), "no ../shared")
    def test_fixtures_reencode_byte_identical(self):
        for ref in glob.glob(os.path.join(SHARED, "fixtures", "*", "weights.safetensors")):
            tensors, meta = safetensors_io.load(ref)
            with tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "x.safetensors")
                safetensors_io.save(p, tensors, meta)
                with open(p, "rb") as a, open(ref, "rb") as b:
                    self.assertEqual(a.read(), b.read(), ref)


class MetricsTest(unittest.TestCase):
    def test_single_target_metrics(self):
        rankings = [list(range(1, 21)), list(range(1, 21)), list(range(21, 41))]
        got = ev.metrics(rankings, [1, 12, 5])  # rank 1, rank 12, miss
        self.assertAlmostEqual(got["recall@10"], round(1 / 3, 4))
        self.assertAlmostEqual(got["recall@20"], round(2 / 3, 4))
        self.assertAlmostEqual(got["mrr@10"], round(1 / 3, 4))
        self.assertAlmostEqual(got["mrr@20"], round((1 + 1 / 12) / 3, 4))
        self.assertAlmostEqual(got["ndcg@20"], round((1 + 1 / np.log2(13)) / 3, 4))
        self.assertAlmostEqual(got["precision@10"], round(1 / 30, 4))


@unittest.skipUnless(os.path.isdir(ML100K) and os.path.isdir(SASREC), "no ../shared")
class SessionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.seqs = ev.user_sequences(ML100K)
        cls.tok2id = ev.read_vocab(os.path.join(SASREC, "vocab.tsv"))

    def test_shape_of_dataset(self):
        self.assertEqual(len(self.seqs), 943)
        self.assertEqual(sum(len(s) for s in self.seqs.values()), 100000)
        self.assertEqual(len(self.tok2id), 1683)  # 1,682 items + [PAD]

    def test_float32_ties_change_83_users(self):
        naive = ev.naive_sequences(ML100K)
        self.assertEqual(sum(self.seqs[u] != naive[u] for u in self.seqs), 83)

    def test_golden_sessions_are_user_prefixes(self):
        with open(os.path.join(SASREC, "golden.json")) as f:
            cases = json.load(f)["cases"]
        users = [[self.tok2id[i] for i in s] for s in self.seqs.values()]
        for c in cases:
            s = c["session"]
            self.assertTrue(any(u[:len(s)] == s for u in users), s[:5])

    def test_cases(self):
        test = ev.build_cases(self.seqs, self.tok2id, "test")
        valid = ev.build_cases(self.seqs, self.tok2id, "valid")
        self.assertEqual(len(test), 943)
        for (_, h, t), (_, hv, tv) in zip(test, valid):
            self.assertEqual(h[-1], tv)
            self.assertEqual(hv, h[:-1])
            self.assertNotIn(0, h)


if __name__ == "__main__":
    unittest.main()
