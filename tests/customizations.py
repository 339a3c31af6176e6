"""What a user changes in a new project in its first week, scripted: the customizations
tests/test_customized_update.py applies before `copier update`, and checks after it.

Each goes where the rendered README's "Layout: yours and ours" says it goes: another
architecture with options of its own (custom/model.py), an extra callback with an option
(custom/training.py), preprocessing fitted on the training split (custom/preprocessing.py:
standardization, or a vocabulary for token ids), an extra dependency (below pyproject.toml's
marked line), a README section (below the README's last line) and files of the user's own
(notes, and a test of their changes in tests/custom/, which the rendered suite runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MODELS = {
    "array": '''"""My model: a wider network with GELU, and AdamW."""

from __future__ import annotations

import argparse

import keras

from ..head import output_layer


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--hidden-units", type=int, default=48)


def build_model(input_shape: tuple[int | None, ...], options: argparse.Namespace) -> keras.Model:
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(options.hidden_units, activation="gelu")(x)
    x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.Dense(options.hidden_units, activation="gelu")(x)
    return keras.Model(inputs, output_layer(x), name="my_model")


def make_optimizer(options: argparse.Namespace) -> keras.optimizers.Optimizer:
    return keras.optimizers.AdamW(options.learning_rate, weight_decay=1e-4)
''',
    "images": '''"""My model: two convolutions, global pooling, dropout, and AdamW."""

from __future__ import annotations

import argparse

import keras

from ..head import output_layer


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--hidden-units", type=int, default=48)


def build_model(input_shape: tuple[int | None, ...], options: argparse.Namespace) -> keras.Model:
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(options.hidden_units, activation="relu")(x)
    x = keras.layers.Dropout(0.1)(x)
    return keras.Model(inputs, output_layer(x), name="my_model")


def make_optimizer(options: argparse.Namespace) -> keras.optimizers.Optimizer:
    return keras.optimizers.AdamW(options.learning_rate, weight_decay=1e-4)
''',
    "sequences": '''"""My model: averaged token embeddings, a hidden layer, and AdamW."""

from __future__ import annotations

import argparse

import keras

from ..head import output_layer
from ..tokens import VOCAB_SIZE


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--hidden-units", type=int, default=48)


def build_model(input_shape: tuple[int | None, ...], options: argparse.Namespace) -> keras.Model:
    inputs = keras.Input(shape=input_shape, dtype="int32")
    embedded = keras.layers.Embedding(VOCAB_SIZE, 16, mask_zero=True)(inputs)
    x = keras.layers.GlobalAveragePooling1D()(embedded)
    x = keras.layers.Dense(options.hidden_units, activation="relu")(x)
    x = keras.layers.Dropout(0.1)(x)
    return keras.Model(inputs, output_layer(x), name="my_model")


def make_optimizer(options: argparse.Namespace) -> keras.optimizers.Optimizer:
    return keras.optimizers.AdamW(options.learning_rate, weight_decay=1e-4)
''',
}

TRAINING = '''"""My training extensions: learning rate halved on a plateau."""

from __future__ import annotations

import argparse

import keras


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plateau-patience", type=int, default=2)


FREE_OPTIONS: frozenset[str] = frozenset()


def callbacks(options: argparse.Namespace) -> list[keras.callbacks.Callback]:
    return [keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=options.plateau_patience)]
'''

# Standardization: per input position for arrays, per channel for images.
STANDARDIZE = '''"""My preprocessing: inputs standardized by the training split's mean and std."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

AXES = {axes}


class Preprocessing:
    def __init__(self) -> None:
        self.mean = np.zeros(1)
        self.std = np.ones(1)

    def fit(self, batches: Iterable[np.ndarray]) -> None:
        total, squares, count = 0.0, 0.0, 0
        for x in batches:
            total = total + x.sum(axis=AXES, dtype=np.float64)
            squares = squares + np.square(x, dtype=np.float64).sum(axis=AXES)
            count += x.size // np.size(x.sum(axis=AXES))
        self.mean = total / count
        self.std = np.sqrt(np.maximum(squares / count - np.square(self.mean), 0.0)) + 1e-6

    def transform(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        return {{"mean": self.mean, "std": self.std}}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.mean, self.std = state["mean"], state["std"]
'''

# Token ids: a vocabulary of the ids seen at least twice in training; the rest become id 1.
VOCABULARY = '''"""My preprocessing: ids seen under twice in training become one rare-token id."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..tokens import VOCAB_SIZE

RARE_ID = 1


class Preprocessing:
    def __init__(self) -> None:
        self.known = np.ones(VOCAB_SIZE, dtype=bool)

    def fit(self, batches: Iterable[np.ndarray]) -> None:
        counts = np.zeros(VOCAB_SIZE, dtype=np.int64)
        for x in batches:
            counts += np.bincount(x.ravel(), minlength=VOCAB_SIZE)
        self.known = counts >= 2
        self.known[0] = True  # padding stays padding

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.where(self.known[x], x, RARE_ID).astype(x.dtype)

    def get_state(self) -> dict[str, np.ndarray]:
        return {"known": self.known}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.known = state["known"]
'''

PREPROCESSING = {
    "array": STANDARDIZE.format(axes="0"),
    "images": STANDARDIZE.format(axes="(0, 1, 2)"),
    "sequences": VOCABULARY,
}
# What each preprocessing saves with the run.
STATE_KEYS = {"array": ["mean", "std"], "images": ["mean", "std"], "sequences": ["known"]}

# Arrays: a format of the user's own, one .npz file per split, beside the project's layout.
NPZ_READING = '''"""My reading: a split may also be one DIR/<split>.npz holding arrays x and y."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import storage


def load_split(data_dir: Path, split: str) -> tuple[storage.Inputs, np.ndarray]:
    packed = data_dir / f"{split}.npz"
    if packed.is_file():
        with np.load(packed) as arrays:
            return arrays["x"], arrays["y"]
    return storage.load_split(data_dir, split)


def load_inputs(path: Path) -> tuple[storage.Inputs, Sequence[object]]:
    return storage.load_inputs(path)
'''
NPZ_TEST = """

def test_my_npz_format_trains(tiny_data: Path, tmp_path: Path) -> None:
    from {package}.storage import load_split

    packed = tmp_path / "packed"
    packed.mkdir()
    for split in ("train", "val"):
        x, y = load_split(tiny_data, split)
        np.savez(packed / f"{{split}}.npz", x=np.asarray(x), y=np.asarray(y))
    run_dir = tmp_path / "run"
    train_main(["--data", str(packed), "--output", str(run_dir), "--epochs", "1"])
    samples = len(load_split(tiny_data, "train")[0])
    assert json.loads((run_dir / "run.json").read_text())["train_samples"] == samples
"""

# A test of the user's own, beside the template's: their options and callback reach the run.
MY_TEST = '''"""My changes reach the run: options recorded, the callback's learning rate logged,
the preprocessing saved."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from {package}.train import main as train_main


def test_my_options_callback_and_preprocessing_reach_the_run(
    tiny_data: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    options = ["--hidden-units", "8", "--plateau-patience", "1", "--learning-rate", "0.01"]
    train_main(["--data", str(tiny_data), "--output", str(run_dir), "--epochs", "2", *options])
    settings = json.loads((run_dir / "run.json").read_text())
    assert (settings["hidden_units"], settings["plateau_patience"]) == (8, 1)
    assert settings["learning_rate"] == 0.01
    with (run_dir / "history.csv").open(newline="") as f:
        assert "learning_rate" in next(csv.DictReader(f))
    with np.load(run_dir / "preprocessing.npz") as state:
        assert sorted(state.files) == {state_keys}
'''

DEMO_BAR = ('assert last["val_accuracy"] >= 0.9', 'assert last["val_accuracy"] >= 0.25')
DEPENDENCY = '    "rich>=13",  # my progress bars\n'
DEPENDENCY_MARKER = "    # Your dependencies below this line"
README_MARKER = "<!-- Your own sections go below this line: copier update never changes it. -->\n"
README_SECTION = "\n## Our experiments\n\nBest so far: `--hidden-units 64 --learning-rate 3e-3`.\n"
NOTES = ("notes/experiments.md", "# Experiments\n\n- 2026-12-01: AdamW beats Adam here.\n")


@dataclass(frozen=True)
class Customized:
    """The files a customization wrote (relative path: content), to compare after an update."""

    files: dict[str, str]


def customize(project: Path, package: str, data_type: str) -> Customized:
    """Apply every customization to `project` (not committed)."""
    custom = f"src/{package}/custom"
    files = {
        f"{custom}/model.py": MODELS[data_type],
        f"{custom}/training.py": TRAINING,
        f"{custom}/preprocessing.py": PREPROCESSING[data_type],
        "tests/custom/test_my_changes.py": (
            MY_TEST + (NPZ_TEST if data_type == "array" else "")
        ).format(package=package, state_keys=json.dumps(sorted(STATE_KEYS[data_type]))),
        NOTES[0]: NOTES[1],
    }
    if data_type == "array":
        files[f"{custom}/reading.py"] = NPZ_READING
    # Their model learns the demo less well than the template's in its few epochs: the bar of
    # their own test of it (tests/custom/) follows their model.
    model_test = project / "tests/custom/test_custom_model.py"
    text = model_test.read_text(encoding="utf-8")
    assert text.count(DEMO_BAR[0]) == 1, "no demo accuracy bar in the model's test"
    files["tests/custom/test_custom_model.py"] = text.replace(*DEMO_BAR)
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    start = text.index(DEPENDENCY_MARKER)
    end = text.index("\n", start) + 1
    pyproject.write_text(text[:end] + DEPENDENCY + text[end:], encoding="utf-8")
    readme = project / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert text.endswith(README_MARKER), "the README's last line is not the marker"
    readme.write_text(text + README_SECTION, encoding="utf-8")
    return Customized(files)
