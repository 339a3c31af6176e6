"""Image files: the rendered ImageSequence (1 and 2 thread workers, and with its decoded-image
cache) against what a user of the backend would pick instead (on TensorFlow and JAX
keras.utils.image_dataset_from_directory and a hand-written tf.data pipeline; on torch a
DataLoader over the files with 0 and 2 workers; on JAX and torch Grain, through
image_dataset_from_directory(format="grain") and a hand-written MapDataset), all training
the rendered model on the same folder of JPEG and PNG files of mixed sizes; and what the
Sequence's check of every file at construction costs against decoding them once.

The limits beside them: each pipeline's fit on a model whose step costs next to nothing
(benchmarks.common.null_model, the loader's ceiling through fit), and one thread decoding
the same files with no loader (benchmarks/limits.py). The same again at a realistic size,
224 x 224 from phone-camera JPEG files, with a second rendered project (PACKAGE_224), null
model only. What each pipeline guarantees (every file once an epoch, an order per epoch from
the seed, resuming) is checked through fit on a few files whose pixels carry their ids.

The data: IMAGES files in class folders class_0 ... class_9, half JPEG, half PNG, each side
between MIN_SIDE and MAX_SIDE pixels, smooth colour gradients plus noise (so neither format
compresses them to nothing), all resized to the project's 64 x 64 on load; PHOTOS JPEG files
of PHOTO_SIZES alike. They are written once into --work and reused while their stamp matches.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks import limits
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
    fit_recorded,
    fit_speed,
    guarantees_note,
    median,
    null_model,
    one_pass,
    parse_args,
    ratio,
    ratios,
    reads_back,
    repeat,
    seed_as_train,
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
# The 224 x 224 set: JPEG files of a phone camera's sizes (width, height), in turn; a few
# sizes, as from one camera (Grain through Keras compiles its resize per size on JAX).
PHOTO_SIZES = ((640, 480), (800, 600), (1024, 768), (480, 640))
# Smoke: one file of each size, one partial batch.
PHOTOS, QUICK_PHOTOS, SMOKE_PHOTOS = 320, 64, len(PHOTO_SIZES)
# Null model only. The first, then a median of three: a Grain pipeline that repeats reads
# the next epoch ahead (GRAIN_BUFFER batches, a whole epoch of 10 here), so the second
# epoch starts with a head start, which a median of two would average in.
PHOTO_EPOCHS = EPOCHS
# The rendered project of the 224 rows (benchmarks/__main__.py renders it as "images224").
PACKAGE_224 = "images224"
# Where Grain is measured: Keras takes it on every backend, but TensorFlow's users have
# tf.data (measured there).
GRAIN_BACKENDS = ("jax", "torch")
# Grain's threads and buffer, as the Sequence's workers=2 and Keras's max_queue_size: its
# defaults (16 threads, 500 elements ahead) would hold 500 batches of 224 x 224 (9 GiB).
GRAIN_THREADS, GRAIN_BUFFER = 2, 10
# The guarantees' check: 3 full batches and a partial one of flat grey files whose level is
# their id times ID_STEP (exact after any resize, and through JPEG to within a level or two),
# 2 epochs, a fit stopped after CHECK_STOP batches of epoch 1.
CHECK_BATCH, CHECK_FILES, CHECK_EPOCHS, CHECK_STOP, ID_STEP = 8, 3 * 8 + 5, 2, 2, 8
CHECK_SIZE = (48, 40)  # width, height: one size (one resize compilation on JAX)

SEQUENCE_1 = "rendered ImageSequence, workers=1"
SEQUENCE_2 = "rendered ImageSequence, workers=2 (threads)"
SEQUENCE_CACHED = f"rendered ImageSequence, workers=2, cache_mb={CACHE_MB}"
FROM_DIRECTORY = "keras.utils.image_dataset_from_directory"
TF_DATA = "tf.data: decode_image + map(AUTOTUNE)"
DATALOADER_0 = "torch DataLoader, num_workers=0"
DATALOADER_2 = "torch DataLoader, num_workers=2 (processes)"
GRAIN_KERAS = 'Grain: image_dataset_from_directory(format="grain")'
GRAIN_FILES = f"Grain MapDataset over the files, {GRAIN_THREADS} threads"
PREBUILT = "one pre-built batch, repeated"
CONSTANT = "PyDataset returning one pre-built batch"
FIRST, LATER, ALONE = "fit, first epoch", "fit, later epochs", "loader alone"
NULL = "fit on a null model, later epochs"
AT_224 = ", 224 x 224"


@dataclass
class Folder:
    """Image files as the project lists them (class folders in sorted order, files sorted),
    their class ids, and the shape they are resized to."""

    root: Path
    paths: list[str]
    y: np.ndarray
    shape: tuple[int, int, int]


@dataclass
class Pipeline:
    """A way to feed fit from a Folder: `make` builds the loader (a new one per fit), with
    `fit_options`; `alone` times one pass over it with no model (seconds)."""

    make: Callable[[], Any]
    note: str
    alone: Callable[[], float] | None = None
    fit_options: dict[str, Any] = field(default_factory=dict)


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    backend = setup_backend(args, tf_data=True)

    project = importlib.import_module(args.package)
    images = importlib.import_module(f"{args.package}.images")
    modeling = importlib.import_module(f"{args.package}.modeling")
    try:
        project_224 = importlib.import_module(PACKAGE_224)
    except ModuleNotFoundError as error:
        raise SystemExit(
            f"the 224 x 224 rows need the rendered project {PACKAGE_224} on PYTHONPATH "
            "(python -m benchmarks renders it)"
        ) from error

    count = sized(args, IMAGES, QUICK_IMAGES, SMOKE_IMAGES)
    epochs = sized(args, EPOCHS, QUICK_EPOCHS, QUICK_EPOCHS)
    photo_count = sized(args, PHOTOS, QUICK_PHOTOS, SMOKE_PHOTOS)
    photo_epochs = sized(args, PHOTO_EPOCHS, QUICK_EPOCHS, QUICK_EPOCHS)
    root = Path(args.work) / f"images_{count}"
    write_dataset(root, count)
    photos_root = Path(args.work) / f"photos_{photo_count}"
    write_photos(photos_root, photo_count)
    folder = list_folder(project, root, images.IMAGE_SHAPE)
    photos = list_folder(
        project, photos_root, importlib.import_module(f"{PACKAGE_224}.images").IMAGE_SHAPE
    )
    height, width, channels = folder.shape

    def sequence(workers: int, cache_mb: int = 0) -> Any:
        return image_sequence(project, folder, BATCH_SIZE, workers, cache_mb)

    pipelines: dict[str, Pipeline] = {
        SEQUENCE_1: Pipeline(lambda: sequence(1), "no pool: batches built in the trainer's thread"),
        SEQUENCE_2: Pipeline(lambda: sequence(2), "Keras thread pool, Pillow releases the GIL"),
        SEQUENCE_CACHED: Pipeline(
            lambda: sequence(2, CACHE_MB),
            "decoded uint8 pixels kept from the first epoch (all fit the budget)",
        ),
    }
    # The pipelines a user of this backend would pick instead: the target's alternatives.
    others = alternatives(backend, folder, BATCH_SIZE, epochs)
    # Grain through Keras resizes with the backend's ops: on JAX jax.image.resize compiles
    # once per input size, and nearly every file here has its own (measured in a note).
    if backend == "jax":
        del others[GRAIN_KERAS]
    pipelines.update(others)
    steps = math.ceil(count / BATCH_SIZE)
    batch = sequence(1)[0]
    if backend in TF_DATA_BACKENDS:
        import tensorflow as tf

        pipelines[PREBUILT] = Pipeline(
            lambda: tf.data.Dataset.from_tensors(batch).repeat(steps),
            "a loader that costs nothing: the model's own speed",
        )
    else:
        pipelines[CONSTANT] = Pipeline(
            lambda: constant_sequence(batch, steps),
            "a loader that costs nothing: the model's own speed (as a PyDataset)",
        )
    # The 224 x 224 rows: the null model alone (the rendered CNN at 224 would time the model).
    photo_pipelines = {
        f"{SEQUENCE_1}{AT_224}": Pipeline(
            lambda: image_sequence(project_224, photos, BATCH_SIZE, 1),
            f"the rendered project {PACKAGE_224}",
        ),
        f"{SEQUENCE_2}{AT_224}": Pipeline(
            lambda: image_sequence(project_224, photos, BATCH_SIZE, 2),
            f"the rendered project {PACKAGE_224}",
        ),
    }
    # --smoke runs each code path once, not every pipeline through it (the test suite's
    # time): Grain fits the null model only, the CNN the rest; at 224 x 224 only the Sequence,
    # workers=1 on the null model; the guarantees: one pipeline, one fit.
    photo_others = {} if args.smoke else alternatives(backend, photos, BATCH_SIZE, photo_epochs)
    photo_pipelines.update({f"{name}{AT_224}": p for name, p in photo_others.items()})
    grain_rows = {GRAIN_KERAS, GRAIN_FILES} & set(pipelines)
    # Grain on the null model alone where another alternative fits the CNN (on JAX without
    # TensorFlow none does: there Grain fits it, so that a target has an alternative).
    null_only = grain_rows if set(others) - grain_rows else set()
    real_fitted = set(pipelines) - null_only if args.smoke else set(pipelines)
    null_fitted = (
        {*null_only, f"{SEQUENCE_1}{AT_224}"} if args.smoke else {*pipelines, *photo_pipelines}
    )
    figures = Figures()
    # Seconds: constructing a Sequence (which checks every file), and one pass decoding them.
    check, decode = ("check at construction", "s"), ("one decoded pass, workers=1", "s")

    def fit_on(
        make: Callable[[], Any], shape: tuple[int, int, int], null: bool, n: int, **options: Any
    ) -> Callable[[list], Any]:
        def fit(callbacks: list) -> Any:

            seed_as_train(args.package, SEED)
            if null:
                model = null_model(shape, CLASSES)
            else:
                model = modeling.new_model(shape)
            loader = make()
            # shuffle=False as train.py does: the loaders shuffle samples themselves.
            callbacks = [*as_train_does(model, loader), *callbacks]
            with warnings.catch_warnings():
                # Grain through Keras has no length: each epoch ends by running out of data.
                warnings.filterwarnings("ignore", "Your input ran out of data")
                return model.fit(
                    loader, epochs=n, shuffle=False, verbose=0, callbacks=callbacks, **options
                )

        return fit

    def repetition() -> None:
        for name, pipeline in pipelines.items():
            make, options = pipeline.make, pipeline.fit_options
            if name in real_fitted:
                speed = fit_speed(fit_on(make, folder.shape, False, epochs, **options), count)
                figures.add(name, FIRST, speed.first)
                figures.add(name, LATER, speed.later)
                print(f"  {name}: first {speed.first:,.0f}, later {speed.later:,.0f}", flush=True)
            if name in null_fitted:
                null = fit_speed(fit_on(make, folder.shape, True, epochs, **options), count)
                figures.add(name, NULL, null.later)
                print(f"  {name}: null model {null.later:,.0f}", flush=True)
        figures.add(*check, time_call(lambda: sequence(1)))
        # Built before the clock starts: a pass is the loader's reading, not its check.
        serial, threaded = sequence(1), sequence(2)
        figures.add(*decode, time_call(functools.partial(one_pass, serial)))
        figures.add(SEQUENCE_1, ALONE, count / figures[decode][-1])
        threads = time_call(functools.partial(one_pass, threaded, threads=2))
        figures.add(SEQUENCE_2, ALONE, count / threads)
        for name, pipeline in others.items():
            if pipeline.alone is not None:
                figures.add(name, ALONE, count / pipeline.alone())
        filling, full = cache_passes(sequence(2, CACHE_MB))
        figures.add(SEQUENCE_CACHED, "filling the cache", count / filling)
        figures.add(SEQUENCE_CACHED, ALONE, count / full)
        for name, decoder in limits.DECODERS.items():
            figures.add(name, ALONE, limits.decode_rate(folder.paths, decoder, (height, width)))
        # 224 x 224: null model and the loaders alone.
        for name, pipeline in photo_pipelines.items():
            if name not in null_fitted:
                continue
            fit = fit_on(pipeline.make, photos.shape, True, photo_epochs, **pipeline.fit_options)
            null = fit_speed(fit, photo_count).later
            figures.add(name, NULL, null)
            print(f"  {name}: null model {null:,.0f}", flush=True)
        for workers in (1, 2):
            loader = image_sequence(project_224, photos, BATCH_SIZE, workers)
            seconds = time_call(functools.partial(one_pass, loader, threads=workers))
            figures.add(
                f"{(SEQUENCE_1, SEQUENCE_2)[workers - 1]}{AT_224}", ALONE, photo_count / seconds
            )
        for name, pipeline in photo_others.items():
            if pipeline.alone is not None:
                figures.add(f"{name}{AT_224}", ALONE, photo_count / pipeline.alone())
        for name, decoder in limits.DECODERS.items():
            rate = limits.decode_rate(photos.paths, decoder, photos.shape[:2])
            figures.add(f"{name}{AT_224}", ALONE, rate)

    fitted_others = [name for name in others if name in real_fitted]
    firsts = [(name, FIRST) for name in (SEQUENCE_1, SEQUENCE_2, *fitted_others)]
    laters = [(name, LATER) for name in (SEQUENCE_CACHED, *fitted_others)]
    # Checked once, before the timings: they depend on the seeds alone. Not with --smoke on
    # JAX: fit runs eagerly there, and each eager step compiles its operations (seconds); the
    # same checks run on the other backends.
    if args.smoke and backend == "jax":
        guarantees = "Guarantees: not checked on JAX with --smoke (see the other backends)."
    else:
        guarantees = check_guarantees(backend, project, Path(args.work), args.smoke)
    spread_note = repeat(args, "images", repetition, figures, [*firsts, *laters, check, decode])

    def best_of(names: Iterable[str], column: str) -> list[float]:
        """Per repetition, the best figure of those of `names` measured in `column`."""
        return best(*(figures[name, column] for name in names if (name, column) in figures))

    columns = [FIRST, LATER, NULL, ALONE, "filling the cache"]
    decode_rows = [
        Row.of(figures, name, [ALONE], f"{limits.NOTE}; {len(folder.paths):,} files")
        for name in limits.DECODERS
    ]
    photo_rows = [
        Row.of(figures, name, [NULL, ALONE], pipeline.note)
        for name, pipeline in photo_pipelines.items()
    ] + [
        Row.of(figures, f"{name}{AT_224}", [ALONE], f"{limits.NOTE}; {photo_count:,} files")
        for name in limits.DECODERS
    ]
    result = Result(
        section=(
            f"Image files: {count:,} JPEG and PNG files ({MIN_SIDE}-{MAX_SIDE} px a side) "
            f"resized to {height} x {width} x {channels}, batch {BATCH_SIZE}"
        ),
        setup=(
            f"The rendered image model (a small CNN, {CLASSES} classes), {epochs} epochs per "
            "fit, every loader shuffling with seed 0: 'first epoch' includes tracing or "
            "compiling (and, with the cache, filling it); 'later epochs' is the median of the "
            "rest. 'null model': the same fit on a model whose step costs next to nothing "
            "(benchmarks.common.null_model), the loader's ceiling through fit. 'loader alone' "
            "is one pass over every batch with no model: Sequences call __getitem__ "
            "(workers=2: from 2 threads), tf.data pipelines are iterated eagerly once their "
            "first batch is out, DataLoaders and Grain iterated; the cached row is a pass over "
            "a full cache; 'decode only' rows are one thread decoding every file with no "
            f"loader (benchmarks/limits.py). Rows ending '{AT_224}': {photo_count:,} JPEG "
            f"files of {', '.join(f'{w} x {h}' for w, h in PHOTO_SIZES)} pixels resized to "
            f"224 x 224 (the rendered project {PACKAGE_224}), null model only, "
            f"{photo_epochs} epochs per fit. The best alternative is taken per repetition."
        ),
        unit="images/s",
        backend=backend,
        rows=[
            *(Row.of(figures, name, columns, p.note) for name, p in pipelines.items()),
            *decode_rows,
            *photo_rows,
        ],
    )
    photo_alternatives = [f"{name}{AT_224}" for name in photo_others]
    photo_sequences = [f"{SEQUENCE_1}{AT_224}", f"{SEQUENCE_2}{AT_224}"]
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
        # The limits, reported with no goal.
        Target(
            "Sequence alone (workers=1) / decode only, Pillow, 1 thread",
            ratios(figures[SEQUENCE_1, ALONE], figures[limits.PILLOW, ALONE]),
            None,
        ),
        Target(
            f"Sequence alone (workers=1) / decode only, Pillow, 1 thread{AT_224}",
            ratios(figures[photo_sequences[0], ALONE], figures[f"{limits.PILLOW}{AT_224}", ALONE]),
            None,
        ),
    ]
    if not args.smoke:
        result.targets += [
            Target(
                "Sequence (best of 1/2 workers) / the best alternative, null model",
                ratios(best_of([SEQUENCE_1, SEQUENCE_2], NULL), best_of(others, NULL)),
                None,
            ),
            Target(
                f"Sequence (best of 1/2 workers) / the best alternative, null model{AT_224}",
                ratios(best_of(photo_sequences, NULL), best_of(photo_alternatives, NULL)),
                None,
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
        f"Files: {describe_files(root)}; {describe_files(photos_root)} ({PACKAGE_224}).",
        f"The Sequence's check at construction (every file opened, its header parsed and its end "
        f"read; nothing decoded) took {figures.median(*check):.2f} s: "
        f"{figures.median(*check) * 10_000 / count:.2f} s per 10,000 images, "
        f"{median(result.targets[2].values):.1%} of one pass decoding them (workers=1, "
        f"{figures.median(*decode) * 10_000 / count:.1f} s per 10,000); files in the page cache.",
        f"The model's own speed (a loader that costs nothing: {free}) is {own_speed:,.0f} "
        "images/s in later epochs: no loader can be more than "
        f"{ratio(own_speed, median(best_of(others, LATER))):.2f} times the best alternative's "
        "later epochs here.",
        decode_note(figures, photos),
    ]
    if grain_rows:
        result.notes.append(
            f"{GRAIN_FILES} repeats its dataset (a new order per epoch) and reads ahead across "
            f"epoch ends: up to {GRAIN_BUFFER} batches of the next epoch are ready before it "
            "starts, the first of them while the first epoch traces or compiles, so the "
            "second epoch starts with a head start; the median of later epochs leaves it out "
            f"only with three or more ({epochs - 1} here, {photo_epochs - 1} at 224 x 224)."
        )
    if backend == "jax":
        result.notes.append(jax_resize_note(folder, args.smoke))
    result.notes.append(guarantees)
    emit(result)


# --- the pipelines --------------------------------------------------------------------------


def list_folder(project: ModuleType, root: Path, shape: tuple[int, int, int]) -> Folder:
    """The files of `root` as the rendered project lists a class-folder layout."""
    class_folders = importlib.import_module(f"{project.__name__}.class_folders")
    image_listing = importlib.import_module(f"{project.__name__}.image_listing")
    paths: list[str] = []
    labels: list[int] = []
    for class_id, name in enumerate(class_folders.class_folders(root)):
        files = image_listing.image_files(root / name, image_listing.PassedOver(name, root))
        paths += [str(path) for path in files]
        labels += [class_id] * len(files)
    return Folder(root, paths, np.array(labels, dtype=np.int64), shape)


def image_sequence(
    project: ModuleType, folder: Folder, batch_size: int, workers: int, cache_mb: int = 0
) -> Any:
    """The rendered ImageSequence over `folder`, shuffled with SEED."""
    data = importlib.import_module(f"{project.__name__}.data")
    options: dict[str, Any] = {"cache_mb": cache_mb} if cache_mb else {}
    return data.ImageSequence(
        folder.paths,
        folder.y,
        batch_size=batch_size,
        shuffle=True,
        seed=SEED,
        workers=workers,
        **options,
    )


def alternatives(backend: str, folder: Folder, batch_size: int, epochs: int) -> dict[str, Pipeline]:
    """The pipelines a user of `backend` would pick instead of the Sequence, over `folder`,
    each shuffled with SEED, yielding float32 in [0, 1] as the Sequence does."""
    height, width, channels = folder.shape
    count = len(folder.paths)
    steps = math.ceil(count / batch_size)
    pipelines: dict[str, Pipeline] = {}
    if backend in TF_DATA_BACKENDS:
        import keras
        import tensorflow as tf

        def from_directory() -> Any:
            dataset = keras.utils.image_dataset_from_directory(
                **from_directory_options(folder, batch_size)
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
                tf.data.Dataset.from_tensor_slices((folder.paths, folder.y))
                .shuffle(count, seed=SEED)
                .map(load, num_parallel_calls=tf.data.AUTOTUNE)
                .batch(batch_size)
                .prefetch(tf.data.AUTOTUNE)
            )

        pipelines[FROM_DIRECTORY] = Pipeline(
            from_directory,
            "shuffle=True, seed=0; a map(x / 255) after it",
            lambda: time_iteration(from_directory()),
        )
        pipelines[TF_DATA] = Pipeline(
            tf_data,
            f"shuffle({count}), read_file, decode_image, resize, /255, batch",
            lambda: time_iteration(tf_data()),
        )
    if backend == "torch":
        from benchmarks import torch_data

        def dataloader(workers: int) -> Callable[[], Any]:
            files = torch_data.ImageFiles(folder.paths, folder.y, folder.shape)
            return lambda: torch_data.loader(files, batch_size, workers, SEED)

        pipelines[DATALOADER_0] = Pipeline(
            dataloader(1),
            "Pillow in the trainer's thread",
            lambda: time_call(lambda: one_pass(dataloader(1)())),
        )
        pipelines[DATALOADER_2] = Pipeline(
            dataloader(2),
            "the Sequence's workers=2 as DataLoader processes",
            lambda: time_call(lambda: one_pass(dataloader(2)())),
        )
    if backend in GRAIN_BACKENDS:
        pipelines[GRAIN_KERAS] = Pipeline(
            lambda: grain_from_directory(folder, batch_size),
            "Keras's own: Pillow decode, resize by the backend's ops, 16 threads, the same "
            "order every epoch",
            lambda: time_call(lambda: one_pass(grain_from_directory(folder, batch_size))),
        )
        pipelines[GRAIN_FILES] = Pipeline(
            lambda: grain_files(folder, batch_size, epochs),
            f"source(files).shuffle(seed=0).map(Pillow).batch({batch_size}).repeat(epochs), "
            f"ReadOptions(num_threads={GRAIN_THREADS}, prefetch_buffer_size={GRAIN_BUFFER}); "
            "fit(steps_per_epoch=batches)",
            lambda: time_call(lambda: one_pass(grain_files(folder, batch_size, None))),
            {"steps_per_epoch": steps},
        )
    return pipelines


def from_directory_options(folder: Folder, batch_size: int) -> dict[str, Any]:
    """keras.utils.image_dataset_from_directory's arguments for `folder`, shuffled with SEED."""
    height, width, channels = folder.shape
    return {
        "directory": folder.root,
        "label_mode": "int",
        "color_mode": "rgb" if channels == 3 else "grayscale",
        "image_size": (height, width),
        "batch_size": batch_size,
        "shuffle": True,
        "seed": SEED,
        "verbose": False,
    }


def grain_from_directory(folder: Folder, batch_size: int) -> Any:
    """keras.utils.image_dataset_from_directory(format="grain"): a grain.IterDataset."""
    import keras

    dataset = keras.utils.image_dataset_from_directory(
        **from_directory_options(folder, batch_size), format="grain"
    )
    return dataset.map(lambda batch: (batch[0] / 255, batch[1]))


class FileSource:
    """Grain's random access source: (path, class id) by index."""

    def __init__(self, folder: Folder) -> None:
        self.paths, self.y = folder.paths, folder.y

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[str, np.int64]:
        return self.paths[index], self.y[index]


def grain_files(folder: Folder, batch_size: int, epochs: int | None) -> Any:
    """A hand-written Grain pipeline over the files: shuffled (a new order per epoch: Grain's
    shuffle combines the seed with the epoch when it comes before repeat), decoded with
    Pillow as the project does (limits.pillow_decode), batched in GRAIN_THREADS threads.
    epochs=None: one epoch, no repeat."""
    import grain

    options = grain.ReadOptions(num_threads=GRAIN_THREADS, prefetch_buffer_size=GRAIN_BUFFER)
    return grain_dataset(folder, batch_size, epochs).to_iter_dataset(options)


def grain_dataset(folder: Folder, batch_size: int, epochs: int | None) -> Any:
    """grain_files' MapDataset, before its iterator: batches by index."""
    import grain

    size = folder.shape[:2]

    def load(sample: tuple[str, np.int64]) -> tuple[np.ndarray, np.int64]:
        path, label = sample
        return limits.pillow_decode(path, size).astype(np.float32) / 255, label

    dataset = grain.MapDataset.source(FileSource(folder)).shuffle(seed=SEED).map(load)
    dataset = dataset.batch(batch_size)
    return dataset if epochs is None else dataset.repeat(epochs)


def cache_passes(loader: Any) -> tuple[float, float]:
    """Seconds for a pass that fills the loader's cache, then for one over the full cache."""
    filling = time_call(lambda: one_pass(loader, threads=2))
    loader.set_epoch(loader.epoch + 1)
    return filling, time_call(lambda: one_pass(loader, threads=2))


def time_iteration(dataset: Any) -> float:
    """Seconds for one pass over a tf.data dataset, once its iterator has started."""
    iterator = iter(dataset)
    if len(dataset) < 2:  # a single batch: the whole pass, start included
        return time_call(lambda: next(iterator))
    next(iterator)  # not timed: tracing the map and filling the first buffers
    start = time.perf_counter()
    for _ in iterator:
        pass
    # The first batch, untimed, counted at the rate of the others.
    return (time.perf_counter() - start) * len(dataset) / (len(dataset) - 1)


# --- the notes ------------------------------------------------------------------------------


def decode_note(figures: Figures, photos: Folder) -> str:
    """The decode-only rates at 224 x 224 in megapixels per second, against published ones."""
    pixels = [width * height for width, height in PHOTO_SIZES]
    sizes = [pixels[k % len(PHOTO_SIZES)] for k in range(len(photos.paths))]
    megapixels = float(np.mean(sizes)) / 1e6
    rates = {name: figures.median(f"{name}{AT_224}", ALONE) for name in limits.DECODERS}
    measured = "; ".join(
        f"{name.split(':')[1].split(',')[0].strip()} {rate:,.0f} images/s "
        f"({rate * megapixels:,.0f} megapixels/s)"
        for name, rate in rates.items()
    )
    return (
        f"Decode only at 224 x 224 (JPEG files of {megapixels:.2f} megapixels on average, "
        f"decoded whole and resized, one thread): {measured}. Published single-core rates for "
        "ImageNet-size JPEG files (about 0.11-0.18 megapixels each, quoted in issue 27): "
        "540-730 images/s Pillow, 690-860 simplejpeg (libjpeg-turbo), i.e. about 60-160 "
        "megapixels/s; both decoders here are libjpeg-turbo, and with the same scale they "
        "give the same pixels."
    )


def jax_resize_note(folder: Folder, smoke: bool) -> str:
    """What Grain through Keras costs on JAX with files of many sizes: keras.ops.image.resize
    (jax.image.resize) compiles once per input size. Timed on the sizes of the first few
    files, each resized twice."""
    import keras
    from PIL import Image

    def size(path: str) -> tuple[int, int]:
        with Image.open(path) as image:
            return image.size

    distinct = list(dict.fromkeys(size(path) for path in folder.paths))
    sizes = distinct[: 1 if smoke else 3]

    def resize(pixels: np.ndarray) -> None:
        keras.ops.convert_to_numpy(keras.ops.image.resize(pixels, folder.shape[:2]))

    times: list[list[float]] = [[], []]
    for turn in range(2):
        for width, height in sizes:
            pixels = np.zeros((height, width, 3), np.float32)
            times[turn].append(time_call(functools.partial(resize, pixels)))
    cold, warm = (float(np.mean(t)) for t in times)
    return (
        f"{GRAIN_KERAS} is not fitted on JAX here: Keras resizes each image with "
        f"keras.ops.image.resize (jax.image.resize), compiled once per input size: {cold:.2f} "
        f"s for a new size, {warm * 1000:.1f} ms for one seen before (measured on "
        f"{len(sizes)} sizes), and these {len(folder.paths):,} files have {len(distinct):,} sizes. "
        f"It is fitted on the 224 x 224 set ({len(PHOTO_SIZES)} sizes)."
    )


# --- the guarantees -------------------------------------------------------------------------


def check_guarantees(backend: str, project: ModuleType, work: Path, smoke: bool) -> str:
    """What each pipeline guarantees, checked through fit (see `record_fit`), as a note;
    `smoke`: the last alternative's whole fit only (no stopped or resumed fit)."""
    root = work / "guarantees"
    write_id_files(root)
    images = importlib.import_module(f"{project.__name__}.images")
    folder = list_folder(project, root, images.IMAGE_SHAPE)

    def sequence() -> Any:
        return image_sequence(project, folder, CHECK_BATCH, 1)

    def sequence_alone(seen: dict[int, list[tuple[int, ...]]]) -> bool:
        return reads_back(sequence(), seen, CHECK_EPOCHS, batch_ids)

    # name -> (make, fit options, does the pipeline alone resume mid-epoch?)
    pipelines: dict[str, tuple[Callable[[], Any], dict[str, Any], Callable[..., bool | None]]]
    pipelines = {SEQUENCE_1: (sequence, {}, sequence_alone)}
    if not smoke:
        pipelines[SEQUENCE_2] = (
            lambda: image_sequence(project, folder, CHECK_BATCH, 2),
            {},
            sequence_alone,
        )
    for name, pipeline in alternatives(backend, folder, CHECK_BATCH, CHECK_EPOCHS).items():
        if name in (DATALOADER_2,):
            continue  # DataLoader's order is drawn in the trainer's process, as with 0 workers
        if name in (FROM_DIRECTORY, TF_DATA):
            alone = functools.partial(tf_resumes, pipeline.make, work)
        elif name == DATALOADER_0:
            # Its iterator has no state to save (torchdata's StatefulDataLoader has).
            alone = functools.partial(has_state, pipeline.make)
        elif name == GRAIN_KERAS:
            alone = functools.partial(grain_resumes, pipeline.make, CHECK_STOP)
        else:  # GRAIN_FILES
            alone = functools.partial(grain_files_resume, folder, pipeline.make)
        pipelines[name] = (pipeline.make, pipeline.fit_options, alone)

    if smoke:
        last_name = list(pipelines)[-1]
        pipelines = {last_name: pipelines[last_name]}
    ids = list(range(CHECK_FILES))
    checks: dict[str, dict[str, bool | None]] = {}
    for name, (make, options, alone) in pipelines.items():
        whole = record_fit(project.__name__, make, options, folder.shape)
        last = whole.get(CHECK_EPOCHS - 1, [])
        stopped: dict[int, list[tuple[int, ...]]] | None = None
        resumed: dict[int, list[tuple[int, ...]]] = {}
        if not smoke:
            with tempfile.TemporaryDirectory(dir=work) as backup:
                stopped = record_fit(
                    project.__name__, make, options, folder.shape, backup=backup, stop=CHECK_STOP
                )
                resumed = record_fit(project.__name__, make, options, folder.shape, backup=backup)
        again = resumed.get(CHECK_EPOCHS - 1)
        checks[name] = {
            "every file once an epoch": all(
                sorted(i for batch in whole.get(epoch, []) for i in batch) == ids
                for epoch in range(CHECK_EPOCHS)
            ),
            "a new order each epoch": whole.get(0) != last,
            "the same batches again from the seed": None
            if stopped is None
            else stopped == {**whole, CHECK_EPOCHS - 1: last[:CHECK_STOP]},
            "resumed fit: the epoch's own order": None if stopped is None else again == last,
            "resumed fit: only the batches left": None
            if stopped is None
            else again == last[CHECK_STOP:],
            "the pipeline alone resumes mid-epoch": alone(whole),
        }
    return guarantees_note(
        f"Guarantees, checked through fit on {backend} ({CHECK_FILES} flat grey files whose "
        f"level is their id, batch {CHECK_BATCH}, {CHECK_EPOCHS} epochs, a model recording the "
        f"ids of every batch it trains on): a fit is stopped after {CHECK_STOP} batches of "
        f"epoch {CHECK_EPOCHS - 1} under BackupAndRestore(save_freq=1) and resumed by a new "
        "fit, as a restarted process would. 'The pipeline alone resumes mid-epoch': outside "
        "fit, the batches left after a stop come again without reading those before them "
        "(rendered: set_epoch(e), loader[i]; Grain: its iterator's get_state/set_state, and "
        "the MapDataset by index; tf.data: the iterator saved by tf.train.Checkpoint; the "
        "DataLoader's iterator has no state); fit takes no such position, and "
        "BackupAndRestore restores the epoch, not the batch (keras#22490, which would have "
        "for Grain, was closed unmerged)."
        + (" --smoke: one pipeline, its whole fit only." if smoke else ""),
        checks,
    )


def grain_files_resume(
    folder: Folder, make: Callable[[], Any], seen: dict[int, list[tuple[int, ...]]]
) -> bool:
    """Whether grain_files' MapDataset gives batch i of epoch e by index, as fit saw it,
    and its iterator resumes from its state after CHECK_STOP batches of the last epoch."""
    batches = math.ceil(CHECK_FILES / CHECK_BATCH)
    dataset = grain_dataset(folder, CHECK_BATCH, CHECK_EPOCHS)
    indexed = all(
        batch_ids(dataset[epoch * batches + index]) == seen[epoch][index]
        for epoch in range(CHECK_EPOCHS)
        for index in range(batches)
    )
    return indexed and grain_resumes(make, (CHECK_EPOCHS - 1) * batches + CHECK_STOP, seen)


def grain_resumes(make: Callable[[], Any], stop: int, seen: Any) -> bool:
    """Whether a Grain iterator restored from the state of one that read `stop` batches
    gives the same batches after them."""
    iterator = iter(make())
    for _ in range(stop):
        next(iterator)
    state = iterator.get_state()
    rest = [batch_ids(batch) for batch in iterator]
    restored = iter(make())
    restored.set_state(state)
    return [batch_ids(batch) for batch in restored] == rest


def tf_resumes(make: Callable[[], Any], work: Path, seen: Any) -> bool:
    """Whether a tf.data iterator restored by tf.train.Checkpoint after CHECK_STOP batches
    gives the same batches after them."""
    import tensorflow as tf

    iterator = iter(make())
    for _ in range(CHECK_STOP):
        next(iterator)
    with tempfile.TemporaryDirectory(dir=work) as folder:
        saved = tf.train.Checkpoint(iterator=iterator).write(f"{folder}/iterator")
        rest = [batch_ids(batch) for batch in iterator]
        restored = iter(make())
        tf.train.Checkpoint(iterator=restored).read(saved).assert_consumed()
        return [batch_ids(batch) for batch in restored] == rest


def has_state(make: Callable[[], Any], seen: Any) -> bool:
    """Whether the loader's iterator offers a state to save (state_dict)."""
    return hasattr(iter(make()), "state_dict")


def batch_ids(batch: Any) -> tuple[int, ...]:
    """The ids of a batch (x, y, ...) of the guarantees' files: a pixel's level / ID_STEP."""
    x = np.asarray(batch[0], dtype=np.float32)
    return tuple(np.rint(x[:, 0, 0, 0] * 255 / ID_STEP).astype(int).tolist())


def record_fit(
    package: str,
    make_loader: Callable[[], Any],
    fit_options: dict[str, Any],
    shape: tuple[int, int, int],
    backup: str | None = None,
    stop: int | None = None,
) -> dict[int, list[tuple[int, ...]]]:
    """The file ids of every batch fit trains on, per epoch, for a null model run eagerly
    (the batches reach its layers as arrays); with `stop`, fit is interrupted after that
    many batches of the last epoch, with a backup (BackupAndRestore) in `backup`."""
    import keras

    seen: dict[int, list[tuple[int, ...]]] = {}
    epoch = [0]

    class IdTap(keras.layers.Layer):
        def call(self, x: Any, training: bool | None = None) -> Any:
            if training and not isinstance(x, keras.KerasTensor):
                seen.setdefault(epoch[0], []).append(batch_ids((x,)))
            return x

    seed_as_train(package, SEED)
    inputs = keras.Input(shape)
    model = keras.Model(inputs, null_model(shape, CLASSES)(IdTap()(inputs)))
    backup_callback = (
        None if backup is None else keras.callbacks.BackupAndRestore(backup, save_freq=1)
    )
    fit_recorded(model, make_loader, fit_options, backup_callback, epoch, stop, CHECK_EPOCHS)
    return seen


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
    names = [image_name(k) for k in range(count)]
    write_files(
        root, stamp, {name: functools.partial(make_image, k) for k, name in enumerate(names)}
    )


def write_photos(root: Path, count: int) -> None:
    """Write `count` JPEG files of PHOTO_SIZES (in turn) into root/class_k/, as write_dataset."""
    stamp = {
        "version": DATA_VERSION,
        "count": count,
        "seed": SEED,
        "classes": CLASSES,
        "sizes": PHOTO_SIZES,
        "jpeg_quality": JPEG_QUALITY,
        "noise": NOISE,
    }
    files = {
        f"class_{k % CLASSES}/photo_{k:05d}.jpg": functools.partial(
            make_image, k, PHOTO_SIZES[k % len(PHOTO_SIZES)]
        )
        for k in range(count)
    }
    write_files(root, json.loads(json.dumps(stamp)), files)


def write_id_files(root: Path) -> None:
    """The guarantees' files: file k flat grey at level k * ID_STEP, in folder class_{k % 10},
    PNG and JPEG in turn."""
    width, height = CHECK_SIZE

    def flat(k: int) -> np.ndarray:
        return np.full((height, width, 3), k * ID_STEP, np.uint8)

    files = {image_name(k): functools.partial(flat, k) for k in range(CHECK_FILES)}
    stamp = {"version": DATA_VERSION, "files": CHECK_FILES, "step": ID_STEP, "size": CHECK_SIZE}
    write_files(root, json.loads(json.dumps(stamp)), files)


def write_files(
    root: Path, stamp: dict[str, Any], files: dict[str, Callable[[], np.ndarray]]
) -> None:
    """Write each file (relative name -> its pixels) into `root` unless a stamp beside it,
    equal to `stamp`, says they are all there."""
    # Beside the folder, not in it: the folder holds class folders only.
    stamp_file = root.with_name(root.name + ".stamp.json")
    if stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp:
        if all((root / name).is_file() for name in files):
            print(f"images: reusing the {len(files):,} files in {root}", flush=True)
            return
    stamp_file.unlink(missing_ok=True)
    if root.exists():
        shutil.rmtree(root)
    print(f"images: writing {len(files):,} files into {root}", flush=True)
    for name, pixels in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(pixels(), path)
    # Last: a stamp means every file was written.
    stamp_file.write_text(json.dumps(stamp) + "\n")


def image_name(k: int) -> str:
    """Image k: class k % CLASSES; even k PNG, odd k JPEG, so both types are in every class."""
    suffix = ".png" if k % 2 == 0 else ".jpg"
    return f"class_{k % CLASSES}/image_{k:05d}{suffix}"


def make_image(k: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 RGB of a random size (or `size`, width and height): a bilinear blend of 4 random
    corner colours, plus noise."""
    rng = np.random.default_rng([SEED, k])
    height, width = (int(side) for side in rng.integers(MIN_SIDE, MAX_SIDE + 1, size=2))
    if size is not None:
        width, height = size
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
