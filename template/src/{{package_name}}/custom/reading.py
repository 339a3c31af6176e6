"""Your dataset's reading: the splits train reads, and the inputs predict reads.

Yours to change (see custom/__init__.py): copier update never changes this file. The
default reads the project's own layout (storage.py's docstring says what it is).
To bring a format of your own (CSV files, an export of a database, ...), read it here into
the same things: the loader then checks every value as it does for the layout, and names a
bad one before training starts. The template's tests write their datasets in the project's
layout: keep reading that too (for example, your format when its file is in the folder, the
layout otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import storage


def load_split(data_dir: Path, split: str) -> tuple[storage.Inputs, np.ndarray]:
    """The inputs and the targets of one split ("train" or "val") of the dataset in
    `data_dir`, one target per input."""
    return storage.load_split(data_dir, split)


def load_inputs(path: Path) -> tuple[storage.Inputs, Sequence[object]]:
    """The inputs predict's --data names, and the id of each, which predict writes in its
    CSV's first column."""
    return storage.load_inputs(path)
