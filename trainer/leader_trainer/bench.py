"""Training-cost benchmark on a synthetic dataset of MIMIC-IV size (leader.md §1.6, §9).

  /usr/bin/python3 -m trainer.leader_trainer.bench [--steps N] [--batch-size 16] [--threads 2]

Prints JSON lines on stdout (one per figure): trainer.step (forward + losses + backward + Adam,
batch 16, KD projector to --teacher-dim, alignment on), trainer.epoch (one real pass over the
7,124 training patients, or extrapolated from --steps when --steps is given), trainer.infer
(PyTorch eval, batch 1 and 32, packed (training's) and padded (ONNX's) set computation; batch 32 also
sorted by patient size). Batches are length-bucketed as in train.py unless --no-bucketing.

The baseline is measured in the same run: the paper-style student (layout "paper"): every patient
padded to 10 visits x 100 codes per set, as LEADER's code does, and the padded computation (no
packing), for --paper-steps training steps and the same inference batches; every record names its
layout, so a ratio compares two figures of one run on one machine. leader.md section 9's 1.37 s/step is
kept as a reference only (another machine).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import collate_student, collate_targets, load_dataset, sample_size
from .model import ModelConfig, StudentModel, TrainingHeads, alignment_loss, count_parameters, padded_computation
from .synthetic import mimic_iv_scale, write_synthetic_dataset
from .train import epoch_batches

PAPER_STEP_SECONDS = 1.37
# LEADER's input layout (leader.md section 5): max_record_num visits x max_seq_length codes per set.
PAPER_VISITS = 10
PAPER_CODES = 100


def collate_paper(samples):
    """collate_student padded to LEADER's fixed [B, 10, 100] per set (wider only for a set longer than 100)."""
    x = collate_student(samples)
    for name in ("diag", "proc", "med"):
        t = x[name]
        out = np.zeros((t.shape[0], max(PAPER_VISITS, t.shape[1]), max(PAPER_CODES, t.shape[2])), dtype=t.dtype)
        out[:, :t.shape[1], :t.shape[2]] = t
        x[name] = out
    mask = np.zeros((x["visit_mask"].shape[0], max(PAPER_VISITS, x["visit_mask"].shape[1])), dtype=np.float32)
    mask[:, :x["visit_mask"].shape[1]] = x["visit_mask"]
    x["visit_mask"] = mask
    return x


def line(**fields) -> None:
    sys.stdout.write(json.dumps(fields, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=0, help="time only N steps and extrapolate the epoch (0 = full epoch)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--teacher-dim", type=int, default=4096, help="KD target width (0 = no KD)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dataset", default=None,
                    help="a real dataset folder to scale up instead of the synthetic one (e.g. the MIMIC-IV demo's)")
    ap.add_argument("--replicate", type=int, default=90,
                    help="with --dataset: copies of every sample (the 100-patient demo x 90 = MIMIC-IV's ~9 k patients)")
    ap.add_argument("--no-bucketing", action="store_true", help="plain shuffled batches (train.py --no-bucketing)")
    ap.add_argument("--paper-steps", type=int, default=10, help="training steps timed for the paper-style baseline (0 = skip it)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    if a.dataset:
        # Scale a real dataset up by replicating its patients (each copy is a new patient with the
        # same codes), so the code-set sizes and visit counts are the real ones.
        ds = load_dataset(a.dataset)
        source = f"{a.dataset} x{a.replicate}"
        train = ds.split("train") * a.replicate
        test = ds.split("test") * a.replicate
    else:
        with tempfile.TemporaryDirectory(prefix="leader-bench-") as tmp:
            write_synthetic_dataset(os.path.join(tmp, "ds"), mimic_iv_scale(a.seed))
            ds = load_dataset(os.path.join(tmp, "ds"))
        source = "synthetic, MIMIC-IV statistics"
        train = ds.split("train")
        test = ds.split("test")
    cfg = ModelConfig(num_tokens=ds.num_tokens, num_labels=len(ds.labels), profile_sizes=ds.profile_sizes)
    model, heads = StudentModel(cfg), TrainingHeads(cfg, a.teacher_dim or None)
    opt = torch.optim.Adam(list(model.parameters()) + list(heads.parameters()), lr=5e-4)
    teacher = torch.randn(len(train), a.teacher_dim) if a.teacher_dim else None
    # The batches train.py forms for epoch 1 (length-bucketed unless --no-bucketing).
    sizes = np.array([sample_size(s) for s in train], dtype=np.int64)
    batches = epoch_batches(a.seed, 1, sizes, a.batch_size, not a.no_bucketing)
    steps_per_epoch = len(batches)
    n_steps = min(a.steps, steps_per_epoch) if a.steps > 0 else steps_per_epoch

    cpu_times = []

    def step(i: int, paper: bool = False) -> float:
        c0 = time.process_time()
        idx = batches[i]
        batch = [train[j] for j in idx]
        t0 = time.perf_counter()
        x = collate_paper(batch) if paper else collate_student(batch)
        tgt = collate_targets(batch, cfg.num_labels, ds.label_token_ids)
        with padded_computation() if paper else contextlib.nullcontext():
            logits, hidden, q = model.encode(*(torch.from_numpy(x[n]) for n in ("diag", "proc", "med", "visit_mask", "profile")))
        loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(tgt["labels"]))
        loss = loss + 0.01 * alignment_loss(model, heads, q, torch.from_numpy(tgt["label_tokens"]))
        if teacher is not None:
            loss = loss + 0.8 * F.mse_loss(heads.kd_proj(hidden), teacher[torch.from_numpy(idx)])
        opt.zero_grad()
        loss.backward()
        opt.step()
        cpu_times.append(time.process_time() - c0)
        return time.perf_counter() - t0

    model.train()
    for i in range(3):  # warm-up (allocator, first-call overheads)
        step(i)
    t_epoch = time.perf_counter()
    times = [step(i) for i in range(n_steps)]
    epoch_s = time.perf_counter() - t_epoch
    median = statistics.median(times)
    cpu_median = statistics.median(cpu_times[3:])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    # Wall time is what counts, but on a shared, loaded machine it mostly measures the queue; CPU time
    # per step (both threads summed) and the load average say how much that mattered.
    common = {"loadavg_1m": load, "batch": a.batch_size, "threads": a.threads, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
              "bucketing": not a.no_bucketing,
              "torch": torch.__version__, "teacher_dim": a.teacher_dim, "data": source}
    line(bench="trainer.step", layout="packed", unit="ms", median=round(median * 1e3, 2), min=round(min(times) * 1e3, 2),
         max=round(max(times) * 1e3, 2), cpu_median=round(cpu_median * 1e3, 2), steps=n_steps, paper_reference_ms=PAPER_STEP_SECONDS * 1e3,
         speedup_vs_paper=round(PAPER_STEP_SECONDS / median, 1), **common)
    extrapolated = n_steps < steps_per_epoch
    line(bench="trainer.epoch", layout="packed", unit="s", seconds=round(epoch_s * steps_per_epoch / n_steps, 2),
         extrapolated=extrapolated, train_samples=len(train), steps=steps_per_epoch,
         paper_reference_s=round(PAPER_STEP_SECONDS * steps_per_epoch, 1), **common)

    if a.paper_steps > 0:
        # The same model, data and batches (file order of the epoch, as above), LEADER's layout.
        n_paper = min(a.paper_steps, steps_per_epoch)
        cpu_times.clear()
        step(0, paper=True)  # warm-up of the padded shapes
        cpu_times.clear()
        paper_times = [step(i, paper=True) for i in range(n_paper)]
        paper_median = statistics.median(paper_times)
        line(bench="trainer.step", layout="paper", unit="ms", median=round(paper_median * 1e3, 2), min=round(min(paper_times) * 1e3, 2),
             max=round(max(paper_times) * 1e3, 2), cpu_median=round(statistics.median(cpu_times) * 1e3, 2), steps=n_paper,
             packed_median=round(median * 1e3, 2), speedup_packed_vs_paper=round(paper_median / median, 1), **common)
        line(bench="trainer.epoch", layout="paper", unit="s", seconds=round(paper_median * steps_per_epoch, 2), extrapolated=True,
             train_samples=len(train), steps=steps_per_epoch, **common)

    model.eval()
    with torch.no_grad():
        # Batch 32 in file order and sorted by size: on the padded path (the ONNX graph's computation)
        # one large patient pads the whole batch, so a batch scorer should group patients by size.
        by_size = sorted(test, key=sample_size)
        # "paper": LEADER's fixed 10 x 100 padding and the padded computation, the baseline of the same run.
        for path in ("packed", "padded", "paper"):
            for bsz, pool, sorted_ in ((1, test, False), (32, test, False), (32, by_size, True)):
                if path == "paper" and sorted_:
                    continue  # fixed padding: the order of patients changes nothing
                ts = []
                runs = 5 if path == "paper" and bsz > 1 else 20  # a paper-style batch of 32 takes seconds
                for i in range(0, min(len(pool), runs * bsz), bsz):
                    x = collate_paper(pool[i:i + bsz]) if path == "paper" else collate_student(pool[i:i + bsz])
                    t0 = time.perf_counter()
                    with padded_computation() if path != "packed" else contextlib.nullcontext():
                        model(*(torch.from_numpy(x[n]) for n in ("diag", "proc", "med", "visit_mask", "profile")))
                    ts.append(time.perf_counter() - t0)
                line(bench="trainer.infer", unit="ms", path=path, batch=bsz, sorted_by_size=sorted_,
                     median=round(statistics.median(ts) * 1e3, 3),
                     per_patient_ms=round(statistics.median(ts) * 1e3 / bsz, 3), runs=len(ts), threads=a.threads)
    line(bench="trainer.params", total=count_parameters(model) + count_parameters(heads),
         inference=count_parameters(model), tokens=cfg.num_tokens, labels=cfg.num_labels)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
