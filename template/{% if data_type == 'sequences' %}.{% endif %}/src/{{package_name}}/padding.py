"""Padding arithmetic for token batches, with no Keras in sight.

Every function is a pure function of the sequence lengths, the batch settings and
(seed, epoch), so it can be tested alone; data.py applies it to the tokens.

Each batch is padded to its longest sequence, rounded up to a multiple of PAD_MULTIPLE:
few distinct lengths, so few shapes, and on JAX each new shape compiles the train step
once (`padded_batch_shapes` counts them).

TensorFlow's trap (keras#19124). Keras on TensorFlow builds a `tf.data` spec from batches
0 and 1 of a PyDataset and fixes every dimension on which they agree. If both happen to
be padded to the same length, a later, longer batch fails mid-epoch ("generator yielded
an element of shape (32, 40) where an element of shape (None, 24) was expected"), and
with shuffling only now and then. So, on TensorFlow only, `shape_safe_order` makes batch
1 hold only sequences shorter than the longest, and batch 0 is always padded to that
longest length: the two differ and TensorFlow leaves the length open. When there are too
few shorter sequences to fill batch 1 (or an epoch is a single batch), every batch is
padded to the longest length instead, so no later batch can disagree with the spec.
JAX and torch take each batch as it comes: there the order is left alone and batch 0,
like every batch, gets its own length (`length_rule`).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from .batching import batch_positions, count_shapes, epoch_order, num_batches

# Batches are padded to a multiple of this (capped at the maximum length): a few extra
# pad tokens buy far fewer distinct shapes, and multiples of 8 suit GPU kernels.
PAD_MULTIPLE = 8
# Bucketing sorts this many batches' worth of samples by length at a time: enough to
# group similar lengths, few enough that batches still mix samples from all over.
BUCKET_POOL_BATCHES = 50
# train warns (describe_padding_cost) when the longest sequences make an epoch's batches at
# least COSTLY_FACTOR times the slots that a max_length keeping KEPT_WHOLE_PERCENT of them
# whole would: a few long outliers, which max_length lets through, pad whole batches.
KEPT_WHOLE_PERCENT = 99
COSTLY_FACTOR = 2

# How an epoch's batches are padded: "own", each to its longest sequence (rounded); on
# TensorFlow "shape-safe", the same but batch 0 to the longest length of all, or "longest",
# every batch to it (see the module docstring).
LengthRule = Literal["own", "shape-safe", "longest"]


def rounded_lengths(lengths: np.ndarray, multiple: int, max_length: int) -> np.ndarray:
    """The length each sequence needs in a batch: rounded up to `multiple`, at most `max_length`."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.minimum(-(-lengths // multiple) * multiple, max_length)


def bucketed_order(
    lengths: np.ndarray, batch_size: int, *, seed: int, epoch: int, shuffle: bool
) -> np.ndarray:
    """An epoch order whose full batches hold sequences of similar length.

    The epoch's usual order is cut into pools of BUCKET_POOL_BATCHES batches, each pool
    sorted by length (stably, so equal lengths keep their shuffled order) and cut into
    batches, and the batches are shuffled. The last N % batch_size samples of the usual
    order stay last and unsorted: they form the short last batch, or are the ones `drop`
    leaves out, a random set as without bucketing.
    """
    lengths = np.asarray(lengths)
    order = epoch_order(len(lengths), seed=seed, epoch=epoch, shuffle=shuffle)
    full = len(order) // batch_size * batch_size
    pool = BUCKET_POOL_BATCHES * batch_size
    head = np.concatenate(
        [
            chunk[np.argsort(lengths[chunk], kind="stable")]
            for chunk in np.split(order[:full], range(pool, full, pool))
        ]
    )
    batches = head.reshape(-1, batch_size)
    if shuffle:
        # Its own stream: [seed, epoch] already drew the sample order.
        batches = batches[np.random.default_rng([seed, epoch, 1]).permutation(len(batches))]
    return np.concatenate([batches.ravel(), order[full:]])


def _batch_one_positions(num_samples: int, batch_size: int, remainder: str) -> np.ndarray:
    """Positions of the epoch order that batch 1 reads (pad and wrap may reread batch 0's)."""
    return np.unique(batch_positions(1, num_samples, batch_size, remainder))


def pads_to_longest(rounded: np.ndarray, batch_size: int, remainder: str) -> bool:
    """Whether, on TensorFlow, every batch is padded to the longest length (see the module
    docstring).

    True for a single batch per epoch, and when fewer sequences are shorter than the
    longest than batch 1 has rows: then every full batch holds a longest one anyway.
    """
    rounded = np.asarray(rounded)
    if num_batches(len(rounded), batch_size, remainder) < 2:
        return True
    shorter = int((rounded < rounded.max()).sum())
    return shorter < len(_batch_one_positions(len(rounded), batch_size, remainder))


def shape_safe_order(
    order: np.ndarray, rounded: np.ndarray, batch_size: int, remainder: str
) -> np.ndarray:
    """`order`, changed as little as needed so that batch 1 holds no longest sequence.

    First the full batch that needs the least padding changes places with batch 1 (whole,
    so bucketed batches stay whole); then any longest sequence still in batch 1 changes
    places with a shorter one from the end of the order. Every sample keeps exactly one
    position, and nothing here is random, so an unshuffled order stays the same each epoch.
    """
    rounded = np.asarray(rounded)
    if pads_to_longest(rounded, batch_size, remainder):
        return order
    order = np.array(order, copy=True)
    full_batches = len(order) // batch_size
    if full_batches >= 3:
        needed = rounded[order[: full_batches * batch_size]].reshape(full_batches, -1).max(axis=1)
        best = 1 + int(np.argmin(needed[1:]))
        if needed[best] < needed[1]:
            one = slice(batch_size, 2 * batch_size)
            other = slice(best * batch_size, (best + 1) * batch_size)
            order[one], order[other] = order[other].copy(), order[one].copy()
    longest = rounded.max()
    in_batch_one = _batch_one_positions(len(order), batch_size, remainder)
    to_move = in_batch_one[rounded[order[in_batch_one]] == longest]
    if len(to_move):
        outside = np.setdiff1d(np.arange(len(order)), in_batch_one)
        shorter = outside[rounded[order[outside]] < longest]
        # Partners from the batches this epoch uses, last first: under drop the order's
        # tail is left out, and the longest sequences must not be left out more often.
        used = num_batches(len(order), batch_size, remainder) * batch_size
        partners = np.concatenate([shorter[shorter < used][::-1], shorter[shorter >= used]])
        partners = partners[: len(to_move)]
        order[to_move], order[partners] = order[partners], order[to_move]
    return order


def length_rule(
    rounded: np.ndarray, batch_size: int, remainder: str, *, shape_safe: bool
) -> LengthRule:
    """How batches are padded: `shape_safe` (TensorFlow) keeps batches 0 and 1 apart."""
    if not shape_safe:
        return "own"
    return "longest" if pads_to_longest(rounded, batch_size, remainder) else "shape-safe"


def batch_length(index: int, rows: np.ndarray, rounded: np.ndarray, *, rule: LengthRule) -> int:
    """The padded length of batch `index`, whose samples are `rows`."""
    if rule == "longest" or (rule == "shape-safe" and index == 0):
        return int(np.max(rounded))
    return int(np.max(rounded[rows]))


def padded_batch_shapes(
    order: np.ndarray,
    rounded: np.ndarray,
    batch_size: int,
    remainder: str,
    *,
    rule: LengthRule,
    num_shards: int = 1,
) -> dict[tuple[int, ...], int]:
    """The shapes (rows, length) of an epoch's batches in `order`, as each of `num_shards`
    shards yields them (its rows of each global batch, padded to the global batch's
    length), each with its number of batches, most common first (see `count_shapes`)."""
    num_samples = len(order)
    shapes = []
    for index in range(num_batches(num_samples, batch_size, remainder)):
        rows = order[batch_positions(index, num_samples, batch_size, remainder)]
        length = batch_length(index, rows, rounded, rule=rule)
        shapes.append((len(rows) // num_shards, length))
    return count_shapes(shapes)


def epoch_slots(
    order: np.ndarray,
    lengths: np.ndarray,
    rounded: np.ndarray,
    batch_size: int,
    remainder: str,
    *,
    rule: LengthRule,
) -> tuple[int, int]:
    """(tokens, token slots) of one epoch's batches in `order`: slots are rows times the
    batch's length, padding included.

    Fill rows of pad and wrap count as tokens: they are real sequences, only repeated.
    """
    num_samples = len(order)
    tokens = slots = 0
    for index in range(num_batches(num_samples, batch_size, remainder)):
        rows = order[batch_positions(index, num_samples, batch_size, remainder)]
        slots += len(rows) * batch_length(index, rows, rounded, rule=rule)
        tokens += int(np.asarray(lengths)[rows].sum())
    return tokens, slots


def padding_fraction(
    order: np.ndarray,
    lengths: np.ndarray,
    rounded: np.ndarray,
    batch_size: int,
    remainder: str,
    *,
    rule: LengthRule,
) -> float:
    """Padding tokens / all token slots over one epoch in `order` (see `epoch_slots`)."""
    tokens, slots = epoch_slots(order, lengths, rounded, batch_size, remainder, rule=rule)
    return (slots - tokens) / slots


class PaddingCost(NamedTuple):
    """An epoch's tokens and token slots, as the loader pads it and as it would with
    max_length `shorter`, the length that KEPT_WHOLE_PERCENT of the sequences fit in."""

    longest: int
    tokens: int
    slots: int
    shorter: int
    shorter_slots: int


def kept_whole_length(lengths: np.ndarray, percent: int, multiple: int) -> int:
    """The shortest multiple of `multiple` that `percent` % of the sequences fit in whole."""
    ordered = np.sort(np.asarray(lengths))
    # In integers: 0.99 * 100 is 99.00000000000001 as a float.
    needed = int(ordered[-(-percent * len(ordered) // 100) - 1])
    return -(-needed // multiple) * multiple


def padding_cost(
    order: np.ndarray,
    lengths: np.ndarray,
    batch_size: int,
    remainder: str,
    *,
    multiple: int,
    max_length: int,
    shape_safe: bool,
) -> PaddingCost:
    """The cost of an epoch in `order` of sequences of `lengths` (cut to `max_length`), and
    what it would be with a max_length that keeps KEPT_WHOLE_PERCENT of them whole: in the
    same order, so on TensorFlow (`shape_safe`, which orders by length) an estimate."""

    def tokens_and_slots(cap: int) -> tuple[int, int]:
        rounded = rounded_lengths(lengths, multiple, cap)
        rule = length_rule(rounded, batch_size, remainder, shape_safe=shape_safe)
        kept = np.minimum(lengths, cap)
        return epoch_slots(order, kept, rounded, batch_size, remainder, rule=rule)

    tokens, slots = tokens_and_slots(max_length)
    shorter = min(kept_whole_length(lengths, KEPT_WHOLE_PERCENT, multiple), max_length)
    _, shorter_slots = tokens_and_slots(shorter)
    return PaddingCost(int(np.max(lengths)), tokens, slots, shorter, shorter_slots)


def describe_padding_cost(cost: PaddingCost, *, max_length: int, unit: str) -> list[str]:
    """The warning line, if the longest sequences, which `max_length` lets through, make an
    epoch's batches COSTLY_FACTOR times the slots of a max_length keeping KEPT_WHOLE_PERCENT
    of the sequences whole; none otherwise. `unit`: what a slot holds ("token", "step")."""
    if cost.slots < COSTLY_FACTOR * cost.shorter_slots:
        return []
    return [
        f"warning: max_length {max_length} lets batches pad to the longest sequence, "
        f"{cost.longest:,} {unit}s: an epoch's batches hold {cost.slots:,} {unit} slots for "
        f"{cost.tokens:,} {unit}s ({cost.slots / cost.tokens:.1f}x); max_length {cost.shorter}, "
        f"which {KEPT_WHOLE_PERCENT}% of the sequences fit in, would make it about "
        f"{cost.shorter_slots:,}: copier update --data max_length={cost.shorter}"
    ]
