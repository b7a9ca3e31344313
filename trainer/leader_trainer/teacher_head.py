"""LEADER's teacher medication head on cached teacher features (the frozen-LLM variant of LEADER(T)).

  /usr/bin/python3 -m trainer.leader_trainer.teacher_head --dataset DIR --teacher-features FILE --out DIR
      [--epochs 100] [--patience 10] [--lr 1e-3] [--batch-size 32] [--seed 42]

LEADER(T) replaces the LLM's LM head with cls_head = Linear(hidden -> |M|, bias=False) on the final
token's hidden state and trains it with BCE (leader.md §3); the paper also LoRA-fine-tunes the LLM,
which this module does not: the LLM stays frozen, its features come from `leader teacher`, and only the
head is trained here. Early stopping on validation PRAUC; teacher threshold 0.5 as in the paper.

OUT/model.onnx: input `features` float32 [B, dim] -> output `probs` float32 [B, |M|] (sigmoid).
OUT/manifest.json: kind "teacher-head", the teacher's backend / model / feature identity, metrics.
Exit 0 = done, 2 = bad input (one line on stderr). OUT is replaced only when complete.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from datetime import datetime, timezone
from typing import List, Optional, Sequence

import numpy as np
import onnx
import torch
import torch.nn.functional as F

from .dataset import Dataset, Sample, load_dataset, sha256_file
from .errors import TrainerInputError
from .metrics import evaluate, prauc
from .teacher import TeacherFeatures, load_teacher_features

TEACHER_THRESHOLD = 0.5
OPSET = 17
VARIANT = ("frozen-LLM teacher: last-token hidden states of an unmodified LLM + a trained linear medication "
           "head; LEADER additionally LoRA-fine-tunes the LLM (not done here)")


class TeacherHead(torch.nn.Module):
    """LEADER's cls_head (no bias) followed by the sigmoid used at evaluation."""

    def __init__(self, dim: int, num_labels: int):
        super().__init__()
        self.cls_head = torch.nn.Linear(dim, num_labels, bias=False)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.cls_head(features)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.cls_head(features))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python3 -m trainer.leader_trainer.teacher_head",
                                 description="Train LEADER's teacher medication head on cached teacher features.")
    ap.add_argument("--dataset", required=True, help="dataset folder written by `leader dataset` (schema 1)")
    ap.add_argument("--teacher-features", required=True, help="`leader teacher` output (FILE + FILE.index.json)")
    ap.add_argument("--out", required=True, help="teacher head folder to (re)place atomically")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    for key in ("epochs", "patience", "batch_size", "threads"):
        if getattr(a, key) < 1:
            raise TrainerInputError(f"--{key.replace('_', '-')} must be at least 1")
    return a


def label_matrix(samples: Sequence[Sample], num_labels: int) -> np.ndarray:
    y = np.zeros((len(samples), num_labels), dtype=np.float32)
    for r, s in enumerate(samples):
        y[r, s.labels] = 1.0
    return y


def _rows(teacher: TeacherFeatures, samples: List[Sample], split: str) -> np.ndarray:
    missing = [s.id for s in samples if not teacher.has(s.id)]
    if missing:
        raise TrainerInputError(
            f"teacher features {teacher.path}: {len(missing)} {split} samples have no row (first: {missing[0]}); "
            f"run `leader teacher` with --splits including {split}")
    rows = teacher.rows([s.id for s in samples]).astype(np.float32)
    if not np.isfinite(rows).all():
        raise TrainerInputError(f"teacher features {teacher.path}: non-finite values in {split} rows")
    return rows


def train(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    ds: Dataset = load_dataset(args.dataset)
    splits = {name: ds.split(name) for name in ("train", "val", "test")}
    if not splits["train"]:
        raise TrainerInputError(f"dataset {ds.directory}: no train samples")
    teacher = load_teacher_features(args.teacher_features, [s.id for s in splits["train"]])
    declared = teacher.index.get("datasetVocabHash")
    if declared and declared != ds.vocab_hash:
        raise TrainerInputError(
            f"teacher features {teacher.path}: computed for dataset vocabulary {declared[:12]}…, this dataset has "
            f"{ds.vocab_hash[:12]}…")
    m = len(ds.labels)
    x = {k: _rows(teacher, v, k) for k, v in splits.items()}
    y = {k: label_matrix(v, m) for k, v in splits.items()}

    head = TeacherHead(teacher.dim, m)
    opt = torch.optim.Adam(head.parameters(), lr=args.lr)
    xt, yt = torch.from_numpy(x["train"]), torch.from_numpy(y["train"])
    gen = np.random.default_rng(args.seed)
    best = (-1.0, 0, {k: v.clone() for k, v in head.state_dict().items()})
    since_best, epoch = 0, 0
    for epoch in range(1, args.epochs + 1):
        head.train()
        order = gen.permutation(len(xt))
        for start in range(0, len(order), args.batch_size):
            idx = torch.from_numpy(order[start:start + args.batch_size])
            loss = F.binary_cross_entropy_with_logits(head.logits(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        select = "val" if len(x["val"]) else "train"
        score = prauc(y[select], predict(head, x[select]))
        if score > best[0]:
            best = (score, epoch, {k: v.clone() for k, v in head.state_dict().items()})
            since_best = 0
        else:
            since_best += 1
        if epoch % 10 == 0 or epoch == 1:
            sys.stderr.write(f"teacher head: epoch {epoch} loss {float(loss):.4f} {select} PRAUC {score:.4f}\n")
        if since_best >= args.patience:
            break
    head.load_state_dict(best[2])
    metrics = {k: evaluate(y[k], predict(head, x[k]), TEACHER_THRESHOLD, ds.ddi.get("pairs", []), m)
               for k in ("val", "test") if len(x[k])}
    return {"head": head, "ds": ds, "teacher": teacher, "metrics": metrics, "epochs": epoch, "best_epoch": best[1],
            "select_prauc": best[0]}


def predict(head: TeacherHead, x: np.ndarray) -> np.ndarray:
    head.eval()
    with torch.no_grad():
        return head(torch.from_numpy(x)).numpy()


def export(result: dict, args: argparse.Namespace) -> dict:
    head: TeacherHead = result["head"]
    ds: Dataset = result["ds"]
    teacher: TeacherFeatures = result["teacher"]
    out = os.path.abspath(args.out)
    work = out + ".tmp-teacher-head"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        onnx_path = os.path.join(work, "model.onnx")
        head.eval()
        with torch.no_grad():
            torch.onnx.export(head, (torch.zeros(2, teacher.dim),), onnx_path, input_names=["features"],
                              output_names=["probs"], dynamic_axes={"features": {0: "batch"}, "probs": {0: "batch"}},
                              opset_version=OPSET)
        onnx.checker.check_model(onnx.load(onnx_path))
        index = teacher.index
        manifest = {
            "kind": "teacher-head",
            "schemaVersion": 1,
            "createdAt": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            "variant": VARIANT,
            "files": {"onnx": "model.onnx"},
            "onnxSha256": sha256_file(onnx_path),
            "io": {"inputs": ["features"], "outputs": ["probs"], "opset": OPSET},
            "teacher": {"backend": index["backend"], "model": index["model"], "modelSha256": index.get("modelSha256"),
                        "pooling": index.get("pooling"), "promptMode": index.get("promptMode"), "dim": teacher.dim,
                        "featuresFile": teacher.path},
            "dim": teacher.dim,
            "labels": ds.labels,
            "vocabHash": ds.vocab_hash,
            "threshold": TEACHER_THRESHOLD,
            "thresholdSource": "LEADER teacher threshold 0.5 (evaluate.py)",
            "parameters": {"head": int(sum(p.numel() for p in head.parameters()))},
            "training": {"dataset": ds.directory, "epochs": result["epochs"], "bestEpoch": result["best_epoch"],
                         "seed": args.seed, "lr": args.lr, "loss": "BCEWithLogits",
                         "samples": {k: len(ds.split(k)) for k in ("train", "val", "test")}},
            "metrics": result["metrics"],
        }
        with open(os.path.join(work, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
        old = out + ".old-teacher-head"
        shutil.rmtree(old, ignore_errors=True)
        if os.path.exists(out):
            os.rename(out, old)
        os.rename(work, out)
        shutil.rmtree(old, ignore_errors=True)
        return manifest
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = parse_args(argv)
        result = train(args)
        manifest = export(result, args)
        test = manifest["metrics"].get("test") or manifest["metrics"].get("val") or {}
        sys.stderr.write(
            f"teacher head: best epoch {manifest['training']['bestEpoch']}/{manifest['training']['epochs']}, "
            f"test PRAUC {test.get('prauc', float('nan')):.4f} Jaccard {test.get('jaccard', float('nan')):.4f} "
            f"F1 {test.get('f1', float('nan')):.4f}; wrote {os.path.abspath(args.out)}/model.onnx and manifest.json\n")
        sys.stdout.write(json.dumps({"event": "done", "out": os.path.abspath(args.out), "metrics": manifest["metrics"]}) + "\n")
        return 0
    except TrainerInputError as e:
        sys.stderr.write(f"error: {e}\n")
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
