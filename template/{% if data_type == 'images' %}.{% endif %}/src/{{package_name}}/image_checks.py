"""Every image file checked at construction, before any training: found, opened, complete.

What a bad file would otherwise raise mid-epoch, from a worker, one file at a time, is
found here for all of them at once, each named with what is wrong:

- not a regular file: missing, a broken symbolic link, a folder (MissingImagesError);
- not an image: empty, unreadable, not a format Pillow identifies, a broken header, or
  larger than Pillow's guard against decompression bombs allows (UnreadableImageError);
- cut short: a PNG, JPEG or GIF that does not end in its end marker, or a BMP shorter
  than its header says, is decoded in full, which tells a truncated file (an error) from
  one with bytes after its end (used as it is). So is a file of any other format Pillow
  reads (TIFF, WebP, ...), which has no end that is cheap to check.

Pixels are not decoded otherwise: damage inside the compressed data of a file that is
complete is found when the file is read in training, and named then (load_image).

The cost is opening each file and parsing its header, in Python: about 0.1 ms a file from
the page cache, a few per cent of decoding it (the README has the benchmark's figure).
Threads would only fight over the GIL there, so they are used when the disk is slow to
answer (SLOW_FILE_SECONDS), to overlap its waits. A check that takes more than
PROGRESS_SECONDS prints its progress to stderr.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from PIL import Image

from .data_errors import DataError
from .images import (
    MissingImagesError,
    UnreadableImageError,
    decode_image,
    decode_problem,
    file_problem,
    problem_list,
)

# Files checked at a time: the first chunk tells whether threads would help; then a chunk is
# a task of the thread pool (its overhead small against this many headers).
CHUNK = 256
# Seconds a file may take, on average over the first chunk, before the rest are checked in
# threads. Measured on 2 cores: 0.1 ms a file from the page cache, 0.25 ms from a local disk,
# where threads only fight over the GIL (8 threads took 2.5 times as long); a network disk
# that answers in milliseconds keeps one thread waiting, and threads overlap the waits.
SLOW_FILE_SECONDS = 0.001
# Threads that check chunks at once on a slow disk.
THREADS = 8
# A check still running after this many seconds prints how far it is, then again each time.
PROGRESS_SECONDS = 5.0

# The bytes a complete file of each format ends with: PNG's IEND chunk, JPEG's end of image
# (MPO: a camera's multi-picture JPEG), GIF's last block terminator and its trailer.
END_MARKERS = {
    "PNG": b"\x00\x00\x00\x00IEND\xaeB`\x82",
    "JPEG": b"\xff\xd9",
    "MPO": b"\xff\xd9",
    "GIF": b"\x00;",
}

# A file's problem: the error type it calls for and what is wrong, or None.
Problem = tuple[type[DataError], str] | None


def check_image_files(paths: Sequence[str]) -> None:
    """Raise MissingImagesError or UnreadableImageError if any of `paths` is not a good image.

    All bad files are reported at once, in input order: the first NAMED named with what is
    wrong with each, the others counted. MissingImagesError if any is missing or not a
    regular file, UnreadableImageError otherwise.
    """
    found = [(path, problem) for path, problem in _check_all(paths) if problem is not None]
    if not found:
        return
    error_type = (
        MissingImagesError
        if any(problem[0] is MissingImagesError for _, problem in found)
        else UnreadableImageError
    )
    summary = f"{len(found):,} of {len(paths):,} image files cannot be used"
    raise error_type(problem_list([(path, problem[1]) for path, problem in found], summary))


def _check_all(paths: Sequence[str]) -> list[tuple[str, Problem]]:
    """Each path and its problem: in this thread while files are quick to check, in a pool of
    THREADS once the first CHUNK of them show that the disk keeps the check waiting."""
    progress = Progress(len(paths))
    began = time.monotonic()
    results = [(path, image_problem(path)) for path in paths[:CHUNK]]
    slow = time.monotonic() - began > SLOW_FILE_SECONDS * len(results)
    progress.update(len(results))
    rest = paths[CHUNK:]
    chunks = [rest[start : start + CHUNK] for start in range(0, len(rest), CHUNK)]
    pool = ThreadPoolExecutor(THREADS, thread_name_prefix="image-check") if slow else None
    try:
        checked = map(_check_chunk, chunks) if pool is None else pool.map(_check_chunk, chunks)
        for chunk, problems in zip(chunks, checked, strict=True):
            results += zip(chunk, problems, strict=True)
            progress.update(len(results))
    finally:
        if pool is not None:
            # Ctrl-C: drop the chunks not started rather than wait for them.
            pool.shutdown(cancel_futures=True)
    progress.finish()
    return results


def _check_chunk(paths: Sequence[str]) -> list[Problem]:
    return [image_problem(path) for path in paths]


def image_problem(path: str) -> Problem:
    """What is wrong with the image file at `path`, as far as can be told cheaply, or None."""
    problem = file_problem(path)
    if problem is not None:
        return MissingImagesError, problem
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            # Parses the header only; the pixels are read by load() (never called here).
            with Image.open(file) as image:
                complete = _is_complete(file, size, image.format)
        if not complete:
            # No end where it should be: only decoding tells truncated from trailing bytes.
            decode_image(path)
    except Exception as error:
        return UnreadableImageError, decode_problem(path, error)
    return None


def _is_complete(file: BinaryIO, size: int, image_format: str | None) -> bool:
    """Whether the file ends as a complete file of its format does; False if unknown."""
    if image_format == "BMP":
        # Bytes 2-5 of a BMP hold its size (some writers leave 0 there: such a file passes).
        file.seek(2)
        return int.from_bytes(file.read(4), "little") <= size
    marker = END_MARKERS.get(image_format or "")
    if marker is None:
        return False
    file.seek(max(0, size - len(marker)))
    return file.read() == marker


class Progress:
    """Lines like `checking image files: 52,000 of 260,000` on stderr, every PROGRESS_SECONDS.

    Nothing for a check that ends sooner: test sets and small datasets stay quiet.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.shown = True
            print(f"checking image files: {done:,} of {self.total:,}", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.shown:
            seconds = time.monotonic() - self.start
            print(f"checked {self.total:,} image files in {seconds:.0f} s", file=sys.stderr)
