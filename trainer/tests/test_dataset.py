import json
import os
import subprocess
import sys
import unittest

import numpy as np

from trainer.leader_trainer.dataset import (Sample, bucketed_batches, collate_student, collate_targets, load_dataset,
                                            plain_batches, sample_size)
from trainer.leader_trainer.errors import TrainerInputError
from trainer.tests.helpers import fast_args, make_dataset, run_cli, temp_root, tree_snapshot

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(REPO_ROOT, "test", "golden", "student-batch.golden.json")
GOLDEN_DATASET = os.path.join(REPO_ROOT, "test", "golden", "dataset")


def _rewrite_json(path, edit):
    with open(path) as f:
        obj = json.load(f)
    edit(obj)
    with open(path, "w") as f:
        json.dump(obj, f)


class DatasetReaderTest(unittest.TestCase):
    def setUp(self):
        self.root = temp_root(self)
        self.ds = make_dataset(self.root)

    def test_reads_synthetic_dataset_with_med_token_ids(self):
        sut = load_dataset(self.ds)
        self.assertEqual(len(sut.samples), 40)
        self.assertEqual([len(sut.split(s)) for s in ("train", "val", "test")], [32, 4, 4])
        for i, code in enumerate(sut.labels):
            self.assertEqual(sut.vocab["tokens"][sut.label_token_ids[i]], "atc3:" + code)

    def test_refuses_other_schema_version_and_writes_nothing(self):
        _rewrite_json(os.path.join(self.ds, "manifest.json"), lambda m: m.update(schemaVersion=2))
        out = os.path.join(self.root, "model")
        os.makedirs(out)
        with open(os.path.join(out, "manifest.json"), "w") as f:
            f.write('{"previous": true}')
        before = tree_snapshot(out)
        code, events, err = run_cli(fast_args(self.ds, out))
        self.assertEqual(code, 2)
        self.assertEqual(err.strip(), f"error: dataset {self.ds}: schemaVersion 2, this trainer reads 1")
        self.assertEqual(events[-1]["event"], "error")
        self.assertEqual(tree_snapshot(out), before)
        self.assertEqual(sorted(os.listdir(self.root)), ["ds", "model"])

    def test_cli_process_exits_2_with_one_line(self):
        _rewrite_json(os.path.join(self.ds, "manifest.json"), lambda m: m.update(schemaVersion=0))
        proc = subprocess.run([sys.executable, "-m", "trainer.leader_trainer.train", "--dataset", self.ds,
                               "--out", os.path.join(self.root, "m")], cwd=REPO_ROOT, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stderr.strip().splitlines(), [f"error: dataset {self.ds}: schemaVersion 0, this trainer reads 1"])
        self.assertFalse(os.path.exists(os.path.join(self.root, "m")))

    def test_refuses_vocab_that_differs_from_manifest_hash(self):
        _rewrite_json(os.path.join(self.ds, "vocab.json"), lambda v: v["tokens"].append("icd10cm:EXTRA"))
        with self.assertRaisesRegex(TrainerInputError, "vocab.json sha256 .* does not match manifest vocabHash"):
            load_dataset(self.ds)

    def test_names_file_and_line_of_a_bad_sample(self):
        path = os.path.join(self.ds, "samples.jsonl")
        with open(path) as f:
            lines = f.read().splitlines()
        bad = json.loads(lines[2])
        bad["student"]["diag"][0] = [10 ** 6]
        lines[2] = json.dumps(bad)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        with self.assertRaisesRegex(TrainerInputError, r"samples.jsonl line 3 \(sample syn00002\): student.diag\[0\] holds 1000000"):
            load_dataset(self.ds)


class CollateTest(unittest.TestCase):
    def test_pads_to_batch_maxima_with_zero(self):
        a = Sample("a", "train", [1], diag=[[5, 6], [7]], proc=[[], [9]], med=[[], [3, 4, 2]], profile=[1, 0])
        b = Sample("b", "train", [0, 2], diag=[[8]], proc=[[]], med=[[]], profile=[0, 2])
        sut = collate_student([a, b])
        self.assertEqual(sut["diag"].shape, (2, 2, 2))
        self.assertEqual(sut["proc"].shape, (2, 2, 1))
        self.assertEqual(sut["med"].shape, (2, 2, 3))
        np.testing.assert_array_equal(sut["visit_mask"], [[1, 1], [1, 0]])
        np.testing.assert_array_equal(sut["diag"][0], [[5, 6], [7, 0]])
        np.testing.assert_array_equal(sut["diag"][1], [[8, 0], [0, 0]])
        np.testing.assert_array_equal(sut["med"][0], [[0, 0, 0], [3, 4, 2]])
        self.assertEqual(sut["profile"].tolist(), [[1, 0], [0, 2]])
        self.assertEqual(sut["diag"].dtype, np.int64)
        self.assertEqual(sut["visit_mask"].dtype, np.float32)

    def test_empty_sets_still_give_k_of_one(self):
        s = Sample("a", "train", [0], diag=[[1]], proc=[[]], med=[[]], profile=[])
        self.assertEqual(collate_student([s])["proc"].shape, (1, 1, 1))

    def test_targets_map_label_indices_to_med_token_ids(self):
        label_token_ids = np.array([40, 41, 42], dtype=np.int64)
        s = Sample("a", "train", [0, 2], diag=[[1]], proc=[[]], med=[[]], profile=[])
        sut = collate_targets([s], 3, label_token_ids)
        np.testing.assert_array_equal(sut["labels"], [[1, 0, 1]])
        np.testing.assert_array_equal(sut["label_tokens"], [[40, 42]])

    @unittest.skipUnless(os.path.isfile(GOLDEN), "test/golden/student-batch.golden.json not written yet")
    def test_matches_typescript_golden_batch(self):
        """The TS buildStudentBatch output (src/leader/tensors/student-batch.ts) is the reference."""
        with open(GOLDEN) as f:
            golden = json.load(f)
        self.assertTrue(golden["batches"])
        for case in golden["batches"]:
            samples = [Sample(str(i), "train", [], diag=s["diag"], proc=s["proc"], med=s["med"], profile=s["profile"])
                       for i, s in enumerate(case["inputs"])]
            batch = collate_student(samples)
            expected = case["expected"]
            self.assertEqual(expected["batchSize"], len(samples))
            self.assertEqual(expected["visits"], batch["visit_mask"].shape[1])
            for name in ("diag", "proc", "med", "visit_mask", "profile"):
                exp = expected[name]
                self.assertEqual(list(batch[name].shape), exp["dims"], f"{case['name']} {name}")
                np.testing.assert_array_equal(batch[name].reshape(-1).astype(np.float64),
                                              np.array(exp["data"], dtype=np.float64), err_msg=f"{case['name']} {name}")


@unittest.skipUnless(os.path.isfile(os.path.join(GOLDEN_DATASET, "manifest.json")), "test/golden/dataset not written yet")
class GoldenDatasetTest(unittest.TestCase):
    """The dataset the TypeScript writer produced (test/golden/dataset) reads, trains and exports."""

    def test_reads_the_typescript_writer_output(self):
        sut = load_dataset(GOLDEN_DATASET)
        self.assertEqual(len(sut.samples), sut.manifest["counts"]["samples"])
        self.assertTrue(all(sut.label_token_ids > 0), "every label has its atc3: token")
        med_ids = {t for s in sut.samples for visit in s.med for t in visit}
        self.assertTrue(med_ids <= set(sut.label_token_ids.tolist()), "med history holds atc3 token ids")

    def test_trains_one_epoch_and_exports_without_validation_samples(self):
        root = temp_root(self)
        out = os.path.join(root, "model")
        code, events, err = run_cli(["--dataset", GOLDEN_DATASET, "--out", out, "--epochs", "1"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(out, "manifest.json")) as f:
            m = json.load(f)
        self.assertEqual(m["threshold"], 0.3)
        self.assertIn("no validation samples", m["thresholdSource"])
        self.assertEqual(events[-1]["event"], "done")


class BucketedBatchesTest(unittest.TestCase):
    def setUp(self):
        self.sizes = np.random.default_rng(3).integers(1, 200, size=1000)
        self.order = np.random.default_rng(4).permutation(1000)

    def batches(self, seed=5):
        return bucketed_batches(self.order, self.sizes, 16, np.random.default_rng(seed), window_batches=5)

    def test_every_sample_once_in_full_batches_but_the_last_window(self):
        batches = self.batches()
        self.assertEqual(sorted(np.concatenate(batches).tolist()), list(range(1000)))
        self.assertEqual(len(batches), (1000 + 15) // 16)
        self.assertEqual(sum(len(b) < 16 for b in batches), 1)

    def test_deterministic_from_the_rng_and_shuffled_across_windows(self):
        a, b, c = self.batches(5), self.batches(5), self.batches(6)
        self.assertTrue(all(np.array_equal(x, y) for x, y in zip(a, b)))
        self.assertFalse(all(np.array_equal(x, y) for x, y in zip(a, c)))
        first_window = set(self.order[:80].tolist())
        positions = [i for i, batch in enumerate(a) if set(batch.tolist()) <= first_window]
        self.assertEqual(len(positions), 5)
        self.assertNotEqual(positions, [0, 1, 2, 3, 4])  # batch order is shuffled

    def test_batches_group_similar_sizes(self):
        def padding(batches):  # codes padded up to each batch's largest sample
            return sum(int(self.sizes[b].max()) * len(b) - int(self.sizes[b].sum()) for b in batches)
        plain = plain_batches(self.order, 16)
        self.assertLess(padding(self.batches()), 0.25 * padding(plain))

    def test_sample_size_counts_every_code(self):
        s = Sample(id="x", split="train", labels=[1], diag=[[1, 2], [3]], proc=[[], [4]], med=[[], [5, 6, 7]],
                   profile=[0])
        self.assertEqual(sample_size(s), 7)


class EpochBatchesTest(unittest.TestCase):
    def test_depend_on_seed_and_epoch_only_and_no_bucketing_keeps_the_plain_order(self):
        from trainer.leader_trainer.train import epoch_batches, epoch_order
        sizes = np.arange(100) % 17
        a, b = epoch_batches(42, 3, sizes, 8, True), epoch_batches(42, 3, sizes, 8, True)
        self.assertTrue(all(np.array_equal(x, y) for x, y in zip(a, b)))
        plain = epoch_batches(42, 3, sizes, 8, False)
        self.assertTrue(np.array_equal(np.concatenate(plain), epoch_order(42, 3, 100)))
        self.assertFalse(np.array_equal(np.concatenate(a), epoch_order(42, 3, 100)))


if __name__ == "__main__":
    unittest.main()
