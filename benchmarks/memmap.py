"""Arrays larger than one would load casually: an np.memmap of more than a quarter of RAM,
trained on through the rendered ArraySequence; throughput and peak resident memory.

The file is written once into --work and reused by later runs (delete build/bench to free
the disk). It is read through the page cache: a second run reads from memory, not disk.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    Figures,
    PeakRss,
    Result,
    Row,
    Target,
    as_train_does,
    emit,
    loaded_backends,
    median,
    parse_args,
    repeat,
    rss_mib,
    seed_as_train,
    setup_backend,
    sized,
)

FEATURES, BATCH_SIZE, CLASSES = 1024, 256, 10  # a row is 4 KiB: one page
# The file is this share of the machine's RAM (the issue: "larger than a quarter of RAM").
SHARE_OF_RAM = 0.27
QUICK_BYTES = 64 * 2**20
SMOKE_BYTES = (2 * BATCH_SIZE + 1) * FEATURES * 4  # two full batches and a partial one
WRITE_CHUNK_ROWS = 16_384
PEAK_RSS_GOAL_MIB = 1024


# Set in the child process that measures one pipeline (see `main`).
PIPELINE_ENV = "BENCHMARK_MEMMAP_PIPELINE"
MEASURED_PREFIX = "MEMMAP-MEASURED "
RENDERED, TUTORIAL = "rendered ArraySequence (shuffle=True)", "tutorial Sequence"


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    size = sized(args, int(ram * SHARE_OF_RAM), QUICK_BYTES, SMOKE_BYTES)
    rows = size // (FEATURES * 4)
    path = Path(args.work) / f"inputs-{rows}x{FEATURES}.npy"
    pipeline = os.environ.get(PIPELINE_ENV)
    if pipeline:
        print(MEASURED_PREFIX + json.dumps(measure(args, pipeline, path, rows)), flush=True)
        return
    write_inputs(path, rows)
    file_gib = path.stat().st_size / 2**30

    # Every fit in a new process: a mapping that Keras or TensorFlow still holds on to after
    # a fit (measured: the memmap of an earlier fit stayed resident) must not count against
    # the next one, and each peak is that of one process training once.
    figures = Figures()
    loaded: list[str] = []

    def repetition() -> None:
        for name in (RENDERED, TUTORIAL):
            measured = measure_in_child(name)
            loaded[:] = measured.pop("loaded")
            for key, value in measured.items():
                figures.add(name, key, value)
            print(
                f"  {name}: {measured['speed']:,.0f} samples/s, "
                f"peak RSS {measured['peak']:,.0f} MiB",
                flush=True,
            )

    spread_note = repeat(args, "memmap", repetition, figures, [(RENDERED, "peak")])
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")

    def memory(name: str) -> dict[str, list[float]]:
        return {
            "fit: peak RSS, MiB": figures[name, "peak"],
            "before the file, MiB": figures[name, "baseline"],
            "loader alone: RSS growth, MiB": figures[name, "loader growth"],
            "loader alone: peak RSS growth, MiB": figures[name, "loader peak growth"],
        }

    result = Result(
        section=f"A memmap on disk: {rows:,} x {FEATURES} float32 ({file_gib:.1f} GiB, "
        f"{file_gib / (ram / 2**30):.0%} of RAM), batch {BATCH_SIZE}",
        setup=(
            "In a new process per pipeline, the file opened with np.load(mmap_mode='r') as the "
            "project's storage does: the loader built and read once alone (every batch, no "
            "model, each batch's x copied as fit's conversion to a tensor would), then one "
            "epoch of fit (every row read once) with the rendered array model. RSS is the "
            "process's resident memory (VmRSS, mapped file pages included), sampled every "
            "20 ms. 'before the file': RSS just before the file is opened (the backend, the "
            "model, the labels); the loader's growth is its RSS after the pass alone, and its "
            "peak from construction to the end of that pass, less that figure; 'fit: peak "
            "RSS' is the whole process's peak, from before the loader is made to the end of "
            "fit. The file is in the page cache after the first run: these are reads from "
            "memory, not disk."
        ),
        unit="samples/s",
        backend=backend,
        loaded=loaded,
        rows=[
            Row(
                RENDERED,
                {
                    "fit, one epoch": figures[RENDERED, "speed"],
                    **memory(RENDERED),
                    "construction (reads every row)": figures[RENDERED, "construction"],
                },
                "rows in a new order every epoch, read with preadv",
            ),
            Row(
                TUTORIAL,
                {"fit, one epoch": figures[TUTORIAL, "speed"], **memory(TUTORIAL)},
                "contiguous slices of the mapping",
            ),
        ],
        targets=[
            Target(
                "peak RSS (MiB) training on the memmap, rendered Sequence",
                figures[RENDERED, "peak"],
                PEAK_RSS_GOAL_MIB,
                "<=",
            ),
            Target(
                "the loader's own peak RSS growth (MiB), rendered Sequence",
                figures[RENDERED, "loader peak growth"],
                None,
            ),
        ],
    )
    peak, baseline = median(figures[RENDERED, "peak"]), median(figures[RENDERED, "baseline"])
    growth = median(figures[RENDERED, "loader peak growth"])
    building = median(figures[RENDERED, "construction peak growth"])
    chunk_mib = importlib.import_module(f"{args.package}.memmap_rows").CHUNK_BYTES / 2**20
    result.notes = [
        spread_note,
        "Construction checks every value for NaN and infinity (array_checks.check_finite), "
        f"reading the whole file once in {chunk_mib:g} MiB chunks (memmap_rows.CHUNK_BYTES).",
        f"Rendered Sequence: the process's peak of {peak:,.0f} MiB is {baseline:,.0f} MiB "
        "from before the file was opened (the backend, the model, the labels), "
        f"{growth:,.0f} MiB of the loader's own peak ({building:,.0f} MiB of it while the "
        f"loader was built: its NaN check reads {chunk_mib:g} MiB chunks), and "
        f"{max(0.0, peak - baseline - growth):,.0f} MiB more during fit.",
    ]
    emit(result)


def measure_in_child(pipeline: str) -> dict[str, Any]:
    """Run this module again, measuring `pipeline` once, and return its figures."""
    env = {**os.environ, PIPELINE_ENV: pipeline}
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks.memmap", *sys.argv[1:]],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    for line in process.stdout.splitlines():
        if line.startswith(MEASURED_PREFIX):
            return json.loads(line.removeprefix(MEASURED_PREFIX))
    raise SystemExit(f"memmap: measuring {pipeline!r} failed (exit code {process.returncode})")


def measure(args: Any, pipeline: str, path: Path, rows: int) -> dict[str, Any]:
    """Run `pipeline` on the memmap: first alone, one pass with no model (the loader's own
    memory: RSS after it and its peak, over RSS before the file was opened), then one
    epoch of fit (its speed and the process's peak RSS)."""
    setup_backend(args, tf_data=False)

    from benchmarks.tutorial import TutorialSequence

    data = importlib.import_module(f"{args.package}.data")
    modeling = importlib.import_module(f"{args.package}.modeling")
    y = np.random.default_rng(1).integers(0, CLASSES, rows)

    # As train seeds: on JAX and torch, without importing TensorFlow (its hundreds of MiB
    # would be counted in the process's peak).
    seed_as_train(args.package, 0)
    model = modeling.new_model((FEATURES,))
    baseline = rss_mib()
    # Opened as the project's storage.load_split opens it.
    inputs = np.load(path, mmap_mode="r")
    with PeakRss() as peak:
        with PeakRss() as alone:
            with PeakRss() as building:
                start = time.perf_counter()
                if pipeline == RENDERED:
                    loader = data.ArraySequence(
                        inputs, y, batch_size=BATCH_SIZE, shuffle=True, seed=0
                    )
                else:
                    loader = TutorialSequence(inputs, y, BATCH_SIZE)
                construction = rows / (time.perf_counter() - start)
            for index in range(len(loader)):
                # A copy of x, as fit's conversion to a tensor makes: the tutorial's batches
                # are views of the mapping, read only when copied.
                np.array(loader[index][0])
        after_pass = rss_mib()
        callbacks = as_train_does(model, loader)  # a batch read, outside the timing
        start = time.perf_counter()
        model.fit(loader, epochs=1, verbose=0, callbacks=callbacks)
        speed = rows / (time.perf_counter() - start)
    return {
        "speed": speed,
        "peak": peak.peak_mib,
        "baseline": baseline,
        "construction": construction,
        "loader growth": after_pass - baseline,
        "loader peak growth": alone.peak_mib - baseline,
        "construction peak growth": building.peak_mib - baseline,
        "loaded": loaded_backends(),
    }


def write_inputs(path: Path, rows: int) -> None:
    """Write a .npy file of `rows` x FEATURES standard normal float32, chunk by chunk.

    Kept for the next run when a file of that shape is already there; written to a
    temporary name first, so an interrupted run never leaves a short file behind.
    """
    if path.exists():
        existing = np.load(path, mmap_mode="r")
        if existing.shape == (rows, FEATURES) and existing.dtype == np.float32:
            print(f"memmap: reusing {path}", flush=True)
            return
        raise SystemExit(f"{path} exists with shape {existing.shape}: delete it to rewrite")
    size = rows * FEATURES * 4
    free = shutil.disk_usage(path.parent).free
    if free < size + 2**30:
        raise SystemExit(
            f"memmap: {path.parent} has {free / 2**30:.1f} GiB free; the file needs "
            f"{size / 2**30:.1f} GiB and 1 GiB to spare: free some space or pass --work elsewhere"
        )
    print(f"memmap: writing {path} ({size / 2**30:.1f} GiB)", flush=True)
    partial = path.with_suffix(".partial")
    rng = np.random.default_rng(0)
    with open(partial, "wb") as file:
        header = {"descr": "<f4", "fortran_order": False, "shape": (rows, FEATURES)}
        np.lib.format.write_array_header_2_0(file, header)
        for start in range(0, rows, WRITE_CHUNK_ROWS):
            count = min(WRITE_CHUNK_ROWS, rows - start)
            file.write(rng.standard_normal((count, FEATURES), dtype=np.float32).tobytes())
    partial.rename(path)


if __name__ == "__main__":
    main()
