"""Training stops at the first batch whose loss is not a finite number.

Once the loss is NaN or infinite it does not come back: the gradient carries the NaN into
every weight it reaches, and a run that went on would save a model that predicts NaN. Keras
reports the mean loss of the epoch so far after each batch, so the first bad batch makes it
NaN (or infinite) at once, and train stops there, before the epoch's backup: the run keeps
its last finite epoch.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from .runs import RunError


class NonFiniteLoss(RunError):
    """The training loss became NaN or infinite; the message names the epoch and batch."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raise NonFiniteLoss at the end of the first batch whose loss is NaN or infinite.

    Unlike keras.callbacks.TerminateOnNaN, which ends fit as if the run were done (and train
    would then save the broken model), it raises: nothing is saved after the bad batch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = float(loss)
        if not math.isfinite(value):
            raise NonFiniteLoss(
                f"the training loss is {value} after batch {batch + 1} of epoch {self.epoch + 1}"
            )
