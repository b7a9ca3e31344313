"""Teacher feature file: FILE = float32 little-endian [N, dim] row-major, no header;
FILE.index.json = {"ids": [...], "dim": int, "backend": str, "model": str, "modelSha256"?: str,
"promptMode": str, "complete": bool}. Rows are aligned to samples by id."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from .errors import TrainerInputError


@dataclass
class TeacherFeatures:
    path: str
    index: dict
    matrix: np.ndarray  # [N, dim] float32
    row_of: Dict[str, int]

    @property
    def dim(self) -> int:
        return int(self.index["dim"])

    def rows(self, ids: List[str]) -> np.ndarray:
        return self.matrix[[self.row_of[i] for i in ids]]

    def has(self, sample_id: str) -> bool:
        return sample_id in self.row_of


def load_teacher_features(path: str, train_ids: List[str]) -> TeacherFeatures:
    index_path = path + ".index.json"
    if not os.path.isfile(path):
        raise TrainerInputError(f"teacher features {path}: no such file")
    if not os.path.isfile(index_path):
        raise TrainerInputError(f"teacher features {path}: index {index_path} missing")
    try:
        with open(index_path, "r", encoding="utf-8") as f:
            index = json.load(f)
    except ValueError as e:
        raise TrainerInputError(f"teacher features {index_path}: invalid JSON ({e})")
    if not isinstance(index, dict):
        raise TrainerInputError(f"teacher features {index_path}: not a JSON object")
    ids, dim = index.get("ids"), index.get("dim")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise TrainerInputError(f"teacher features {index_path}: 'ids' must be a list of sample ids")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0:
        raise TrainerInputError(f"teacher features {index_path}: 'dim' must be a positive integer")
    if index.get("complete") is not True:
        raise TrainerInputError(f"teacher features {index_path}: complete is not true (extraction unfinished; rerun it)")
    for key in ("backend", "model"):
        if not isinstance(index.get(key), str) or not index.get(key):
            raise TrainerInputError(f"teacher features {index_path}: '{key}' missing")
    size = os.path.getsize(path)
    expected = len(ids) * dim * 4
    if size != expected:
        raise TrainerInputError(
            f"teacher features {path}: {size} bytes, index says {len(ids)} rows x {dim} float32 = {expected} bytes")
    row_of = {}
    for r, i in enumerate(ids):
        if i in row_of:
            raise TrainerInputError(f"teacher features {index_path}: duplicate id {i}")
        row_of[i] = r
    missing = [i for i in train_ids if i not in row_of]
    if missing:
        raise TrainerInputError(
            f"teacher features {path}: {len(missing)} of {len(train_ids)} train samples have no row "
            f"(first: {missing[0]}); features were extracted from another dataset")
    matrix = np.fromfile(path, dtype="<f4").reshape(len(ids), dim)
    if not np.isfinite(matrix[[row_of[i] for i in train_ids]]).all():
        raise TrainerInputError(f"teacher features {path}: non-finite values in train rows")
    return TeacherFeatures(path=os.path.abspath(path), index=index, matrix=matrix, row_of=row_of)


def write_teacher_features(path: str, ids: List[str], matrix: np.ndarray, backend: str = "synthetic",
                           model: str = "synthetic", complete: bool = True, prompt_mode: str = "fixed") -> None:
    """Writer for tests/benchmarks (the real writer is `leader teacher` in TypeScript)."""
    m = np.ascontiguousarray(matrix, dtype="<f4")
    m.tofile(path)
    with open(path + ".index.json", "w", encoding="utf-8") as f:
        json.dump({"ids": list(ids), "dim": int(m.shape[1]), "backend": backend, "model": model,
                   "promptMode": prompt_mode, "complete": complete}, f)
