"""The Sequence of the keras.io examples, as users write it: the baseline the loaders replace.

Imported after `common.setup_tensorflow` (it imports Keras, and so TensorFlow).
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np


class TutorialSequence(keras.utils.PyDataset):
    """Contiguous slices, no shuffling, nothing checked."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        # A view of in-memory arrays; rows read through a memmap's mapping.
        return np.asarray(self.x[rows]), self.y[rows]
