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
