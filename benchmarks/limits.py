"""What bounds an image loader, measured beside it: how fast one thread decodes and resizes
the same files with no loader around it (Pillow, and simplejpeg for the JPEG files).

A loader's own rate over this one is what it adds to the decoding (its checks, batching,
threads, Keras's queue); the decoding itself is the floor of any loader that decodes
every epoch. The other limit, fit on a model whose step costs next to nothing, is
benchmarks.common.null_model.

Both decoders do the project's pixel work (images.py: draft, convert, bilinear resize): a
JPEG is decoded at 1/2, 1/4 or 1/8 scale where that leaves at least twice the target size,
as Pillow's `draft` does with the project's REDUCING_GAP, so both decode the same number of
pixels; simplejpeg (libjpeg-turbo, as Pillow's own JPEG decoder here) skips Pillow's file
parsing in Python. PNG files go through Pillow in both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

# The project's REDUCING_GAP (images.py): JPEG decoded at no less than twice the target.
REDUCING_GAP = 2
PILLOW = "decode only: Pillow, 1 thread"
SIMPLEJPEG = "decode only: simplejpeg for JPEG, Pillow for PNG, 1 thread"
NOTE = (
    "no loader: open, decode (JPEG at 1/2-1/8 scale where that leaves twice the target, "
    "as the project's draft), RGB, bilinear resize, uint8"
)
# A decoder: (path, (height, width)) -> uint8 pixels (height, width, 3).
Decoder = Callable[[str, tuple[int, int]], np.ndarray]


def pillow_decode(path: str, size: tuple[int, int]) -> np.ndarray:
    """The file's pixels at `size` (height, width), RGB, decoded and resized by Pillow."""
    from PIL import Image

    height, width = size
    with Image.open(path) as image:
        image.draft("RGB", (width * REDUCING_GAP, height * REDUCING_GAP))
        resized = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized)


def simplejpeg_decode(path: str, size: tuple[int, int]) -> np.ndarray:
    """pillow_decode, but a JPEG file decoded by simplejpeg (at Pillow's draft scale)."""
    if not path.lower().endswith((".jpg", ".jpeg")):
        return pillow_decode(path, size)
    import simplejpeg
    from PIL import Image

    height, width = size
    with open(path, "rb") as file:
        data = file.read()
    file_height, file_width, _, _ = simplejpeg.decode_jpeg_header(data)
    scale = draft_scale(file_width, file_height, width, height)
    # The least size at this scale: libjpeg-turbo picks exactly 1/scale.
    pixels = simplejpeg.decode_jpeg(
        data, "RGB", min_height=-(-file_height // scale), min_width=-(-file_width // scale)
    )
    resized = Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized)


def draft_scale(file_width: int, file_height: int, width: int, height: int) -> int:
    """The reduction Pillow's draft picks for a JPEG: 8, 4, 2 or 1, the largest that leaves
    at least REDUCING_GAP times the target on both sides."""
    fits = min(file_width // (width * REDUCING_GAP), file_height // (height * REDUCING_GAP))
    return next(scale for scale in (8, 4, 2, 1) if scale <= max(fits, 1))


DECODERS: dict[str, Decoder] = {PILLOW: pillow_decode, SIMPLEJPEG: simplejpeg_decode}


def decode_rate(paths: Sequence[str], decode: Decoder, size: tuple[int, int]) -> float:
    """Images per second of one pass decoding `paths` in this thread."""
    start = time.perf_counter()
    for path in paths:
        decode(path, size)
    return len(paths) / (time.perf_counter() - start)
