"""What a torch user writes instead of a PyDataset: a `torch.utils.data.DataLoader` over the
same data, with the same batch size, workers and shuffling as the rendered loader it is
measured against. Keras takes a DataLoader on every backend; the benchmarks use it on torch.

Imported only on the torch backend (it imports torch). torchvision is not installed here, so
the image Dataset does what its `ImageFolder` with `Resize` does: Pillow opens the file,
converts it, resizes it (bilinear, antialiased); the pixels stay channels-last for Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset


def loader(dataset: Any, batch_size: int, workers: int, seed: int, **options: Any) -> DataLoader:
    """A shuffling DataLoader: `workers` as a PyDataset counts them (1: no pool, batches are
    built in the trainer's thread, which is num_workers=0), a seeded order every epoch."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers if workers > 1 else 0,
        generator=torch.Generator().manual_seed(seed),
        **options,
    )


def tensor_loader(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> DataLoader:
    """Arrays in memory: a TensorDataset over them (shared with NumPy, not copied)."""
    return loader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size, 1, seed)


class ImageFiles(Dataset):
    """Image files and their labels, decoded one by one as torchvision's ImageFolder does."""

    def __init__(self, paths: Sequence[str], labels: np.ndarray, shape: tuple[int, ...]) -> None:
        self.paths, self.labels = list(paths), labels
        self.height, self.width, channels = shape
        self.mode = "RGB" if channels == 3 else "L"

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        from PIL import Image

        with Image.open(self.paths[index]) as image:
            resized = image.convert(self.mode).resize(
                (self.width, self.height), Image.Resampling.BILINEAR
            )
        pixels = np.asarray(resized, dtype=np.float32).reshape(self.height, self.width, -1)
        return pixels / 255, int(self.labels[index])


class TokenLists(Dataset):
    """Token id sequences and their labels; `pad_batch` pads each batch to its longest."""

    def __init__(self, sequences: Sequence[np.ndarray], labels: np.ndarray) -> None:
        self.sequences, self.labels = sequences, labels

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.sequences[index]), int(self.labels[index])


def pad_batch(samples: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A DataLoader collate_fn: rows padded with 0 to the batch's longest sequence."""
    tokens, labels = zip(*samples, strict=True)
    padded = torch.nn.utils.rnn.pad_sequence(list(tokens), batch_first=True, padding_value=0)
    return padded, torch.tensor(labels)
