import hashlib
import json
import os
import tempfile
import unittest

import numpy as np
import onnx
import torch

from trainer.leader_trainer import train as train_cli
from trainer.leader_trainer.dataset import load_dataset
from trainer.leader_trainer.metrics import THRESHOLD_GRID
from trainer.leader_trainer.synthetic import SyntheticSpec
from trainer.leader_trainer.teacher import write_teacher_features
from trainer.tests.helpers import fast_args, make_dataset, run_cli, tree_snapshot


class TrainExportTest(unittest.TestCase):
    """One uninterrupted 3-epoch run with teacher features (A) and a 2-epoch run resumed to 3 (B)."""

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="leader-trainer-test-")
        cls.addClassCleanup(tmp.cleanup)
        cls.root = tmp.name
        cls.ds = make_dataset(cls.root)
        ids = [s.id for s in load_dataset(cls.ds).samples]
        cls.feats = os.path.join(cls.root, "teacher.f32")
        write_teacher_features(cls.feats, ids, np.random.default_rng(1).normal(size=(len(ids), 6)),
                               backend="test-backend", model="test-model")
        cls.out_a = os.path.join(cls.root, "model-a")
        cls.out_b = os.path.join(cls.root, "model-b")
        teacher = ["--teacher-features", cls.feats]
        cls.code_a, cls.events_a, cls.err_a = run_cli(fast_args(cls.ds, cls.out_a, "--epochs", "3", *teacher))
        cls.code_b1, cls.events_b1, _ = run_cli(fast_args(cls.ds, cls.out_b, "--epochs", "2", *teacher))
        cls.code_b2, cls.events_b2, cls.err_b2 = run_cli(fast_args(cls.ds, cls.out_b, "--epochs", "3", "--resume", *teacher))
        # C: interrupted (Ctrl-C) right after epoch 2's checkpoint, then resumed from OUT.tmp-train/
        cls.out_c = os.path.join(cls.root, "model-c")
        real_emit = train_cli.emit

        def interrupting_emit(event, **fields):
            real_emit(event, **fields)
            if event == "epoch" and fields["epoch"] == 2:
                raise KeyboardInterrupt

        train_cli.emit = interrupting_emit
        try:
            cls.code_c1, _, _ = run_cli(fast_args(cls.ds, cls.out_c, "--epochs", "3", *teacher))
        finally:
            train_cli.emit = real_emit
        cls.c_interrupted_state = (os.path.exists(cls.out_c), os.path.isfile(os.path.join(cls.out_c + ".tmp-train", "checkpoint.pt")))
        cls.code_c2, cls.events_c2, _ = run_cli(fast_args(cls.ds, cls.out_c, "--epochs", "3", "--resume", *teacher))

    def test_runs_succeed_and_report_progress_events(self):
        self.assertEqual((self.code_a, self.code_b1, self.code_b2), (0, 0, 0), self.err_a + self.err_b2)
        kinds = [e["event"] for e in self.events_a]
        self.assertEqual(kinds[0], "start")
        self.assertEqual(kinds[-2:], ["export", "done"])
        epochs = [e for e in self.events_a if e["event"] == "epoch"]
        self.assertEqual([e["epoch"] for e in epochs], [1, 2, 3])
        for e in epochs:
            self.assertEqual(e["epochs"], 3)
            for key in ("train_loss", "train_bce", "train_align", "train_kd", "val_prauc", "seconds", "best_epoch"):
                self.assertIn(key, e)
            self.assertGreater(e["train_kd"], 0.0)
            self.assertTrue(np.isfinite(e["train_loss"]))
        self.assertIn("step", kinds)

    def test_resume_continues_and_reaches_the_same_weights(self):
        self.assertEqual([e["epoch"] for e in self.events_b2 if e["event"] == "epoch"], [3])
        self.assertEqual(self.events_b2[0]["start_epoch"], 3)
        a = torch.load(os.path.join(self.out_a, "checkpoint.pt"))
        b = torch.load(os.path.join(self.out_b, "checkpoint.pt"))
        self.assertEqual(a["epoch"], 3)
        self.assertEqual(b["epoch"], 3)
        for part in ("model", "heads", "bestModel"):
            for k, v in a[part].items():
                self.assertTrue(torch.equal(v, b[part][k]), f"{part}.{k} differs after resume")
        self.assertEqual([h["val_prauc"] for h in a["history"]], [h["val_prauc"] for h in b["history"]])

    def test_interrupted_run_leaves_no_out_and_resumes_from_its_work_folder(self):
        self.assertEqual(self.code_c1, 130)
        self.assertEqual(self.c_interrupted_state, (False, True))
        self.assertEqual(self.code_c2, 0)
        self.assertEqual([e["epoch"] for e in self.events_c2 if e["event"] == "epoch"], [3])
        a = torch.load(os.path.join(self.out_a, "checkpoint.pt"))
        c = torch.load(os.path.join(self.out_c, "checkpoint.pt"))
        for k, v in a["model"].items():
            self.assertTrue(torch.equal(v, c["model"][k]), f"model.{k} differs after resume")
        self.assertFalse(os.path.exists(self.out_c + ".tmp-train"))

    def test_exports_a_valid_onnx_with_dynamic_axes(self):
        proto = onnx.load(os.path.join(self.out_a, "model.onnx"))
        onnx.checker.check_model(proto)
        self.assertEqual(proto.opset_import[0].version, 17)
        inputs = {i.name: i.type.tensor_type for i in proto.graph.input}
        self.assertEqual(list(inputs), ["diag", "proc", "med", "visit_mask", "profile"])
        i64, f32 = onnx.TensorProto.INT64, onnx.TensorProto.FLOAT
        self.assertEqual([t.elem_type for t in inputs.values()], [i64, i64, i64, f32, i64])
        self.assertEqual([d.dim_param for d in inputs["diag"].shape.dim], ["batch", "visits", "diag_codes"])
        self.assertEqual([d.dim_param for d in inputs["med"].shape.dim], ["batch", "visits", "med_codes"])
        self.assertEqual([d.dim_param for d in inputs["visit_mask"].shape.dim], ["batch", "visits"])
        outputs = {o.name: o.type.tensor_type for o in proto.graph.output}
        self.assertEqual(list(outputs), ["probs", "hidden"])
        self.assertEqual(outputs["probs"].shape.dim[1].dim_value, 8)
        self.assertEqual(outputs["hidden"].shape.dim[1].dim_value, 128)

    def test_writes_manifest_per_model_manifest_contract(self):
        with open(os.path.join(self.out_a, "manifest.json")) as f:
            m = json.load(f)
        ds = load_dataset(self.ds)
        with open(os.path.join(self.out_a, "model.onnx"), "rb") as f:
            self.assertEqual(m["onnxSha256"], hashlib.sha256(f.read()).hexdigest())
        self.assertEqual(m["schemaVersion"], 1)
        self.assertEqual(m["datasetSchemaVersion"], 1)
        self.assertEqual(m["vocabHash"], ds.vocab_hash)
        self.assertEqual(m["labels"], ds.labels)
        self.assertEqual(set(m["labelNames"]), set(ds.labels))
        self.assertIn(m["threshold"], THRESHOLD_GRID)
        self.assertEqual(m["io"]["opset"], 17)
        self.assertEqual(m["teacher"], {"backend": "test-backend", "model": "test-model", "dim": 6,
                                        "featuresFile": self.feats, "alpha": 0.8})
        self.assertEqual(set(m["metrics"]["student"]), {"jaccard", "f1", "prauc", "ddi_rate", "avg_med"})
        self.assertEqual(m["metrics"]["split"], "test")
        self.assertLess(m["parameters"]["inference"], m["parameters"]["total"])
        self.assertEqual(m["training"]["samples"], {"train": 32, "val": 4, "test": 4})
        self.assertEqual(m["training"]["licence"], "synthetic data, no licence terms")
        self.assertEqual(m["training"]["epochs"], 3)
        for name in m["files"].values():
            self.assertTrue(os.path.isfile(os.path.join(self.out_a, name)), name)
        with open(os.path.join(self.out_a, "vocab.json"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), ds.vocab_hash)
        self.assertFalse(os.path.exists(self.out_a + ".tmp-train"))

    def test_writes_parity_cases_consistent_with_their_dims(self):
        with open(os.path.join(self.out_a, "parity.json")) as f:
            p = json.load(f)
        self.assertEqual(p["tolerance"], 1e-5)
        names = [c["name"] for c in p["cases"]]
        self.assertIn("batch1-visits1", names)
        self.assertTrue(names[0].startswith("batch-"))
        for c in p["cases"]:
            for t in list(c["inputs"].values()) + list(c["outputs"].values()):
                self.assertEqual(len(t["data"]), int(np.prod(t["dims"])), c["name"])
            self.assertEqual(c["outputs"]["probs"]["dims"], [len(c["sampleIds"]), 8])
        single = p["cases"][names.index("batch1-visits1")]
        self.assertEqual(single["inputs"]["visit_mask"]["dims"], [1, 1])

    def test_resume_refuses_a_dataset_with_another_vocabulary(self):
        other = make_dataset(self.root, "other-ds", SyntheticSpec(patients=40, diag_codes=30, proc_codes=8, labels=8, seed=3))
        before = tree_snapshot(self.out_a)
        code, events, err = run_cli(fast_args(other, self.out_a, "--epochs", "4", "--resume"))
        self.assertEqual(code, 2)
        self.assertRegex(err, r"^error: vocabulary mismatch: checkpoint .* was trained on vocab sha256")
        self.assertEqual(tree_snapshot(self.out_a), before)


if __name__ == "__main__":
    unittest.main()


class WideStudentTest(unittest.TestCase):
    """The wide path, output-bias init and temperature calibration: trained, exported, recorded."""

    def test_wide_bias_init_student_trains_exports_and_records_calibration(self):
        from trainer.leader_trainer.export import INPUT_NAMES
        from trainer.leader_trainer.metrics import apply_temperature
        from trainer.leader_trainer.model import ModelConfig, StudentModel, padded_computation
        with tempfile.TemporaryDirectory() as tmp:
            ds = make_dataset(tmp)
            out = os.path.join(tmp, "wide")
            code, events, err = run_cli(fast_args(ds, out, "--epochs", "3", "--wide", "--bias-init", "--dim", "32",
                                                  "--weight-decay", "0.01"))
            self.assertEqual(code, 0, err)
            with open(os.path.join(out, "manifest.json")) as f:
                m = json.load(f)
            self.assertTrue(m["architecture"]["wide"])
            self.assertEqual(m["architecture"]["embeddingDim"], 32)
            self.assertEqual(m["calibration"]["method"], "temperature")
            self.assertGreater(m["calibration"]["temperature"], 0)
            self.assertEqual([h["epoch"] for h in m["training"]["history"]], [1, 2, 3])
            onnx.checker.check_model(onnx.load(os.path.join(out, "model.onnx")))
            # parity.json holds the served (calibrated) probabilities of the packed PyTorch path, which
            # equal the padded (exported) computation
            ck = torch.load(os.path.join(out, "checkpoint.pt"), map_location="cpu")
            model = StudentModel(ModelConfig(**ck["config"]))
            model.load_state_dict(ck["bestModel"])
            model.eval()
            with open(os.path.join(out, "parity.json")) as f:
                case = json.load(f)["cases"][0]
            batch = [torch.tensor(case["inputs"][n]["data"], dtype=torch.float32 if n == "visit_mask" else torch.int64)
                     .reshape(case["inputs"][n]["dims"]) for n in INPUT_NAMES]
            with torch.no_grad(), padded_computation():
                probs, _ = model(*batch)
            served = apply_temperature(probs.numpy(), m["calibration"]["temperature"]).reshape(-1)
            np.testing.assert_allclose(served, case["outputs"]["probs"]["data"], atol=1e-5)

    def test_seed_ensemble_resumed_mid_member_ends_with_the_same_model(self):
        args = ("--epochs", "2", "--seeds", "2", "--wide")
        with tempfile.TemporaryDirectory() as tmp:
            ds = make_dataset(tmp)
            full, part = os.path.join(tmp, "full"), os.path.join(tmp, "part")
            code, _, err = run_cli(fast_args(ds, full, *args))
            self.assertEqual(code, 0, err)
            real_emit = train_cli.emit

            def interrupting_emit(event, **fields):
                real_emit(event, **fields)
                if event == "epoch" and fields["epoch"] == 3:  # the second member's first epoch
                    raise KeyboardInterrupt

            train_cli.emit = interrupting_emit
            try:
                code1, _, _ = run_cli(fast_args(ds, part, *args))
            finally:
                train_cli.emit = real_emit
            self.assertEqual(code1, 130)
            code2, _, err2 = run_cli(fast_args(ds, part, *args, "--resume"))
            self.assertEqual(code2, 0, err2)
            outputs = []
            for folder in (full, part):
                with open(os.path.join(folder, "parity.json")) as f:
                    outputs.append([c["outputs"]["probs"]["data"] for c in json.load(f)["cases"]])
                with open(os.path.join(folder, "manifest.json")) as f:
                    self.assertEqual(len(json.load(f)["training"]["members"]), 2)
            self.assertEqual(outputs[0], outputs[1])
