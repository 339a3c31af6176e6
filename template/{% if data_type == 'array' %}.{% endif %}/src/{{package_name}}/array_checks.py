"""Checks on input arrays before training: numeric dtype, samples on axis 0, finite values.

A memmap is checked in row chunks (memmap_rows.row_chunks), never read whole into memory.
"""

from __future__ import annotations

import numpy as np

from .memmap_rows import row_chunks


def check_numeric(array: np.ndarray, name: str = "inputs") -> None:
    """Raise ValueError unless `array` holds real numbers with samples on axis 0."""
    if array.ndim < 1:
        raise ValueError(f"{name} must have samples on axis 0, got a 0-d array")
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(f"{name} must be a numeric array, got dtype {array.dtype}")


def check_finite(array: np.ndarray, name: str = "inputs") -> None:
    """Raise ValueError naming the first row that holds NaN or infinity."""
    if not np.issubdtype(array.dtype, np.floating):
        return  # integers are always finite
    for start, chunk in row_chunks(array):
        bad = ~np.isfinite(chunk.reshape(len(chunk), -1)).all(axis=1)
        if bad.any():
            row = start + int(np.argmax(bad))
            raise ValueError(
                f"{name} must be finite: row {row} holds NaN or infinity "
                f"(checked rows 0 to {start + len(chunk) - 1} of {len(array)} so far)"
            )
