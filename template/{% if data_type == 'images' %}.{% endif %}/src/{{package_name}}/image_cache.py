"""A bounded, never-stale cache of decoded images, for the epochs after the first.

Why: decoding and resizing an image file costs far more than the training step of a small
model on it, and every epoch decodes the same files to the same pixels again. The cache
keeps the decoded pixels of files it has read (uint8, height x width x channels bytes per
image) and serves them again for as long as the file is unchanged. Off by default: the
loader makes one only for `cache_mb > 0`.

- Bounded by bytes of decoded pixels: it fills until the next image would pass the budget,
  then keeps what it has and reads the rest from disk. No eviction: the loader visits every
  file once per epoch in a new random order, so a least-recently-used cache smaller than
  the dataset would evict most images before their next use, while a fixed part of the
  dataset hits in every epoch.
- Never stale: every hit stats the file (one system call) and compares its inode, size,
  mtime and ctime with those taken before it was decoded; on any difference the file is
  decoded again. ctime and the inode catch a rewrite that restores the old mtime (`cp -p`,
  `rsync -t`), which no program can set back.
- Thread-safe: one lock guards the table, held only to look up or store an entry, never
  while decoding, so Keras thread workers decode in parallel.
- The cached arrays are read-only (NumPy raises on a write); the loader copies them into
  each new batch, so augmentation, which runs after, never changes cached pixels.
- In memory only, never written to disk: no pixels outlive the code that decoded them.
- Per process: a pickled copy starts empty. With `use_multiprocessing=True` each worker
  process fills a cache of its own, and Keras makes new processes every epoch, so the cache
  only costs memory there; use thread workers with it.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

# cache_mb counts mebibytes of decoded pixels.
MEGABYTE = 2**20

# What identifies the content of a file without reading it: (inode, size, mtime, ctime).
Signature = tuple[int, int, int, int]


def check_cache_mb(cache_mb: int) -> None:
    """Raise ValueError naming `cache_mb` unless it is a non-negative integer."""
    if isinstance(cache_mb, bool) or not isinstance(cache_mb, (int, np.integer)) or cache_mb < 0:
        raise ValueError(
            "cache_mb must be a non-negative integer (megabytes of decoded images to keep "
            f"in memory; 0: no cache), got {cache_mb!r}"
        )


def signature(path: str) -> Signature:
    """The file's inode, size, mtime and ctime (nanoseconds); OSError if it cannot be stat'ed."""
    stat = os.stat(path)
    return stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


class ImageCache:
    """Decoded images of up to `cache_mb` MiB, each checked against its file on every hit.

    `decode(path)` makes the uint8 array of one file; `load(path)` returns the cached array
    (read-only) while the file is unchanged, and otherwise decodes it, keeping the result
    while the budget allows.
    """

    def __init__(self, cache_mb: int, decode: Callable[[str], np.ndarray]) -> None:
        check_cache_mb(cache_mb)
        self.cache_mb = int(cache_mb)
        self.max_bytes = self.cache_mb * MEGABYTE
        self.decode = decode
        self._start_empty()

    def _start_empty(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Signature, np.ndarray]] = {}
        self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes of pixels held now; never more than max_bytes."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, path: str) -> np.ndarray:
        """The decoded image of `path`: cached if its file is unchanged, decoded otherwise."""
        try:
            current = signature(path)
        except OSError:
            # Gone or unreadable: forget it and let decode raise its own error, naming path.
            self._discard(path)
            return self.decode(path)
        with self._lock:
            entry = self._entries.get(path)
        if entry is not None and entry[0] == current:
            return entry[1]
        # Stat'ed before decoding: a change during the decode shows at the next hit.
        pixels = self.decode(path)
        pixels.flags.writeable = False
        self._store(path, current, pixels)
        return pixels

    def _store(self, path: str, current: Signature, pixels: np.ndarray) -> None:
        with self._lock:
            old = self._entries.get(path)
            freed = 0 if old is None else old[1].nbytes
            if self._bytes - freed + pixels.nbytes <= self.max_bytes:
                self._entries[path] = (current, pixels)
                self._bytes += pixels.nbytes - freed
            elif old is not None:
                # Stale, and its replacement does not fit: drop it.
                del self._entries[path]
                self._bytes -= freed

    def _discard(self, path: str) -> None:
        with self._lock:
            old = self._entries.pop(path, None)
            if old is not None:
                self._bytes -= old[1].nbytes

    def describe(self, num_images: int, image_shape: tuple[int, ...]) -> str:
        """How much of `num_images` decoded images of `image_shape` (uint8) fits, for a log."""
        image_bytes = math.prod(image_shape)
        room = self.max_bytes // image_bytes
        share = "all of them" if room >= num_images else f"{room / num_images:.0%}"
        return (
            f"up to {self.cache_mb:,} MiB, room for {min(room, num_images):,} of {num_images:,} "
            f"images ({image_bytes:,} bytes each): {share}"
        )

    def __getstate__(self) -> dict[str, Any]:
        # A copy (a spawned worker process) starts empty: no pixels, no lock are pickled.
        return {"cache_mb": self.cache_mb, "max_bytes": self.max_bytes, "decode": self.decode}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start_empty()
