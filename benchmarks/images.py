"""Image files: the rendered ImageSequence (1 and 2 thread workers, and with its decoded-image
cache) against what a user of the backend would pick instead (on TensorFlow and JAX
keras.utils.image_dataset_from_directory and a hand-written tf.data pipeline; on torch a
DataLoader over the files with 0 and 2 workers), all training the rendered model on the same
folder of JPEG and PNG files of mixed sizes; and what the Sequence's check of every file at
construction costs against decoding them once.

The data: IMAGES files in class folders class_0 ... class_9, half JPEG, half PNG, each side
between MIN_SIDE and MAX_SIDE pixels, smooth colour gradients plus noise (so neither format
compresses them to nothing), all resized to the project's 64 x 64 on load. They are written
once into --work and reused while their stamp matches.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    TF_DATA_BACKENDS,
    Figures,
    Result,
    Row,
    Target,
    as_train_does,
    best,
    constant_sequence,
    emit,
    fit_speed,
    median,
    one_pass,
    parse_args,
    ratio,
    ratios,
    repeat,
    setup_backend,
    sized,
    time_call,
)

CLASSES, BATCH_SIZE, SEED = 10, 32, 0
# Smoke: 4 files per class, a full batch and a partial one (time_iteration needs two).
IMAGES, QUICK_IMAGES, SMOKE_IMAGES = 2_400, 200, BATCH_SIZE + 8
MIN_SIDE, MAX_SIDE = 40, 400
JPEG_QUALITY = 90
# Noise on top of the gradients (standard deviation, in grey levels).
NOISE = 12.0
# The first, then a median of three: the second epoch of a tf.data pipeline retraces the
# training step (about a second, measured), which a median of two would average in.
EPOCHS, QUICK_EPOCHS = 4, 2
# The check at construction (header and end of every file) against one decoded pass: a small
# part of it, or a run of many epochs would not notice it but one of few would.
CHECK_SHARE = 0.1
# The cached Sequence's budget: room for every image of the full set (2,400 x 12 KiB = 28 MiB).
CACHE_MB = 64
# Bump when the generated files change, so an old folder is rewritten.
DATA_VERSION = 1

SEQUENCE_1 = "rendered ImageSequence, workers=1"
SEQUENCE_2 = "rendered ImageSequence, workers=2 (threads)"
SEQUENCE_CACHED = f"rendered ImageSequence, workers=2, cache_mb={CACHE_MB}"
FROM_DIRECTORY = "keras.utils.image_dataset_from_directory"
TF_DATA = "tf.data: decode_image + map(AUTOTUNE)"
DATALOADER_0 = "torch DataLoader, num_workers=0"
DATALOADER_2 = "torch DataLoader, num_workers=2 (processes)"
PREBUILT = "one pre-built batch, repeated"
CONSTANT = "PyDataset returning one pre-built batch"
FIRST, LATER, ALONE = "fit, first epoch", "fit, later epochs", "loader alone"


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    backend = setup_backend(args, tf_data=True)
    import keras

    data = importlib.import_module(f"{args.package}.data")
    images = importlib.import_module(f"{args.package}.images")
    modeling = importlib.import_module(f"{args.package}.modeling")
    # The class-folder layout's own modules (the benchmark renders sparse labels).
    class_folders = importlib.import_module(f"{args.package}.class_folders")
    image_listing = importlib.import_module(f"{args.package}.image_listing")

    count = sized(args, IMAGES, QUICK_IMAGES, SMOKE_IMAGES)
    epochs = sized(args, EPOCHS, QUICK_EPOCHS, QUICK_EPOCHS)
    root = Path(args.work) / f"images_{count}"
    write_dataset(root, count)
    # The files as the project lists them: class folders in sorted order, files sorted.
    paths: list[str] = []
    labels: list[int] = []
    for class_id, name in enumerate(class_folders.class_folders(root)):
        files = image_listing.image_files(root / name, image_listing.PassedOver(name, root))
        paths += [str(path) for path in files]
        labels += [class_id] * len(files)
    y = np.array(labels, dtype=np.int64)
    height, width, channels = images.IMAGE_SHAPE

    def sequence(workers: int, cache_mb: int = 0) -> Any:
        options: dict[str, Any] = {"cache_mb": cache_mb} if cache_mb else {}
        return data.ImageSequence(
            paths, y, batch_size=BATCH_SIZE, shuffle=True, seed=SEED, workers=workers, **options
        )

    def fit_on(make_loader: Callable[[], Any]) -> Callable[[list], Any]:
        def fit(callbacks: list) -> Any:
            keras.utils.set_random_seed(SEED)
            model = modeling.new_model(images.IMAGE_SHAPE)
            loader = make_loader()
            # shuffle=False as train.py does: the loaders shuffle samples themselves.
            callbacks = [*as_train_does(model, loader), *callbacks]
            return model.fit(loader, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)

        return fit

    steps = math.ceil(count / BATCH_SIZE)
    pipelines: dict[str, tuple[Callable[[], Any], str]] = {
        SEQUENCE_1: (lambda: sequence(1), "no pool: batches built in the trainer's thread"),
        SEQUENCE_2: (lambda: sequence(2), "Keras thread pool, Pillow releases the GIL"),
        SEQUENCE_CACHED: (
            lambda: sequence(2, CACHE_MB),
            "decoded uint8 pixels kept from the first epoch (all fit the budget)",
        ),
    }
    # The pipelines a user of this backend would pick instead, and how one pass over each
    # is timed with no model.
    alternatives: dict[str, Callable[[], float]] = {}
    if backend in TF_DATA_BACKENDS:
        import tensorflow as tf

        def from_directory() -> Any:
            dataset = keras.utils.image_dataset_from_directory(
                root,
                label_mode="int",
                color_mode="rgb" if channels == 3 else "grayscale",
                image_size=(height, width),
                batch_size=BATCH_SIZE,
                shuffle=True,
                seed=SEED,
                verbose=False,
            )
            # It yields 0-255; the Sequence yields [0, 1]: the same inputs for the same model.
            return dataset.map(lambda x, labels: (x / 255, labels))

        def tf_data() -> Any:
            def load(path: Any, label: Any) -> tuple[Any, Any]:
                image = tf.io.decode_image(
                    tf.io.read_file(path), channels=channels, expand_animations=False
                )
                return tf.image.resize(image, (height, width)) / 255, label

            return (
                tf.data.Dataset.from_tensor_slices((paths, y))
                .shuffle(len(paths), seed=SEED)
                .map(load, num_parallel_calls=tf.data.AUTOTUNE)
                .batch(BATCH_SIZE)
                .prefetch(tf.data.AUTOTUNE)
            )

        def prebuilt() -> Any:
            batch = sequence(1)[0]
            return tf.data.Dataset.from_tensors(batch).repeat(steps)

        pipelines[FROM_DIRECTORY] = (
            from_directory,
            "shuffle=True, seed=0; a map(x / 255) after it",
        )
        pipelines[TF_DATA] = (
            tf_data,
            f"shuffle({count}), read_file, decode_image, resize, /255, batch",
        )
        pipelines[PREBUILT] = (prebuilt, "a loader that costs nothing: the model's own speed")
        alternatives[FROM_DIRECTORY] = lambda: time_iteration(from_directory())
        alternatives[TF_DATA] = lambda: time_iteration(tf_data())
    if backend == "torch":
        from benchmarks import torch_data

        def dataloader(workers: int) -> Callable[[], Any]:
            files = torch_data.ImageFiles(paths, y, images.IMAGE_SHAPE)
            return lambda: torch_data.loader(files, BATCH_SIZE, workers, SEED)

        pipelines[DATALOADER_0] = (dataloader(1), "Pillow in the trainer's thread")
        pipelines[DATALOADER_2] = (
            dataloader(2),
            "the Sequence's workers=2 as DataLoader processes",
        )
        batch = sequence(1)[0]
        pipelines[CONSTANT] = (
            lambda: constant_sequence(batch, steps),
            "a loader that costs nothing: the model's own speed (as a PyDataset)",
        )
        alternatives[DATALOADER_0] = lambda: time_call(lambda: one_pass(dataloader(1)()))
        alternatives[DATALOADER_2] = lambda: time_call(lambda: one_pass(dataloader(2)()))
    figures = Figures()
    # Seconds: constructing a Sequence (which checks every file), and one pass decoding them.
    check, decode = ("check at construction", "s"), ("one decoded pass, workers=1", "s")

    def repetition() -> None:
        for name, (make, _) in pipelines.items():
            speed = fit_speed(fit_on(make), count)
            figures.add(name, FIRST, speed.first)
            figures.add(name, LATER, speed.later)
            print(f"  {name}: first {speed.first:,.0f}, later {speed.later:,.0f}", flush=True)
        figures.add(*check, time_call(lambda: sequence(1)))
        # Built before the clock starts: a pass is the loader's reading, not its check.
        serial, threaded = sequence(1), sequence(2)
        figures.add(*decode, time_call(functools.partial(one_pass, serial)))
        figures.add(SEQUENCE_1, ALONE, count / figures[decode][-1])
        threads = time_call(functools.partial(one_pass, threaded, threads=2))
        figures.add(SEQUENCE_2, ALONE, count / threads)
        for name, seconds in alternatives.items():
            figures.add(name, ALONE, count / seconds())
        filling, full = cache_passes(sequence(2, CACHE_MB))
        figures.add(SEQUENCE_CACHED, "filling the cache", count / filling)
        figures.add(SEQUENCE_CACHED, ALONE, count / full)

    firsts = [(name, FIRST) for name in (SEQUENCE_1, SEQUENCE_2, *alternatives)]
    laters = [(name, LATER) for name in (SEQUENCE_CACHED, *alternatives)]
    spread_note = repeat(args, "images", repetition, figures, [*firsts, *laters, check, decode])

    def best_of(names: list[str], column: str) -> list[float]:
        return best(*(figures[name, column] for name in names))

    others = list(alternatives)
    result = Result(
        section=(
            f"Image files: {count:,} JPEG and PNG files ({MIN_SIDE}-{MAX_SIDE} px a side) "
            f"resized to {height} x {width} x {channels}, batch {BATCH_SIZE}"
        ),
        setup=(
            f"The rendered image model (a small CNN, {CLASSES} classes), {epochs} epochs per "
            "fit, every loader shuffling with seed 0: 'first epoch' includes tracing or "
            "compiling (and, with the cache, filling it); 'later epochs' is the median of the "
            "rest. 'loader alone' is one pass over every batch with no model: Sequences call "
            "__getitem__ (workers=2: from 2 threads), tf.data pipelines are iterated eagerly "
            "once their first batch is out, DataLoaders iterated; the cached row is a pass "
            "over a full cache. The best alternative is taken per repetition."
        ),
        unit="images/s",
        backend=backend,
        rows=[
            Row.of(figures, name, [FIRST, LATER, ALONE], note)
            for name, (_, note) in pipelines.items()
        ],
    )
    result.targets = [
        Target(
            "Sequence (best of 1/2 workers) / the best alternative, first epoch",
            ratios(best_of([SEQUENCE_1, SEQUENCE_2], FIRST), best_of(others, FIRST)),
            1.0,
        ),
        Target(
            "Sequence with cache / the best alternative, later epochs (clearly ahead)",
            ratios(figures[SEQUENCE_CACHED, LATER], best_of(others, LATER)),
            1.5,
        ),
        Target(
            "Sequence's check at construction / one decoded pass (workers=1)",
            ratios(figures[check], figures[decode]),
            CHECK_SHARE,
            "<=",
        ),
    ]
    image_bytes = height * width * channels
    free = PREBUILT if PREBUILT in pipelines else CONSTANT
    own_speed = figures.median(free, LATER)
    result.notes = [
        spread_note,
        f"The alternatives, the best of them taken per repetition: {'; '.join(others)}.",
        f"The cache holds {image_bytes:,} bytes per image ({height} x {width} x {channels} "
        f"uint8): {count * image_bytes / 2**20:.1f} MiB for all {count:,}; its first pass "
        f"(filling it, no model) ran at "
        f"{figures.median(SEQUENCE_CACHED, 'filling the cache'):,.0f} images/s.",
        f"Files: {describe_files(root)}.",
        f"The Sequence's check at construction (every file opened, its header parsed and its end "
        f"read; nothing decoded) took {figures.median(*check):.2f} s: "
        f"{figures.median(*check) * 10_000 / count:.2f} s per 10,000 images, "
        f"{median(result.targets[-1].values):.1%} of one pass decoding them (workers=1, "
        f"{figures.median(*decode) * 10_000 / count:.1f} s per 10,000); files in the page cache.",
        f"The model's own speed (a loader that costs nothing: {free}) is {own_speed:,.0f} "
        "images/s in later epochs: no loader can be more than "
        f"{ratio(own_speed, median(best_of(others, LATER))):.2f} times the best alternative's "
        "later epochs here.",
    ]
    emit(result)


def cache_passes(loader: Any) -> tuple[float, float]:
    """Seconds for a pass that fills the loader's cache, then for one over the full cache."""
    filling = time_call(lambda: one_pass(loader, threads=2))
    loader.set_epoch(loader.epoch + 1)
    return filling, time_call(lambda: one_pass(loader, threads=2))


def time_iteration(dataset: Any) -> float:
    """Seconds for one pass over a tf.data dataset, once its iterator has started."""
    iterator = iter(dataset)
    next(iterator)  # not timed: tracing the map and filling the first buffers
    start = time.perf_counter()
    for _ in iterator:
        pass
    # The first batch, untimed, counted at the rate of the others.
    return (time.perf_counter() - start) * len(dataset) / (len(dataset) - 1)


# --- the data -------------------------------------------------------------------------------


def write_dataset(root: Path, count: int) -> None:
    """Write `count` images into root/class_k/ unless a matching stamp says they are there."""
    stamp = {
        "version": DATA_VERSION,
        "count": count,
        "seed": SEED,
        "classes": CLASSES,
        "sides": [MIN_SIDE, MAX_SIDE],
        "jpeg_quality": JPEG_QUALITY,
        "noise": NOISE,
    }
    # Beside the folder, not in it: the folder holds class folders only.
    stamp_file = root.with_name(root.name + ".stamp.json")
    names = [image_name(k) for k in range(count)]
    if stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp:
        if all((root / name).is_file() for name in names):
            print(f"images: reusing the {count:,} files in {root}", flush=True)
            return
    stamp_file.unlink(missing_ok=True)
    if root.exists():
        shutil.rmtree(root)
    print(f"images: writing {count:,} files into {root}", flush=True)
    for k, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(make_image(k), path)
    # Last: a stamp means every file was written.
    stamp_file.write_text(json.dumps(stamp) + "\n")


def image_name(k: int) -> str:
    """Image k: class k % CLASSES; even k PNG, odd k JPEG, so both types are in every class."""
    suffix = ".png" if k % 2 == 0 else ".jpg"
    return f"class_{k % CLASSES}/image_{k:05d}{suffix}"


def make_image(k: int) -> np.ndarray:
    """uint8 RGB of a random size: a bilinear blend of 4 random corner colours, plus noise."""
    rng = np.random.default_rng([SEED, k])
    height, width = (int(side) for side in rng.integers(MIN_SIDE, MAX_SIDE + 1, size=2))
    corners = rng.uniform(0, 255, size=(2, 2, 3))
    v = np.linspace(0, 1, height)[:, None, None]
    u = np.linspace(0, 1, width)[None, :, None]
    top = corners[0, 0] * (1 - u) + corners[0, 1] * u
    bottom = corners[1, 0] * (1 - u) + corners[1, 1] * u
    pixels = top * (1 - v) + bottom * v + rng.normal(0, NOISE, size=(height, width, 3))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def save_image(pixels: np.ndarray, path: Path) -> None:
    from PIL import Image

    image = Image.fromarray(pixels)
    if path.suffix == ".jpg":
        image.save(path, quality=JPEG_QUALITY)
    else:
        image.save(path)


def describe_files(root: Path) -> str:
    sizes: dict[str, list[int]] = {".png": [], ".jpg": []}
    for path in root.rglob("*"):
        if path.suffix in sizes:
            sizes[path.suffix].append(path.stat().st_size)
    parts = [
        f"{len(found):,} {suffix[1:].upper()} (mean {np.mean(found) / 1024:,.0f} KiB)"
        for suffix, found in sizes.items()
        if found
    ]
    total = sum(math.fsum(found) for found in sizes.values()) / 2**20
    return ", ".join(parts) + f", {total:,.0f} MiB in all"


if __name__ == "__main__":
    main()
