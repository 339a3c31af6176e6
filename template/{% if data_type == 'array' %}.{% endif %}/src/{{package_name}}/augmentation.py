"""Training-time augmentation for numeric arrays: Gaussian noise on the inputs.

The noise of a sample depends only on (seed, epoch, sample id), so thread and process
workers build identical batches and each epoch sees fresh noise.
"""

from __future__ import annotations

import numpy as np

from .memmap_rows import row_chunks
from .randomness import normal

# Noise standard deviation as a fraction of each feature's own spread, so features in
# different units are perturbed alike. Raise it for stronger regularisation.
NOISE_FRACTION = 0.05


def feature_std(inputs: np.ndarray) -> np.ndarray:
    """Standard deviation of every feature (shape inputs.shape[1:]), chunk by chunk.

    Chunk statistics are merged with Chan's formula, so a memmap is read once and
    float32 data does not lose precision in a running sum of squares.
    """
    count, mean, m2 = 0, 0.0, 0.0
    for _, chunk in row_chunks(inputs):
        chunk = chunk.astype(np.float64)
        n = len(chunk)
        chunk_mean = chunk.mean(axis=0)
        delta = chunk_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + ((chunk - chunk_mean) ** 2).sum(axis=0) + delta**2 * (count * n / total)
        count = total
    return np.sqrt(np.asarray(m2) / count).astype(np.float32)


def add_noise(
    x: np.ndarray, samples: np.ndarray, noise_std: np.ndarray, *, seed: int, epoch: int
) -> np.ndarray:
    """Return x plus Gaussian noise of `noise_std` per feature, keyed by sample id."""
    noise = normal(seed, epoch, samples, int(np.prod(x.shape[1:]))).reshape(x.shape)
    return x + (noise * noise_std).astype(np.float32)
