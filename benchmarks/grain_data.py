"""What a Grain user writes instead of a PyDataset: a `grain.MapDataset` over the same arrays,
shuffled with the same seed, batched with the same batch size and remainder, and read as the
rendered loader reads them (no pool of workers). Keras 3 fit takes Grain datasets on every
backend (keras/src/trainers/data_adapters/grain_dataset_adapter.py); the benchmarks use them
on JAX and torch, whose users have no tf.data of their own.

Imported only there (it imports grain).
"""

from __future__ import annotations

from typing import Any

import grain
import numpy as np

# The rendered loader's remainder -> batch(drop_remainder=...); pad and wrap have no Grain
# counterpart.
DROP_REMAINDER = {"partial": False, "drop": True}
# Grain's advice for data already in memory (ReadOptions' docstring): no reading threads,
# which would fight over the GIL; the rendered loader's workers=1 builds batches in the
# trainer's thread alike.
READ_OPTIONS = grain.ReadOptions(num_threads=0)
PIPELINE_NOTE = (
    "MapDataset.source(rows).shuffle(seed=0).batch(B).repeat(epochs)"
    ".to_iter_dataset(ReadOptions(num_threads=0)); fit(steps_per_epoch=batches)"
)


class ArraySource:
    """Rows of `x` and `y` by index: Grain's random access data source (len, getitem)."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.x[index], self.y[index]


def array_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, remainder: str, epochs: int | None
) -> grain.MapDataset:
    """The batches of `epochs` epochs, each in its own order: Grain's shuffle combines the
    seed with the epoch (index // length) when it comes before repeat, and batch keeps
    each epoch's batches apart. epochs=None: no repeat, one epoch's batches."""
    if remainder not in DROP_REMAINDER:
        raise ValueError(f"remainder={remainder!r} has no Grain batch() counterpart")
    dataset = (
        grain.MapDataset.source(ArraySource(x, y))
        .shuffle(seed=seed)
        .batch(batch_size, drop_remainder=DROP_REMAINDER[remainder])
    )
    return dataset if epochs is None else dataset.repeat(epochs)


def array_pipeline(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, remainder: str, epochs: int | None
) -> grain.IterDataset:
    """`array_dataset` as fit reads it: an iterator over it, read in the caller's thread."""
    return array_dataset(x, y, batch_size, seed, remainder, epochs).to_iter_dataset(READ_OPTIONS)


def resumes_from_state(dataset: grain.IterDataset, stop: int) -> bool:
    """Whether an iterator restored from the state of one that read `stop` batches gives
    the same remaining batches: Grain's own checkpointing, outside fit."""
    iterator = iter(dataset)
    for _ in range(stop):
        next(iterator)
    state = iterator.get_state()
    rest = list(iterator)
    restored = iter(dataset)
    restored.set_state(state)
    return same_batches(list(restored), rest)


def same_batches(first: list[Any], second: list[Any]) -> bool:
    """Whether two lists of (x, y) batches hold equal arrays, batch by batch."""
    return len(first) == len(second) and all(
        len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
        for a, b in zip(first, second, strict=True)
    )
