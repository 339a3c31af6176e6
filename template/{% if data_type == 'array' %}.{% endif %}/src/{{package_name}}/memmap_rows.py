"""Reading an np.memmap without holding it: whole-array passes in row chunks, and rows read
from its file, so a file larger than memory is never resident whole."""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from .data_errors import DataError

# What a whole-array pass (the NaN check at construction) holds at once: 16 MiB adds little
# to a process's memory (64 MiB chunks were 72 MiB of a torch process's 1 GiB peak on
# the benchmarks' memmap) and reads at the same speed.
CHUNK_BYTES = 16 * 1024 * 1024


class ShortFileError(DataError, OSError):
    """A memmap's file is shorter than the array read from it: truncated or replaced since."""


def row_chunks(array: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first row, rows) in pieces of about CHUNK_BYTES each."""
    row_bytes = max(1, array[:1].nbytes)
    step = max(1, CHUNK_BYTES // row_bytes)
    file_rows = FileRows.of(array)
    for start in range(0, len(array), step):
        stop = min(start + step, len(array))
        if file_rows is None:
            yield start, np.asarray(array[start:stop])
        else:
            yield start, file_rows.read_range(start, stop)


class FileRows:
    """Rows of an np.memmap read from its file with preadv, never through the mapping.

    Pages read through a mapping stay in the process's resident memory until the kernel
    wants the RAM back, so a shuffled epoch over a memmap grows RSS to about the file's
    size; madvise(MADV_DONTNEED) after each batch made reading several times slower (the
    kernel maps large folios around every row). Figures: the template's
    docs/performance.md. preadv copies just the rows; the page cache still serves a file
    read again from memory. Threads may share one reader.
    """

    def __init__(
        self, path: str, offset: int, row_stride: int, row_shape: tuple[int, ...], dtype: Any
    ) -> None:
        self.path = path
        self.offset = offset
        self.row_stride = row_stride
        self.row_shape = row_shape
        self.dtype = np.dtype(dtype)
        self._row_bytes = int(np.prod(row_shape, dtype=np.int64)) * self.dtype.itemsize
        self._fd = os.open(path, os.O_RDONLY)

    @classmethod
    def of(cls, array: np.ndarray) -> FileRows | None:
        """A reader of `array`'s rows, or None unless it is rows of a file pread can read.

        None for arrays in memory, copy-on-write memmaps (mode "c": their changes are not
        in the file), rows that are not contiguous in the file, and systems without preadv.
        """
        root = _file_memmap(array)
        if root is None or not hasattr(os, "preadv") or array.ndim == 0 or len(array) == 0:
            return None
        row_shape = array.shape[1:]
        contiguous = np.empty((1, *row_shape), dtype=array.dtype).strides[1:]
        if array.strides[1:] != contiguous or array.strides[0] < 0:
            return None
        # Where this view starts in the file: the mapped array's offset plus the distance
        # between the two arrays' first bytes (a slice of a memmap keeps its parent's offset).
        start = _address(array) - _address(root) + root.offset
        return cls(os.fspath(root.filename), start, array.strides[0], row_shape, array.dtype)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The rows `rows` (in that order), as a new array."""
        out = np.empty((len(rows), *self.row_shape), dtype=self.dtype)
        buffer = memoryview(out).cast("B")
        size = self._row_bytes
        for position, row in enumerate(rows.tolist()):
            target = buffer[position * size : (position + 1) * size]
            read = os.preadv(self._fd, [target], self.offset + row * self.row_stride)
            if read != size:
                raise ShortFileError(
                    f"{self.path} ended at row {row}: it is shorter than the array read from it "
                    "(was the file truncated or replaced?)"
                )
        return out

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Rows start to stop - 1, as a new array: one read when they are adjacent in the file."""
        if self.row_stride != self._row_bytes:
            return self.take(np.arange(start, stop))
        out = np.empty((stop - start, *self.row_shape), dtype=self.dtype)
        buffer = memoryview(out).cast("B")
        first = self.offset + start * self.row_stride
        done = 0
        while done < len(buffer):  # a large read may return in parts
            read = os.preadv(self._fd, [buffer[done:]], first + done)
            if read == 0:
                raise ShortFileError(
                    f"{self.path} ended before row {stop - 1}: it is shorter than the array "
                    "read from it (was the file truncated or replaced?)"
                )
            done += read
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_fd"]  # a descriptor is only valid in its own process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fd = os.open(self.path, os.O_RDONLY)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


def _file_memmap(array: np.ndarray) -> np.memmap | None:
    """The memmap mapping a whole file region that `array` views, if any and not mode "c"."""
    base: object = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap) and isinstance(base.base, mmap.mmap):
            return base if base.mode != "c" and base.filename else None
        base = base.base
    return None


def _address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])
