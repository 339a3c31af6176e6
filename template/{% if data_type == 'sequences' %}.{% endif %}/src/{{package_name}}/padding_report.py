"""A Keras callback that reports how much of each training epoch was padding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras

if TYPE_CHECKING:
    # Only for the annotation: data.py imports this module to offer the callback to train.
    from .data import TokenSequence


class PaddingReport(keras.callbacks.Callback):
    """Adds `padding_fraction` (padding tokens / all token slots) to each epoch's logs.

    Keras prints it with the loss and History keeps it, so history.csv shows what
    bucketing saves. Computed from the epoch's order and the lengths: no batch is read.
    """

    def __init__(self, loader: TokenSequence) -> None:
        super().__init__()
        self.loader = loader

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # fit's epoch is the loader's (TrainerEpoch sets it).
        if logs is not None:
            logs["padding_fraction"] = self.loader.padding_fraction(epoch)
