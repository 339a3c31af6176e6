"""What every benchmark shares: backend set-up, epoch timing, repetitions and their spread,
peak memory, output.

A benchmark script runs in its own process with one rendered project on PYTHONPATH:

    KERAS_BACKEND=B python -m benchmarks.<kind> --package NAME --work DIR
        [--repeats R] [--max-repeats M] [--quick | --smoke]

and prints its result as JSON on the last line of stdout (see `emit`); the driver
(`python -m benchmarks`) collects them into one report. Each repetition runs every pipeline
once, in turn, so a slow spell of the machine hits all of them alike; a figure is the
median over repetitions, shown with its range, and a target's ratio is taken within each
repetition. Repetitions go on until the figures of every target hold still (`repeat`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.util
import json
import os
import resource
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# What `emit` prints before its JSON, so the driver finds the line among Keras's output.
RESULT_PREFIX = "BENCHMARK-RESULT "
BACKENDS = ("tensorflow", "jax", "torch")
# Where tf.data is among the pipelines measured: on TensorFlow, and on JAX, whose users
# often feed Keras (which takes a tf.data.Dataset on every backend) from tf.data or
# TensorFlow Datasets, where TensorFlow is installed (a CUDA machine with JAX alone has
# none); a torch user has torch.utils.data instead (benchmarks/torch_data.py).
TF_DATA_BACKENDS = (
    ("tensorflow", "jax") if importlib.util.find_spec("tensorflow") is not None else ()
)
# Repetitions go on (up to --max-repeats) while a figure in a target spreads (max - min)
# more than this share of its median: then a difference of this size is visible.
SPREAD_GOAL = 0.05
MAX_REPEATS = 10


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--package", required=True, help="the rendered project's package name")
    parser.add_argument("--work", required=True, help="a folder for generated data")
    parser.add_argument(
        "--repeats", type=int, default=3, help="repetitions at least (median reported)"
    )
    parser.add_argument(
        "--max-repeats",
        type=int,
        default=MAX_REPEATS,
        help="repetitions at most, while a figure in a target spreads more than "
        f"{SPREAD_GOAL:.0%}% of its median",
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="small sizes: checks it runs")
    sizes.add_argument(
        "--smoke",
        action="store_true",
        help="the least sizes that run every pipeline once (the test suite's smoke run)",
    )
    parser.add_argument(
        "--intra-op-threads",
        type=int,
        default=1,
        help="intra-op threads of TensorFlow (also for tf.data) and torch: 0 for their "
        "defaults, one per core; JAX has no such setting",
    )
    args = parser.parse_args()
    if not 1 <= args.repeats <= args.max_repeats:
        parser.error(
            f"need 1 <= --repeats <= --max-repeats, got {args.repeats}, {args.max_repeats}"
        )
    return args


def sized(args: argparse.Namespace, full: int, quick: int, smoke: int) -> int:
    """The size (samples, epochs, bytes) for this run: --smoke, --quick or the full one."""
    return smoke if args.smoke else quick if args.quick else full


def setup_backend(args: argparse.Namespace, *, tf_data: bool) -> str:
    """Keras's backend for this process (KERAS_BACKEND, which the driver sets), given
    --intra-op-threads before anything imports it; TensorFlow is imported (and given the
    same setting) on TensorFlow, and on JAX only when the benchmark measures tf.data
    (`tf_data`): a JAX or torch run of a benchmark without tf.data never loads it.

    One intra-op thread by default, on TensorFlow and torch: on 2 cores TensorFlow's default
    (one per core) leaves the input pipeline's threads fighting the model's, and epoch
    times of the same pipeline then vary twofold from one epoch to the next (measured),
    which no median of a few repetitions survives. JAX 0.10's CPU runtime has no such
    setting: XLA_FLAGS' intra_op_parallelism_threads and --xla_cpu_multi_thread_eigen
    leave its threads and CPU use as they were (measured), so JAX keeps its own.

    With --smoke, JAX keeps its compilations in --work: every fit builds the same model, and
    compiling it again for each (seconds for the image CNN) would be most of a smoke run.
    Not otherwise: the first fit would pay for the others' first epochs.
    """
    intra_op_threads = args.intra_op_threads
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend not in BACKENDS:
        raise SystemExit(f"KERAS_BACKEND is {backend!r}; the benchmarks run on {BACKENDS}")
    if backend == "jax" and args.smoke:
        import jax

        jax.config.update("jax_compilation_cache_dir", os.path.join(args.work, "jax-cache"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if intra_op_threads and backend == "torch":
        import torch

        torch.set_num_threads(intra_op_threads)
    if backend == "tensorflow" or (tf_data and backend in TF_DATA_BACKENDS):
        import tensorflow as tf

        if intra_op_threads:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
    import keras

    if keras.backend.backend() != backend:
        raise SystemExit(f"KERAS_BACKEND is {backend} but Keras runs on {keras.backend.backend()}")
    return backend


class EpochTimer:
    """A Keras callback recording each epoch's wall time (seconds)."""

    def __new__(cls) -> Any:
        import keras

        class _EpochTimer(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.times: list[float] = []
                self._start = 0.0

            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                self.times.append(time.perf_counter() - self._start)

        return _EpochTimer()


def constant_sequence(batch: tuple[Any, ...], steps: int) -> Any:
    """The fastest a PyDataset can be: `steps` batches, each the same pre-built `batch`."""
    import keras

    class ConstantSequence(keras.utils.PyDataset):
        def __len__(self) -> int:
            return steps

        def __getitem__(self, index: int) -> tuple[Any, ...]:
            return batch

    return ConstantSequence()


@dataclass
class FitSpeed:
    """Samples (or images) per second of one fit: the first epoch and the later ones."""

    first: float
    later: float


def fit_speed(fit: Callable[[list[Any]], Any], samples_per_epoch: int) -> FitSpeed:
    """Run `fit(callbacks)` (at least 2 epochs) and return its throughput.

    The first epoch includes tracing the training step (and, for loaders with a cache,
    filling it); later epochs are the steady state: their median.
    """
    timer = EpochTimer()
    fit([timer])
    times = timer.times
    if len(times) < 2:
        raise RuntimeError(f"fit ran {len(times)} epoch(s); fit_speed needs at least 2")
    gc.collect()
    return FitSpeed(samples_per_epoch / times[0], samples_per_epoch / statistics.median(times[1:]))


def time_call(function: Callable[[], Any]) -> float:
    """Wall time of one call, in seconds."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def one_pass(loader: Any, threads: int = 1) -> None:
    """Every batch of `loader` once: a PyDataset by index, as Keras reads it (from `threads`
    threads, in order), a tf.data dataset by iterating it eagerly."""
    if not hasattr(loader, "__getitem__"):
        for _ in loader:
            pass
    elif threads == 1:
        for index in range(len(loader)):
            loader[index]
    else:
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(loader.__getitem__, range(len(loader))):
                pass


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


class PeakRss:
    """The process's peak resident memory (MiB) while inside the `with` block.

    Samples /proc/self/status every 20 ms (VmRSS: anonymous memory plus the pages of
    mapped files that are resident, so a memmap's pages count); ru_maxrss would report
    the peak of the whole process life, set data generation included.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self.peak_mib = rss_mib()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, rss_mib())

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mib = max(self.peak_mib, rss_mib())


def rss_mib() -> float:
    """Resident memory of this process now, in MiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    # Not Linux: the peak so far is the best available (KiB on Linux, bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def spread(values: list[float]) -> float:
    """(max - min) / median of one figure's repetitions: 0 for a single one."""
    middle = median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


class Figures:
    """Every figure a benchmark measures, one value per repetition:
    figures[pipeline, column] is the list of them."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], list[float]] = {}

    def add(self, pipeline: str, column: str, value: float) -> None:
        self._values.setdefault((pipeline, column), []).append(value)

    def __getitem__(self, key: tuple[str, str]) -> list[float]:
        return self._values[key]

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._values

    def median(self, pipeline: str, column: str) -> float:
        return median(self._values[pipeline, column])


def repeat(
    args: argparse.Namespace,
    name: str,
    repetition: Callable[[], None],
    figures: Figures,
    watched: list[tuple[str, str]],
) -> str:
    """Call `repetition` (every pipeline once, in turn) --repeats times, then again while a
    `watched` figure (one a target is made of) spreads more than SPREAD_GOAL of its median,
    up to --max-repeats; return a note saying which figures held still and which did not."""
    done = 0
    while True:
        done += 1
        print(f"{name}: repetition {done} (at least {args.repeats}, at most {args.max_repeats})")
        repetition()
        wide = {key: spread(figures[key]) for key in watched if spread(figures[key]) >= SPREAD_GOAL}
        if done >= args.max_repeats or (done >= args.repeats and not wide):
            break
    if done == 1:
        return "One repetition: no spread measured."
    if not wide:
        return (
            f"{done} repetitions: every figure in a target spread less than "
            f"{SPREAD_GOAL:.0%} of its median."
        )
    listed = "; ".join(
        f"{pipeline} ({column}): {share:.0%}" for (pipeline, column), share in wide.items()
    )
    return (
        f"{done} repetitions (the cap): these figures in a target still spread "
        f"{SPREAD_GOAL:.0%} or more of their median: {listed}."
    )


@dataclass
class Row:
    """One line of a section's table: a pipeline and its figures (column name -> values,
    one per repetition, or a single one for what does not vary)."""

    pipeline: str
    figures: dict[str, list[float]]
    note: str = ""

    @classmethod
    def of(cls, figures: Figures, pipeline: str, columns: list[str], note: str = "") -> Row:
        """The row of `pipeline` with those of `columns` it was measured in."""
        measured = {c: figures[pipeline, c] for c in columns if (pipeline, c) in figures}
        return cls(pipeline, measured, note)


@dataclass
class Target:
    """One target of the issue: a ratio (or figure) measured in every repetition, against
    its goal; `goal` None for a comparison reported without one."""

    name: str
    values: list[float]
    goal: float | None
    # ">=": value must reach goal; "<=": value must not exceed it.
    compare: str = ">="

    def holds(self, value: float) -> bool:
        assert self.goal is not None
        return value >= self.goal if self.compare == ">=" else value <= self.goal

    def verdict(self) -> str | None:
        """Met or missed on the median; "clearly" when every repetition agrees, "within the
        spread" when some repetitions fall on the other side of the goal."""
        if self.goal is None:
            return None
        met = self.holds(median(self.values))
        agreeing = sum(self.holds(v) == met for v in self.values)
        if len(self.values) == 1:
            return "met" if met else "missed"
        side = "clearly" if agreeing == len(self.values) else "within the spread"
        return f"{'met' if met else 'missed'}, {side}"


def ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    """A ratio per repetition: both figures of one repetition ran side by side."""
    return [ratio(n, d) for n, d in zip(numerators, denominators, strict=True)]


def best(*series: list[float]) -> list[float]:
    """Per repetition, the best (largest) of several pipelines' figures."""
    return [max(values) for values in zip(*series, strict=True)]


@dataclass
class Result:
    """A benchmark's output on one backend: one section of the report."""

    section: str
    setup: str
    unit: str
    backend: str = ""
    rows: list[Row] = field(default_factory=list)
    # The backends' packages the measuring process had imported when it ended (`emit` sets
    # its own unless the benchmark measured in other processes).
    loaded: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def emit(result: Result) -> None:
    """Print `result` as the last line of stdout, for the driver."""
    result.loaded = result.loaded or loaded_backends()
    payload = asdict(result)
    for target, original in zip(payload["targets"], result.targets, strict=True):
        target["verdict"] = original.verdict()
    print(RESULT_PREFIX + json.dumps(payload), flush=True)


def seed_as_train(package: str, seed: int) -> None:
    """Seed as the project's train does (keras_backend.set_random_seed): Keras's own seeding,
    without importing TensorFlow on JAX and torch, which would add seconds to each process's
    start and hundreds of MiB to its memory for a library nothing there uses."""
    importlib.import_module(f"{package}.keras_backend").set_random_seed(seed)


def loaded_backends() -> list[str]:
    """The backends' packages this process has imported."""
    return [name for name in ("tensorflow", "jax", "torch") if name in sys.modules]


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


def as_train_does(model: Any, loader: Any) -> list[Any]:
    """Prepare `model` to fit on `loader` as train.py does, and return the callbacks train
    gives fit besides its own. For a rendered loader: the model built on its first batch
    (build_before_fit: on JAX and torch, else fit's workers mix two epochs' orders) and its
    TrainerEpoch (the loader's epoch from fit, else every epoch repeats epoch 0's order).
    Nothing for the other pipelines."""
    if not hasattr(loader, "set_epoch"):
        return []
    package = type(loader).__module__.rsplit(".", 1)[0]
    batch_loader = importlib.import_module(f"{package}.batch_loader")
    batch_loader.build_before_fit(model, loader)
    return [batch_loader.TrainerEpoch(loader)]


# --- null model and Grain (shared)


def null_model(
    input_shape: tuple[int | None, ...], outputs: int, loss: Any = None, dtype: str = "float32"
) -> Any:
    """A compiled Keras model whose training step costs next to nothing, so that fit on it
    shows the ceiling of a loader through fit: each sample's inputs averaged, times one
    trainable weight, as `outputs` logits. fit still computes a loss, a gradient and an
    optimizer update, as with any model.

    `loss` defaults to integer classes (sparse categorical cross-entropy on the logits);
    no metrics, which would cost more than the model.
    """
    import keras

    class NullHead(keras.layers.Layer):
        def build(self, input_shape: Any) -> None:
            self.scale = self.add_weight(shape=(), initializer="zeros", name="scale")

        def call(self, x: Any) -> Any:
            # Every value is read (the loader's work is consumed); one multiply per sample.
            flat = keras.ops.reshape(keras.ops.cast(x, "float32"), (keras.ops.shape(x)[0], -1))
            mean = keras.ops.mean(flat, axis=1, keepdims=True)
            return mean * self.scale + keras.ops.zeros((1, outputs))

        def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
            return (input_shape[0], outputs)

    inputs = keras.Input(shape=input_shape, dtype=dtype)
    model = keras.Model(inputs, NullHead()(inputs), name="null_model")
    model.compile(
        optimizer="sgd",
        loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


class StoppedFit(Exception):
    """What `epoch_recorder` raises to stop fit mid-epoch, as a killed process would stop."""


def epoch_recorder(epoch: list[int], stop: int | None, last_epoch: int) -> Any:
    """A callback that keeps `epoch[0]` at the epoch fit is in and, with `stop`, raises
    StoppedFit after that many batches of `last_epoch`."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, index: int, logs: Any = None) -> None:
            epoch[0] = index

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if stop is not None and epoch[0] == last_epoch and batch == stop - 1:
                raise StoppedFit

    return Recorder()


def fit_recorded(
    model: Any,
    make_loader: Callable[[], Any],
    fit_options: dict[str, Any],
    backup: Any,
    epoch: list[int],
    stop: int | None,
    epochs: int,
) -> None:
    """Fit `model` (a recording null model, run eagerly so batches reach it as arrays) on a
    fresh loader for `epochs`, with train's callbacks, `backup` (a BackupAndRestore, or None)
    before an epoch_recorder that keeps `epoch[0]` and stops fit after `stop` batches of the
    last epoch. Warnings are off: Grain runs out of data every epoch, as it is meant to."""
    import keras

    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=True,
    )
    loader = make_loader()
    callbacks = as_train_does(model, loader)
    if backup is not None:
        callbacks.append(backup)  # first: the batch that stops fit is backed up
    callbacks.append(epoch_recorder(epoch, stop, epochs - 1))
    options = {"shuffle": False, **fit_options}  # as train.py and `main` fit
    with warnings.catch_warnings(), contextlib.suppress(StoppedFit):
        warnings.simplefilter("ignore")
        model.fit(loader, epochs=epochs, verbose=0, callbacks=callbacks, **options)


def reads_back(
    loader: Any, seen: dict[int, list[tuple[int, ...]]], epochs: int, batch_ids: Callable[..., Any]
) -> bool:
    """Whether a fresh rendered loader gives batch i of epoch e as fit trained on it
    (`seen`), read backwards, so that no batch is read before those it comes after."""
    for epoch in reversed(range(epochs)):
        loader.set_epoch(epoch)
        for index in reversed(range(len(loader))):
            if batch_ids(loader[index]) != seen[epoch][index]:
                return False
    return True


def guarantees_note(title: str, checks: dict[str, dict[str, bool | None]]) -> str:
    """A note holding a table: a row per pipeline, a yes/no column per property checked
    (None: not applicable, "-"). Rows do not start "| pipeline |", which heads the
    section's own table."""
    columns = list(dict.fromkeys(column for row in checks.values() for column in row))
    cell = {True: "yes", False: "**no**", None: "-"}
    lines = [
        f"{title}",
        "",
        f"| checked | {' | '.join(columns)} |",
        f"|---|{'---|' * len(columns)}",
        *(
            f"| {name} | {' | '.join(cell[row.get(column)] for column in columns)} |"
            for name, row in checks.items()
        ),
        "",
    ]
    return "\n".join(lines)
