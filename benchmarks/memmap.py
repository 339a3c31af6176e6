"""Arrays larger than one would load casually: an np.memmap of more than a quarter of RAM,
trained on through the rendered ArraySequence; throughput and peak resident memory.

The file is written once into --work and reused by later runs (delete build/bench to free
the disk). It is read through the page cache: a second run reads from memory, not disk.
"""

from __future__ import annotations

import gc
import importlib
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    PeakRss,
    Result,
    Row,
    Target,
    emit,
    median,
    parse_args,
    rss_mib,
    setup_tensorflow,
)

FEATURES, BATCH_SIZE, CLASSES = 1024, 256, 10  # a row is 4 KiB: one page
# The file is this share of the machine's RAM (the issue: "larger than a quarter of RAM").
SHARE_OF_RAM = 0.27
QUICK_BYTES = 64 * 2**20
WRITE_CHUNK_ROWS = 16_384
PEAK_RSS_GOAL_MIB = 1024


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    setup_tensorflow(args.intra_op_threads)
    import keras

    data = importlib.import_module(f"{args.package}.data")
    model_module = importlib.import_module(f"{args.package}.model")

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    size = QUICK_BYTES if args.quick else int(ram * SHARE_OF_RAM)
    rows = size // (FEATURES * 4)
    path = Path(args.work) / f"inputs-{rows}x{FEATURES}.npy"
    write_inputs(path, rows)
    y = np.random.default_rng(1).integers(0, CLASSES, rows)
    file_gib = path.stat().st_size / 2**30

    class TutorialSequence(keras.utils.PyDataset):
        """The keras.io pattern: contiguous slices, no shuffling."""

        def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, **kwargs: Any):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self) -> int:
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return np.asarray(self.x[rows]), self.y[rows]

    def rendered(inputs: np.ndarray) -> Any:
        return data.ArraySequence(inputs, y, batch_size=BATCH_SIZE, shuffle=True, seed=0)

    def tutorial(inputs: np.ndarray) -> Any:
        return TutorialSequence(inputs, y, BATCH_SIZE)

    pipelines = {
        "rendered ArraySequence (shuffle=True)": rendered,
        "tutorial Sequence": tutorial,
    }
    speeds: dict[str, list[float]] = {name: [] for name in pipelines}
    peaks: dict[str, list[float]] = {name: [] for name in pipelines}
    construction: list[float] = []
    baseline: list[float] = []
    for repeat in range(args.repeats):
        print(f"memmap: repetition {repeat + 1} of {args.repeats}", flush=True)
        for name, make_loader in pipelines.items():
            keras.utils.set_random_seed(0)
            model = model_module.build_model((FEATURES,))
            baseline.append(rss_mib())
            # Opened as the project's storage.load_split opens it, fresh for each fit.
            inputs = np.load(path, mmap_mode="r")
            with PeakRss() as peak:
                start = time.perf_counter()
                loader = make_loader(inputs)
                if name.startswith("rendered"):
                    construction.append(rows / (time.perf_counter() - start))
                start = time.perf_counter()
                model.fit(loader, epochs=1, verbose=0)
                epoch = time.perf_counter() - start
            speeds[name].append(rows / epoch)
            peaks[name].append(peak.peak_mib)
            print(f"  {name}: {rows / epoch:,.0f} samples/s, peak RSS {peak.peak_mib:,.0f} MiB")
            del loader, inputs, model
            gc.collect()  # unmaps the file before the next pipeline opens it

    result = Result(
        section=f"A memmap on disk: {rows:,} x {FEATURES} float32 ({file_gib:.1f} GiB, "
        f"{file_gib / (ram / 2**30):.0%} of RAM), batch {BATCH_SIZE}",
        setup=(
            "One epoch of fit per repetition (every row read once) with the rendered array "
            "model; the file opened with np.load(mmap_mode='r') as the project's storage "
            "does. Peak RSS: the process's resident memory (VmRSS, mapped file pages "
            f"included) sampled every 20 ms; before opening the file it was "
            f"{median(baseline):,.0f} MiB (TensorFlow, the model, the labels)."
        ),
        unit="samples/s",
    )
    result.rows = [
        Row(
            name,
            {"fit, one epoch": median(speeds[name]), "peak RSS, MiB": median(peaks[name])},
            "rows in a new order every epoch"
            if name.startswith("rendered")
            else "contiguous slices",
        )
        for name in pipelines
    ]
    result.rows[0].figures["construction (reads every row)"] = median(construction)
    result.targets = [
        Target(
            "peak RSS (MiB) training on the memmap, rendered Sequence",
            median(peaks["rendered ArraySequence (shuffle=True)"]),
            PEAK_RSS_GOAL_MIB,
            "<=",
        )
    ]
    result.notes.append(
        "Construction checks every value for NaN and infinity (arrays.check_finite), "
        "reading the whole file once in 64 MiB chunks."
    )
    emit(result)


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
