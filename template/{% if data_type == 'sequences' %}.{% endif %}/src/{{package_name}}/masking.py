"""The padding of float feature sequences, and the layer that turns it into a Keras mask.

The loader fills the time steps a sequence does not have with PAD_VALUE (NaN) in every
feature. Real features are finite (features.py checks them), so a step is padding exactly
when its features are NaN: unlike keras.layers.Masking(0.0), a real all-zero step is never
masked. PaddingMask, the model's first layer, replaces the NaN with 0 (NaN would poison
every sum it enters, masked or not) and attaches the mask, which masked layers (RNNs,
GlobalAveragePooling1D) then follow.

data.py imports this module, and train, predict and the tests import data.py: so the
layer is registered with Keras whenever the project loads a saved model.keras. To load one
in code of your own, import this module first.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

PAD_VALUE = np.float32(np.nan)


def padding_steps(x: np.ndarray) -> np.ndarray:
    """Which time steps of a batch x (batch, steps, features) are padding: all NaN."""
    return np.isnan(x).all(axis=-1)


@keras.saving.register_keras_serializable(package="sequence_padding")
class PaddingMask(keras.layers.Layer):
    """Masks the time steps that are all NaN (the loader's padding) and zeroes them.

    Input and output are (batch, steps, features); the mask is (batch, steps), True for
    real steps. A NaN in a real step cannot reach it: the loader refuses such inputs.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return keras.ops.where(keras.ops.isnan(inputs), keras.ops.zeros_like(inputs), inputs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return keras.ops.logical_not(keras.ops.all(keras.ops.isnan(inputs), axis=-1))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape
