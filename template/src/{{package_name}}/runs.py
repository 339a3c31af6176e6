"""A training run's folder: one run, finished or resumable, never overwritten by accident.

A run folder holds only what train writes: the settings it was started with (run.json),
a backup after every epoch (backup.npz, see backups.py; kept when the run finishes, so
more epochs can go on from it), the history and its curves, and last the model, whose
presence marks the run as finished; and `.lock`, which a running train holds (run_lock.py).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed on servers and in CI
import matplotlib.pyplot as plt

from . import atomic_files

MODEL_FILE = "model.keras"
BEST_MODEL_FILE = "best.keras"
HISTORY_FILE = "history.csv"
PLOT_FILE = "training_curves.png"
SETTINGS_FILE = "run.json"
BACKUP_FILE = "backup.npz"
TENSORBOARD_DIR = "tensorboard"
# Everything train writes: --overwrite removes these and nothing else. classes.json is
# head.py's CLASSES_FILE, in classification projects; preprocessing.npz is fitting.py's
# PREPROCESSING_FILE; vocabulary.txt is vocabulary.py's VOCABULARY_FILE, in text projects.
RUN_FILES = frozenset(
    {MODEL_FILE, BEST_MODEL_FILE, HISTORY_FILE, PLOT_FILE, SETTINGS_FILE, BACKUP_FILE}
    | {"classes.json", "preprocessing.npz", "vocabulary.txt", TENSORBOARD_DIR}
)

# The lock a running train holds (run_lock.py): in the folder between runs, never removed
# by --overwrite, which would let a second train take a lock of its own.
LOCK_FILE = ".lock"

NEW, UNFINISHED, FINISHED = "new", "unfinished", "finished"


class RunError(Exception):
    """train must not use a run folder as asked; the message says why and what to do."""


def run_state(run_dir: Path) -> str:
    """NEW, UNFINISHED (resumable) or FINISHED; refuse a folder train must not write in.

    A folder holding anything train did not write is refused, with --overwrite too: it
    never deletes a file of the user's.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise not_a_folder(run_dir)
    if not run_dir.exists():
        return NEW
    ours = RUN_FILES | {LOCK_FILE} | {path.name for path in atomic_files.partial_files(run_dir)}
    foreign = sorted(path.name for path in run_dir.iterdir() if path.name not in ours)
    if foreign:
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise RunError(
            f"{run_dir} holds {foreign[0]}{more}, which train did not write: "
            "choose a new or empty --output"
        )
    if (run_dir / MODEL_FILE).exists():
        return FINISHED
    return UNFINISHED if (run_dir / SETTINGS_FILE).is_file() else NEW


def not_a_folder(run_dir: Path) -> RunError:
    return RunError(f"--output {run_dir} is a file: name a folder for the run")


def finished_run_error(run_dir: Path, epochs_done: int | None, why: str = "") -> FileExistsError:
    """The refusal of a finished run that train is not to replace or go on with."""
    of = "" if epochs_done is None else f" of {epochs_done} epochs"
    more = "" if epochs_done is None else f", or pass --epochs above {epochs_done} to go on"
    return FileExistsError(
        f"{run_dir / MODEL_FILE} exists: {run_dir} holds a finished run{of}{why}. "
        f"Choose another --output, pass --overwrite to replace it{more}."
    )


def clear_run(run_dir: Path) -> None:
    """Delete what train wrote in `run_dir`, the model first: a run cut short while being
    cleared no longer looks finished."""
    if not run_dir.is_dir():
        return
    for name in (MODEL_FILE, *sorted(RUN_FILES - {MODEL_FILE})):
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    remove_partial_files(run_dir)


def remove_partial_files(run_dir: Path) -> None:
    """Delete the temporary files of writes that a kill cut short."""
    for path in atomic_files.partial_files(run_dir):
        path.unlink()


def save_settings(run_dir: Path, settings: dict[str, Any]) -> None:
    atomic_files.write_text(run_dir / SETTINGS_FILE, json.dumps(settings, indent=2) + "\n")


def load_settings(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SETTINGS_FILE
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunError(f"cannot read {path} ({error}): pass --overwrite to start afresh") from None
    if not isinstance(settings, dict):
        raise RunError(f"{path} holds no settings: pass --overwrite to start afresh")
    return settings


def settings_differences(
    started: dict[str, Any],
    now: dict[str, Any],
    *,
    free: frozenset[str],
    recorded_since: frozenset[str] = frozenset(),
) -> list[str]:
    """`name: started -> now` for every setting other than those in `free` that differs;
    those in `recorded_since` only if the run recorded them (an older release did not)."""
    return [
        f"{name}: {started.get(name)!r} -> {now.get(name)!r}"
        for name in sorted(started.keys() | now.keys())
        if name not in free
        and (name in started or name not in recorded_since)
        and started.get(name) != now.get(name)
    ]


def write_history(history: dict[str, list[float]], path: Path) -> None:
    """One row per epoch, one column per Keras metric name (loss, val_loss, ...)."""
    names = list(history)
    epochs = len(history[names[0]]) if names else 0
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["epoch", *names])
    for epoch in range(epochs):
        writer.writerow([epoch + 1, *(history[name][epoch] for name in names)])
    with atomic_files.replacing(path) as temporary:
        temporary.write_text(text.getvalue(), encoding="utf-8", newline="")


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
    with atomic_files.replacing(path) as temporary:
        fig.savefig(temporary, dpi=100, format="png")
    plt.close(fig)
