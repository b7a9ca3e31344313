"""ONNX export (opset 17, dynamic batch / visit / code axes), check, and the parity cases file."""
from __future__ import annotations

import json
from typing import Dict, List, Sequence, Tuple

import numpy as np
import onnx
import torch

from .dataset import Sample, collate_student
from .metrics import apply_temperature
from .model import StudentModel

OPSET = 17
INPUT_NAMES = ["diag", "proc", "med", "visit_mask", "profile"]
OUTPUT_NAMES = ["probs", "hidden"]
DYNAMIC_AXES = {
    "diag": {0: "batch", 1: "visits", 2: "diag_codes"},
    "proc": {0: "batch", 1: "visits", 2: "proc_codes"},
    "med": {0: "batch", 1: "visits", 2: "med_codes"},
    "visit_mask": {0: "batch", 1: "visits"},
    "profile": {0: "batch"},
    "probs": {0: "batch"},
    "hidden": {0: "batch"},
}
PARITY_TOLERANCE = 1e-5


def _tensors(batch: Dict[str, np.ndarray]) -> Tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(batch[n]) for n in INPUT_NAMES)


def dummy_batch(num_tokens: int, profile_sizes: Sequence[int]) -> Dict[str, np.ndarray]:
    """Export-time example with all dynamic sizes distinct (B=3, V=2, K=5/4/6), so tracing cannot
    confuse one axis for another; every value lies inside the vocabularies."""
    rng = np.random.default_rng(0)
    b, v = 3, 2
    mask = np.ones((b, v), dtype=np.float32)
    mask[0, 1] = 0.0
    return {
        "diag": rng.integers(0, num_tokens, size=(b, v, 5)).astype(np.int64),
        "proc": rng.integers(0, num_tokens, size=(b, v, 4)).astype(np.int64),
        "med": rng.integers(0, num_tokens, size=(b, v, 6)).astype(np.int64),
        "visit_mask": mask,
        "profile": np.array([[int(rng.integers(0, max(1, n))) for n in profile_sizes] for _ in range(b)],
                            dtype=np.int64).reshape(b, len(profile_sizes)),
    }


def export_onnx(model: StudentModel, path: str, num_tokens: int, profile_sizes: Sequence[int]) -> onnx.ModelProto:
    model.eval()
    example = _tensors(dummy_batch(num_tokens, profile_sizes))
    with torch.no_grad():
        torch.onnx.export(model, example, path, input_names=INPUT_NAMES, output_names=OUTPUT_NAMES,
                          dynamic_axes=DYNAMIC_AXES, opset_version=OPSET, do_constant_folding=True)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    check_dynamic_axes(proto)
    return proto


def check_dynamic_axes(proto: onnx.ModelProto) -> None:
    """Every axis declared dynamic must be symbolic in the saved graph (not frozen to the example size)."""
    values = {v.name: v for v in list(proto.graph.input) + list(proto.graph.output)}
    for name, axes in DYNAMIC_AXES.items():
        if name not in values:
            raise RuntimeError(f"ONNX graph lacks {name}")
        dims = values[name].type.tensor_type.shape.dim
        for axis, label in axes.items():
            if dims[axis].dim_param != label:
                raise RuntimeError(f"ONNX {name} axis {axis} is not dynamic ({dims[axis]})")


def _encode(array: np.ndarray) -> dict:
    flat = array.reshape(-1)
    data = [int(x) for x in flat] if array.dtype == np.int64 else [float(x) for x in flat.astype(np.float32)]
    return {"dims": list(array.shape), "data": data}


def parity_cases(samples: Sequence[Sample]) -> List[Tuple[str, List[Sample]]]:
    """A padded batch of the first few samples, each single sample, a V=1 first-visit case and one
    with empty procedure/medication sets."""
    cases: List[Tuple[str, List[Sample]]] = []
    head = list(samples[:4])
    if not head:
        return cases
    cases.append((f"batch-{len(head)}", head))
    for s in head[:2]:
        cases.append((f"single-{s.id}", [s]))
    s = head[0]
    last = Sample(id=f"{s.id}/last-visit", split=s.split, labels=s.labels, diag=[s.diag[-1]], proc=[s.proc[-1]],
                  med=[[]], profile=s.profile)
    cases.append(("batch1-visits1", [last]))
    empty = Sample(id=f"{s.id}/empty-sets", split=s.split, labels=s.labels, diag=[s.diag[-1]], proc=[[]],
                   med=[[]], profile=[0] * len(s.profile))
    cases.append(("batch1-visits1-empty-sets", [empty]))
    return cases


def build_parity(model: StudentModel, samples: Sequence[Sample], temperature: float = 1.0) -> dict:
    """`probs` are the served probabilities: the graph's sigmoid outputs after the manifest's temperature."""
    model.eval()
    out = []
    for name, batch_samples in parity_cases(samples):
        batch = collate_student(batch_samples)
        with torch.no_grad():
            probs, hidden = model(*_tensors(batch))
        out.append({
            "name": name,
            "sampleIds": [s.id for s in batch_samples],
            "inputs": {n: _encode(batch[n]) for n in INPUT_NAMES},
            "outputs": {"probs": _encode(apply_temperature(probs.numpy(), temperature)), "hidden": _encode(hidden.numpy())},
        })
    return {"tolerance": PARITY_TOLERANCE, "inputs": INPUT_NAMES, "outputs": OUTPUT_NAMES, "cases": out}


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
