"""Random numbers keyed by (seed, epoch, sample), computed for a whole batch at once.

Keras seeds nothing in its workers: forked processes share one `np.random` state and
threads race on it, so "random" augmentation repeats or differs between runs. Here
every number is a hash of (seed, epoch, sample id, counter) instead, which makes a
batch the same whichever worker builds it, and a rerun gives the same batches.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on uint64 that scatters nearby inputs."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(seed: int, epoch: int, samples: np.ndarray, size: int) -> np.ndarray:
    """Floats in the open interval (0, 1), shape (len(samples), size).

    Row i depends only on (seed, epoch, samples[i]): the same sample gets the same
    numbers in the same epoch, whichever batch or worker it lands in.
    """
    with np.errstate(over="ignore"):
        key = _mix(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * _GOLDEN + np.uint64(epoch))
        rows = _mix(key ^ (np.asarray(samples, dtype=np.uint64) * _GOLDEN))
        counters = np.arange(1, size + 1, dtype=np.uint64) * _GOLDEN
        bits = _mix(rows[:, None] + counters[None, :])
    # The top 52 bits plus a half-step are exact in a double (53 would round the largest
    # value up to 1.0), so 0 and 1 stay out and Box-Muller's log stays finite.
    return ((bits >> np.uint64(12)).astype(np.float64) + 0.5) / float(1 << 52)


def normal(seed: int, epoch: int, samples: np.ndarray, size: int) -> np.ndarray:
    """Standard normal floats, shape (len(samples), size), keyed like `uniform`."""
    u = uniform(seed, epoch, samples, 2 * size)
    # Box-Muller: two independent uniforms give one normal here.
    return np.sqrt(-2.0 * np.log(u[:, :size])) * np.cos(2.0 * np.pi * u[:, size:])
