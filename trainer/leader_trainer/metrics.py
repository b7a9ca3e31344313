"""LEADER's evaluation metrics (leader.md §5.1), sample-wise, in numpy (no sklearn).

y_true: {0,1} [N, M]; probs: [N, M]. Samples are averaged with equal weight.
"""
from __future__ import annotations

from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
DEFAULT_THRESHOLD = 0.3


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """sklearn.metrics.average_precision_score for one row: sum_n (R_n - R_{n-1}) P_n over distinct
    score thresholds (tied scores form one step). A row without positives scores 0."""
    y = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    n_pos = y.sum()
    if n_pos <= 0:
        return 0.0
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.where(np.diff(s))[0]
    last = np.r_[distinct, y.size - 1]  # last index of each tie group
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev) * precision))


def _sample_scores(y_true: np.ndarray, pred: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    inter = (y_true * pred).sum(axis=1)
    union = ((y_true + pred) > 0).sum(axis=1)
    jaccard = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    n_pred, n_true = pred.sum(axis=1), y_true.sum(axis=1)
    precision = np.where(n_pred > 0, inter / np.maximum(n_pred, 1), 0.0)
    recall = np.where(n_true > 0, inter / np.maximum(n_true, 1), 0.0)
    denom = precision + recall
    f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    return jaccard, f1


def ddi_rate(pred: np.ndarray, ddi_pairs: Iterable[Sequence[int]], num_labels: int) -> float:
    """Interacting unordered pairs among all predicted pairs, pooled over samples (SafeDrug's ddi_rate_score)."""
    adj = np.zeros((num_labels, num_labels), dtype=bool)
    for i, j in ddi_pairs:
        adj[i, j] = adj[j, i] = True
    all_pairs = 0
    ddi_pairs_found = 0
    for row in pred:
        idx = np.flatnonzero(row)
        k = idx.size
        if k < 2:
            continue
        all_pairs += k * (k - 1) // 2
        ddi_pairs_found += int(np.triu(adj[np.ix_(idx, idx)], 1).sum())
    return ddi_pairs_found / all_pairs if all_pairs else 0.0


def prauc(y_true: np.ndarray, probs: np.ndarray) -> float:
    if len(y_true) == 0:
        return 0.0
    return float(np.mean([average_precision(t, p) for t, p in zip(y_true, probs)]))


def evaluate(y_true: np.ndarray, probs: np.ndarray, threshold: float, ddi_pairs, num_labels: int) -> Dict[str, float]:
    pred = (probs > threshold).astype(np.float64)  # LEADER's student: p > threshold
    y = y_true.astype(np.float64)
    jaccard, f1 = _sample_scores(y, pred)
    return {
        "jaccard": float(jaccard.mean()),
        "f1": float(f1.mean()),
        "prauc": prauc(y, probs),
        "ddi_rate": ddi_rate(pred, ddi_pairs, num_labels),
        "avg_med": float(pred.sum(axis=1).mean()),
    }


def choose_threshold(y_true: np.ndarray, probs: np.ndarray) -> Tuple[float, str]:
    """Threshold in 0.05..0.95 maximising mean sample-wise F1 on validation (ties: closest to 0.3);
    0.3 (LEADER's student) when there is no validation data."""
    if len(y_true) == 0:
        return DEFAULT_THRESHOLD, "default 0.3 (LEADER student; no validation samples)"
    y = y_true.astype(np.float64)
    best: Optional[Tuple[float, float]] = None
    for t in THRESHOLD_GRID:
        _, f1 = _sample_scores(y, (probs > t).astype(np.float64))
        key = (round(float(f1.mean()), 12), -abs(t - DEFAULT_THRESHOLD))
        if best is None or key > best[0]:
            best = (key, t)
    return best[1], f"validation: max mean sample-wise F1 over 0.05..0.95 step 0.05 (F1 {best[0][0]:.4f})"


ECE_BINS = 10
TEMPERATURE_GRID = tuple(float(x) for x in np.exp(np.linspace(np.log(0.25), np.log(4.0), 81)))


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """p' = sigmoid(logit(p) / T), in float64 from the float32 probabilities the ONNX graph outputs, as
    src/inference/calibration.ts applyTemperature does in serving and evaluation."""
    p = np.asarray(probs, dtype=np.float64)
    if temperature == 1.0:
        return p.astype(np.float32)
    with np.errstate(divide="ignore"):
        logit = np.log(p) - np.log1p(-p)
    return (1.0 / (1.0 + np.exp(-logit / temperature))).astype(np.float32)


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE over every (sample, label) pair: |mean p - positive rate| per equal-width bin, weighted by the
    bin's share of pairs (bins (a, b], the first one [0, b])."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    if p.size == 0:
        return 0.0
    idx = np.clip(np.ceil(p * bins).astype(np.int64) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / p.size * abs(p[m].mean() - y[m].mean())
    return float(total)


def binary_cross_entropy(y_true: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(y_true, dtype=np.float64)
    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).mean())


def fit_temperature(y_true: np.ndarray, probs: np.ndarray) -> Tuple[float, dict]:
    """Temperature scaling (Guo et al. 2017) on validation: the T of a log-spaced grid 0.25..4 with the
    lowest BCE, kept only when it also lowers the validation ECE; otherwise T = 1 (no calibration)."""
    if len(y_true) == 0:
        return 1.0, {"fittedOn": "none (no validation samples)"}
    best_t = round(min(TEMPERATURE_GRID, key=lambda t: (binary_cross_entropy(y_true, apply_temperature(probs, t)),
                                                       abs(np.log(t)))), 4)
    before = expected_calibration_error(y_true, probs)
    after = expected_calibration_error(y_true, apply_temperature(probs, best_t))
    kept = after < before
    return (best_t if kept else 1.0), {"fittedOn": "validation", "valEceBefore": round(before, 6),
                                       "valEceAfter": round(after if kept else before, 6),
                                       "candidate": best_t, "kept": bool(kept)}
