"""Training-time augmentation for float feature sequences: random crops and Gaussian noise.

A sequence longer than MAX_LENGTH steps is cut to a window at a random offset instead of its
first MAX_LENGTH steps, and every real feature value gets Gaussian noise of NOISE_SCALE times
that feature's standard deviation over the sample's steps, so features of any scale are
disturbed alike. Padding stays padding: a sample's length stays min(len, MAX_LENGTH) in every
epoch, which the loader's padding arithmetic relies on. Everything depends only on (seed,
epoch, sample id, position), so thread and process workers build identical batches, a rerun
repeats them, and each epoch sees new ones.
"""

from __future__ import annotations

import numpy as np

from .features import MAX_LENGTH
from .randomness import uniform

# The noise's standard deviation per feature, as a share of the feature's own spread over
# the sample: small enough to keep what a sequence says, 0 switches the noise off.
NOISE_SCALE = 0.1

# Fixed columns of uniform(): column 0 places the crop, columns 1 + 2 * (p * features + f)
# and the next one give the noise of step p, feature f. Each column depends only on its own
# counter, so a step's noise does not depend on how far the batch is padded, and the crop
# offset is independent of the noise.
_CROP_COLUMN = 0
_FIRST_NOISE_COLUMN = 1


def crop(steps: np.ndarray, sample: int, *, seed: int, epoch: int) -> np.ndarray:
    """A window of MAX_LENGTH consecutive steps at an offset keyed by (seed, epoch, sample).

    Every offset 0 .. len(steps) - MAX_LENGTH is equally likely. A sequence of at most
    MAX_LENGTH steps is returned as it is; a longer one as a view into it.
    """
    choices = len(steps) - MAX_LENGTH + 1
    if choices <= 1:
        return steps
    u = uniform(seed, epoch, np.array([sample]), _CROP_COLUMN + 1)[0, _CROP_COLUMN]
    # u < 1, but u * choices may round up to choices in floating point.
    offset = min(int(u * choices), choices - 1)
    return steps[offset : offset + MAX_LENGTH]


def add_noise(x: np.ndarray, samples: np.ndarray, *, seed: int, epoch: int) -> np.ndarray:
    """A copy of x (batch, steps, features), right-padded with NaN, with noise on real steps.

    The noise of samples[i] at step p, feature f is decided by (seed, epoch, samples[i], p,
    f) alone, scaled by that feature's spread over the row's real steps: a sample gets the
    same noise in whichever batch, row, worker or padded length it lands in.
    """
    batch, length, features = x.shape
    u = uniform(seed, epoch, samples, _FIRST_NOISE_COLUMN + 2 * length * features)
    u = u[:, _FIRST_NOISE_COLUMN:].reshape(batch, length, features, 2)
    # Box-Muller: a pair of uniforms gives a standard normal.
    normal = np.sqrt(-2.0 * np.log(u[..., 0])) * np.cos(2.0 * np.pi * u[..., 1])
    # NaN padding is left out of the spread, and NaN plus noise stays NaN.
    spread = np.nanstd(x, axis=1, keepdims=True, dtype=np.float64)
    return (x + NOISE_SCALE * spread * normal).astype(x.dtype)
