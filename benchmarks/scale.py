"""Data parallel shards: the rows each process reads per epoch with the rendered loader's
sharding (1, 2 and 4 shards) against tf.distribute's DATA sharding of a generator, and, on
JAX, the throughput of fit in 1 and 2 processes on localhost.

Rows are counted, not worked out: a loader that counts the rows its `_load_inputs` gathers
goes once over every batch index of an epoch, for every shard. Against it, where tf.data is
measured (TensorFlow, JAX): a `tf.data.Dataset.from_generator` over an unsharded loader,
then `.shard(num_shards, index)`, which is what tf.distribute's AutoShardPolicy.DATA does to
a dataset it cannot shard by files (a generator has none): every worker runs the whole
generator and keeps every num_shards-th element.

Throughput (JAX only): each fit runs in processes of its own, started here with Keras's
multi-process variables (KERAS_DISTRIBUTION_*) on a free localhost port, set up by the
project's `distribution.start_distribution(True)` as `train --distribute` does; each
process times its epochs inside fit. On a machine with accelerators the same code runs on
them: nothing here names the CPU.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    TF_DATA_BACKENDS,
    Figures,
    Result,
    Row,
    Target,
    emit,
    median,
    parse_args,
    ratios,
    repeat,
    seed_as_train,
    setup_backend,
    sized,
)

FEATURES, BATCH_SIZE, CLASSES = 64, 256, 10
SHARDS = (1, 2, 4)
# Rows counted (one epoch per shard): cheap, so the arrays benchmark's size. Not a multiple
# of the batch: the last batch is partial, and padded when it is split (see the notes).
SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES = 200_000, 20_000, 2 * BATCH_SIZE + 1
# Fit throughput: the first epoch (compiling), then the median of the later ones.
EPOCHS, QUICK_EPOCHS, SMOKE_EPOCHS = 5, 4, 3
# Epochs that compile the step (see the notes): 'later epochs' is the median of the rest.
COMPILING_EPOCHS = 2
# How long a fit's processes may run before they are killed (SIGKILL: JAX ignores SIGTERM).
HANG_SECONDS, QUICK_HANG_SECONDS, SMOKE_HANG_SECONDS = 900, 300, 180
PLAIN = "fit: 1 JAX process, no distribution"
ONE_PROCESS = "fit: 1 JAX process, DataParallel (train --distribute)"
TWO_PROCESSES = "fit: 2 JAX processes on localhost, DataParallel, a shard each"
# The fits measured: their processes, and whether they set up a distribution.
FITS = {PLAIN: (1, False), ONE_PROCESS: (1, True), TWO_PROCESSES: (2, True)}

# Set in the processes that fit (see `fit_in_processes`): how many processes the fit has,
# and whether it sets up a distribution.
PROCESSES_ENV = "BENCHMARK_SCALE_PROCESSES"
DISTRIBUTE_ENV = "BENCHMARK_SCALE_DISTRIBUTE"
MEASURED_PREFIX = "SCALE-MEASURED "
PROCESS_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)

READ, KEPT, PADDING, ALL = (
    "rows read per process",
    "rows kept per process",
    "padding rows per process",
    "rows read, all processes",
)
FIRST, LATER = "fit, first epoch (samples/s)", "fit, later epochs (samples/s)"
CORES = "cores busy per process, later epochs"


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    processes = os.environ.get(PROCESSES_ENV)
    if processes:
        fit_process(args, int(processes), os.environ[DISTRIBUTE_ENV] == "1")
        return
    backend = setup_backend(args, tf_data=True)
    data = importlib.import_module(f"{args.package}.data")
    samples = sized(args, SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES)
    x, y = make_data(samples)

    figures = Figures()
    rows: list[Row] = []
    targets: list[Target] = []
    remainders = {}
    for shards in SHARDS:
        counts = [count_sharded(data, x, y, shards, shard) for shard in range(shards)]
        read = [c["read"] for c in counts]
        if len(set(read)) != 1:
            raise SystemExit(f"scale: {shards} shards read unequal rows per epoch: {read}")
        name = ours(shards)
        figures.add(name, READ, max(read))
        figures.add(name, KEPT, max(c["kept"] for c in counts))
        figures.add(name, PADDING, max(c["padding"] for c in counts))
        figures.add(name, ALL, sum(read))
        remainders[shards] = counts[0]["remainder"]
        real = [c["kept"] - c["padding"] for c in counts]
        if sum(real) != samples:
            raise SystemExit(f"scale: {shards} shards trained on {sum(real)} of {samples} rows")
        rows.append(
            Row.of(
                figures,
                name,
                [READ, KEPT, PADDING, ALL],
                f"remainder={counts[0]['remainder']}; real rows (weight > 0) per process "
                + span(real),
            )
        )
    measured_data = backend in TF_DATA_BACKENDS
    if measured_data:
        for shards in SHARDS[1:]:
            counts = [count_data_sharding(data, x, y, shards, shard) for shard in range(shards)]
            name = data_sharded(shards)
            figures.add(name, READ, max(c["read"] for c in counts))
            figures.add(name, KEPT, max(c["kept"] for c in counts))
            figures.add(name, ALL, sum(c["read"] for c in counts))
            kept = [c["kept"] for c in counts]
            rows.append(
                Row.of(
                    figures,
                    name,
                    [READ, KEPT, ALL],
                    f"from_generator over an unsharded loader, .shard({shards}, index); rows "
                    f"kept per worker {span(kept)} (1 batch in {shards})",
                )
            )
    for shards in SHARDS[1:]:
        # Per process: what the other pipeline reads / what a shard of ours reads.
        against = data_sharded(shards) if measured_data else ours(1)
        label = "DATA sharding of a generator" if measured_data else "one unsharded loader"
        targets.append(
            Target(
                f"rows read per process per epoch, {label} / ours, {shards} shards",
                ratios(figures[against, READ], figures[ours(shards), READ]),
                padded_goal(samples, shards),
            )
        )

    notes = [
        "Rows are counted in the loader's _load_inputs (the gather of x) over one epoch of "
        "every batch index, for each shard; the counts are exact and do not vary, so they "
        "are measured once. A figure 'per process' is the largest over the processes (their "
        "reads are equal, their padding and real rows not). With several shards the loader "
        "pads the last global batch "
        f"(remainder {remainders[1]} becomes {remainders[SHARDS[-1]]}: a batch of "
        f"{BATCH_SIZE} must split evenly), so a shard reads ceil(N / {BATCH_SIZE}) x "
        f"{BATCH_SIZE} / shards rows, its padding rows (weight 0) included: N / shards plus "
        f"at most {BATCH_SIZE - 1} / shards. The goal of each rows target is shards x N / "
        f"(N + {BATCH_SIZE - 1}): shards, less that padding at its largest.",
    ]
    if measured_data:
        notes.append(
            "DATA sharding: each worker's generator yields every batch of the epoch (N rows) "
            "and .shard keeps 1 in num_shards of them, so every worker reads N rows to train "
            "on about N / shards; workers may keep unequal numbers of batches, and the "
            "unsharded loader's partial last batch is not padded."
        )
    else:
        notes.append(
            "tf.data is not measured on this backend: the rows targets compare a shard with "
            "one unsharded loader (N rows, which is what every worker reads under DATA "
            "sharding of a generator, measured on TensorFlow and JAX)."
        )

    if backend == "jax":
        epochs = sized(args, EPOCHS, QUICK_EPOCHS, SMOKE_EPOCHS)
        hang = sized(args, HANG_SECONDS, QUICK_HANG_SECONDS, SMOKE_HANG_SECONDS)
        described: dict[str, str] = {}

        def repetition() -> None:
            for name, (processes, distribute) in FITS.items():
                measured = fit_in_processes(args, processes, distribute, hang)
                # Every process steps through every global batch together (the gradients
                # are all-reduced each step): an epoch of the job ends with its slowest.
                times = [max(epoch) for epoch in zip(*(m["times"] for m in measured), strict=True)]
                figures.add(name, FIRST, samples / times[0])
                figures.add(name, LATER, samples / median(times[COMPILING_EPOCHS:]))
                # Cores each process kept busy in later epochs (its CPU time / wall time):
                # the largest over processes, median over epochs.
                busy = [
                    max(m["cpu"][epoch] / m["times"][epoch] for m in measured)
                    for epoch in range(COMPILING_EPOCHS, len(times))
                ]
                figures.add(name, CORES, median(busy))
                if name not in described:
                    described[name] = describe_processes(measured)
                    read = [m["read_per_epoch"] for m in measured]
                    figures.add(name, READ, max(read))
                    figures.add(name, ALL, sum(read))
                shown = ", ".join(f"{t:.3g}" for t in times)
                print(f"  {name}: epochs {shown} s, {median(busy):.2f} cores busy", flush=True)

        # No figure of a goal varies (rows are counted): --repeats repetitions of the fits.
        repeat(args, "scale", repetition, figures, [])
        done = len(figures[PLAIN, LATER])
        spread_note = (
            f"{done} repetition{'s' if done > 1 else ''} of the fits (the throughput targets "
            "have no goal: repetitions do not go on for their spread, which their ranges show)."
        )
        step_ms = {name: BATCH_SIZE / figures.median(name, LATER) * 1e3 for name in FITS}
        for name in FITS:
            rows.append(Row.of(figures, name, [READ, ALL, FIRST, LATER, CORES], described[name]))
        targets.append(
            Target(
                "fit throughput, 2 JAX processes / 1 process (both DataParallel), later epochs",
                ratios(figures[TWO_PROCESSES, LATER], figures[ONE_PROCESS, LATER]),
                None,
            )
        )
        targets.append(
            Target(
                "fit throughput, 1 process DataParallel / without distribution, later epochs",
                ratios(figures[ONE_PROCESS, LATER], figures[PLAIN, LATER]),
                None,
            )
        )
        cores = os.cpu_count()
        notes += [
            spread_note,
            f"Throughput: fit of the rendered array model over {samples:,} rows, global "
            f"batch {BATCH_SIZE}, {epochs} epochs, in processes started for it (start-up, "
            "keras.distribution.initialize and building the model are outside the timing); "
            "each process times its epochs inside fit, an epoch of the job is its slowest "
            "process's, and samples/s counts the global batch. 'first epoch' is epoch 1; "
            f"'later epochs' the median of epochs {COMPILING_EPOCHS + 1} on, since under "
            "keras.distribution in one process the step compiles again in epoch 2 (Keras's "
            "reset of the metrics at the epoch's start leaves their variables without the "
            "mesh's sharding: a cache miss, seen with jax_explain_cache_misses). "
            "'rows read per process' is counted in each process's loader during fit's epochs; "
            "'cores busy' is a process's CPU time (all its threads) over the epoch's wall time, "
            "the busiest process's, median over the later epochs.",
            f"A step of {BATCH_SIZE} rows (later epochs, medians): "
            f"{step_ms[PLAIN]:.2f} ms in 1 process without distribution, "
            f"{step_ms[ONE_PROCESS]:.2f} ms with DataParallel, {step_ms[TWO_PROCESSES]:.2f} ms "
            f"in 2 processes of {BATCH_SIZE // 2} rows each: "
            f"{step_ms[TWO_PROCESSES] - step_ms[ONE_PROCESS]:.2f} ms more per step is what 2 "
            "processes cost here (the all-reduce of the gradients and metrics between them, "
            "and their sharing of the cores), against the half of the step's compute each "
            "saves.",
            f"What this shows on a machine of {cores} cores: the sharded loader and the "
            "gradient all-reduce run in 2 processes over localhost (gloo on CPU), each process "
            "reading only its shard, and what the collective costs against 1 process. What it "
            f"does not show: scaling. The 2 processes share the same {cores} cores that 1 "
            "process has to itself ('cores busy' says how many each kept busy), and every "
            "step waits for the all-reduce over localhost TCP, so 2 processes cannot be faster "
            "here; on separate hosts or accelerators each process brings its own compute and "
            "only a run there measures scaling. The benchmark runs there unchanged (each row "
            "names the devices its processes found).",
        ]
    else:
        notes.append(
            "Throughput of 1 and 2 processes is measured on JAX only: Keras 3.15 trains over "
            "several processes on JAX alone (the project refuses several TensorFlow "
            "processes, keras-team/keras#20585, and anything distributed on torch)."
        )

    result = Result(
        section=f"Data parallel shards: {samples:,} x {FEATURES} float32, global batch "
        f"{BATCH_SIZE}",
        setup=(
            "Rows each process reads in one epoch with the rendered ArraySequence "
            "(shuffle=True, the project's remainder) as 1, 2 and 4 shards (num_shards, "
            "shard_index: each process gathers its slice of every global batch)"
            + (
                ", against tf.data.Dataset.from_generator over an unsharded ArraySequence then "
                ".shard(num_shards, index), as tf.distribute's AutoShardPolicy.DATA shards a "
                "generator"
                if measured_data
                else ""
            )
            + (
                "; and fit's throughput in 1 and 2 JAX processes on localhost, each process "
                "a shard on its own devices."
                if backend == "jax"
                else "."
            )
        ),
        unit="rows",
        backend=backend,
        rows=rows,
        targets=targets,
        notes=notes,
    )
    emit(result)


def span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def ours(shards: int) -> str:
    noun = "shard" if shards == 1 else "shards"
    return f"rendered ArraySequence, {shards} {noun}"


def data_sharded(shards: int) -> str:
    return f"tf.data from_generator + shard({shards}) (DATA auto-shard)"


def padded_goal(samples: int, shards: int) -> float:
    """What N / (rows a shard reads) can be at worst: shards x N / (N + BATCH_SIZE - 1),
    when the last global batch holds one sample and is padded to BATCH_SIZE rows."""
    return shards * samples / (samples + BATCH_SIZE - 1)


def make_data(samples: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, samples)
    return x, y


def counting_loader(data: Any, x: np.ndarray, y: np.ndarray, **options: Any) -> Any:
    """The rendered ArraySequence, counting the rows it gathers (`rows_read`) and, of the
    batches it serves, their rows and padding rows (weight 0)."""

    class Counting(data.ArraySequence):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.rows_read = self.rows_served = self.padding_served = 0
            self.counting = True

        def _load_inputs(self, rows: np.ndarray, index: int) -> np.ndarray:
            if self.counting:
                self.rows_read += len(rows)
            return super()._load_inputs(rows, index)

        def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
            batch = super().__getitem__(index)
            if self.counting:
                self.rows_served += len(batch[0])
                if len(batch) == 3:
                    self.padding_served += int(np.count_nonzero(batch[2] == 0))
            return batch

    return Counting(x, y, batch_size=BATCH_SIZE, shuffle=True, seed=0, **options)


def count_sharded(data: Any, x: np.ndarray, y: np.ndarray, shards: int, shard: int) -> dict:
    """One epoch of every batch index of shard `shard` of `shards`: rows read and served."""
    loader = counting_loader(data, x, y, num_shards=shards, shard_index=shard)
    for index in range(len(loader)):
        loader[index]
    return {
        "read": loader.rows_read,
        "kept": loader.rows_served,
        "padding": loader.padding_served,
        "remainder": loader.remainder,
    }


def count_data_sharding(
    data: Any, x: np.ndarray, y: np.ndarray, shards: int, shard: int
) -> dict[str, int]:
    """Worker `shard` of `shards` under DATA sharding of a generator over an unsharded
    loader: the rows its generator produced in one epoch, and the rows it kept."""
    import tensorflow as tf

    loader = counting_loader(data, x, y)

    def generate() -> Any:
        for index in range(len(loader)):
            yield loader[index]

    signature = (
        tf.TensorSpec((None, *loader.input_shape), tf.float32),
        tf.TensorSpec((None,), tf.as_dtype(loader.targets.dtype)),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    kept = 0
    for batch_x, _ in dataset.shard(shards, shard):
        kept += int(batch_x.shape[0])
    return {"read": loader.rows_read, "kept": kept}


def describe_processes(measured: list[dict[str, Any]]) -> str:
    devices = {(m["local_devices"], m["platform"]) for m in measured}
    count, platform = devices.pop() if len(devices) == 1 else ("?", "mixed")
    processes = "1 process" if len(measured) == 1 else f"{len(measured)} processes"
    noun = "device" if count == 1 else "devices"
    return f"{processes} x {count} {platform} {noun}; {measured[0]['description']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def fit_in_processes(
    args: Any, processes: int, distribute: bool, hang: float
) -> list[dict[str, Any]]:
    """Run this module again in `processes` processes that fit together (process i with
    KERAS_DISTRIBUTION_PROCESS_ID=i), with a distribution or not, each in a session of its
    own; return what each measured, in process order. All are killed (SIGKILL to each
    group) past `hang` seconds, or as soon as one fails."""
    base = {k: v for k, v in os.environ.items() if k not in PROCESS_VARIABLES}
    base[PROCESSES_ENV] = str(processes)
    base[DISTRIBUTE_ENV] = "1" if distribute else "0"
    address = f"localhost:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="scale-", dir=args.work) as folder:
        started = []
        try:
            for process in range(processes):
                env = dict(base)
                if processes > 1:
                    env |= {
                        "KERAS_DISTRIBUTION_JOB_ADDRESSES": address,
                        "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
                        "KERAS_DISTRIBUTION_PROCESS_ID": str(process),
                    }
                out = open(Path(folder) / f"{process}.out", "w+", encoding="utf-8")
                err = open(Path(folder) / f"{process}.err", "w+", encoding="utf-8")
                popen = subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.scale", *sys.argv[1:]],
                    env=env,
                    stdout=out,
                    stderr=err,
                    text=True,
                    start_new_session=True,
                )
                started.append((popen, out, err))
            wait_all([popen for popen, _, _ in started], hang)
            measured = []
            for process, (popen, out, err) in enumerate(started):
                out.seek(0)
                err.seek(0)
                found = [
                    json.loads(line.removeprefix(MEASURED_PREFIX))
                    for line in out.read().splitlines()
                    if line.startswith(MEASURED_PREFIX)
                ]
                if popen.returncode != 0 or not found:
                    tail = err.read()[-3000:]
                    raise SystemExit(
                        f"scale: process {process} of {processes} failed (exit code "
                        f"{popen.returncode}); its stderr ends:\n{tail}"
                    )
                measured.append(found[-1])
            return measured
        finally:
            for popen, out, err in started:
                kill_group(popen)
                out.close()
                err.close()


def wait_all(popens: list[subprocess.Popen], hang: float) -> None:
    """Until every process has ended, or one failed, or `hang` seconds have passed: then
    the rest are killed (the caller reports which failed)."""
    deadline = time.monotonic() + hang
    while any(popen.poll() is None for popen in popens):
        if any(popen.poll() not in (None, 0) for popen in popens):
            return
        if time.monotonic() > deadline:
            for popen in popens:
                kill_group(popen)
            raise SystemExit(f"scale: a fit ran past {hang:.0f} s; its processes were killed")
        time.sleep(0.1)


def kill_group(popen: subprocess.Popen) -> None:
    """SIGKILL to `popen`'s process group (a session of its own) if it still runs."""
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()


def epoch_clocks() -> Any:
    """A Keras callback recording each epoch's wall time and this process's CPU time
    (seconds, all its threads)."""
    import keras

    class EpochClocks(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []
            self.cpu: list[float] = []
            self._start = (0.0, 0.0)

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.times.append(time.perf_counter() - self._start[0])
            self.cpu.append(time.process_time() - self._start[1])

    return EpochClocks()


def fit_process(args: Any, processes: int, distribute: bool) -> None:
    """One process of a fit of `processes`: set up as train sets up (with --distribute if
    `distribute`), fit the rendered model on its shard, print its epoch times."""
    distribution_module = importlib.import_module(f"{args.package}.distribution")
    # Before anything else touches JAX: the processes must connect first.
    distribution = distribution_module.start_distribution(distribute)
    if distribution.processes != processes:
        raise SystemExit(f"scale: {distribution.processes} processes, expected {processes}")
    import jax

    data = importlib.import_module(f"{args.package}.data")
    modeling = importlib.import_module(f"{args.package}.modeling")
    batch_loader = importlib.import_module(f"{args.package}.batch_loader")

    samples = sized(args, SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES)
    epochs = sized(args, EPOCHS, QUICK_EPOCHS, SMOKE_EPOCHS)
    x, y = make_data(samples)  # the same in every process, as a shared dataset
    loader = counting_loader(data, x, y, **distribution.loader_options())
    seed_as_train(args.package, 0)
    with distribution.scope():
        model = modeling.new_model((FEATURES,))
    loader.counting = False
    batch_loader.build_before_fit(model, loader)
    timer = epoch_clocks()
    loader.counting = True
    model.fit(
        loader,
        epochs=epochs,
        verbose=0,
        callbacks=[batch_loader.TrainerEpoch(loader), timer],
    )
    measured = {
        "times": timer.times,
        "cpu": timer.cpu,
        "read_per_epoch": loader.rows_read / epochs,
        "platform": jax.devices()[0].platform,
        "local_devices": jax.local_device_count(),
        "description": (
            distribution.describe(BATCH_SIZE, len(loader))
            if distribute
            else "no keras.distribution (train without --distribute)"
        ),
    }
    print(MEASURED_PREFIX + json.dumps(measured), flush=True)


if __name__ == "__main__":
    main()
