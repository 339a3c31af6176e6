"""Your preprocessing of the inputs: fitted on the training split, saved with the run.

Yours to change (see custom/__init__.py): copier update never changes this file.
train makes one `Preprocessing()`, calls `fit` with the training split's input batches
(in input order, never augmented: a batch-by-batch pass, so a dataset larger than memory
fits too), saves `get_state()` in the run folder (preprocessing.npz) and applies
`transform` to the inputs of every batch it trains and validates on; predict loads that
state with `set_state` and applies the same `transform`. A resumed run loads the state it
saved rather than fitting again.

The default changes nothing. To standardize numeric inputs, for example:

    def fit(self, batches):
        total, squares, count = 0.0, 0.0, 0
        for x in batches:
            total += x.sum(axis=0, dtype=np.float64)
            squares += np.square(x, dtype=np.float64).sum(axis=0)
            count += len(x)
        self.mean = total / count
        self.std = np.sqrt(np.maximum(squares / count - np.square(self.mean), 0.0)) + 1e-7

    def transform(self, x):
        return ((x - self.mean) / self.std).astype(np.float32)

with `get_state` returning {"mean": self.mean, "std": self.std} and `set_state` reading them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Preprocessing:
    """A transform of input batches; `transform` must keep each sample's shape."""

    def fit(self, batches: Iterable[np.ndarray]) -> None:
        """Learn what `transform` needs from the training split's inputs, batch by batch.

        Nothing to learn by default: the batches are never read.
        """

    def transform(self, x: np.ndarray) -> np.ndarray:
        """The inputs of one batch as the model sees them."""
        return x

    def get_state(self) -> dict[str, np.ndarray]:
        """What `fit` learned, as named arrays: saved with the run."""
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Take back what `get_state` returned (predict, a resumed run)."""
