"""Training-time augmentation for images: flips, small rotations and shifts, brightness, contrast.

The transform of a sample depends only on (seed, epoch, sample id), so thread and process
workers build identical batches, a rerun repeats them, and each epoch sees new ones. The
whole batch is transformed at once in NumPy: one bilinear resampling for the geometry,
then brightness and contrast, then a clip, so x keeps its shape and dtype and stays in [0, 1].
"""

from __future__ import annotations

import numpy as np

from .randomness import uniform

# Chance that an image is mirrored left to right. 0 by default: digits (the demo), text
# and many other images change meaning when mirrored, and flips cost the digits demo
# validation accuracy (figures in the template's docs/performance.md). Use 0.5 for photos
# of objects that look the same mirrored.
FLIP_PROBABILITY = 0.0
# Rotation by up to this many degrees either way, about the image centre.
MAX_ROTATION_DEGREES = 10.0
# Shift by up to this fraction of the height (vertically) and width (horizontally).
MAX_SHIFT_FRACTION = 0.1
# Brightness: up to this much is added to or subtracted from every value (x is in [0, 1]).
MAX_BRIGHTNESS_DELTA = 0.1
# Contrast: the distance of each value from its image's mean is scaled by a factor in
# [1 - MAX_CONTRAST_CHANGE, 1 + MAX_CONTRAST_CHANGE].
MAX_CONTRAST_CHANGE = 0.2


def augment_batch(x: np.ndarray, samples: np.ndarray, *, seed: int, epoch: int) -> np.ndarray:
    """Return a transformed copy of x (batch, height, width, channels), float32 in [0, 1].

    Row i is transformed by numbers keyed on (seed, epoch, samples[i]) alone, so a sample
    gets the same transform in whichever batch, worker or run it appears.
    """
    _, height, width, _ = x.shape
    # Fixed columns: switching one transform off never changes the others' numbers.
    u = uniform(seed, epoch, samples, 6)
    flip = u[:, 0] < FLIP_PROBABILITY
    angle = np.deg2rad(MAX_ROTATION_DEGREES) * (2 * u[:, 1] - 1)
    shift_y = MAX_SHIFT_FRACTION * height * (2 * u[:, 2] - 1)
    shift_x = MAX_SHIFT_FRACTION * width * (2 * u[:, 3] - 1)
    out = _warp(x, flip, angle, shift_y, shift_x)
    contrast = (1 + MAX_CONTRAST_CHANGE * (2 * u[:, 4] - 1)).astype(np.float32)
    brightness = (MAX_BRIGHTNESS_DELTA * (2 * u[:, 5] - 1)).astype(np.float32)
    # x * c + mean * (1 - c) scales each value's distance from its image's channel mean;
    # written so, a factor of 1 and a delta of 0 leave x exactly as it was.
    contrast, brightness = contrast[:, None, None, None], brightness[:, None, None, None]
    mean = out.mean(axis=(1, 2), keepdims=True)
    out *= contrast
    out += mean * (1 - contrast) + brightness
    return np.clip(out, 0.0, 1.0, out=out)


def _warp(
    x: np.ndarray, flip: np.ndarray, angle: np.ndarray, shift_y: np.ndarray, shift_x: np.ndarray
) -> np.ndarray:
    """Flip, rotate about the centre and shift each image, by bilinear sampling.

    Source coordinates outside the image reflect back into it (as Keras's RandomRotation
    does by default), so no border of a made-up colour appears. Where the transform is the
    identity (or a plain flip), every weight is 0 or 1 and values come through exactly.
    """
    batch, height, width, channels = x.shape
    f32 = np.float32
    cy, cx = f32((height - 1) / 2), f32((width - 1) / 2)
    # For every output pixel (batch, height, width): its offset from the centre, unshifted,
    # then turned by the angle, gives the source pixel. float32 is exact for the identity.
    rows = np.arange(height, dtype=f32)[None, :, None] - cy - shift_y.astype(f32)[:, None, None]
    cols = np.arange(width, dtype=f32)[None, None, :] - cx - shift_x.astype(f32)[:, None, None]
    cos, sin = np.cos(angle).astype(f32)[:, None, None], np.sin(angle).astype(f32)[:, None, None]
    src_y = cy + (cos * rows - sin * cols)
    src_x = sin * rows + cos * cols
    src_x = cx + np.where(flip[:, None, None], -src_x, src_x)
    y0, x0 = np.floor(src_y), np.floor(src_x)
    fy, fx = (src_y - y0)[..., None], (src_x - x0)[..., None]
    y0, x0 = y0.astype(np.int32), x0.astype(np.int32)
    # Row numbers in x.reshape(-1, channels) of each pixel's four neighbours.
    first = (np.arange(batch, dtype=np.intp) * (height * width))[:, None, None]
    top = first + _reflect(y0, height) * width
    bottom = first + _reflect(y0 + 1, height) * width
    left, right = _reflect(x0, width), _reflect(x0 + 1, width)
    pixels = x.reshape(-1, channels)
    upper = np.take(pixels, top + left, axis=0)
    upper += (np.take(pixels, top + right, axis=0) - upper) * fx
    lower = np.take(pixels, bottom + left, axis=0)
    lower += (np.take(pixels, bottom + right, axis=0) - lower) * fx
    upper += (lower - upper) * fy
    return upper


def _reflect(index: np.ndarray, size: int) -> np.ndarray:
    """Map any integer index into [0, size), mirroring at the edges: b a | a b ... z | z y."""
    index = np.remainder(index, 2 * size)
    return np.where(index < size, index, 2 * size - 1 - index)
