"""Opening .npy files with errors that name the file and say what is wrong with it.

np.load's own errors name neither the file nor the cause a user can act on ("mmap
length is greater than file size" for a truncated file, for example), and a file of
Python objects would need pickle, which runs code: such files are refused, never loaded.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .data_errors import DataError

SAVE_HINT = "save a numeric array with np.save(path, array)"


def read_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """The shape, dtype and data offset that the header of the .npy file `path` gives."""
    with path.open("rb") as f:
        try:
            version = np.lib.format.read_magic(f)
        except ValueError:
            raise DataError(f"{path}: not a .npy file (no NumPy header); {SAVE_HINT}") from None
        try:
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        except ValueError as error:
            raise DataError(f"{path}: its .npy header cannot be read ({error})") from None
        return shape, dtype, f.tell()


def open_npy(path: Path, *, memory_map: bool) -> np.ndarray:
    """The array in `path` (an np.memmap if `memory_map`), checked before it is opened:
    a header NumPy writes, no Python objects, and all the bytes the header promises."""
    shape, dtype, offset = read_header(path)
    if dtype.hasobject:
        raise DataError(
            f"{path}: holds Python objects (dtype {dtype}), not numbers; loading it would "
            f"need pickle, which can run code: {SAVE_HINT}"
        )
    expected = math.prod(shape) * dtype.itemsize
    present = path.stat().st_size - offset
    if present < expected:
        raise DataError(
            f"{path}: truncated: its header says shape {shape} of {dtype}, {expected:,} bytes "
            f"of data, but the file holds {present:,}; write it again"
        )
    try:
        return np.load(path, mmap_mode="r" if memory_map else None, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise DataError(f"{path}: cannot be read as .npy ({error})") from None
