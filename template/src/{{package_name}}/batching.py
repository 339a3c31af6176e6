"""Batch arithmetic: which rows go into which batch, with no Keras in sight.

Everything here is a pure function of (number of samples, batch size, remainder
policy, seed, epoch, and for data parallel training the shards and devices), so it can be
tested on its own and shared by every loader.

Shards. Under data parallel training each of `num_shards` processes feeds its own part of
every batch. `batch_size` stays the global batch, the rows the optimizer sees per step:
all shards draw the same epoch order from (seed, epoch), make the same global batches and
take disjoint slices of `batch_size / num_shards` rows of each (`shard_slice`). So every
shard has the same number of batches, of the same shape, in every epoch: a collective
never waits for a batch that one process does not have.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np

REMAINDER_POLICIES = ("partial", "drop", "pad", "wrap")


def check_batching(num_samples: int, batch_size: int, remainder: str) -> None:
    """Raise ValueError for a combination that cannot make a sensible epoch."""
    if remainder not in REMAINDER_POLICIES:
        raise ValueError(
            f"unknown remainder {remainder!r}; choose one of {', '.join(REMAINDER_POLICIES)}"
        )
    check_positive_integer("batch_size", batch_size)
    if num_samples < 1:
        raise ValueError("no samples: the dataset is empty")
    if remainder == "drop" and num_samples < batch_size:
        raise ValueError(
            f"remainder='drop' with {num_samples} samples and batch_size {batch_size} "
            "gives an epoch of zero batches; use a smaller batch_size or another remainder"
        )


def check_training_batch(num_samples: int, batch_size: int, remainder: str) -> None:
    """Raise ValueError for a training batch larger than the split that the remainder would
    fill: pad with padding rows (allocated whole: a huge batch size runs out of memory
    before the first step), wrap with the same samples again and again. Under partial the
    one batch is smaller, as in Keras's own fit; drop is refused by check_batching.
    Evaluation and prediction pad a batch larger than their data on purpose: not here."""
    if remainder in ("pad", "wrap") and batch_size > num_samples:
        filling = "padding" if remainder == "pad" else "repeats of its samples"
        raise ValueError(
            f"batch_size {batch_size:,} is more than its {num_samples:,} samples, and remainder "
            f"{remainder!r} would fill the batch with {filling}; choose at most {num_samples:,}"
        )


def is_integer(value: object) -> bool:
    """Whether `value` is a Python or NumPy integer, and not a bool (an int to Python)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_positive_integer(name: str, value: int) -> None:
    """Raise ValueError naming `name` unless `value` is an integer of at least 1."""
    if not is_integer(value):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def check_seed(seed: int) -> None:
    """Raise ValueError unless `seed` can key the epoch orders (a non-negative integer).

    Checked at construction: NumPy would only refuse a negative seed at the first
    shuffled batch, inside a Keras worker, far from the cause.
    """
    if not is_integer(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def check_split(batch_size: int, parts: int, what: str) -> None:
    """ValueError unless a batch of `batch_size` rows splits evenly into `parts` `what`
    (shards or devices): each must get as many rows as the others."""
    check_positive_integer(f"the number of {what}", parts)
    if batch_size % parts:
        raise ValueError(
            f"batch_size {batch_size} does not split evenly into {parts} {what}: "
            f"use a multiple of {parts}, such as {max(parts, batch_size // parts * parts)}"
        )


def check_shard(num_shards: int, shard_index: int) -> None:
    """ValueError unless `shard_index` names one of `num_shards` shards."""
    check_positive_integer("num_shards", num_shards)
    if not is_integer(shard_index):
        raise ValueError(f"shard_index must be an integer, got {shard_index!r}")
    if not 0 <= shard_index < num_shards:
        raise ValueError(
            f"shard_index {shard_index} is out of range for {num_shards} shards "
            f"(0 to {num_shards - 1})"
        )


def split_remainder(remainder: str, parts: int) -> str:
    """The policy of a global batch split into `parts` equal parts (shards or devices).

    partial's short last batch cannot be cut into equal parts (JAX refuses unequal ones,
    and a process with fewer rows would wait for the others), so with more than one part
    it is padded as under `pad`: every sample still counts exactly once, fill rows get
    weight 0 and the reported loss stays the mean over the real samples.
    """
    return "pad" if remainder == "partial" and parts > 1 else remainder


def shard_slice(batch_size: int, num_shards: int, shard_index: int) -> slice:
    """Which rows of every global batch shard `shard_index` of `num_shards` takes."""
    rows = batch_size // num_shards
    return slice(shard_index * rows, (shard_index + 1) * rows)


def num_batches(num_samples: int, batch_size: int, remainder: str) -> int:
    """Batches per epoch.

    ceil, not floor: `N // B` would silently skip the last N % B samples every epoch.
    Only `drop` skips them, and on purpose.
    """
    if remainder == "drop":
        return num_samples // batch_size
    return math.ceil(num_samples / batch_size)


def epoch_order(num_samples: int, *, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The order in which an epoch visits the samples.

    Derived from (seed, epoch) alone, never from a global RNG: two loaders with the
    same seed agree, and so do worker threads and processes. A new epoch gives a new
    permutation, so `drop` leaves out a different set each time.
    """
    if not shuffle:
        return np.arange(num_samples)
    return np.random.default_rng([seed, epoch]).permutation(num_samples)


def batch_positions(index: int, num_samples: int, batch_size: int, remainder: str) -> np.ndarray:
    """Positions in the epoch order that make batch `index` (0 <= index < num_batches).

    pad and wrap fill a short last batch from the start of the epoch order, so every
    batch has `batch_size` rows; they differ only in the weight of the fill rows.
    """
    start = index * batch_size
    stop = min(start + batch_size, num_samples)
    positions = np.arange(start, stop)
    missing = batch_size - len(positions)
    if missing and remainder in ("pad", "wrap"):
        fill = np.arange(missing) % num_samples
        positions = np.concatenate([positions, fill])
    return positions


def pad_weights(index: int, num_samples: int, batch_size: int) -> np.ndarray:
    """Sample weights of batch `index` under `pad`: 0 for fill rows, w for real rows.

    Keras averages the epoch loss over batches weighted by their ROW COUNT, padding
    included, and the default loss reduction divides by all rows. Giving every real
    row w = (batches * batch_size) / N makes both averages come out as the plain mean
    over the N real samples; weighted metrics are unaffected because w is the same
    for every real row.
    """
    batches = num_batches(num_samples, batch_size, "pad")
    real = min(batch_size, num_samples - index * batch_size)
    weights = np.zeros(batch_size, dtype=np.float32)
    weights[:real] = batches * batch_size / num_samples
    return weights


def count_shapes(shapes: Iterable[tuple[int, ...]]) -> dict[tuple[int, ...], int]:
    """Each distinct shape with how many times it occurs, most common first, then largest."""
    counts = Counter(shapes)
    return dict(sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True))


def batch_shapes(
    num_samples: int,
    batch_size: int,
    remainder: str,
    sample_shape: tuple[int, ...],
    num_shards: int = 1,
) -> dict[tuple[int, ...], int]:
    """The shapes of x in an epoch's batches of samples of `sample_shape`, as each of
    `num_shards` shards yields them, each with its number of batches (see `count_shapes`):
    full batches, and under partial a smaller last one when batch_size does not divide
    num_samples (never with several shards: see `split_remainder`)."""
    batches = num_batches(num_samples, batch_size, remainder)
    last = len(batch_positions(batches - 1, num_samples, batch_size, remainder))
    full = [(batch_size // num_shards, *sample_shape)] * (batches - 1)
    return count_shapes([*full, (last // num_shards, *sample_shape)])


def describe_shapes(shapes: Mapping[tuple[int, ...], int]) -> str:
    """The shapes of `batch_shapes` in one line, as train.py prints it. On JAX each new
    shape compiles the train step once, so this is what compiling will cost."""
    noun = "batch shape" if len(shapes) == 1 else "batch shapes"
    listed = ", ".join(f"{shape} x {count:,}" for shape, count in shapes.items())
    return f"{len(shapes)} {noun} this epoch: {listed}"


def evaluation_remainder(remainder: str) -> str:
    """Remainder policy for validation and prediction: every sample exactly once.

    `drop` would skip samples and `wrap` would count some twice, so they evaluate with
    `pad` instead, which keeps the training batch shape and gives fill rows weight 0.
    """
    return "partial" if remainder == "partial" else "pad"


def describe(
    num_samples: int, batch_size: int, remainder: str, *, shuffle: bool, parts: int = 1
) -> str:
    """The batch arithmetic in plain words, as train.py prints it, for global batches
    split into `parts` (shards or devices)."""
    head = f"{num_samples:,} samples, batch {batch_size}, remainder={remainder}"
    if split_remainder(remainder, parts) != remainder:
        head += f" padded, split {parts} ways"
        remainder = split_remainder(remainder, parts)
    head += ": "
    batches = num_batches(num_samples, batch_size, remainder)
    rest = num_samples % batch_size
    if rest == 0:
        return head + f"{batches:,} full batches per epoch, every sample once"
    if remainder == "partial":
        return head + f"{batches:,} batches per epoch, the last one holds {rest} samples"
    if remainder == "drop":
        which = "a different set each time" if shuffle else "the same samples each time"
        return head + f"{batches:,} batches per epoch, {rest} samples left out each epoch, {which}"
    fill = batch_size - rest
    if remainder == "pad":
        return head + (
            f"{batches:,} batches per epoch, the last one has {rest} samples "
            f"and {fill} padding rows of weight 0"
        )
    return head + (
        f"{batches:,} batches per epoch, the last one has {rest} samples "
        f"and repeats {fill} from the start of the epoch"
    )
