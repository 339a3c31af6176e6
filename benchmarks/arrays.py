"""Arrays in memory: the rendered ArraySequence against fit on NumPy, the tutorial Sequence
and what a user of the backend would pick instead (tf.data on TensorFlow and JAX, a
DataLoader over a TensorDataset on torch, a Grain MapDataset on JAX and torch), all training
the rendered model on the same data.

"Overhead" compares the rendered Sequence with loaders that cost nothing: a PyDataset
returning one pre-built batch (every backend) and, on TensorFlow, that batch fed from the
graph (the same number of steps), so the rest is the step. Two limits bound every loader:
a NumPy gather of the same batches with no Keras (the memory's speed), and fit on a null
model, whose step costs next to nothing (the loader's ceiling through fit).

What each pipeline guarantees (every sample once an epoch, an order per epoch from the
seed, resuming) is checked through fit on a few samples that carry their ids.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import (
    TF_DATA_BACKENDS,
    EpochTimer,
    Figures,
    Result,
    Row,
    Target,
    as_train_does,
    constant_sequence,
    emit,
    fit_recorded,
    fit_speed,
    guarantees_note,
    median,
    null_model,
    one_pass,
    parse_args,
    ratios,
    reads_back,
    repeat,
    seed_as_train,
    setup_backend,
    sized,
    time_call,
)

SAMPLES, FEATURES, BATCH_SIZE, CLASSES = 200_000, 64, 256, 10
# Smoke: two full batches and a partial one.
QUICK_SAMPLES, SMOKE_SAMPLES = 20_000, 2 * BATCH_SIZE + 1
EPOCHS, QUICK_EPOCHS = 4, 2  # the first, then a median of three (quick, smoke: of one)
# Where Grain is measured: Keras takes it on every backend, but TensorFlow's users have
# tf.data (measured there).
GRAIN_BACKENDS = ("jax", "torch")
# The guarantees' check: 3 full batches and a partial one, 2 epochs, a fit stopped after
# CHECK_STOP batches of epoch 1.
CHECK_BATCH, CHECK_SAMPLES, CHECK_EPOCHS, CHECK_STOP = 8, 3 * 8 + 5, 2, 2

RENDERED = "rendered ArraySequence (shuffle=True)"
NUMPY = "fit(x, y) on NumPy"
TF_DATA = "tf.data from_tensor_slices"
DATALOADER = "torch DataLoader over a TensorDataset"
GRAIN = "Grain MapDataset: shuffle, batch, repeat"
GRAIN_NO_REPEAT = "Grain MapDataset without .repeat()"
TUTORIAL = "tutorial Sequence"
PREBUILT = "one pre-built batch, repeated (tf.data)"
CONSTANT = "PyDataset returning one pre-built batch"
GATHER = "NumPy gather of the same batches, no Keras"
FIRST, LATER, ALONE = "fit, first epoch", "fit, later epochs", "loader alone"
NULL = "fit on a null model, later epochs"


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    backend = setup_backend(args, tf_data=True)

    from benchmarks.tutorial import TutorialSequence

    data = importlib.import_module(f"{args.package}.data")
    modeling = importlib.import_module(f"{args.package}.modeling")
    remainder: str = importlib.import_module(f"{args.package}.settings").REMAINDER

    samples = sized(args, SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES)
    epochs = sized(args, EPOCHS, QUICK_EPOCHS, QUICK_EPOCHS)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, samples)

    def rendered() -> Any:
        return data.ArraySequence(x, y, batch_size=BATCH_SIZE, shuffle=True, seed=0)

    # The rendered loader's batches of epoch 0, for the gather (the same rows, no Keras).
    ordered = rendered()
    steps = len(ordered)
    batch_rows = [ordered.global_rows(index) for index in range(steps)]

    def fit_on(
        make_loader: Callable[[], Any], null: Any = None, **fit_options: Any
    ) -> Callable[[list], Any]:
        """fit with the rendered model, built for the fit, or with the `null` model given."""

        def fit(callbacks: list) -> Any:
            seed_as_train(args.package, 0)
            model = modeling.new_model((FEATURES,)) if null is None else null
            loader = make_loader()
            callbacks = [*as_train_does(model, loader), *callbacks]
            # shuffle=False unless given, as in train.py: Keras's own shuffle would reorder a
            # PyDataset's batches (with the global random state); the others ignore it.
            options = {"shuffle": False, **fit_options}
            return model.fit(loader, epochs=epochs, verbose=0, callbacks=callbacks, **options)

        return fit

    # name -> (make the loader, fit options, note); `alone` makes those timed alone.
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
    alone: dict[str, Callable[[], Any]] = {
        RENDERED: rendered,
        TUTORIAL: pipelines[TUTORIAL][0],
        # A generator: one pass is the gathers themselves.
        GATHER: lambda: ((x[rows], y[rows]) for rows in batch_rows),
    }
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
        alone[TF_DATA] = tf_data
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
        alone[DATALOADER] = pipelines[DATALOADER][0]
    if backend in GRAIN_BACKENDS:
        from benchmarks import grain_data

        pipelines[GRAIN] = (
            lambda: grain_data.array_pipeline(x, y, BATCH_SIZE, 0, remainder, epochs),
            {"steps_per_epoch": steps},
            grain_data.PIPELINE_NOTE,
        )
        alone[GRAIN] = lambda: grain_data.array_pipeline(x, y, BATCH_SIZE, 0, remainder, None)

    # Checked once, before the timings: they depend on the seeds alone.
    guarantees = check_guarantees(args.work, data, remainder, backend)

    figures = Figures()

    def repetition() -> None:
        # One null model for every pipeline: its step is compiled (traced) once, not for
        # each fit, which would take most of a smoke run; only its later epochs count.
        null = null_model((FEATURES,), CLASSES)
        for name, (make, options, _) in pipelines.items():
            speed = fit_speed(fit_on(make, **options), samples)
            figures.add(name, FIRST, speed.first)
            figures.add(name, LATER, speed.later)
            ceiling = later_epochs(fit_on(make, null, **options), samples)
            figures.add(name, NULL, ceiling)
            print(
                f"  {name}: first {speed.first:,.0f}, later {speed.later:,.0f}, "
                f"null model {ceiling:,.0f}",
                flush=True,
            )
        # The loader alone: one pass with no model, the loader built outside the timing
        # (the rendered Sequence checks every value for NaN once, when it is built).
        for name, make in alone.items():
            loader = make()
            figures.add(name, ALONE, samples / time_call(lambda loader=loader: one_pass(loader)))

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
    if backend in GRAIN_BACKENDS:
        targets.append((Target("rendered Sequence / Grain MapDataset", [], None), [GRAIN]))
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
    # The limits, reported with no goal.
    limits = [
        Target(
            "rendered Sequence alone / NumPy gather of the same batches",
            ratios(figures[RENDERED, ALONE], figures[GATHER, ALONE]),
            None,
        ),
        Target(
            "rendered Sequence, null model / PyDataset of a pre-built batch, null model",
            ratios(figures[RENDERED, NULL], figures[CONSTANT, NULL]),
            None,
        ),
    ]
    columns = [FIRST, LATER, NULL, ALONE]
    result = Result(
        section=f"Arrays in memory: {samples:,} x {FEATURES} float32, batch {BATCH_SIZE}",
        setup=(
            f"The rendered array model (Dense 128-64, {CLASSES} classes), {epochs} epochs per "
            "fit: 'first epoch' includes tracing or compiling; 'later epochs' is the median of "
            "the rest. 'null model': the same fit on a model whose step costs next to nothing "
            "(benchmarks.common.null_model: the mean of each sample times one weight, no "
            "metrics; one per repetition, shared by the pipelines, so compiled once), the "
            "loader's ceiling through fit. 'loader alone' is one pass over "
            "every batch with no model, the loader built beforehand (tf.data, DataLoader and "
            "Grain: iterating them). Targets compare later epochs."
        ),
        unit="samples/s",
        backend=backend,
        rows=[
            *(Row.of(figures, name, columns, note) for name, (_, _, note) in pipelines.items()),
            Row.of(
                figures,
                GATHER,
                columns,
                "x[rows], y[rows] for the rendered Sequence's batches of epoch 0: the memory's "
                "speed",
            ),
        ],
        targets=[*(target for target, _ in targets), *limits],
        notes=[spread_note, guarantees],
    )
    emit(result)


def later_epochs(fit: Callable[[list], Any], samples: int) -> float:
    """Samples per second of `fit`'s later epochs (their median), as fit_speed gives them
    but without its garbage collection after the fit: a third of a second here with three
    backends' modules loaded, and the null model's fits are many and short."""
    timer = EpochTimer()
    fit([timer])
    return samples / median(timer.times[1:])


def check_guarantees(work: str, data: Any, remainder: str, backend: str) -> str:
    """What each pipeline guarantees, checked through fit (see `record_fit`), as a note."""
    ids = np.arange(CHECK_SAMPLES)
    x = np.zeros((CHECK_SAMPLES, FEATURES), np.float32)
    x[:, 0] = ids  # each sample's id, exact in float32
    y = ids % CLASSES

    def rendered() -> Any:
        return data.ArraySequence(x, y, batch_size=CHECK_BATCH, shuffle=True, seed=0)

    # name -> (make, fit options, does the pipeline alone give batch i of epoch e?)
    pipelines: dict[str, tuple[Callable[[], Any], dict[str, Any], Callable[..., bool | None]]]
    pipelines = {
        RENDERED: (
            rendered,
            {},
            lambda seen: reads_back(rendered(), seen, CHECK_EPOCHS, batch_ids),
        ),
        NUMPY: (
            lambda: x,
            {"y": y, "batch_size": CHECK_BATCH, "shuffle": True},
            lambda seen: None,
        ),
    }
    if backend in GRAIN_BACKENDS:
        from benchmarks import grain_data

        batches = len(rendered())

        def grain_alone(seen: dict[int, list[tuple[int, ...]]]) -> bool:
            dataset = grain_data.array_dataset(x, y, CHECK_BATCH, 0, remainder, CHECK_EPOCHS)
            indexed = all(
                batch_ids(dataset[epoch * batches + index]) == seen[epoch][index]
                for epoch in range(CHECK_EPOCHS)
                for index in range(batches)
            )
            pipeline = grain_data.array_pipeline(x, y, CHECK_BATCH, 0, remainder, CHECK_EPOCHS)
            return indexed and grain_data.resumes_from_state(pipeline, batches + CHECK_STOP)

        pipelines[GRAIN] = (
            lambda: grain_data.array_pipeline(x, y, CHECK_BATCH, 0, remainder, CHECK_EPOCHS),
            {"steps_per_epoch": batches},
            grain_alone,
        )
        pipelines[GRAIN_NO_REPEAT] = (
            lambda: grain_data.array_pipeline(x, y, CHECK_BATCH, 0, remainder, None),
            {},
            lambda seen: None,
        )

    checks: dict[str, dict[str, bool | None]] = {}
    for name, (make, options, alone) in pipelines.items():
        whole = record_fit(data.__package__, make, options)
        last = whole[CHECK_EPOCHS - 1]
        with tempfile.TemporaryDirectory(dir=work) as backup:
            stopped = record_fit(data.__package__, make, options, backup, CHECK_STOP, len(whole[0]))
            resumed = record_fit(data.__package__, make, options, backup)
        checks[name] = {
            "every sample once an epoch": all(
                sorted(i for batch in whole[epoch] for i in batch) == ids.tolist()
                for epoch in range(CHECK_EPOCHS)
            ),
            "a new order each epoch": whole[0] != last,
            "the same batches again from the seed": stopped
            == {**whole, CHECK_EPOCHS - 1: last[:CHECK_STOP]},
            "resumed fit: the epoch's own order": resumed.get(CHECK_EPOCHS - 1) == last,
            "resumed fit: only the batches left": resumed.get(CHECK_EPOCHS - 1)
            == last[CHECK_STOP:],
            "the pipeline alone: batch i of epoch e": alone(whole),
        }
    return guarantees_note(
        f"Guarantees, checked through fit on {backend}: {CHECK_SAMPLES} samples whose first "
        f"feature is their id, batch {CHECK_BATCH}, {CHECK_EPOCHS} epochs, each fit after "
        "seeding as train does (seed 0), its training step recording the ids of every batch "
        f"it is given. A fit is stopped after {CHECK_STOP} batches of epoch {CHECK_EPOCHS - 1}, "
        "backed up there by BackupAndRestore, and resumed by a new fit, as a restarted "
        "process would. 'The pipeline alone': it gives any batch of any epoch without reading "
        "those before it (rendered: set_epoch(e), loader[i]; Grain: dataset[e * batches + i], "
        "and an iterator restored with set_state gives the batches left); fit takes no such "
        "position, and BackupAndRestore restores the epoch, not the batch.",
        checks,
    )


def record_fit(
    package: str,
    make_loader: Callable[[], Any],
    fit_options: dict[str, Any],
    backup: str | None = None,
    stop: int | None = None,
    batches: int = 0,
) -> dict[int, list[tuple[int, ...]]]:
    """The sample ids of every batch fit hands the training step, per epoch. The step (run
    eagerly, so the batch arrives as arrays) records them and computes nothing: what is
    checked is the data, and a step compiled or computed for each fit would cost seconds.
    With `stop`, fit is interrupted after that many batches of the last epoch (of `batches`
    each), backed up by BackupAndRestore in `backup`; without, fit resumes from a backup."""
    import keras

    seen: dict[int, list[tuple[int, ...]]] = {}
    epoch = [0]

    class Recording(keras.Model):
        def train_step(self, *args: Any) -> Any:
            # JAX's step takes (state, data) and returns (logs, state); the others (data).
            seen.setdefault(epoch[0], []).append(batch_ids(args[-1]))
            return self.test_step(*args[:-1], None)

        def test_step(self, *args: Any) -> Any:
            # Nothing computed (build_before_fit evaluates a batch); TensorFlow wants a figure.
            logs = {"loss": 0.0}
            return (logs, args[0]) if len(args) == 2 else logs

    seed_as_train(package, 0)
    inputs = keras.Input((FEATURES,))
    model = Recording(inputs, null_model((FEATURES,), CLASSES)(inputs))
    if stop is not None:  # once: the backup of the batch that stops fit
        backup_callback = keras.callbacks.BackupAndRestore(backup, save_freq=batches + stop)
    else:
        backup_callback = None if backup is None else keras.callbacks.BackupAndRestore(backup)
    fit_recorded(model, make_loader, fit_options, backup_callback, epoch, stop, CHECK_EPOCHS)
    return seen


def batch_ids(batch: tuple[Any, ...]) -> tuple[int, ...]:
    """The sample ids of a batch (x, y, ...) of the guarantees' check."""
    return tuple(np.asarray(batch[0])[:, 0].astype(int).tolist())


if __name__ == "__main__":
    main()
