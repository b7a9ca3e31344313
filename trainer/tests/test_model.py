import unittest

import numpy as np
import torch
import torch.nn.functional as F

from trainer.leader_trainer.dataset import collate_student, collate_targets, load_dataset
from trainer.leader_trainer.model import (ModelConfig, StudentModel, TrainingHeads, alignment_loss, info_nce,
                                          masked_mean, padded_computation)
from trainer.tests.helpers import make_dataset, temp_root


def tensors(batch):
    return tuple(torch.from_numpy(batch[n]) for n in ("diag", "proc", "med", "visit_mask", "profile"))


class StudentModelTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        torch.set_num_threads(2)
        self.cfg = ModelConfig(num_tokens=50, num_labels=7, profile_sizes=[3, 4], hidden_dropout=0.0,
                               attention_dropout=0.0)
        self.sut = StudentModel(self.cfg).eval()

    def test_outputs_probs_and_pre_relu_hidden_for_any_batch_shape(self):
        for b, v, k in ((1, 1, 1), (3, 4, 6), (2, 12, 2)):
            ids = torch.randint(0, 50, (b, v, k))
            probs, hidden = self.sut(ids, ids, ids, torch.ones(b, v), torch.zeros(b, 2, dtype=torch.long))
            self.assertEqual(tuple(probs.shape), (b, 7))
            self.assertEqual(tuple(hidden.shape), (b, 128))
            self.assertTrue(((probs > 0) & (probs < 1)).all())
            self.assertTrue((hidden < 0).any(), "hidden must be taken before the ReLU")

    def test_empty_sets_give_finite_outputs(self):
        zeros = torch.zeros(1, 1, 1, dtype=torch.long)
        probs, hidden = self.sut(zeros, zeros, zeros, torch.ones(1, 1), torch.zeros(1, 2, dtype=torch.long))
        self.assertTrue(torch.isfinite(probs).all() and torch.isfinite(hidden).all())
        self.assertTrue(torch.equal(masked_mean(torch.ones(1, 3, 4), torch.zeros(1, 3)), torch.zeros(1, 4)))

    def test_padding_visits_and_codes_does_not_change_the_prediction(self):
        diag = torch.tensor([[[3, 4], [5, 0]]])
        proc = torch.tensor([[[6], [7]]])
        med = torch.tensor([[[0, 0], [8, 9]]])
        profile = torch.tensor([[1, 2]])
        p1, _ = self.sut(diag, proc, med, torch.ones(1, 2), profile)
        pad = lambda t: F.pad(t, (0, 3, 0, 2))  # 3 more codes, 2 more visits
        p2, _ = self.sut(pad(diag), pad(proc), pad(med), torch.tensor([[1.0, 1, 0, 0]]), profile)
        self.assertTrue(torch.allclose(p1, p2, atol=1e-6))

    def test_visit_positions_count_from_the_last_real_visit(self):
        mask = torch.tensor([[1.0, 1, 1, 0], [1, 0, 0, 0]])
        self.assertEqual(self.sut.visit_positions(mask).tolist(), [[2, 1, 0, 0], [0, 0, 0, 0]])

    def test_profile_vector_replaces_medication_slot_zero(self):
        """med[0] content is ignored (the profile vector takes its place); the profile matters."""
        diag = torch.tensor([[[3], [4]]])
        proc = torch.tensor([[[6], [7]]])
        mask = torch.ones(1, 2)
        med_a, med_b = torch.tensor([[[0], [8]]]), torch.tensor([[[9], [8]]])
        pa, _ = self.sut(diag, proc, med_a, mask, torch.tensor([[1, 2]]))
        pb, _ = self.sut(diag, proc, med_b, mask, torch.tensor([[1, 2]]))
        pc, _ = self.sut(diag, proc, med_a, mask, torch.tensor([[2, 3]]))
        self.assertTrue(torch.equal(pa, pb))
        self.assertFalse(torch.allclose(pa, pc))


class PackedComputationTest(unittest.TestCase):
    """PyTorch encodes only the real sets' real tokens (PackedSets); ONNX runs the padded computation.
    Both must compute the same function, with the same gradients."""

    def setUp(self):
        torch.manual_seed(0)
        torch.set_num_threads(2)
        self.cfg = ModelConfig(num_tokens=50, num_labels=7, profile_sizes=[3, 4], hidden_dropout=0.0,
                               attention_dropout=0.0)
        self.sut = StudentModel(self.cfg)
        self.heads = TrainingHeads(self.cfg, 5)
        # padded visits, empty sets (med slot 0, a whole empty proc visit), pads between codes
        diag = torch.tensor([[[3, 4, 5, 0], [6, 0, 0, 0], [0, 0, 0, 0]], [[7, 0, 8, 9], [10, 11, 12, 13], [14, 0, 0, 0]]])
        proc = torch.tensor([[[15, 0], [0, 0], [0, 0]], [[0, 16], [17, 18], [0, 0]]])
        med = torch.tensor([[[0, 0, 0], [19, 20, 21], [0, 0, 0]], [[0, 0, 0], [22, 0, 23], [24, 25, 26]]])
        self.inputs = (diag, proc, med, torch.tensor([[1.0, 1, 0], [1, 1, 1]]), torch.tensor([[1, 2], [0, 3]]))
        self.label_tokens = torch.tensor([[19, 20, 0], [22, 23, 24]])

    def loss_and_grads(self):
        logits, hidden, q = self.sut.encode(*self.inputs)
        loss = (logits.sum() + hidden.square().mean()
                + alignment_loss(self.sut, self.heads, q, self.label_tokens) + self.heads.kd_proj(hidden).sum())
        params = list(self.sut.parameters()) + list(self.heads.parameters())
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        return (logits, hidden, q), [g if g is not None else torch.zeros_like(p) for g, p in zip(grads, params)]

    def test_packed_and_padded_paths_give_the_same_outputs_and_gradients(self):
        packed_out, packed_grads = self.loss_and_grads()
        with padded_computation():
            padded_out, padded_grads = self.loss_and_grads()
        for a, b in zip(packed_out, padded_out):
            self.assertLess(float((a - b).abs().max()), 1e-5)
        for a, b in zip(packed_grads, padded_grads):
            self.assertLess(float((a - b).abs().max()), 1e-5)
        self.assertGreater(sum(float(g.abs().sum()) for g in packed_grads), 0.0)

    def test_set_encoder_gives_zero_for_empty_sets_on_both_paths(self):
        ids = torch.tensor([[0, 0, 0], [3, 0, 4], [0, 0, 0]])
        packed = self.sut.diag_enc.encode_sets(self.sut.embedding, ids)
        with padded_computation():
            padded = self.sut.diag_enc.encode_sets(self.sut.embedding, ids)
        self.assertTrue(torch.equal(packed[0], torch.zeros(self.cfg.dim)))
        self.assertTrue(torch.equal(packed[2], torch.zeros(self.cfg.dim)))
        self.assertTrue(torch.allclose(packed, padded, atol=1e-6))
        all_empty = self.sut.diag_enc.encode_sets(self.sut.embedding, torch.zeros(2, 3, dtype=torch.long))
        self.assertTrue(torch.equal(all_empty, torch.zeros(2, self.cfg.dim)))


class AlignmentLossTest(unittest.TestCase):
    def test_target_set_is_encoded_from_med_token_ids(self):
        """The alignment target must be the med set encoder's view of the SAME tokens the med history
        uses (LEADER looked label indices up in the token table: off by 3)."""
        root = temp_root(self)
        ds = load_dataset(make_dataset(root))
        torch.manual_seed(0)
        cfg = ModelConfig(num_tokens=ds.num_tokens, num_labels=len(ds.labels), profile_sizes=ds.profile_sizes,
                          hidden_dropout=0.0, attention_dropout=0.0)
        model, heads = StudentModel(cfg).eval(), TrainingHeads(cfg, None).eval()
        sample = next(s for s in ds.samples if len(s.med) > 1 and s.med[1])
        # label indices whose tokens are exactly the meds of the patient's first visit
        med_tokens = sample.med[1]
        labels = [int(np.flatnonzero(ds.label_token_ids == t)[0]) for t in med_tokens]
        self.assertNotEqual(labels, med_tokens)  # ids and label indices really differ here
        tgt = collate_targets([sample.__class__(**{**sample.__dict__, "labels": labels})], cfg.num_labels,
                              ds.label_token_ids)
        self.assertEqual(sorted(tgt["label_tokens"][0].tolist()), sorted(med_tokens))
        captured = {}
        orig = model.med_enc.encode_sets
        model.med_enc.encode_sets = lambda emb, ids: captured.setdefault("ids", ids) is not None and orig(emb, ids)
        q = torch.zeros(1, cfg.dim)
        alignment_loss(model, heads, q, torch.from_numpy(tgt["label_tokens"]))
        self.assertEqual(sorted(captured["ids"][0].tolist()), sorted(med_tokens))
        # and the history encoder sees the same vector for the same set
        hist = model.med_enc(model.embedding, torch.tensor([[med_tokens]]))[0, 0]
        self.assertTrue(torch.allclose(hist, orig(model.embedding, torch.tensor([med_tokens]))[0]))

    def test_info_nce_uses_the_standard_denominator(self):
        x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        y = torch.tensor([[1.0, 0.1], [0.2, 1.0], [-1.0, 0.5]])
        sim = F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).t()
        expected = 0.0
        for s in (sim, sim.t()):
            expected += float(np.mean([-np.log(np.exp(s[j, j]) / np.exp(s[:, j]).sum()) for j in range(3)]))
        # cross_entropy over rows of sim.t() == columns of sim, so both directions are covered
        self.assertAlmostEqual(float(info_nce(x, y)), expected, places=5)
        self.assertEqual(float(info_nce(x[:1], y[:1])), 0.0)  # batch of one: no NaN, no squeeze bug


class LearningTest(unittest.TestCase):
    def test_loss_decreases_on_a_learnable_task(self):
        root = temp_root(self)
        ds = load_dataset(make_dataset(root))
        torch.manual_seed(0)
        torch.set_num_threads(2)
        cfg = ModelConfig(num_tokens=ds.num_tokens, num_labels=len(ds.labels), profile_sizes=ds.profile_sizes)
        model, heads = StudentModel(cfg), TrainingHeads(cfg, None)
        opt = torch.optim.Adam(list(model.parameters()) + list(heads.parameters()), lr=5e-3)
        train = ds.split("train")
        batch = tensors(collate_student(train))
        tgt = collate_targets(train, cfg.num_labels, ds.label_token_ids)
        y = torch.from_numpy(tgt["labels"])
        losses = []
        for _ in range(40):
            logits, _, q = model.encode(*batch)
            loss = F.binary_cross_entropy_with_logits(logits, y)
            total = loss + 0.01 * alignment_loss(model, heads, q, torch.from_numpy(tgt["label_tokens"]))
            opt.zero_grad()
            total.backward()
            opt.step()
            losses.append(float(loss))
        self.assertLess(losses[-1], 0.6 * losses[0], losses)


if __name__ == "__main__":
    unittest.main()
