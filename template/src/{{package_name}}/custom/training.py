"""Your training extensions: train options, Keras callbacks, what a resumed run may change.

Yours to change (see custom/__init__.py): copier update never changes this file. train
adds these options after its own, records their values in run.json, and passes fit your
callbacks before its own backup callback, which saves what they log into history.csv.
"""

from __future__ import annotations

import argparse

import keras


def add_options(parser: argparse.ArgumentParser) -> None:
    """Your train options (the model's are in model.py), read back in `callbacks`.

    For example: parser.add_argument("--reduce-lr-patience", type=int, default=3)
    """


# Your options that a resumed run may change: those that change speed or logging, never the
# result. Every other option of yours must keep the value the run was started with.
FREE_OPTIONS: frozenset[str] = frozenset()


def callbacks(options: argparse.Namespace) -> list[keras.callbacks.Callback]:
    """Callbacks for fit, besides the project's own (epochs, backups, early stopping).

    For example keras.callbacks.ReduceLROnPlateau(patience=options.reduce_lr_patience): its
    learning rate goes into the logs, and with them into the backup and history.csv. The
    run's backup keeps each callback's state too (its attributes that pickle: patience
    counts, the best value seen), so a resumed run carries on as an uninterrupted one would.
    """
    return []
