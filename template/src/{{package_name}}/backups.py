"""A run's backup after every epoch, to resume it exactly where it stopped.

The backup holds every model variable (weights, and the state of the seed generators that
Dropout and other random layers draw from: `get_weights()` and `save_weights()` leave it
out, and a resumed run would draw other dropout masks), every optimizer variable (its
moments and step count), the history so far, the state of your callbacks
(custom/training.py: ReduceLROnPlateau's wait count, say) and, with early stopping, the best
epoch's weights. One .npz file, replaced whole after each epoch (atomic_files.py).
"""

from __future__ import annotations

import json
import math
import pickle
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from . import atomic_files
from .distribution import alone
from .keras_backend import tensorflow_only_if_imported

MONITOR = "val_loss"
# What Keras gives a callback for each fit: the model and fit's parameters.
CALLBACK_SETUP = frozenset({"_model", "model", "params"})


@dataclass
class Progress:
    """What a run has done so far: its completed epochs' history and its best epoch."""

    history: dict[str, list[float]] = field(default_factory=dict)
    best_weights: list[np.ndarray] | None = None
    # Each of your callbacks' attributes (callback_state), in callback order.
    callback_states: list[dict[str, Any]] = field(default_factory=list)

    @property
    def epochs_done(self) -> int:
        return len(next(iter(self.history.values()), []))

    def best_epoch(self) -> int | None:
        """The 0-based epoch of the lowest validation loss so far (the first of equals)."""
        losses = [loss for loss in self.history.get(MONITOR, []) if not math.isnan(loss)]
        if not losses:
            return None
        return self.history[MONITOR].index(min(losses))

    def stopped_early(self, patience: int | None) -> bool:
        """Whether `patience` epochs have passed without a new best (never without patience)."""
        if patience is None or not self.epochs_done:
            return False
        best = self.best_epoch()
        return self.epochs_done - 1 - (-1 if best is None else best) >= patience


def _variables(model: keras.Model) -> tuple[list[keras.Variable], list[keras.Variable]]:
    return list(model.variables), list(model.optimizer.variables)


def save_model(model: keras.Model, path: Path) -> None:
    """model.save(path), whole or not at all, by one process of a distributed run, without
    Keras importing TensorFlow on JAX and torch to look for its types."""
    with atomic_files.replacing(path) as temporary, alone(), tensorflow_only_if_imported():
        model.save(temporary)


def save_backup(path: Path, model: keras.Model, progress: Progress) -> None:
    """Write the backup of `model` (built, with a built optimizer) after `progress`."""
    model_variables, optimizer_variables = _variables(model)
    arrays = {f"model/{i}": np.asarray(v) for i, v in enumerate(model_variables)}
    arrays |= {f"optimizer/{i}": np.asarray(v) for i, v in enumerate(optimizer_variables)}
    for i, value in enumerate(progress.best_weights or []):
        arrays[f"best/{i}"] = value
    # Pickled (as bytes: the file itself loads with allow_pickle=False), as Keras objects
    # such as ReduceLROnPlateau's comparison function are no plain values.
    arrays["callbacks"] = np.frombuffer(pickle.dumps(progress.callback_states), dtype=np.uint8)
    about = {
        "history": progress.history,
        "model_variables": [v.path for v in model_variables],
        "optimizer_variables": [v.path for v in optimizer_variables],
        "best_weights": progress.best_weights is not None,
    }
    arrays["about"] = np.array(json.dumps(about))
    with atomic_files.replacing(path) as temporary, temporary.open("wb") as f:
        np.savez(f, **arrays)


def saved_progress(path: Path) -> Progress:
    """The history a backup holds, without its variables: what a run has done."""
    with np.load(path, allow_pickle=False) as saved:
        return Progress(history=json.loads(str(saved["about"]))["history"])


def load_backup(path: Path, model: keras.Model) -> Progress:
    """Set `model`'s and its optimizer's variables from the backup; return its progress."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model_variables, optimizer_variables = _variables(model)
    with np.load(path, allow_pickle=False) as saved:
        about = json.loads(str(saved["about"]))
        for kind, variables in (("model", model_variables), ("optimizer", optimizer_variables)):
            # Shapes, not names: Keras numbers layer names per process (dense_1, dense_2, ...).
            shapes = [tuple(v.shape) for v in variables]
            count = len(about[f"{kind}_variables"])
            saved_shapes = [saved[f"{kind}/{i}"].shape for i in range(count)]
            if saved_shapes != shapes:
                raise ValueError(
                    f"{path} was saved from another {kind}: variable shapes {saved_shapes}, "
                    f"this {kind} has {shapes}"
                )
            for i, variable in enumerate(variables):
                variable.assign(saved[f"{kind}/{i}"])
        best = None
        if about["best_weights"]:
            best = [saved[f"best/{i}"] for i in range(len(model_variables))]
        # None in backups of 0.10.0 and before; written by this project's train, like the
        # rest of the run folder.
        states = pickle.loads(saved["callbacks"].tobytes()) if "callbacks" in saved else []
    return Progress(history=about["history"], best_weights=best, callback_states=states)


def callback_state(callback: keras.callbacks.Callback) -> dict[str, Any]:
    """The attributes of `callback` that pickle, but for the model and fit's parameters:
    what a callback such as ReduceLROnPlateau or EarlyStopping carries from one epoch to the
    next (counters, the best value seen, the settings it adjusts as it starts)."""
    state = {}
    for name, value in vars(callback).items():
        if name in CALLBACK_SETUP:
            continue
        try:
            pickle.dumps(value)
        except Exception:  # a file, a lock, a writer: what the callback makes anew, if any
            continue
        state[name] = value
    return state


def check_room(backup: Path, *, models: int) -> None:
    """Refuse to train without room for the next backup beside `backup` and for `models`
    saved models (each about a backup's size: weights and optimizer)."""
    size = backup.stat().st_size
    needed, free = size * (1 + models), shutil.disk_usage(backup.parent).free
    if free < needed:
        raise atomic_files.WriteError(
            f"no room to train in {backup.parent}: its backups and model need "
            f"{needed / 2**20:.1f} MiB, {free / 2**20:.1f} MiB are free"
        )


class RunBackup(keras.callbacks.Callback):
    """After each epoch: history, the best model and early stopping, then the backup.

    Everything it decides comes from the history, which the backup keeps, so a resumed
    run keeps the best model and stops early exactly as the uninterrupted run would.
    Put it last among fit's callbacks: it records the logs the others have added to.
    With `write=False` (every process of a distributed run but the first) it keeps the
    history and decides as the writing one does, and writes nothing.
    """

    def __init__(
        self,
        path: Path,
        progress: Progress,
        *,
        best_model_path: Path | None = None,
        patience: int | None = None,
        write: bool = True,
        kept_callbacks: Sequence[keras.callbacks.Callback] = (),
    ) -> None:
        super().__init__()
        self.path = path
        self.progress = progress
        self.best_model_path = best_model_path
        self.patience = patience
        self.write = write
        # Callbacks whose state (callback_state) the backup keeps: yours.
        self.kept_callbacks = list(kept_callbacks)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # After the kept callbacks' own on_train_begin, which resets them (this one is last):
        # a resumed run carries on with the state they had after its last completed epoch.
        # strict=False: a backup of 0.10.0 or before has no states.
        states = self.progress.callback_states
        for callback, state in zip(self.kept_callbacks, states, strict=False):
            for name, value in state.items():
                setattr(callback, name, value)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for name, value in (logs or {}).items():
            self.progress.history.setdefault(name, []).append(float(value))
        best = self.progress.best_epoch()
        if best == epoch:
            if self.best_model_path is not None and self.write:
                save_model(self.model, self.best_model_path)
            if self.patience is not None:
                self.progress.best_weights = [np.array(v) for v in self.model.variables]
        if self.progress.stopped_early(self.patience):
            self.model.stop_training = True
        self.progress.callback_states = [callback_state(c) for c in self.kept_callbacks]
        if self.write:
            save_backup(self.path, self.model, self.progress)

    def restore_best_weights(self) -> None:
        """Give the model the best epoch's weights, if early stopping kept them."""
        best = self.progress.best_weights
        if best is not None:
            for variable, value in zip(self.model.variables, best, strict=True):
                variable.assign(value)
