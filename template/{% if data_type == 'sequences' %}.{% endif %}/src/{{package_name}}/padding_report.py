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
        self._loader_epoch = loader.epoch

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # The loader's own count, which Keras advances before the first epoch and again
        # as each pass ends, before on_epoch_end: read it while this pass is running.
        self._loader_epoch = self.loader.epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["padding_fraction"] = self.loader.padding_fraction(self._loader_epoch)
