"""Fixtures shared by the test modules; the data behind them comes from sample_data.py.

test_loader_contract.py runs on make_inputs, make_ordered_inputs, make_dataset,
input_shape and loader_options: each data type's conftest gives them for its loader.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sample_data import (
    Inputs,
    MakeDataset,
    MakeInputs,
    equal_length_sequences,
    sample_sequences,
    write_split,
)
from sample_targets import valid_targets


@pytest.fixture
def make_inputs() -> MakeInputs:
    """make_inputs(num_samples, seed=0): sequences whose first token names the sample."""
    return sample_sequences


@pytest.fixture
def make_ordered_inputs() -> MakeInputs:
    """Inputs that an unshuffled loader batches in input order: sequences of one length."""
    return equal_length_sequences


@pytest.fixture
def make_targets() -> Callable[..., np.ndarray]:
    return valid_targets


@pytest.fixture(scope="session")
def input_shape() -> tuple[int | None, ...]:
    """The shape of one sample as the model sees it."""
    return (None,)


@pytest.fixture(params=[False, True], ids=["plain", "bucket"])
def loader_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword arguments the contract tests add to the loader's: each test runs on plain
    batches and on bucketed ones (sequences of similar length together)."""
    return {"bucket": request.param}


@pytest.fixture
def make_dataset() -> MakeDataset:
    """make_dataset(num_samples, seed=0) -> (inputs, targets), valid for the loader."""

    def make(num_samples: int, seed: int = 0) -> tuple[Inputs, np.ndarray]:
        return sample_sequences(num_samples, seed), valid_targets(num_samples, seed)

    return make


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """train/ with 10 samples, val/ with 7, in the layout train reads."""
    data_dir = tmp_path / "data"
    write_split(data_dir, "train", 10, seed=0)
    write_split(data_dir, "val", 7, seed=1)
    return data_dir
