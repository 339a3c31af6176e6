"""Arrays in memory: the rendered ArraySequence against fit on NumPy, tf.data and the tutorial
Sequence, all training the rendered model on the same shuffled data.

"Overhead" compares the rendered Sequence with a loader that costs nothing: the same model
fed one pre-built batch over and over (the same number of steps), so the rest is the step.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import (
    FitSpeed,
    Result,
    Row,
    Target,
    emit,
    epoch_callbacks,
    fit_speed,
    median,
    one_pass,
    parse_args,
    ratio,
    setup_tensorflow,
    sized,
    time_call,
)

SAMPLES, FEATURES, BATCH_SIZE, CLASSES = 200_000, 64, 256, 10
# Smoke: two full batches and a partial one.
QUICK_SAMPLES, SMOKE_SAMPLES = 20_000, 2 * BATCH_SIZE + 1
EPOCHS, QUICK_EPOCHS = 4, 2  # the first, then a median of three (quick, smoke: of one)

RENDERED = "rendered ArraySequence (shuffle=True)"
NUMPY = "fit(x, y) on NumPy"
TF_DATA = "tf.data from_tensor_slices"
TUTORIAL = "tutorial Sequence"
PREBUILT = "one pre-built batch, repeated"
CONSTANT = "PyDataset returning one pre-built batch"


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    setup_tensorflow(args.intra_op_threads)
    import keras
    import tensorflow as tf

    from benchmarks.tutorial import TutorialSequence

    data = importlib.import_module(f"{args.package}.data")
    model_module = importlib.import_module(f"{args.package}.model")

    samples = sized(args, SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES)
    epochs = sized(args, EPOCHS, QUICK_EPOCHS, QUICK_EPOCHS)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, samples)
    steps = math.ceil(samples / BATCH_SIZE)

    class ConstantSequence(keras.utils.PyDataset):
        """The fastest a PyDataset can be: the same pre-built batch, no work at all."""

        def __init__(self, batch: tuple[np.ndarray, np.ndarray], steps: int, **kwargs: Any):
            super().__init__(**kwargs)
            self.batch, self.steps = batch, steps

        def __len__(self) -> int:
            return self.steps

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            return self.batch

    def rendered() -> Any:
        return data.ArraySequence(x, y, batch_size=BATCH_SIZE, shuffle=True, seed=0)

    def tf_data() -> Any:
        # A full-size shuffle buffer: the same uniform shuffle as the Sequence's.
        return (
            tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(samples, seed=0)
            .batch(BATCH_SIZE)
            .prefetch(tf.data.AUTOTUNE)
        )

    def prebuilt() -> Any:
        batch = (x[:BATCH_SIZE], y[:BATCH_SIZE])
        return tf.data.Dataset.from_tensors(batch).repeat(steps)

    def fit_on(make_loader: Callable[[], Any], **fit_options: Any) -> Callable[[list], Any]:
        def fit(callbacks: list) -> Any:
            keras.utils.set_random_seed(0)
            model = model_module.build_model((FEATURES,))
            loader = make_loader()
            callbacks = [*epoch_callbacks(loader), *callbacks]
            return model.fit(loader, epochs=epochs, verbose=0, callbacks=callbacks, **fit_options)

        return fit

    pipelines: dict[str, tuple[Callable[[list], Any], str]] = {
        RENDERED: (fit_on(rendered), ""),
        NUMPY: (
            fit_on(lambda: x, y=y, batch_size=BATCH_SIZE, shuffle=True),
            "batch_size=256, shuffle=True",
        ),
        TF_DATA: (fit_on(tf_data), f".shuffle({samples}).batch(256).prefetch(AUTOTUNE)"),
        TUTORIAL: (
            fit_on(lambda: TutorialSequence(x, y, BATCH_SIZE)),
            "contiguous slices, no shuffle",
        ),
        PREBUILT: (fit_on(prebuilt), "a loader that costs nothing"),
        CONSTANT: (
            fit_on(lambda: ConstantSequence((x[:BATCH_SIZE], y[:BATCH_SIZE]), steps)),
            "the fastest any PyDataset can feed fit",
        ),
    }
    # The loader alone: one pass with no model, the Sequences built inside the timing.
    passes: dict[str, Callable[[], Any]] = {
        RENDERED: lambda: one_pass(rendered()),
        TUTORIAL: lambda: one_pass(TutorialSequence(x, y, BATCH_SIZE)),
        TF_DATA: lambda: one_pass(tf_data()),
    }
    speeds: dict[str, list[FitSpeed]] = {name: [] for name in pipelines}
    alone: dict[str, list[float]] = {name: [] for name in passes}
    for repeat in range(args.repeats):
        print(f"arrays: repetition {repeat + 1} of {args.repeats}", flush=True)
        for name, (fit, _) in pipelines.items():
            speeds[name].append(fit_speed(fit, samples))
            s = speeds[name][-1]
            print(f"  {name}: first {s.first:,.0f}, later {s.later:,.0f}", flush=True)
        for name, run in passes.items():
            alone[name].append(samples / time_call(run))

    later = {name: median(s.later for s in runs) for name, runs in speeds.items()}
    first = {name: median(s.first for s in runs) for name, runs in speeds.items()}
    result = Result(
        section=f"Arrays in memory: {samples:,} x {FEATURES} float32, batch {BATCH_SIZE}",
        setup=(
            f"The rendered array model (Dense 128-64, {CLASSES} classes), {epochs} epochs per "
            "fit: 'first epoch' includes tracing; 'later epochs' is the median of the rest. "
            "'loader alone' is one pass over every batch with no model (tf.data: iterating "
            "the dataset eagerly)."
        ),
        unit="samples/s",
    )
    for name, (_, note) in pipelines.items():
        figures = {"fit, first epoch": first[name], "fit, later epochs": later[name]}
        if name in alone:
            figures["loader alone"] = median(alone[name])
        result.rows.append(Row(name, figures, note))
    sequence = later[RENDERED]
    result.targets = [
        Target("rendered Sequence / fit on NumPy", ratio(sequence, later[NUMPY]), 1.0),
        Target(
            "rendered Sequence / tf.data from_tensor_slices",
            ratio(sequence, later[TF_DATA]),
            1.1,
        ),
        Target(
            "loader overhead: 1 - rendered Sequence / pre-built batch",
            1 - ratio(sequence, later[PREBUILT]),
            0.05,
            "<=",
        ),
        Target(
            "the loader's own overhead: 1 - rendered Sequence / PyDataset of a pre-built batch",
            1 - ratio(sequence, later[CONSTANT]),
            0.05,
            "<=",
        ),
    ]
    emit(result)


if __name__ == "__main__":
    main()
