"""Checks on input arrays before training: numeric dtype, samples on axis 0, and values
that stay finite as the float32 the loader yields.

A memmap is checked in row chunks (memmap_rows.row_chunks), never read whole into memory,
and named by its file in every message.
"""

from __future__ import annotations

import numpy as np

from .data_errors import DataError
from .memmap_rows import row_chunks

# The largest float32: a bigger float64 becomes infinity when the loader casts it.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def array_name(array: np.ndarray, default: str = "inputs") -> str:
    """What messages call `array`: its file for a memmap of one, else `default`."""
    filename = getattr(array, "filename", None)
    return str(filename) if filename else default


def check_numeric(array: np.ndarray, name: str | None = None) -> None:
    """Raise DataError unless `array` holds real numbers with samples on axis 0."""
    name = name or array_name(array)
    if array.ndim < 1:
        raise DataError(f"{name}: samples must lie on axis 0, got a 0-d array")
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise DataError(f"{name}: a numeric array is needed, got dtype {array.dtype}")


def check_finite(array: np.ndarray, name: str | None = None) -> None:
    """Raise DataError naming the first row holding NaN, infinity, or a value float32
    cannot hold (beyond +-FLOAT32_MAX): the model would see NaN or infinity there."""
    if not np.issubdtype(array.dtype, np.floating):
        return  # integers are always finite, and int64's largest is far below FLOAT32_MAX
    name = name or array_name(array)
    for start, chunk in row_chunks(array):
        rows = chunk.reshape(len(chunk), -1)
        with np.errstate(over="ignore", invalid="ignore"):  # the overflow is what is sought
            finite = np.isfinite(rows.astype(np.float32, copy=False))  # no copy of float32 rows
        bad = ~finite.all(axis=1)
        if bad.any():
            row = start + int(np.argmax(bad))
            value = float(rows[row - start][~finite[row - start]][0])
            too_large = f"beyond float32's range (largest {FLOAT32_MAX:.3g})"
            why = too_large if np.isfinite(value) else "not finite"
            raise DataError(
                f"{name}, row {row}: {value:g} is {why}; every "
                f"value must be a finite float32 (checked rows 0 to {start + len(chunk) - 1} "
                f"of {len(array)} so far)"
            )
