"""Token sequences of long-tailed lengths: the rendered TokenSequence with and without
bucketing against global padding (keras.utils.pad_sequences) and tf.data bucketing, all
training the rendered model (Embedding mask_zero -> GRU + masked average) on the same data.

On a CPU the GRU runs one step per padded position of a batch (the mask only carries its
state over masked steps), so padding costs as much as tokens, and a few long sequences pad
their whole batch. A step costs nearly as much for a few rows as for 64 (measured here:
64 x 512 takes about twice 16 x 512), so an epoch's time follows its time steps (padded
lengths summed over its batches) more closely than its token slots.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator
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

BATCH_SIZE, CLASSES, VOCAB_SIZE = 64, 2, 10_000
# 50 batches: exactly one bucketing pool of the rendered loader (BUCKET_POOL_BATCHES), as
# every pool of a larger dataset; an epoch padded to 512 takes about 5 s here, and the
# whole run with 3 repetitions about 4 minutes. Smoke: two full batches and a partial one.
SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES = 3200, 640, 2 * BATCH_SIZE + 1
# Log-normal lengths, median 48 and sigma 1.0: mean about 75, about 1 % cut at 512, and
# a random batch of 64 nearly always holds a sequence of 300 or more.
MEDIAN_LENGTH, LENGTH_SIGMA = 48, 1.0
# Half the tokens of a sequence come from 50 ids of its class, the rest from the whole
# vocabulary: a label the masked average learns within an epoch.
SIGNAL_SHARE, SIGNAL_IDS = 0.5, 50
EPOCHS, QUICK_EPOCHS = 3, 2  # the first, then the median of the rest
# tf.data buckets: widths of 32 up to 512 (16 buckets), and powers of two (6 buckets).
BOUNDARIES_32 = list(range(32, 512, 32))
BOUNDARIES_POW2 = [16, 32, 64, 128, 256]

UNBUCKETED = "rendered TokenSequence"
BUCKETED = "rendered TokenSequence, bucket=True"
PREBUILT = "bucket=True's batches, pre-built in tf.data"
GLOBAL = "keras.utils.pad_sequences + fit(x, y)"
TF_32 = "tf.data bucket_by_sequence_length, widths 32"
TF_POW2 = "tf.data bucket_by_sequence_length, powers of 2"


def make_data(samples: int, max_length: int) -> tuple[list[np.ndarray], np.ndarray]:
    """`samples` token id sequences (int32, ids in [1, VOCAB_SIZE)) and their 0/1 labels."""
    rng = np.random.default_rng(0)
    raw = rng.lognormal(math.log(MEDIAN_LENGTH), LENGTH_SIGMA, samples)
    lengths = np.clip(np.rint(raw), 1, max_length).astype(np.int64)
    labels = rng.integers(0, CLASSES, samples).astype(np.int32)
    token_labels = np.repeat(labels, lengths)
    signal = rng.random(len(token_labels)) < SIGNAL_SHARE
    ids = np.where(
        signal,
        1 + token_labels * SIGNAL_IDS + rng.integers(0, SIGNAL_IDS, len(token_labels)),
        rng.integers(1, VOCAB_SIZE, len(token_labels)),
    ).astype(np.int32)
    return np.split(ids, np.cumsum(lengths)[:-1]), labels


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    setup_tensorflow(args.intra_op_threads)
    import keras
    import tensorflow as tf

    data = importlib.import_module(f"{args.package}.data")
    model_module = importlib.import_module(f"{args.package}.model")
    max_length: int = importlib.import_module(f"{args.package}.tokens").MAX_LENGTH

    samples = sized(args, SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES)
    epochs = sized(args, EPOCHS, QUICK_EPOCHS, QUICK_EPOCHS)
    sequences, labels = make_data(samples, max_length)
    lengths = np.array([len(tokens) for tokens in sequences])
    # Generated lengths never pass max_length, so no pipeline has anything to cut.
    padded = keras.utils.pad_sequences(
        sequences, maxlen=max_length, dtype="int32", padding="post", truncating="post"
    )

    def token_sequence(bucket: bool) -> Callable[[], Any]:
        def make() -> Any:
            return data.TokenSequence(
                sequences, labels, batch_size=BATCH_SIZE, shuffle=True, seed=0, bucket=bucket
            )

        return make

    def tf_bucketing(boundaries: list[int]) -> Callable[[], Any]:
        def make() -> Any:
            ragged = tf.RaggedTensor.from_row_lengths(np.concatenate(sequences), lengths)
            return (
                tf.data.Dataset.from_tensor_slices((ragged, labels))
                .map(as_dense)
                # A full-size buffer: the same uniform shuffle as the Sequence's.
                .shuffle(samples, seed=0)
                .bucket_by_sequence_length(
                    sequence_length,
                    boundaries,
                    [BATCH_SIZE] * (len(boundaries) + 1),
                    pad_to_bucket_boundary=False,
                )
                .prefetch(tf.data.AUTOTUNE)
            )

        return make

    def prebuilt() -> Any:
        """The bucketed Sequence's batches for every epoch of a fit, held in the graph."""
        loader = token_sequence(True)()
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        for epoch in range(epochs):
            loader.set_epoch(epoch)  # as TrainerEpoch does in fit
            for x, y in batches(loader):
                xs.append(x)
                ys.append(y)
        rows = tf.RaggedTensor.from_row_lengths(
            np.concatenate([x.ravel() for x in xs]), [x.shape[1] for x in xs for _ in x]
        )
        tokens = tf.RaggedTensor.from_row_lengths(rows, [len(x) for x in xs])
        targets = tf.RaggedTensor.from_row_lengths(np.concatenate(ys), [len(y) for y in ys])
        dataset = tf.data.Dataset.from_tensor_slices((tokens, targets))
        return dataset.map(as_dense_batch).prefetch(tf.data.AUTOTUNE)

    accuracy: dict[str, float] = {}

    def fit_on(name: str, make: Callable[[], Any], **fit_options: Any) -> Callable[[list], Any]:
        def fit(callbacks: list) -> None:
            keras.utils.set_random_seed(0)
            model = model_module.build_model((None,))
            # shuffle=False unless given, as in train.py: the Sequence shuffles its samples
            # itself, and tf.data in the pipeline (Keras ignores it for a dataset anyway).
            options = {"shuffle": False, **fit_options}
            loader = make()
            callbacks = [*epoch_callbacks(loader), *callbacks]
            history = model.fit(loader, epochs=epochs, verbose=0, callbacks=callbacks, **options)
            accuracy[name] = history.history["accuracy"][-1]

        return fit

    loaders: dict[str, Callable[[], Any]] = {
        UNBUCKETED: token_sequence(False),
        BUCKETED: token_sequence(True),
        TF_32: tf_bucketing(BOUNDARIES_32),
        TF_POW2: tf_bucketing(BOUNDARIES_POW2),
    }
    pipelines: dict[str, tuple[Callable[[list], Any], str]] = {
        UNBUCKETED: (fit_on(UNBUCKETED, loaders[UNBUCKETED]), "pad_multiple=8"),
        BUCKETED: (fit_on(BUCKETED, loaders[BUCKETED]), "pad_multiple=8"),
        # steps_per_epoch: Keras then reads on through the epochs' batches, in turn.
        PREBUILT: (
            fit_on(PREBUILT, prebuilt, steps_per_epoch=math.ceil(samples / BATCH_SIZE)),
            "the same batches, no Python per batch: the floor for this loader",
        ),
        GLOBAL: (
            fit_on(GLOBAL, lambda: padded, y=labels, batch_size=BATCH_SIZE, shuffle=True),
            f"maxlen={max_length}, padding='post'; fit(batch_size={BATCH_SIZE}, shuffle=True)",
        ),
        TF_32: (
            fit_on(TF_32, loaders[TF_32]),
            f"boundaries {BOUNDARIES_32[0]}, {BOUNDARIES_32[1]}, ..., {BOUNDARIES_32[-1]}",
        ),
        TF_POW2: (
            fit_on(TF_POW2, loaders[TF_POW2]),
            f"boundaries {', '.join(map(str, BOUNDARIES_POW2))}",
        ),
    }

    # The batches each pipeline feeds the model over the epochs of a fit: fixed by the
    # seeds, so read once, outside the timed repetitions.
    shapes = {name: batch_shapes(make(), epochs) for name, make in loaders.items()}
    shapes[PREBUILT] = shapes[BUCKETED]
    shapes[GLOBAL] = [
        (min(BATCH_SIZE, samples - start), max_length)
        for _ in range(epochs)
        for start in range(0, samples, BATCH_SIZE)
    ]
    real_tokens = int(lengths.sum()) * epochs
    fraction = {
        name: 1 - real_tokens / sum(rows * length for rows, length in batches)
        for name, batches in shapes.items()
    }
    for name in (UNBUCKETED, BUCKETED):
        check_fraction(loaders[name](), fraction[name], epochs, name)

    speeds: dict[str, list[FitSpeed]] = {name: [] for name in pipelines}
    alone: dict[str, list[float]] = {name: [] for name in loaders}
    for repeat in range(args.repeats):
        print(f"sequences: repetition {repeat + 1} of {args.repeats}", flush=True)
        for name, (fit, _) in pipelines.items():
            speeds[name].append(fit_speed(fit, samples))
            s = speeds[name][-1]
            print(f"  {name}: first {s.first:,.0f}, later {s.later:,.0f}", flush=True)
        for name, make in loaders.items():
            # Built outside the timing: a pass is what every epoch costs.
            loader = make()
            alone[name].append(samples / time_call(lambda loader=loader: one_pass(loader)))

    later = {name: median(s.later for s in runs) for name, runs in speeds.items()}
    first = {name: median(s.first for s in runs) for name, runs in speeds.items()}
    result = Result(
        section=(
            f"Token sequences: {samples:,} sequences, log-normal lengths (median "
            f"{MEDIAN_LENGTH}, sigma {LENGTH_SIGMA}, 1 to {max_length}), batch {BATCH_SIZE}"
        ),
        setup=(
            f"The rendered sequence model (Embedding {VOCAB_SIZE:,} x 32 with mask_zero, "
            f"GRU 32 + masked average, {CLASSES} classes), {epochs} epochs per fit, every "
            "pipeline shuffled: 'first epoch' includes tracing; 'later epochs' is the "
            f"median of the rest. Mean length {lengths.mean():.1f}, longest {lengths.max()}, "
            f"{int((lengths >= 256).sum())} sequences of 256 tokens or more. "
            "'padded fraction' is padding tokens / all token slots of the batches the "
            "pipeline produced over the epochs of a fit; 'batches' and 'time steps' (padded "
            "lengths summed over the batches: what the GRU runs) are per epoch, averaged "
            "over them. 'loader alone' is one pass over every batch with no model "
            "(tf.data: iterating the dataset eagerly). 'accuracy' is the training accuracy "
            "of the last epoch (last repetition): a check that every pipeline learns."
        ),
        unit="samples/s",
    )
    for name, (_, note) in pipelines.items():
        figures = {
            "padded fraction": fraction[name],
            "batches / epoch": len(shapes[name]) / epochs,
            "time steps / epoch": sum(length for _, length in shapes[name]) / epochs,
            "fit, first epoch": first[name],
            "fit, later epochs": later[name],
        }
        if name in alone:
            figures["loader alone"] = median(alone[name])
        figures["accuracy"] = accuracy[name]
        result.rows.append(Row(name, figures, note))
    # The stronger baseline: the target must not hang on a choice of boundaries.
    tf_best = max(later[TF_32], later[TF_POW2])
    result.targets = [
        Target(
            "padded fraction, bucketed Sequence / global padding",
            ratio(fraction[BUCKETED], fraction[GLOBAL]),
            0.5,
            "<=",
        ),
        Target(
            "fit throughput, bucketed Sequence / tf.data bucketing (later epochs)",
            ratio(later[BUCKETED], tf_best),
            1.0,
        ),
    ]
    result.notes = [
        "The throughput target compares with the faster of the two tf.data bucketings.",
        f"Bucketing speeds the rendered Sequence up {ratio(later[BUCKETED], later[UNBUCKETED]):.1f}"
        f"x (later epochs); it is {ratio(later[BUCKETED], later[GLOBAL]):.1f}x global padding.",
        "Keras on TensorFlow feeds a PyDataset through tf.data.Dataset.from_generator: "
        f"against its own batches pre-built in the graph the bucketed Sequence runs at "
        f"{ratio(later[BUCKETED], later[PREBUILT]):.2f} of the speed (later epochs); its "
        f"__getitem__ takes {BATCH_SIZE / median(alone[BUCKETED]) * 1e3:.2f} ms a batch.",
        "The rendered Sequence rounds batch lengths up to multiples of 8 and pads batch 0 of "
        "every epoch to the longest length (so TensorFlow never fixes the length; see "
        "padding.py). tf.data pads each batch to its own longest sequence but ends every "
        "epoch with a partial batch per bucket, long buckets included.",
    ]
    emit(result)


def as_dense(x: Any, y: Any) -> tuple[Any, Any]:
    """A tf.data map: a slice of a ragged tensor comes out ragged, and padded_batch
    (inside bucket_by_sequence_length) takes dense rows only; passing through converts."""
    return x, y


def as_dense_batch(x: Any, y: Any) -> tuple[Any, Any]:
    """A tf.data map: one pre-built batch (every row of one length) as dense tensors."""
    return x.to_tensor(), y


def sequence_length(x: Any, y: Any) -> Any:
    import tensorflow as tf

    return tf.shape(x)[0]


def batch_shapes(loader: Any, epochs: int) -> list[tuple[int, int]]:
    """(rows, padded length) of every batch over `epochs` passes, as fit reads them: a
    rendered Sequence is given each epoch as TrainerEpoch does; a tf.data dataset
    reshuffles on every pass."""
    shapes: list[tuple[int, int]] = []
    for epoch in range(epochs):
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        shapes += [(int(x.shape[0]), int(x.shape[1])) for x, *_ in batches(loader)]
    return shapes


def check_fraction(loader: Any, measured: float, epochs: int, name: str) -> None:
    """The loader's own padding_fraction must agree with the batches it produced."""
    # Pooled over the epochs as `measured` is: every epoch holds the same real tokens.
    slots_per_token = [1 / (1 - loader.padding_fraction(e)) for e in range(epochs)]
    own = 1 - epochs / sum(slots_per_token)
    if not math.isclose(own, measured, abs_tol=1e-9):
        raise RuntimeError(f"{name}: padding_fraction() says {own:.4f}, batches {measured:.4f}")


def batches(loader: Any) -> Iterator[Any]:
    """One pass over a PyDataset (by index, as Keras reads it) or a tf.data dataset."""
    if hasattr(loader, "__getitem__"):
        return (loader[index] for index in range(len(loader)))
    return iter(loader)


if __name__ == "__main__":
    main()
