"""Reader for the on-disk LEADER dataset, schema version 1 (src/training/dataset.schema.ts).

DIR/manifest.json, DIR/vocab.json, DIR/ddi.json, DIR/samples.jsonl. Everything is validated before
training starts, so bad input fails fast with one line naming the file (and line) at fault.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from .errors import TrainerInputError

DATASET_SCHEMA_VERSION = 1
SPLITS = ("train", "val", "test")
# Medication tokens in vocab.tokens (src/terminology/code-systems.ts TOKEN_PREFIX.atc3).
MED_TOKEN_PREFIX = "atc3:"


@dataclass
class Sample:
    id: str
    split: str
    labels: List[int]
    diag: List[List[int]]
    proc: List[List[int]]
    med: List[List[int]]
    profile: List[int]


@dataclass
class Dataset:
    directory: str
    manifest: dict
    vocab: dict
    ddi: dict
    vocab_hash: str
    samples: List[Sample]
    # label index -> token id of `atc3:<code>` (0 when the vocabulary has no such token); the
    # alignment loss encodes label sets through the same embedding + med set encoder as med history.
    label_token_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def num_tokens(self) -> int:
        return len(self.vocab["tokens"])

    @property
    def labels(self) -> List[str]:
        return list(self.vocab["labels"])

    @property
    def profile_sizes(self) -> List[int]:
        return [len(self.vocab["profileValues"][f]) for f in self.vocab["profileFields"]]

    @property
    def max_visits(self) -> int:
        return int(self.manifest.get("options", {}).get("maxVisits") or 10)

    def split(self, name: str) -> List[Sample]:
        return [s for s in self.samples if s.split == name]

    def evaluation_split(self, name: str) -> List[Sample]:
        """A val/test split as it is evaluated: each patient's last visit only (per-visit datasets hold one
        sample per visit; LEADER evaluates the last). The same rule as src/training/splits.ts lastVisitSamples."""
        return last_visit_samples(self.split(name))


def _patient_and_visit(sample_id: str):
    head, sep, tail = sample_id.rpartition("#")
    return (head, int(tail)) if sep and tail.isdigit() else (sample_id, 0)


def last_visit_samples(samples: Sequence[Sample]) -> List[Sample]:
    last: Dict[str, Sample] = {}
    for s in samples:
        pid, visit = _patient_and_visit(s.id)
        if pid not in last or _patient_and_visit(last[pid].id)[1] < visit:
            last[pid] = s
    keep = {id(s) for s in last.values()}
    return [s for s in samples if id(s) in keep]


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _strip_hash(value: str) -> str:
    value = str(value).strip().lower()
    return value[len("sha256:"):] if value.startswith("sha256:") else value


def _read_json(directory: str, name: str):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise TrainerInputError(f"dataset {directory}: {name} missing (not a complete LEADER dataset)")
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise TrainerInputError(f"dataset {directory}: {name} is not valid JSON ({e})")


def read_manifest(directory: str) -> dict:
    if not os.path.isdir(directory):
        raise TrainerInputError(f"dataset {directory}: no such directory")
    manifest = _read_json(directory, "manifest.json")
    if not isinstance(manifest, dict):
        raise TrainerInputError(f"dataset {directory}: manifest.json is not an object")
    version = manifest.get("schemaVersion")
    if version != DATASET_SCHEMA_VERSION:
        raise TrainerInputError(
            f"dataset {directory}: schemaVersion {json.dumps(version)}, this trainer reads {DATASET_SCHEMA_VERSION}")
    return manifest


def _check_vocab(directory: str, vocab) -> None:
    where = f"dataset {directory}: vocab.json"
    if not isinstance(vocab, dict):
        raise TrainerInputError(f"{where} is not an object")
    for key in ("tokens", "labels", "profileFields", "profileValues"):
        if key not in vocab:
            raise TrainerInputError(f"{where} lacks '{key}'")
    if not vocab["tokens"] or vocab["tokens"][0] != "[PAD]":
        raise TrainerInputError(f"{where}: tokens[0] must be '[PAD]'")
    if not vocab["labels"]:
        raise TrainerInputError(f"{where}: empty label list")
    for f in vocab["profileFields"]:
        values = vocab["profileValues"].get(f)
        if not isinstance(values, list) or not values:
            raise TrainerInputError(f"{where}: profileValues['{f}'] missing or empty")


def _id_list(value, limit: int, what: str, where: str) -> List[int]:
    if not isinstance(value, list):
        raise TrainerInputError(f"{where}: {what} is not a list")
    for x in value:
        if not isinstance(x, int) or isinstance(x, bool) or x < 0 or x >= limit:
            raise TrainerInputError(f"{where}: {what} holds {json.dumps(x)}, outside 0..{limit - 1}")
    return value


def _parse_sample(obj, line_no: int, path: str, n_tokens: int, n_labels: int, profile_sizes: Sequence[int]) -> Sample:
    where = f"{path} line {line_no}"
    if not isinstance(obj, dict):
        raise TrainerInputError(f"{where}: not a JSON object")
    sid = obj.get("id")
    if not isinstance(sid, str) or not sid:
        raise TrainerInputError(f"{where}: missing sample id")
    where = f"{where} (sample {sid})"
    split = obj.get("split")
    if split not in SPLITS:
        raise TrainerInputError(f"{where}: split {json.dumps(split)} is not train, val or test")
    labels = _id_list(obj.get("labels"), n_labels, "labels", where)
    st = obj.get("student")
    if not isinstance(st, dict):
        raise TrainerInputError(f"{where}: missing 'student'")
    seqs = {}
    for key in ("diag", "proc", "med"):
        visits = st.get(key)
        if not isinstance(visits, list) or not visits:
            raise TrainerInputError(f"{where}: student.{key} must be a non-empty list of visits")
        seqs[key] = [_id_list(v, n_tokens, f"student.{key}[{i}]", where) for i, v in enumerate(visits)]
    n = len(seqs["diag"])
    if len(seqs["proc"]) != n or len(seqs["med"]) != n:
        raise TrainerInputError(
            f"{where}: student.diag/proc/med have {n}/{len(seqs['proc'])}/{len(seqs['med'])} visits, expected equal")
    profile = st.get("profile")
    if not isinstance(profile, list) or len(profile) != len(profile_sizes):
        raise TrainerInputError(f"{where}: student.profile must hold {len(profile_sizes)} values (vocab profileFields)")
    for i, (x, size) in enumerate(zip(profile, profile_sizes)):
        _id_list([x], size, f"student.profile[{i}]", where)
    return Sample(id=sid, split=split, labels=list(labels), diag=seqs["diag"], proc=seqs["proc"], med=seqs["med"],
                  profile=list(profile))


def load_dataset(directory: str) -> Dataset:
    directory = os.path.abspath(directory) if directory else directory
    manifest = read_manifest(directory)
    vocab = _read_json(directory, "vocab.json")
    _check_vocab(directory, vocab)
    vocab_hash = sha256_file(os.path.join(directory, "vocab.json"))
    declared = manifest.get("vocabHash")
    if declared and _strip_hash(declared) != vocab_hash:
        raise TrainerInputError(
            f"dataset {directory}: vocab.json sha256 {vocab_hash[:12]}… does not match manifest vocabHash "
            f"{_strip_hash(declared)[:12]}… (vocabulary changed after the dataset was written)")
    ddi = _read_json(directory, "ddi.json")
    if not isinstance(ddi, dict) or ddi.get("labels") != vocab["labels"]:
        raise TrainerInputError(f"dataset {directory}: ddi.json labels differ from vocab.json labels")
    n_labels = len(vocab["labels"])
    for pair in ddi.get("pairs", []):
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(x, int) and 0 <= x < n_labels for x in pair)):
            raise TrainerInputError(f"dataset {directory}: ddi.json pair {json.dumps(pair)} is not two label indices")

    path = os.path.join(directory, "samples.jsonl")
    if not os.path.isfile(path):
        raise TrainerInputError(f"dataset {directory}: samples.jsonl missing (not a complete LEADER dataset)")
    n_tokens = len(vocab["tokens"])
    profile_sizes = [len(vocab["profileValues"][f]) for f in vocab["profileFields"]]
    samples: List[Sample] = []
    seen = set()
    with open(path, "r", encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise TrainerInputError(f"{path} line {line_no}: invalid JSON ({e.msg})")
            s = _parse_sample(obj, line_no, path, n_tokens, n_labels, profile_sizes)
            if s.id in seen:
                raise TrainerInputError(f"{path} line {line_no}: duplicate sample id {s.id}")
            seen.add(s.id)
            samples.append(s)
    if not any(s.split == "train" for s in samples):
        raise TrainerInputError(f"dataset {directory}: no train samples")

    token_index: Dict[str, int] = {t: i for i, t in enumerate(vocab["tokens"])}
    label_token_ids = np.array([token_index.get(MED_TOKEN_PREFIX + code, 0) for code in vocab["labels"]],
                               dtype=np.int64)
    return Dataset(directory=directory, manifest=manifest, vocab=vocab, ddi=ddi, vocab_hash=vocab_hash,
                   samples=samples, label_token_ids=label_token_ids)


def _pad_sets(seqs: Sequence[List[List[int]]], v_max: int) -> np.ndarray:
    k_max = max(1, max((len(codes) for visits in seqs for codes in visits), default=0))
    out = np.zeros((len(seqs), v_max, k_max), dtype=np.int64)
    for b, visits in enumerate(seqs):
        for v, codes in enumerate(visits):
            if codes:
                out[b, v, :len(codes)] = codes
    return out


def collate_student(samples: Sequence[Sample]) -> Dict[str, np.ndarray]:
    """Pad a batch to its own maxima, like the TS buildStudentBatch (student-input.types.ts):
    V = max visits, K = max set size per type (≥ 1), pad id 0, real visits first in each row."""
    v_max = max(len(s.diag) for s in samples)
    mask = np.zeros((len(samples), v_max), dtype=np.float32)
    for b, s in enumerate(samples):
        mask[b, :len(s.diag)] = 1.0
    return {
        "diag": _pad_sets([s.diag for s in samples], v_max),
        "proc": _pad_sets([s.proc for s in samples], v_max),
        "med": _pad_sets([s.med for s in samples], v_max),
        "visit_mask": mask,
        "profile": np.array([s.profile for s in samples], dtype=np.int64).reshape(len(samples), -1),
    }


def collate_targets(samples: Sequence[Sample], num_labels: int, label_token_ids: np.ndarray) -> Dict[str, np.ndarray]:
    """Multi-hot labels [B, M] and the target meds as token ids [B, L] (0-padded) for the alignment loss."""
    y = np.zeros((len(samples), num_labels), dtype=np.float32)
    l_max = max(1, max(len(s.labels) for s in samples))
    tokens = np.zeros((len(samples), l_max), dtype=np.int64)
    for b, s in enumerate(samples):
        if s.labels:
            y[b, s.labels] = 1.0
            tokens[b, :len(s.labels)] = label_token_ids[s.labels]
    return {"labels": y, "label_tokens": tokens}


BUCKET_WINDOW_BATCHES = 50


def sample_size(s: Sample) -> int:
    """Total code count over visits and code types: the bucketing key."""
    return sum(len(c) for seqs in (s.diag, s.proc, s.med) for c in seqs)


def bucketed_batches(order: np.ndarray, sizes: np.ndarray, batch_size: int, rng: np.random.Generator,
                     window_batches: int = BUCKET_WINDOW_BATCHES) -> List[np.ndarray]:
    """Length-bucketed batches from a shuffled `order`: each window of window_batches × batch_size
    samples is sorted by size (stable) and cut into batches, then all batches are shuffled with `rng`.
    Similar sizes share a batch, so padding shrinks; every sample still appears exactly once, and the
    result depends only on (order, sizes, rng), so a resumed run sees the same batches."""
    window = window_batches * batch_size
    batches: List[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(sizes[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def plain_batches(order: np.ndarray, batch_size: int) -> List[np.ndarray]:
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
