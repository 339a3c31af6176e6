"""Float feature sequences: the width and length the model takes, and checks on the values.

A sequence is a float32 array of shape (steps, NUM_FEATURES), one row per time step, with
at least one step and every value finite. Padding is PAD_VALUE (NaN) in every feature of a
step (masking.py): as real values are finite, no real step can look like padding, an
all-zero one included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .data_errors import DataError
from .settings import MAX_LENGTH, NUM_FEATURES

# The largest float32: bigger values would be inf once the loader casts them.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_steps(steps: ArrayLike, where: str) -> np.ndarray:
    """`steps` as a float32 array (steps, NUM_FEATURES), or DataError naming `where` (a sample,
    a file line) and the first bad step.

    Empty sequences are refused: a row of padding only has nothing to learn from and breaks
    masked recurrent layers (cuDNN rejects all-masked rows).
    """
    try:
        array = np.asarray(steps)
    except ValueError:
        # NumPy refuses ragged nesting: steps of different widths.
        raise DataError(
            f"{where}: every time step must hold {NUM_FEATURES} features, but the steps "
            "have different widths"
        ) from None
    if array.ndim != 2 or array.shape[1] != NUM_FEATURES:
        raise DataError(
            f"{where}: a sequence must have shape (steps, {NUM_FEATURES}), {NUM_FEATURES} "
            f"features per time step, got shape {array.shape}"
        )
    if len(array) == 0:
        raise DataError(f"{where}: the sequence is empty; every sequence needs a time step")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise DataError(f"{where}: features must be numbers, got dtype {array.dtype}")
    values = array.astype(np.float64, copy=False)
    # NaN fails the comparison, so this refuses NaN, inf and values beyond float32.
    bad = ~(np.abs(values) <= FLOAT32_MAX)
    if bad.any():
        step, feature = np.argwhere(bad)[0]
        raise DataError(
            f"{where}: features must be finite float32 numbers (NaN marks padding): "
            f"{int(bad.sum())} are not, the first at step {step}, feature {feature}: "
            f"{values[step, feature]}"
        )
    return array.astype(np.float32, copy=False)


def check_feature_sequences(inputs: Sequence[ArrayLike]) -> list[np.ndarray]:
    """Every sequence checked (DataError naming the first bad sample) and as float32."""
    if isinstance(inputs, np.ndarray) and inputs.dtype != object:
        raise DataError(
            f"inputs must be a list of (steps, {NUM_FEATURES}) arrays, got one array of shape "
            f"{inputs.shape}; pass list(inputs) if its first axis holds the sequences"
        )
    return [check_steps(steps, f"sample {i}") for i, steps in enumerate(inputs)]


def sequence_lengths(sequences: Sequence[np.ndarray]) -> np.ndarray:
    """Time steps the model sees per sequence: longer ones are cut to MAX_LENGTH."""
    return np.minimum([len(steps) for steps in sequences], MAX_LENGTH).astype(np.int64)
