"""Arrays in memory: the rendered ArraySequence against fit on NumPy, the tutorial Sequence
and what a user of the backend would pick instead (tf.data on TensorFlow and JAX, a
DataLoader over a TensorDataset on torch), all training the rendered model on the same data.

"Overhead" compares the rendered Sequence with loaders that cost nothing: a PyDataset
returning one pre-built batch (every backend) and, on TensorFlow, that batch fed from the
graph (the same number of steps), so the rest is the step.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import (
    TF_DATA_BACKENDS,
    Figures,
    Result,
    Row,
    Target,
    as_train_does,
    constant_sequence,
    emit,
    fit_speed,
    one_pass,
    parse_args,
    ratios,
    repeat,
    setup_backend,
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
DATALOADER = "torch DataLoader over a TensorDataset"
TUTORIAL = "tutorial Sequence"
PREBUILT = "one pre-built batch, repeated (tf.data)"
CONSTANT = "PyDataset returning one pre-built batch"
FIRST, LATER, ALONE = "fit, first epoch", "fit, later epochs", "loader alone"


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    backend = setup_backend(args, tf_data=True)
    import keras

    from benchmarks.tutorial import TutorialSequence

    data = importlib.import_module(f"{args.package}.data")
    modeling = importlib.import_module(f"{args.package}.modeling")

    samples = sized(args, SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES)
    epochs = sized(args, EPOCHS, QUICK_EPOCHS, QUICK_EPOCHS)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, samples)
    steps = math.ceil(samples / BATCH_SIZE)

    def rendered() -> Any:
        return data.ArraySequence(x, y, batch_size=BATCH_SIZE, shuffle=True, seed=0)

    def fit_on(make_loader: Callable[[], Any], **fit_options: Any) -> Callable[[list], Any]:
        def fit(callbacks: list) -> Any:
            keras.utils.set_random_seed(0)
            model = modeling.new_model((FEATURES,))
            loader = make_loader()
            callbacks = [*as_train_does(model, loader), *callbacks]
            return model.fit(loader, epochs=epochs, verbose=0, callbacks=callbacks, **fit_options)

        return fit

    # name -> (make the loader, fit options, note); the loader alone is timed for `passes`.
    pipelines: dict[str, tuple[Callable[[], Any], dict[str, Any], str]] = {
        RENDERED: (rendered, {}, ""),
        NUMPY: (
            lambda: x,
            {"y": y, "batch_size": BATCH_SIZE, "shuffle": True},
            f"batch_size={BATCH_SIZE}, shuffle=True",
        ),
        TUTORIAL: (
            lambda: TutorialSequence(x, y, BATCH_SIZE),
            {},
            "contiguous slices, no shuffle, super().__init__ called",
        ),
        CONSTANT: (
            lambda: constant_sequence((x[:BATCH_SIZE], y[:BATCH_SIZE]), steps),
            {},
            "the fastest any PyDataset can feed fit",
        ),
    }
    passes = [RENDERED, TUTORIAL]
    if backend in TF_DATA_BACKENDS:
        import tensorflow as tf

        def tf_data() -> Any:
            # A full-size shuffle buffer: the same uniform shuffle as the Sequence's.
            return (
                tf.data.Dataset.from_tensor_slices((x, y))
                .shuffle(samples, seed=0)
                .batch(BATCH_SIZE)
                .prefetch(tf.data.AUTOTUNE)
            )

        pipelines[TF_DATA] = (
            tf_data,
            {},
            f".shuffle({samples}).batch({BATCH_SIZE}).prefetch(AUTOTUNE)",
        )
        passes.append(TF_DATA)
    if backend == "tensorflow":
        batch = (x[:BATCH_SIZE], y[:BATCH_SIZE])
        pipelines[PREBUILT] = (
            lambda: tf.data.Dataset.from_tensors(batch).repeat(steps),
            {},
            "a loader that costs nothing",
        )
    if backend == "torch":
        from benchmarks import torch_data

        pipelines[DATALOADER] = (
            lambda: torch_data.tensor_loader(x, y, BATCH_SIZE, seed=0),
            {},
            f"batch_size={BATCH_SIZE}, shuffle=True, num_workers=0 (the Sequence's workers=1)",
        )
        passes.append(DATALOADER)

    figures = Figures()

    def repetition() -> None:
        for name, (make, options, _) in pipelines.items():
            speed = fit_speed(fit_on(make, **options), samples)
            figures.add(name, FIRST, speed.first)
            figures.add(name, LATER, speed.later)
            print(f"  {name}: first {speed.first:,.0f}, later {speed.later:,.0f}", flush=True)
        # The loader alone: one pass with no model, the loaders built inside the timing.
        for name in passes:
            make = pipelines[name][0]
            figures.add(name, ALONE, samples / time_call(lambda make=make: one_pass(make())))

    def later(name: str) -> list[float]:
        return figures[name, LATER]

    def overhead(name: str) -> list[float]:
        return [1 - share for share in ratios(later(RENDERED), later(name))]

    # (target, the pipelines it compares the rendered Sequence with)
    targets: list[tuple[Target, list[str]]] = [
        (Target("rendered Sequence / fit on NumPy", [], 1.0), [NUMPY]),
        (
            Target(
                "rendered Sequence / tutorial Sequence (naive PyDataset)",
                [],
                0.97 if backend == "tensorflow" else None,
            ),
            [TUTORIAL],
        ),
        (
            Target(
                "the loader's own overhead: 1 - rendered Sequence / PyDataset of a pre-built batch",
                [],
                0.05,
                "<=",
            ),
            [CONSTANT],
        ),
    ]
    if backend in TF_DATA_BACKENDS:
        goal = 1.1 if backend == "tensorflow" else None
        targets.append(
            (Target("rendered Sequence / tf.data from_tensor_slices", [], goal), [TF_DATA])
        )
    if backend == "tensorflow":
        targets.append(
            (
                Target(
                    "loader overhead: 1 - rendered Sequence / pre-built batch (tf.data)",
                    [],
                    0.05,
                    "<=",
                ),
                [PREBUILT],
            )
        )
    if backend == "torch":
        targets.append((Target("rendered Sequence / torch DataLoader", [], None), [DATALOADER]))
    watched = [
        (name, LATER)
        for target, compared in targets
        if target.goal is not None
        for name in [RENDERED, *compared]
    ]
    spread_note = repeat(args, "arrays", repetition, figures, list(dict.fromkeys(watched)))

    for target, (compared,) in targets:
        if target.compare == "<=":
            target.values = overhead(compared)
        else:
            target.values = ratios(later(RENDERED), later(compared))
    result = Result(
        section=f"Arrays in memory: {samples:,} x {FEATURES} float32, batch {BATCH_SIZE}",
        setup=(
            f"The rendered array model (Dense 128-64, {CLASSES} classes), {epochs} epochs per "
            "fit: 'first epoch' includes tracing or compiling; 'later epochs' is the median of "
            "the rest. 'loader alone' is one pass over every batch with no model (tf.data and "
            "DataLoader: iterating them). Targets compare later epochs."
        ),
        unit="samples/s",
        backend=backend,
        rows=[
            Row.of(figures, name, [FIRST, LATER, ALONE], note)
            for name, (_, _, note) in pipelines.items()
        ],
        targets=[target for target, _ in targets],
        notes=[spread_note],
    )
    emit(result)


if __name__ == "__main__":
    main()
