"""Training-time augmentation for token sequences: random crops and token masking.

A sequence longer than MAX_LENGTH is cut to a window at a random offset instead of its first
MAX_LENGTH tokens, and tokens are dropped out by replacing them with MASK_TOKEN. Dropout is
masking, never deletion: a sample's length stays min(len, MAX_LENGTH) in every epoch, which
the loader's padding arithmetic relies on. Everything depends only on (seed, epoch, sample
id, position), so thread and process workers build identical batches, a rerun repeats them,
and each epoch sees new ones.
"""

from __future__ import annotations

import numpy as np

from .randomness import uniform
from .tokens import MAX_LENGTH, PAD_ID

# The id keras.layers.TextVectorization gives out-of-vocabulary tokens ("[UNK]", after 0 for
# padding), so a masked token reads as an unknown word rather than as padding or a real one.
MASK_TOKEN = 1
# Chance that a token is masked. Word dropout of about 10% regularises without changing
# what most sequences say; raise it for small data sets, 0 switches masking off.
MASK_PROBABILITY = 0.1

# Fixed columns of uniform(): column 0 places the crop, column 1 + p masks position p. Each
# column depends only on its own counter, so the numbers of position p do not depend on how
# far the batch is padded, and the crop offset is independent of the masks.
_CROP_COLUMN = 0
_FIRST_MASK_COLUMN = 1


def crop(tokens: np.ndarray, sample: int, *, seed: int, epoch: int) -> np.ndarray:
    """A window of MAX_LENGTH consecutive tokens at an offset keyed by (seed, epoch, sample).

    Every offset 0 .. len(tokens) - MAX_LENGTH is equally likely. A sequence of at most
    MAX_LENGTH tokens is returned as it is; a longer one as a view into it.
    """
    choices = len(tokens) - MAX_LENGTH + 1
    if choices <= 1:
        return tokens
    u = uniform(seed, epoch, np.array([sample]), _CROP_COLUMN + 1)[0, _CROP_COLUMN]
    # u < 1, but u * choices may round up to choices in floating point.
    offset = min(int(u * choices), choices - 1)
    return tokens[offset : offset + MAX_LENGTH]


def mask_tokens(x: np.ndarray, samples: np.ndarray, *, seed: int, epoch: int) -> np.ndarray:
    """A copy of x (batch, length), right-padded with PAD_ID, with tokens masked.

    Each token that is not padding becomes MASK_TOKEN with probability MASK_PROBABILITY,
    decided by (seed, epoch, samples[i], position) alone: a sample gets the same mask in
    whichever batch, row, worker or padded length it lands in.
    """
    length = x.shape[1]
    u = uniform(seed, epoch, samples, _FIRST_MASK_COLUMN + length)[:, _FIRST_MASK_COLUMN:]
    masked = (u < MASK_PROBABILITY) & (x != PAD_ID)
    out = x.copy()
    # Assigning into the copy keeps x's dtype (np.where might promote it).
    out[masked] = MASK_TOKEN
    return out
