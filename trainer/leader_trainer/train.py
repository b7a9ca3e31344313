"""Train the LEADER student on a schema-1 dataset and export OUT/{model.onnx, manifest.json, vocab.json,
ddi.json, parity.json, checkpoint.pt}.

  /usr/bin/python3 -m trainer.leader_trainer.train --dataset DIR --out DIR [--teacher-features FILE]
      [--epochs 100] [--batch-size 16] [--seed 42] [--resume] [--alpha 0.8] [--beta 0.01] ...

stdout: one JSON object per line (events: start, step, epoch, early_stop, export, done, error; see
trainer/README.md). stderr: human-readable text. Exit 0 = done, 2 = bad input (one line on stderr),
1 = unexpected failure, 130 = interrupted (resume with --resume).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import shutil
import sys
import time
from datetime import datetime, timezone
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import export as exporter
from .dataset import (Dataset, Sample, bucketed_batches, collate_student, collate_targets, load_dataset,
                      plain_batches, sample_size)
from .errors import TrainerInputError
from .metrics import DEFAULT_THRESHOLD, apply_temperature, choose_threshold, evaluate, fit_temperature, prauc
from .model import ModelConfig, StudentEnsemble, StudentModel, TrainingHeads, alignment_loss, count_parameters
from .teacher import TeacherFeatures, load_teacher_features

CHECKPOINT = "checkpoint.pt"
WORK_SUFFIX = ".tmp-train"
EVAL_BATCH = 256


def emit(event: str, **fields) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python3 -m trainer.leader_trainer.train",
                                 description="Train the LEADER student and export it to ONNX.")
    ap.add_argument("--dataset", required=True, help="dataset folder written by `leader dataset` (schema 1)")
    ap.add_argument("--out", required=True, help="model folder to (re)place atomically")
    ap.add_argument("--teacher-features", help="float32 [N, dim] file with FILE.index.json (feature KD)")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--patience", type=int, default=10, help="early stopping on validation PRAUC")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--resume", action="store_true", help="continue from OUT.tmp-train/ or OUT/checkpoint.pt")
    ap.add_argument("--alpha", type=float, default=0.8, help="KD weight (LEADER MIMIC-IV offline script)")
    ap.add_argument("--beta", type=float, default=0.01, help="profile-alignment weight")
    ap.add_argument("--hidden-dropout", type=float, default=0.4)
    ap.add_argument("--attention-dropout", type=float, default=0.1)
    ap.add_argument("--no-visit-positions", action="store_true", help="LEADER-faithful: no visit position embedding")
    ap.add_argument("--dim", type=int, default=64, help="code embedding size (a multiple of the 4 heads)")
    ap.add_argument("--weight-decay", type=float, default=0.0, help="decoupled weight decay (AdamW) when > 0")
    ap.add_argument("--bias-init", action="store_true", help="output bias = logit of each label's train frequency")
    ap.add_argument("--wide", action="store_true", help="add a linear path over the bag of codes to the logits")
    ap.add_argument("--wide-lr", type=float, default=1e-2, help="learning rate of the wide path")
    ap.add_argument("--seeds", type=int, default=1, help="average this many students (seeds seed..seed+N-1) in one graph")
    ap.add_argument("--no-calibration", action="store_true", help="do not fit a temperature on validation")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-bucketing", action="store_true",
                    help="plain shuffled batches instead of length-bucketed ones (same order as before bucketing)")
    ap.add_argument("--scale-note", default=None, help="manifest training.scale text")
    ap.add_argument("--dataset-label", default=None,
                    help="manifest training.dataset text (default: the dataset folder path)")
    ap.add_argument("--name", default="leader-student")
    ap.add_argument("--version", default="0.1.0")
    a = ap.parse_args(argv)
    if a.dim < 4 or a.dim % 4:
        raise TrainerInputError("--dim must be a positive multiple of 4 (the attention heads)")
    for key in ("epochs", "batch_size", "patience", "threads", "seeds"):
        if getattr(a, key) < 1:
            raise TrainerInputError(f"--{key.replace('_', '-')} must be at least 1")
    return a


# Flags that shape the model (not where it is read from or written to): recorded in the manifest as
# training.recipe, so `leader evaluate --folds K --model DIR` cross-validates exactly this recipe.
RECIPE_FLAGS = ("epochs", "batch_size", "lr", "patience", "alpha", "beta", "hidden_dropout", "attention_dropout",
                "no_visit_positions", "dim", "weight_decay", "bias_init", "wide", "wide_lr", "seeds", "no_calibration",
                "no_bucketing")


def recipe_of(args: argparse.Namespace) -> List[str]:
    defaults = parse_args(["--dataset", "-", "--out", "-"])
    flags: List[str] = []
    for key in RECIPE_FLAGS:
        value = getattr(args, key)
        if value == getattr(defaults, key):
            continue
        flag = "--" + key.replace("_", "-")
        flags.extend([flag] if isinstance(value, bool) else [flag, str(value)])
    return flags


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def to_tensors(batch: Dict[str, np.ndarray]):
    return tuple(torch.from_numpy(batch[n]) for n in exporter.INPUT_NAMES)


def predict(model: StudentModel, samples: Sequence[Sample]) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(samples), EVAL_BATCH):
            probs, _ = model(*to_tensors(collate_student(samples[i:i + EVAL_BATCH])))
            out.append(probs.numpy())
    return np.concatenate(out) if out else np.zeros((0, model.cfg.num_labels), dtype=np.float32)


def label_matrix(samples: Sequence[Sample], num_labels: int) -> np.ndarray:
    y = np.zeros((len(samples), num_labels), dtype=np.float32)
    for b, s in enumerate(samples):
        y[b, s.labels] = 1.0
    return y


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """Batch order depends only on (seed, epoch): a resumed run sees the same batches."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def epoch_batches(seed: int, epoch: int, sizes: np.ndarray, batch_size: int, bucketing: bool) -> List[np.ndarray]:
    """The epoch's batches (arrays of train indices), a function of (seed, epoch) only. Bucketed: samples
    of similar size (total code count) share a batch, in a shuffled batch order (dataset.bucketed_batches)."""
    order = epoch_order(seed, epoch, len(sizes))
    if not bucketing:
        return plain_batches(order, batch_size)
    return bucketed_batches(order, sizes, batch_size, np.random.default_rng([seed, epoch, 1]))


def check_out_dir(out: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise TrainerInputError(f"--out {out}: exists and is not a folder")
    if os.path.isdir(out) and os.listdir(out) and not os.path.isfile(os.path.join(out, "manifest.json")):
        raise TrainerInputError(f"--out {out}: non-empty folder that is not a model folder; refusing to replace it")


def load_checkpoint(args, work: str, out: str, ds: Dataset, teacher: Optional[TeacherFeatures]) -> dict:
    for folder in (work, out):
        path = os.path.join(folder, CHECKPOINT)
        if os.path.isfile(path):
            break
    else:
        raise TrainerInputError(f"--resume: no {CHECKPOINT} in {work} or {out}")
    try:
        ckpt = torch.load(path, map_location="cpu")
    except Exception as e:  # a truncated or foreign file
        raise TrainerInputError(f"--resume: {path} is not a readable checkpoint ({type(e).__name__})")
    if ckpt.get("vocabHash") != ds.vocab_hash:
        raise TrainerInputError(
            f"vocabulary mismatch: checkpoint {path} was trained on vocab sha256 {str(ckpt.get('vocabHash'))[:12]}…, "
            f"dataset {ds.directory} has {ds.vocab_hash[:12]}…")
    t_dim = teacher.dim if teacher else None
    if ckpt.get("teacherDim") != t_dim:
        raise TrainerInputError(
            f"--resume: checkpoint {path} was trained with teacher dim {ckpt.get('teacherDim')}, "
            f"this run has {t_dim} (pass the same --teacher-features)")
    if ckpt.get("seed") != args.seed:
        raise TrainerInputError(f"--resume: checkpoint {path} used --seed {ckpt.get('seed')}, not {args.seed}")
    say(f"resuming from {path} (epoch {ckpt['epoch']})")
    ckpt["path"] = path
    return ckpt


def save_checkpoint(path: str, state: dict) -> None:
    tmp = path + f".tmp-{os.getpid()}"
    torch.save(state, tmp)
    os.replace(tmp, path)


def replace_dir(src: str, dst: str) -> None:
    """Swap the finished folder in: an existing dst is only removed once src is in place."""
    old = None
    if os.path.exists(dst):
        old = f"{dst}.tmp-old-{os.getpid()}"
        os.rename(dst, old)
    os.rename(src, dst)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    t_start = time.time()
    ds = load_dataset(args.dataset)
    # Training uses every train sample (one per visit with --per-visit datasets); val and test are
    # evaluated on each patient's last visit, as LEADER and `leader evaluate` do.
    train, val, test = ds.split("train"), ds.evaluation_split("val"), ds.evaluation_split("test")
    teacher = load_teacher_features(args.teacher_features, [s.id for s in train]) if args.teacher_features else None
    out = os.path.abspath(args.out)
    work = out + WORK_SUFFIX
    check_out_dir(out)
    ckpt = load_checkpoint(args, work, out, ds, teacher) if args.resume else None

    cfg = ModelConfig(num_tokens=ds.num_tokens, num_labels=len(ds.labels), profile_sizes=ds.profile_sizes,
                      max_visits=ds.max_visits, hidden_dropout=args.hidden_dropout,
                      attention_dropout=args.attention_dropout, visit_positions=not args.no_visit_positions,
                      dim=args.dim, wide=args.wide)
    if ckpt is not None:
        cfg = ModelConfig(**ckpt["config"])
    if os.path.isdir(work) and (ckpt is None or not ckpt["path"].startswith(work + os.sep)):
        shutil.rmtree(work)  # stale work folder of an abandoned run
    os.makedirs(work, exist_ok=True)

    n_train = len(train)
    steps = (n_train + args.batch_size - 1) // args.batch_size
    train_sizes = np.array([sample_size(s) for s in train], dtype=np.int64)
    y_val = label_matrix(val, cfg.num_labels)
    teacher_rows = torch.from_numpy(teacher.rows([s.id for s in train])) if teacher else None
    label_frequency = label_matrix(train, cfg.num_labels).mean(axis=0)
    # --seeds N: N members (seeds seed .. seed+N-1), each trained and early-stopped on its own, averaged
    # in one exported graph. Finished members travel in the checkpoint, so --resume continues the member
    # that was interrupted.
    members: List[dict] = list(ckpt.get("members", [])) if ckpt is not None else []
    if len(members) > args.seeds:
        raise TrainerInputError(f"--resume: checkpoint has {len(members)} finished members, more than --seeds {args.seeds}")
    emit("start", dataset=ds.directory, out=out, epochs=args.epochs * args.seeds,
         start_epoch=(ckpt["epoch"] + 1 + len(members) * args.epochs) if ckpt is not None else 1,
         train=n_train, val=len(val), test=len(test), steps_per_epoch=steps, batch_size=args.batch_size,
         teacher=(teacher.index.get("model") if teacher else None))
    say(f"training LEADER student: {n_train} train / {len(val)} val / {len(test)} test samples, "
        f"{cfg.num_tokens} tokens, {cfg.num_labels} labels, teacher {'dim %d' % teacher.dim if teacher else 'none'}"
        + (f", {args.seeds} seeds averaged" if args.seeds > 1 else ""))
    step_every = max(1, steps // 10)
    epoch = 0
    for member in range(len(members), args.seeds):
        member_seed = args.seed + member
        resuming = ckpt is not None and ckpt.get("member", 0) == member
        seed_everything(member_seed)
        model = StudentModel(cfg)
        if args.bias_init:
            model.init_output_bias(label_frequency)
        heads = TrainingHeads(cfg, teacher.dim if teacher else None)
        deep = [p for n, p in model.named_parameters() if n != "wide"] + list(heads.parameters())
        groups = [{"params": deep, "lr": args.lr}]
        if model.wide is not None:
            groups.append({"params": [model.wide], "lr": args.wide_lr})
        optimizer = (torch.optim.AdamW(groups, lr=args.lr, weight_decay=args.weight_decay) if args.weight_decay > 0
                     else torch.optim.Adam(groups, lr=args.lr))

        start_epoch, best_prauc, best_epoch, stale = 1, -1.0, 0, 0
        best_state = None
        history: List[dict] = []
        if resuming:
            model.load_state_dict(ckpt["model"])
            heads.load_state_dict(ckpt["heads"])
            optimizer.load_state_dict(ckpt["optimizer"])
            torch.set_rng_state(ckpt["torchRng"])
            start_epoch = ckpt["epoch"] + 1
            best_prauc, best_epoch, stale = ckpt["bestPrauc"], ckpt["bestEpoch"], ckpt["stale"]
            best_state, history = ckpt["bestModel"], ckpt["history"]
        # Progress epochs count across members (member m's epoch e is overall m * epochs + e).
        offset = member * args.epochs
        stopped_early = stale >= args.patience
        epoch = start_epoch - 1
        for epoch in range(start_epoch, 1 if stopped_early else args.epochs + 1):
            t0 = time.time()
            model.train()
            heads.train()
            batches = epoch_batches(member_seed, epoch, train_sizes, args.batch_size, not args.no_bucketing)
            total = {"loss": 0.0, "bce": 0.0, "align": 0.0, "kd": 0.0}
            for step, idx in enumerate(batches):
                batch_samples = [train[i] for i in idx]
                logits, hidden, q = model.encode(*to_tensors(collate_student(batch_samples)))
                tgt = collate_targets(batch_samples, cfg.num_labels, ds.label_token_ids)
                bce = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(tgt["labels"]))
                loss = bce
                align = kd = torch.zeros(())
                if args.beta > 0:
                    align = alignment_loss(model, heads, q, torch.from_numpy(tgt["label_tokens"]))
                    loss = loss + args.beta * align
                if teacher_rows is not None and args.alpha > 0:
                    kd = F.mse_loss(heads.kd_proj(hidden), teacher_rows[torch.from_numpy(idx)])
                    loss = loss + args.alpha * kd
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                for k, v in (("loss", loss), ("bce", bce), ("align", align), ("kd", kd)):
                    total[k] += float(v)
                if (step + 1) % step_every == 0 or step + 1 == steps:
                    emit("step", epoch=offset + epoch, step=step + 1, steps=steps, loss=total["loss"] / (step + 1),
                         seconds=round(time.time() - t0, 3))
            val_prauc = prauc(y_val, predict(model, val)) if val else None
            improved = val_prauc is None or val_prauc > best_prauc
            if improved:
                best_prauc = val_prauc if val_prauc is not None else best_prauc
                best_epoch, stale = epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            record = {"epoch": epoch, "epochs": args.epochs, **{f"train_{k}": v / steps for k, v in total.items()},
                      "val_prauc": val_prauc, "best_epoch": best_epoch, "seconds": round(time.time() - t0, 3)}
            history.append(record)
            save_checkpoint(os.path.join(work, CHECKPOINT), {
                "epoch": epoch, "config": cfg.to_dict(), "model": model.state_dict(), "heads": heads.state_dict(),
                "optimizer": optimizer.state_dict(), "torchRng": torch.get_rng_state(), "bestPrauc": best_prauc,
                "bestEpoch": best_epoch, "stale": stale, "bestModel": best_state, "history": history,
                "vocabHash": ds.vocab_hash, "teacherDim": teacher.dim if teacher else None, "seed": args.seed,
                "member": member, "members": members})
            emit("epoch", **{**record, "epoch": offset + epoch, "epochs": args.epochs * args.seeds,
                             "best_epoch": offset + best_epoch})
            say(f"epoch {epoch}/{args.epochs}" + (f" (seed {member_seed})" if args.seeds > 1 else "")
                + f": loss {record['train_loss']:.4f}"
                + (f", val PRAUC {val_prauc:.4f}" if val_prauc is not None else "") + f" ({record['seconds']:.1f} s)")
            if stale >= args.patience:
                emit("early_stop", epoch=offset + epoch, best_epoch=offset + best_epoch, patience=args.patience)
                say(f"early stop: no val PRAUC gain for {args.patience} epochs (best epoch {best_epoch})")
                break
        if best_state is None:
            raise TrainerInputError("no epoch was trained (--epochs lower than the checkpoint's epoch?)")
        members.append({"seed": member_seed, "state": best_state, "history": history, "bestEpoch": best_epoch,
                        "bestPrauc": best_prauc, "epochs": epoch})
        ckpt = None

    best_epoch = members[0]["bestEpoch"]
    epoch = members[-1]["epochs"]
    history = [{**r, "member": i} for i, m in enumerate(members) for r in m["history"]]
    model = StudentModel(cfg)
    if len(members) == 1:
        best_state = members[0]["state"]
    else:
        model = StudentEnsemble([StudentModel(cfg) for _ in members])
        best_state = model.state_from([m["state"] for m in members])
    model.load_state_dict(best_state)
    best_prauc = prauc(y_val, predict(model, val)) if val else -1.0
    # Calibrate first, then choose the threshold on the calibrated validation probabilities.
    temperature, calibration = 1.0, {"fittedOn": "none (--no-calibration)"}
    if val and not args.no_calibration:
        temperature, calibration = fit_temperature(y_val, predict(model, val))
    calibration = {"method": "temperature", "temperature": temperature, **calibration}
    threshold, threshold_source = (choose_threshold(y_val, apply_temperature(predict(model, val), temperature)) if val
                                   else (DEFAULT_THRESHOLD, "default 0.3 (LEADER student; no validation samples)"))
    if val:
        threshold_source += " on temperature-calibrated probabilities" if temperature != 1.0 else ""
    metrics = None
    if test:
        metrics = evaluate(label_matrix(test, cfg.num_labels), apply_temperature(predict(model, test), temperature),
                           threshold, ds.ddi.get("pairs", []), cfg.num_labels)

    # --- export into the work folder, then swap it in as OUT -------------------------------------
    onnx_path = os.path.join(work, "model.onnx")
    exporter.export_onnx(model, onnx_path, cfg.num_tokens, cfg.profile_sizes)
    shutil.copyfile(os.path.join(ds.directory, "vocab.json"), os.path.join(work, "vocab.json"))
    shutil.copyfile(os.path.join(ds.directory, "ddi.json"), os.path.join(work, "ddi.json"))
    parity_source = test or val or train
    exporter.write_json(os.path.join(work, "parity.json"), exporter.build_parity(model, parity_source, temperature))
    with open(onnx_path, "rb") as f:
        onnx_sha = hashlib.sha256(f.read()).hexdigest()
    manifest = build_manifest(args, ds, cfg, model, heads, teacher, threshold, threshold_source, metrics,
                              onnx_sha, epoch, best_epoch, len(train), len(val), len(test))
    manifest["calibration"] = calibration
    if len(members) > 1:
        manifest["training"]["members"] = [{"seed": m["seed"], "bestEpoch": m["bestEpoch"], "epochs": m["epochs"],
                                            "valPrauc": m["bestPrauc"]} for m in members]
    manifest["training"]["history"] = [{"epoch": r["epoch"], "trainLoss": round(r["train_loss"], 6),
                                        "valPrauc": None if r["val_prauc"] is None else round(r["val_prauc"], 6),
                                        **({"member": r["member"]} if len(members) > 1 else {})}
                                       for r in history]
    exporter.write_json(os.path.join(work, "manifest.json"), manifest)
    emit("export", onnx=os.path.join(out, "model.onnx"), opset=exporter.OPSET, sha256=onnx_sha)
    replace_dir(work, out)
    done = {"out": out, "best_epoch": best_epoch, "epochs_run": epoch, "threshold": threshold, "temperature": temperature,
            "val_prauc": best_prauc if val else None, "metrics": metrics, "seconds": round(time.time() - t_start, 3)}
    emit("done", **done)
    say(f"wrote {out}/ (model.onnx, manifest.json, vocab.json, ddi.json, parity.json, {CHECKPOINT})")
    return done


def sha256_of(path: str) -> str:
    """sha256 of a file the service loads (checked at its start-up)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_manifest(args, ds: Dataset, cfg: ModelConfig, model: StudentModel, heads: TrainingHeads,
                   teacher: Optional[TeacherFeatures], threshold: float, threshold_source: str, metrics,
                   onnx_sha: str, epochs_run: int, best_epoch: int, n_train: int, n_val: int, n_test: int) -> dict:
    src = ds.manifest.get("source", {}) or {}
    prov = ds.manifest.get("provenance", {}) or {}
    scale = args.scale_note or (f"{n_train + n_val + n_test} samples from {src.get('location', ds.directory)}; "
                                "not for clinical use")
    training = {
        "dataset": args.dataset_label or ds.directory,
        "scale": scale,
        "epochs": epochs_run,
        "bestEpoch": best_epoch,
        "seed": args.seed,
        "samples": {"train": n_train, "val": n_val, "test": n_test},
        "recipe": recipe_of(args),
    }
    if src.get("description"):
        training["datasetDescription"] = src["description"]
    if prov.get("licence"):
        training["licence"] = prov["licence"]
    if prov.get("attribution"):
        training["attribution"] = prov["attribution"]
    teacher_block = None
    if teacher:
        teacher_block = {"backend": teacher.index["backend"], "model": teacher.index["model"], "dim": teacher.dim,
                         "featuresFile": teacher.path, "alpha": args.alpha}
    return {
        "schemaVersion": 1,
        "name": args.name,
        "version": args.version,
        "createdAt": datetime.now(timezone.utc).isoformat(),
        "datasetSchemaVersion": ds.manifest["schemaVersion"],
        "files": {"onnx": "model.onnx", "vocab": "vocab.json", "ddi": "ddi.json"},
        "vocabHash": ds.vocab_hash,
        "onnxSha256": onnx_sha,
        "ddiSha256": sha256_of(os.path.join(ds.directory, "ddi.json")),
        "labels": ds.labels,
        "labelNames": {c: ds.vocab.get("labelNames", {}).get(c, c) for c in ds.labels},
        "threshold": threshold,
        "thresholdSource": threshold_source,
        "io": {"inputs": exporter.INPUT_NAMES, "outputs": exporter.OUTPUT_NAMES, "opset": exporter.OPSET,
               "hiddenSize": cfg.head_hidden, "maxVisits": cfg.max_visits},
        "architecture": {
            "type": "leader-student", "embeddingDim": cfg.dim, "heads": cfg.heads, "ffnDim": cfg.ffn_dim,
            "setLayers": 1, "visitLayers": 1, "headHidden": cfg.head_hidden, "tokens": cfg.num_tokens,
            "profileFields": ds.vocab["profileFields"], "profileSizes": cfg.profile_sizes,
            "visitPositions": cfg.visit_positions, "hiddenDropout": cfg.hidden_dropout,
            "attentionDropout": cfg.attention_dropout, "alignmentWeight": args.beta, "wide": cfg.wide,
            "seedsAveraged": args.seeds,
            "weightDecay": args.weight_decay, "outputBiasInit": "label prior" if args.bias_init else "default",
            "fixes": ["last visits kept (not first)", "alignment targets use med token ids",
                      "standard InfoNCE denominator", "medication prompt from its own head",
                      "visit position embedding" if cfg.visit_positions else "no visit positions (faithful)",
                      "per-batch padding (dynamic axes)"],
        },
        "parameters": {"total": count_parameters(model) + count_parameters(heads),
                       "inference": count_parameters(model)},
        "training": training,
        "teacher": teacher_block,
        "metrics": {"split": "test", "student": metrics} if metrics else None,
        "limits": [
            scale,
            "Recommends only the ATC3 classes of the training label list; other drugs are never suggested.",
            f"Threshold {threshold} ({threshold_source}).",
            "Decision support only: a clinician must review every suggestion.",
        ],
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = parse_args(argv)
        run(args)
        return 0
    except TrainerInputError as e:
        emit("error", message=str(e))
        say(f"error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        say("interrupted: continue with --resume (checkpoint of the last finished epoch kept)")
        return 130


if __name__ == "__main__":
    sys.exit(main())
