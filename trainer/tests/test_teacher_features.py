import json
import os
import unittest

import numpy as np

from trainer.leader_trainer.dataset import load_dataset
from trainer.leader_trainer.teacher import write_teacher_features
from trainer.tests.helpers import fast_args, make_dataset, run_cli, temp_root, tree_snapshot


class TeacherFeatureRefusalTest(unittest.TestCase):
    """Features whose count, ids, dim or completeness do not fit the dataset: exit 2, OUT untouched."""

    def setUp(self):
        self.root = temp_root(self)
        self.ds = make_dataset(self.root)
        self.ids = [s.id for s in load_dataset(self.ds).samples]
        self.feats = os.path.join(self.root, "teacher.f32")
        self.out = os.path.join(self.root, "model")
        os.makedirs(self.out)
        with open(os.path.join(self.out, "manifest.json"), "w") as f:
            f.write('{"previous": true}')
        self.before = tree_snapshot(self.out)

    def assert_refused(self, pattern):
        code, events, err = run_cli(fast_args(self.ds, self.out, "--teacher-features", self.feats))
        self.assertEqual(code, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertRegex(err, pattern)
        self.assertEqual(events[-1]["event"], "error")
        self.assertNotIn("start", [e["event"] for e in events])
        self.assertEqual(tree_snapshot(self.out), self.before)
        self.assertFalse(os.path.exists(self.out + ".tmp-train"))

    def test_refuses_row_count_that_does_not_match_the_index(self):
        write_teacher_features(self.feats, self.ids, np.ones((len(self.ids), 6)))
        with open(self.feats, "ab") as f:
            f.write(np.ones(6, dtype="<f4").tobytes())
        self.assert_refused(r"bytes, index says 40 rows x 6 float32")

    def test_refuses_features_missing_train_ids(self):
        ids = [i.replace("syn", "other") for i in self.ids]
        write_teacher_features(self.feats, ids, np.ones((len(ids), 6)))
        self.assert_refused(r"32 of 32 train samples have no row \(first: syn00000\)")

    def test_refuses_dim_that_does_not_match_the_file(self):
        write_teacher_features(self.feats, self.ids, np.ones((len(self.ids), 6)))
        with open(self.feats + ".index.json") as f:
            index = json.load(f)
        index["dim"] = 8
        with open(self.feats + ".index.json", "w") as f:
            json.dump(index, f)
        self.assert_refused(r"index says 40 rows x 8 float32")

    def test_refuses_incomplete_extraction(self):
        write_teacher_features(self.feats, self.ids, np.ones((len(self.ids), 6)), complete=False)
        self.assert_refused(r"complete is not true")

    def test_refuses_missing_index(self):
        np.ones((len(self.ids), 6), dtype="<f4").tofile(self.feats)
        self.assert_refused(r"index .*\.index\.json missing")


if __name__ == "__main__":
    unittest.main()
