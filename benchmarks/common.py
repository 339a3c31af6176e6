"""What every benchmark shares: TensorFlow set-up, epoch timing, medians, peak memory, output.

A benchmark script runs in its own process with one rendered project on PYTHONPATH:

    python -m benchmarks.<kind> --package NAME --repeats R --work DIR [--quick | --smoke]

and prints its result as JSON on the last line of stdout (see `emit`); the driver
(`python -m benchmarks`) collects them into one table. Each repetition runs every pipeline
once, in turn, so a slow spell of the machine hits all of them alike; a figure is the
median over repetitions.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# What `emit` prints before its JSON, so the driver finds the line among Keras's output.
RESULT_PREFIX = "BENCHMARK-RESULT "


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--package", required=True, help="the rendered project's package name")
    parser.add_argument("--work", required=True, help="a folder for generated data")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (median reported)")
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
        help="TensorFlow intra-op threads (0: TensorFlow's default, one per core)",
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    return args


def sized(args: argparse.Namespace, full: int, quick: int, smoke: int) -> int:
    """The size (samples, epochs, bytes) for this run: --smoke, --quick or the full one."""
    return smoke if args.smoke else quick if args.quick else full


def setup_tensorflow(intra_op_threads: int) -> None:
    """Import TensorFlow with the thread setting every pipeline of the run shares.

    One intra-op thread by default: on 2 cores TensorFlow's default (one per core) leaves
    the input pipeline's threads fighting the model's, and epoch times of the same
    pipeline then vary twofold from one epoch to the next (measured), which no median of
    a few repetitions survives.
    """
    import tensorflow as tf

    if intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)


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


@dataclass
class Row:
    """One line of a section's table: a pipeline and its figures (column name -> value)."""

    pipeline: str
    figures: dict[str, float]
    note: str = ""


@dataclass
class Target:
    """One target of the issue: a measured ratio (or figure) against its goal."""

    name: str
    value: float
    goal: float
    # ">=": value must reach goal; "<=": value must not exceed it.
    compare: str = ">="

    @property
    def met(self) -> bool:
        return self.value >= self.goal if self.compare == ">=" else self.value <= self.goal


@dataclass
class Result:
    """A benchmark's output: one section of the report."""

    section: str
    setup: str
    unit: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def emit(result: Result) -> None:
    """Print `result` as the last line of stdout, for the driver."""
    payload = asdict(result)
    for target, original in zip(payload["targets"], result.targets, strict=True):
        target["met"] = original.met
    print(RESULT_PREFIX + json.dumps(payload), flush=True)


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


def epoch_callbacks(loader: Any) -> list[Any]:
    """What train.py gives fit besides its own callbacks: for a rendered loader, its
    TrainerEpoch (the loader's epoch from fit, else every epoch repeats epoch 0's order);
    nothing for the other pipelines."""
    if not hasattr(loader, "set_epoch"):
        return []
    package = type(loader).__module__.rsplit(".", 1)[0]
    return [importlib.import_module(f"{package}.batch_loader").TrainerEpoch(loader)]
