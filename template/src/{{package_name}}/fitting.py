"""Your preprocessing (custom/preprocessing.py) fitted for a run, saved with it, loaded again.

train fits it on the training split before the first epoch and saves what it learned in
the run folder; a resumed run and predict load that instead of fitting again, so every
batch the model ever sees went through the same transform.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .atomic_files import replacing
from .custom.preprocessing import Preprocessing
from .data import make_loader
from .data_errors import DataError
from .storage import Inputs

PREPROCESSING_FILE = "preprocessing.npz"


class PreprocessingError(DataError):
    """custom/preprocessing.py failed, or its saved state does not fit it."""


def input_batches(inputs: Inputs, batch_size: int) -> Iterator[np.ndarray]:
    """`inputs` as the model sees them, batch by batch in input order: never shuffled,
    augmented or sharded. Lazy: nothing is loaded until the first batch is asked for."""
    loader = make_loader(inputs, batch_size=batch_size, remainder="partial")
    for index in range(len(loader)):
        yield loader[index][0]


def fit_preprocessing(
    preprocessing: Preprocessing, inputs: Inputs, batch_size: int, source: object
) -> None:
    """Fit `preprocessing` on the training split's `inputs` (read from `source`)."""
    try:
        preprocessing.fit(input_batches(inputs, batch_size))
    except (ArithmeticError, LookupError, TypeError, ValueError) as error:
        raise PreprocessingError(
            f"custom/preprocessing.py: fit on {source} failed: {type(error).__name__}: {error}"
        ) from error


def save_preprocessing(preprocessing: Preprocessing, run_dir: Path) -> Path:
    path = run_dir / PREPROCESSING_FILE
    state = {name: np.asarray(value) for name, value in preprocessing.get_state().items()}
    with replacing(path) as temporary, temporary.open("wb") as f:
        np.savez(f, **state)
    return path


def load_preprocessing(preprocessing: Preprocessing, run_dir: Path) -> None:
    """Set `preprocessing` to the state saved in `run_dir`; a run saved without one (before
    the template had preprocessing) gives it an empty state."""
    path = run_dir / PREPROCESSING_FILE
    state: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as saved:
            state = {name: saved[name] for name in saved.files}
    try:
        preprocessing.set_state(state)
    except (LookupError, TypeError, ValueError) as error:
        found = (", ".join(sorted(state)) or "nothing") if path.is_file() else "no such file"
        raise PreprocessingError(
            f"{path} ({found}) does not fit custom/preprocessing.py: set_state failed with "
            f"{type(error).__name__}: {error}; train the run again with this preprocessing"
        ) from error


def saved_preprocessing(run_dir: Path) -> Preprocessing:
    """A new Preprocessing with the state saved in `run_dir` (see load_preprocessing)."""
    preprocessing = Preprocessing()
    load_preprocessing(preprocessing, run_dir)
    return preprocessing
