"""Draw `leader evaluate --plots DIR` figures from DIR/plot-data.json (src/training/plots.ts) with matplotlib.

  /usr/bin/python3 -m trainer.leader_trainer.plots --data DIR/plot-data.json --out DIR

Writes pr-curves.svg, reliability.svg, training-curves.svg and, when the data has one, learning-curve.svg;
prints each path written (one per line). SVGs carry no date and fixed ids, so reruns are byte-identical.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "leader-cds", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
STUDENT_STYLE = {"linewidth": 2.2, "color": "#c0392b"}


def save(fig, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return path


def pr_curves(data: dict, out: str) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    for c in data["pr"]:
        style = STUDENT_STYLE if c["name"].startswith("student") else {"linewidth": 1.2}
        ax.plot(c["recall"], c["precision"], label=f"{c['name']} (AP {c['averagePrecision']:.3f})", **style)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Precision-recall, all (patient, class) pairs\n{data['title']}", fontsize=9)
    ax.legend(loc="lower left", fontsize=8)
    return save(fig, os.path.join(out, "pr-curves.svg"))


def reliability(data: dict, out: str) -> str:
    rel = data["reliability"]
    bins = [b for b in rel["bins"] if b["count"] > 0]
    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5.2, 5.4), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], linestyle="--", color="#888", linewidth=1, label="perfect calibration")
    ax.plot([b["meanProbability"] for b in bins], [b["positiveRate"] for b in bins], marker="o", label="student", **STUDENT_STYLE)
    ax.set_ylabel("observed frequency")
    ax.set_title(f"Reliability ({rel['what']}), ECE {rel['ece']:.4f}", fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    hx.bar([(b["low"] + b["high"]) / 2 for b in rel["bins"]], [b["count"] for b in rel["bins"]], width=0.09, color="#999")
    hx.set_yscale("log")
    hx.set_ylabel("pairs")
    hx.set_xlabel("predicted probability")
    hx.set_xlim(0, 1)
    return save(fig, os.path.join(out, "reliability.svg"))


def learning_curve(data: dict, out: str) -> str:
    points = data["learningCurve"]
    x = [p["trainPatients"] for p in points]
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.6))
    for ax, metric, label in ((axes[0], "prauc", "PRAUC"), (axes[1], "jaccard", "Jaccard")):
        for name in points[0]["pooled"]:
            style = STUDENT_STYLE if name == "student" else {"linewidth": 1.2}
            ax.plot(x, [p["pooled"][name][metric] for p in points], marker="o", label=name, **style)
        ax.set_xlabel("train patients per fold")
        ax.set_ylabel(f"pooled {label} (test folds)")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Learning curve: {data['title']}", fontsize=9)
    return save(fig, os.path.join(out, "learning-curve.svg"))


def training_curves(data: dict, out: str) -> str:
    fig, (lx, vx) = plt.subplots(1, 2, figsize=(8.4, 3.4))
    for c in data["training"]:
        epochs = [h["epoch"] for h in c["history"]]
        lx.plot(epochs, [h["trainLoss"] for h in c["history"]], label=c["label"], linewidth=1.2)
        vx.plot(epochs, [h["valPrauc"] if h["valPrauc"] is not None else float("nan") for h in c["history"]],
                label=c["label"], linewidth=1.2)
    lx.set_xlabel("epoch")
    lx.set_ylabel("train loss")
    vx.set_xlabel("epoch")
    vx.set_ylabel("validation PRAUC")
    vx.legend(fontsize=7)
    fig.suptitle("Training curves", fontsize=9)
    return save(fig, os.path.join(out, "training-curves.svg"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m trainer.leader_trainer.plots")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        with open(a.data, "r", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"error: {a.data}: {e}\n")
        return 2
    os.makedirs(a.out, exist_ok=True)
    written = [pr_curves(data, a.out)]
    if data.get("reliability"):
        written.append(reliability(data, a.out))
    if data.get("learningCurve"):
        written.append(learning_curve(data, a.out))
    if data.get("training"):
        written.append(training_curves(data, a.out))
    for w in written:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
