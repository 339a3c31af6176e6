"""A training run's folder: never overwritten by accident, with history and curves."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed on servers and in CI
import matplotlib.pyplot as plt

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
PLOT_FILE = "training_curves.png"


def prepare_run_dir(run_dir: Path, *, overwrite: bool) -> Path:
    """Create `run_dir`; refuse a finished run (one with a saved model) unless overwrite."""
    model_path = run_dir / MODEL_FILE
    if model_path.exists() and not overwrite:
        raise FileExistsError(
            f"{model_path} exists: {run_dir} holds a finished run. "
            "Choose another --output, or pass --overwrite to replace it."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def write_history(history: dict[str, list[float]], path: Path) -> None:
    """One row per epoch, one column per Keras metric name (loss, val_loss, ...)."""
    names = list(history)
    epochs = len(history[names[0]]) if names else 0
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *names])
        for epoch in range(epochs):
            writer.writerow([epoch + 1, *(history[name][epoch] for name in names)])


def plot_history(history: dict[str, list[float]], path: Path) -> None:
    """One panel per metric, training and validation curves together."""
    metrics = [name for name in history if not name.startswith("val_")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for ax, name in zip(axes[0], metrics, strict=False):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        ax.set(title=name, xlabel="epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
