import contextlib
import io
import json
import os
import unittest

import numpy as np
import onnx

from trainer.leader_trainer import teacher_head
from trainer.leader_trainer.dataset import load_dataset
from trainer.leader_trainer.teacher import write_teacher_features
from trainer.tests.helpers import make_dataset, temp_root, tree_snapshot


class TeacherHeadTest(unittest.TestCase):
    """Linear BCE head on cached teacher features: learns when the features carry the labels, exports
    ONNX features -> probs, and refuses features that do not fit the dataset."""

    def setUp(self):
        self.root = temp_root(self)
        self.ds_dir = make_dataset(self.root)
        self.ds = load_dataset(self.ds_dir)
        self.feats = os.path.join(self.root, "teacher.f32")
        self.out = os.path.join(self.root, "head")

    def write_features(self, informative: bool, ids=None, dim: int = 12):
        rng = np.random.default_rng(0)
        m = len(self.ds.labels)
        ids = ids if ids is not None else [s.id for s in self.ds.samples]
        by_id = {s.id: s for s in self.ds.samples}
        proj = rng.normal(size=(m, dim))
        rows = []
        for i in ids:
            y = np.zeros(m)
            y[by_id[i].labels] = 1.0
            rows.append((y @ proj if informative else 0) + 0.1 * rng.normal(size=dim))
        write_teacher_features(self.feats, ids, np.array(rows), backend="llama-cpp", model="tiny.gguf")

    def run_head(self, *extra):
        args = ["--dataset", self.ds_dir, "--teacher-features", self.feats, "--out", self.out, "--epochs", "60",
                "--patience", "60", "--lr", "0.05", *extra]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return teacher_head.main(args)

    def test_learns_from_informative_features_and_exports_onnx(self):
        self.write_features(informative=True)
        self.assertEqual(self.run_head(), 0)
        with open(os.path.join(self.out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["kind"], "teacher-head")
        self.assertEqual(manifest["threshold"], 0.5)
        self.assertEqual(manifest["teacher"]["backend"], "llama-cpp")
        self.assertEqual(manifest["teacher"]["model"], "tiny.gguf")
        self.assertEqual(manifest["dim"], 12)
        self.assertEqual(manifest["parameters"]["head"], 12 * len(self.ds.labels))
        self.assertIn("frozen-LLM", manifest["variant"])
        self.assertGreater(manifest["metrics"]["test"]["prauc"], 0.8)
        proto = onnx.load(os.path.join(self.out, "model.onnx"))
        self.assertEqual([i.name for i in proto.graph.input], ["features"])
        self.assertEqual([o.name for o in proto.graph.output], ["probs"])
        dims = proto.graph.output[0].type.tensor_type.shape.dim
        self.assertEqual(dims[1].dim_value, len(self.ds.labels))

    def test_uninformative_features_score_lower(self):
        self.write_features(informative=True)
        self.assertEqual(self.run_head(), 0)
        with open(os.path.join(self.out, "manifest.json")) as f:
            good = json.load(f)["metrics"]["test"]["prauc"]
        self.write_features(informative=False)
        self.assertEqual(self.run_head(), 0)
        with open(os.path.join(self.out, "manifest.json")) as f:
            noise = json.load(f)["metrics"]["test"]["prauc"]
        self.assertLess(noise, good - 0.1)

    def test_refuses_features_without_val_rows_and_leaves_out_untouched(self):
        os.makedirs(self.out)
        with open(os.path.join(self.out, "manifest.json"), "w") as f:
            f.write("{}")
        before = tree_snapshot(self.out)
        self.write_features(informative=True, ids=[s.id for s in self.ds.split("train")])
        self.assertEqual(self.run_head(), 2)
        self.assertEqual(tree_snapshot(self.out), before)

    def test_refuses_features_for_another_vocabulary(self):
        self.write_features(informative=True)
        with open(self.feats + ".index.json") as f:
            index = json.load(f)
        index["datasetVocabHash"] = "0" * 64
        with open(self.feats + ".index.json", "w") as f:
            json.dump(index, f)
        self.assertEqual(self.run_head(), 2)
        self.assertFalse(os.path.exists(self.out))


if __name__ == "__main__":
    unittest.main()
