"""Shared fixtures: tiny synthetic datasets in temporary folders, and an in-process CLI runner."""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from typing import List, Sequence, Tuple

from trainer.leader_trainer import train as train_cli
from trainer.leader_trainer.synthetic import SyntheticSpec, write_synthetic_dataset

TINY = SyntheticSpec(patients=40, diag_codes=24, proc_codes=8, labels=8, mean_visits=2.5, diag_per_visit=3.0, seed=3)


def make_dataset(root: str, name: str = "ds", spec: SyntheticSpec = TINY) -> str:
    path = os.path.join(root, name)
    write_synthetic_dataset(path, spec)
    return path


def run_cli(args: Sequence[str]) -> Tuple[int, List[dict], str]:
    """Run the trainer's main() in this process; returns (exit code, stdout events, stderr text)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = train_cli.main(list(args))
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return code, events, err.getvalue()


def fast_args(dataset: str, out: str, *extra: str) -> List[str]:
    return ["--dataset", dataset, "--out", out, "--batch-size", "8", "--epochs", "2", *extra]


def tree_snapshot(folder: str) -> dict:
    snap = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                snap[os.path.relpath(p, folder)] = fh.read()
    return snap


def temp_root(test_case) -> str:
    tmp = tempfile.TemporaryDirectory(prefix="leader-trainer-test-")
    test_case.addCleanup(tmp.cleanup)
    return tmp.name
