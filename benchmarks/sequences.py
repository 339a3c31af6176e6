"""Token sequences of long-tailed lengths: the rendered TokenSequence with and without
bucketing against global padding (keras.utils.pad_sequences) and what a user of the backend
would pick instead (tf.data bucketing on TensorFlow and JAX; on torch a DataLoader padding
each batch to its longest), all training the rendered model (Embedding mask_zero -> GRU +
masked average) on the same data.

On a CPU the GRU runs one step per padded position of a batch (the mask only carries its
state over masked steps), so padding costs as much as tokens, and a few long sequences pad
their whole batch. A step costs nearly as much for a few rows as for 64 (measured here:
64 x 512 takes about twice 16 x 512), so an epoch's time follows its time steps (padded
lengths summed over its batches) more closely than its token slots. On JAX every new batch
shape compiles the step once: the 'batch shapes' column counts them.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator
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
    emit,
    fit_speed,
    median,
    one_pass,
    parse_args,
    ratio,
    ratios,
    repeat,
    seed_as_train,
    setup_backend,
    sized,
    time_call,
)

BATCH_SIZE, CLASSES, VOCAB_SIZE = 64, 2, 10_000
# 50 batches: exactly one bucketing pool of the rendered loader (BUCKET_POOL_BATCHES), as
# every pool of a larger dataset; an epoch padded to 512 takes about 5 s here, and the
# whole run with 3 repetitions about 4 minutes. Smoke: two full batches and a partial one.
SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES = 3200, 640, 2 * BATCH_SIZE + 1
# Smoke: no sequence longer than this, so every pipeline's batches take few shapes: on JAX
# each new shape compiles the GRU again (seconds), most of a smoke run otherwise.
SMOKE_LONGEST = 8
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
DATALOADER = "torch DataLoader, each batch padded to its longest"
GRU_MASKED = "the model's GRU alone (Keras, masked) on torch"
GRU_UNMASKED = "the model's GRU alone (Keras), no mask, on torch"
GRU_PACKED = "torch.nn.GRU over pack_padded_sequence, the same weights"
FIRST, LATER, ALONE = "fit, first epoch", "fit, later epochs", "loader alone"
GRU_FORWARD, GRU_PASS = "GRU alone, forward", "GRU alone, forward + backward"


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
    backend = setup_backend(args, tf_data=True)
    import keras

    data = importlib.import_module(f"{args.package}.data")
    modeling = importlib.import_module(f"{args.package}.modeling")
    max_length: int = importlib.import_module(f"{args.package}.tokens").MAX_LENGTH

    samples = sized(args, SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES)
    epochs = sized(args, EPOCHS, QUICK_EPOCHS, QUICK_EPOCHS)
    sequences, labels = make_data(samples, SMOKE_LONGEST if args.smoke else max_length)
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

    figures = Figures()

    def fit_on(name: str, make: Callable[[], Any], **fit_options: Any) -> Callable[[list], Any]:
        def fit(callbacks: list) -> None:
            seed_as_train(args.package, 0)
            model = modeling.new_model((None,))
            # shuffle=False unless given, as in train.py: the Sequence shuffles its samples
            # itself, and tf.data in the pipeline (Keras ignores it for a dataset anyway).
            options = {"shuffle": False, **fit_options}
            loader = make()
            callbacks = [*as_train_does(model, loader), *callbacks]
            history = model.fit(loader, epochs=epochs, verbose=0, callbacks=callbacks, **options)
            figures.add(name, "accuracy", history.history["accuracy"][-1])

        return fit

    # The loaders timed alone, and the fits: name -> (fit, note).
    loaders: dict[str, Callable[[], Any]] = {
        UNBUCKETED: token_sequence(False),
        BUCKETED: token_sequence(True),
    }
    pipelines: dict[str, tuple[Callable[[list], Any], str]] = {
        UNBUCKETED: (fit_on(UNBUCKETED, loaders[UNBUCKETED]), "pad_multiple=8"),
        BUCKETED: (fit_on(BUCKETED, loaders[BUCKETED]), "pad_multiple=8"),
        GLOBAL: (
            fit_on(GLOBAL, lambda: padded, y=labels, batch_size=BATCH_SIZE, shuffle=True),
            f"maxlen={max_length}, padding='post'; fit(batch_size={BATCH_SIZE}, shuffle=True)",
        ),
    }
    if backend in TF_DATA_BACKENDS:
        import tensorflow as tf

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

        loaders[TF_32] = tf_bucketing(BOUNDARIES_32)
        loaders[TF_POW2] = tf_bucketing(BOUNDARIES_POW2)
        pipelines[TF_32] = (
            fit_on(TF_32, loaders[TF_32]),
            f"boundaries {BOUNDARIES_32[0]}, {BOUNDARIES_32[1]}, ..., {BOUNDARIES_32[-1]}",
        )
        pipelines[TF_POW2] = (
            fit_on(TF_POW2, loaders[TF_POW2]),
            f"boundaries {', '.join(map(str, BOUNDARIES_POW2))}",
        )
    if backend == "tensorflow":
        # steps_per_epoch: Keras then reads on through the epochs' batches, in turn.
        pipelines[PREBUILT] = (
            fit_on(PREBUILT, prebuilt, steps_per_epoch=math.ceil(samples / BATCH_SIZE)),
            "the same batches, no Python per batch: the floor for this loader",
        )
    if backend == "torch":
        from benchmarks import torch_data

        def dataloader() -> Any:
            tokens = torch_data.TokenLists(sequences, labels)
            return torch_data.loader(tokens, BATCH_SIZE, 1, 0, collate_fn=torch_data.pad_batch)

        loaders[DATALOADER] = dataloader
        pipelines[DATALOADER] = (
            fit_on(DATALOADER, dataloader),
            "shuffle=True, num_workers=0, collate_fn: pad_sequence (no bucketing)",
        )

    # The batches each pipeline feeds the model over the epochs of a fit: fixed by the
    # seeds, so read once, outside the timed repetitions.
    shapes = {name: batch_shapes(make(), epochs) for name, make in loaders.items()}
    if PREBUILT in pipelines:
        shapes[PREBUILT] = shapes[BUCKETED]
    shapes[GLOBAL] = [
        (min(BATCH_SIZE, samples - start), max_length)
        for _ in range(epochs)
        for start in range(0, samples, BATCH_SIZE)
    ]
    real_tokens = int(lengths.sum()) * epochs
    for name, batches_of in shapes.items():
        fraction = 1 - real_tokens / sum(rows * length for rows, length in batches_of)
        figures.add(name, "padded fraction", fraction)
        figures.add(name, "batches / epoch", len(batches_of) / epochs)
        figures.add(name, "batch shapes", len(set(batches_of)))
        figures.add(name, "time steps / epoch", sum(length for _, length in batches_of) / epochs)
    for name in (UNBUCKETED, BUCKETED):
        check_fraction(loaders[name](), figures.median(name, "padded fraction"), epochs, name)

    # torch: the model's GRU alone on the bucketed Sequence's batches of epoch 0, as Keras
    # runs it with a mask (a Python step per time step) and as torch's own packed GRU would.
    grus = gru_passes(modeling, loaders[BUCKETED]()) if backend == "torch" else {}

    def repetition() -> None:
        for name, columns in grus.items():
            for column, gru_pass in columns.items():
                figures.add(name, column, samples / time_call(gru_pass))
        for name, (fit, _) in pipelines.items():
            speed = fit_speed(fit, samples)
            figures.add(name, FIRST, speed.first)
            figures.add(name, LATER, speed.later)
            print(f"  {name}: first {speed.first:,.0f}, later {speed.later:,.0f}", flush=True)
        for name, make in loaders.items():
            # Built outside the timing: a pass is what every epoch costs.
            loader = make()
            figures.add(name, ALONE, samples / time_call(lambda loader=loader: one_pass(loader)))

    bucketings = [name for name in (TF_32, TF_POW2) if name in pipelines]
    watched = [(name, LATER) for name in (BUCKETED, *bucketings)]
    spread_note = repeat(args, "sequences", repetition, figures, watched)

    later = {name: figures[name, LATER] for name in pipelines}
    columns = [
        "padded fraction",
        "batches / epoch",
        "batch shapes",
        "time steps / epoch",
        FIRST,
        LATER,
        ALONE,
        "accuracy",
    ]
    result = Result(
        section=(
            f"Token sequences: {samples:,} sequences, log-normal lengths (median "
            f"{MEDIAN_LENGTH}, sigma {LENGTH_SIGMA}, 1 to {max_length}), batch {BATCH_SIZE}"
        ),
        setup=(
            f"The rendered sequence model (Embedding {VOCAB_SIZE:,} x 32 with mask_zero, "
            f"GRU 32 + masked average, {CLASSES} classes), {epochs} epochs per fit, every "
            "pipeline shuffled: 'first epoch' includes tracing or compiling; 'later epochs' "
            f"is the median of the rest. Mean length {lengths.mean():.1f}, longest "
            f"{lengths.max()}, {int((lengths >= 256).sum())} sequences of 256 tokens or more. "
            "'padded fraction' is padding tokens / all token slots of the batches the "
            "pipeline produced over the epochs of a fit; 'batches' and 'time steps' (padded "
            "lengths summed over the batches: what the GRU runs) are per epoch, averaged "
            "over them; 'batch shapes' counts the distinct (rows, length) of a fit (on JAX, "
            "a compilation each). 'loader alone' is one pass over every batch with no model "
            "(tf.data and DataLoader: iterating them). 'accuracy' is the training accuracy "
            "of the last epoch: a check that every pipeline learns."
        ),
        unit="samples/s",
        backend=backend,
        rows=[
            *(Row.of(figures, name, columns, note) for name, (_, note) in pipelines.items()),
            *(Row.of(figures, name, [GRU_FORWARD, GRU_PASS], GRU_NOTES[name]) for name in grus),
        ],
    )
    result.targets = [
        Target(
            "padded fraction, bucketed Sequence / global padding",
            ratios(figures[BUCKETED, "padded fraction"], figures[GLOBAL, "padded fraction"]),
            0.5,
            "<=",
        )
    ]
    result.notes = [spread_note]
    if bucketings:
        # The stronger baseline: the target must not hang on a choice of boundaries.
        result.targets.append(
            Target(
                "fit throughput, bucketed Sequence / tf.data bucketing (later epochs)",
                ratios(later[BUCKETED], best(*(later[name] for name in bucketings))),
                1.0,
            )
        )
        result.notes.append(
            "The throughput target compares with the faster of the two tf.data bucketings, "
            "per repetition."
        )
    if DATALOADER in pipelines:
        result.targets.append(
            Target(
                "fit throughput, bucketed Sequence / DataLoader padding each batch",
                ratios(later[BUCKETED], later[DATALOADER]),
                None,
            )
        )
    if grus:

        def gru(name: str, column: str) -> float:
            return median(figures[name, column])

        masked, packed = figures[GRU_MASKED, GRU_PASS], figures[GRU_PACKED, GRU_PASS]
        result.targets.append(
            Target(
                "the GRU alone, forward + backward: Keras masked / torch packed (torch)",
                ratios(masked, packed),
                None,
            )
        )
        forward_gain = ratio(gru(GRU_PACKED, GRU_FORWARD), gru(GRU_MASKED, GRU_FORWARD))
        result.notes.append(
            "On torch, the model's GRU alone over the bucketed batches of an epoch, samples/s "
            f"forward / forward + backward: Keras with the mask {gru(GRU_MASKED, GRU_FORWARD):,.0f}"
            f" / {gru(GRU_MASKED, GRU_PASS):,.0f}, without it "
            f"{gru(GRU_UNMASKED, GRU_FORWARD):,.0f} / {gru(GRU_UNMASKED, GRU_PASS):,.0f}, "
            f"torch.nn.GRU over packed sequences with the same weights (final states checked "
            f"equal) {gru(GRU_PACKED, GRU_FORWARD):,.0f} / {gru(GRU_PACKED, GRU_PASS):,.0f}. "
            "Keras's torch backend has no masked GRU kernel (keras/src/backend/torch/rnn.py: "
            "gru raises NotImplementedError for a mask) and runs its generic loop, a Python "
            f"step per time step. torch's packed GRU runs the forward pass {forward_gain:.1f}x "
            f"as fast, forward + backward {ratio(median(packed), median(masked)):.1f}x (what it "
            "would give inside Keras's layer): the backward pass is "
            f"{1 - ratio(gru(GRU_PACKED, GRU_PASS), gru(GRU_PACKED, GRU_FORWARD)):.0%} of its "
            "time."
        )
    bucketed, unbucketed = median(later[BUCKETED]), median(later[UNBUCKETED])
    result.notes.append(
        f"Bucketing speeds the rendered Sequence up {ratio(bucketed, unbucketed):.1f}x (later "
        f"epochs); it is {ratio(bucketed, median(later[GLOBAL])):.1f}x global padding."
    )
    if PREBUILT in pipelines:
        result.notes.append(
            "Keras on TensorFlow feeds a PyDataset through tf.data.Dataset.from_generator: "
            f"against its own batches pre-built in the graph the bucketed Sequence runs at "
            f"{ratio(bucketed, median(later[PREBUILT])):.2f} of the speed (later epochs); its "
            f"__getitem__ takes {BATCH_SIZE / figures.median(BUCKETED, ALONE) * 1e3:.2f} ms a "
            "batch."
        )
    if backend == "tensorflow":
        result.notes.append(
            "The rendered Sequence rounds batch lengths up to multiples of 8 and, on "
            "TensorFlow only, pads batch 0 of every epoch to the longest length (so TensorFlow "
            "never fixes the length, keras#19124; see padding.py): with few batches per epoch "
            "that one long batch is much of the padding."
        )
    else:
        result.notes.append(
            f"The rendered Sequence rounds batch lengths up to multiples of 8; on {backend} "
            "every batch is padded to its own longest sequence (TensorFlow's keras#19124 "
            "workaround is not needed here)."
        )
    if backend in TF_DATA_BACKENDS:
        result.notes.append(
            "tf.data pads each batch to its own longest sequence but ends every epoch with a "
            "partial batch per bucket, long buckets included."
        )
    emit(result)


GRU_NOTES = {
    GRU_MASKED: "mask from the padding: Keras's generic loop, a Python step per time step",
    GRU_UNMASKED: "padding read as tokens: Keras's torch GRU, inputs projected at once",
    GRU_PACKED: "enforce_sorted=False: torch's own loop skips the padding",
}


def gru_passes(modeling: Any, loader: Any) -> dict[str, dict[str, Callable[[], None]]]:
    """torch only: passes over the loader's batches of epoch 0 through the rendered model's
    GRU (its units, its embedded tokens), three ways, each forward only and forward +
    backward (of the sum of the final states): name -> column -> pass. The packed
    torch.nn.GRU gets the Keras GRU's weights; its final states are checked to equal
    Keras's masked ones."""
    import keras
    import torch

    model = modeling.new_model((None,))
    gru = next(layer for layer in model.layers if isinstance(layer, keras.layers.GRU))
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
    table = keras.ops.convert_to_numpy(embedding.embeddings)
    loader.set_epoch(0)
    prepared = []
    for tokens, *_ in batches(loader):
        mask = tokens != 0
        embedded = torch.from_numpy(table[tokens] * mask[..., None])
        prepared.append((embedded, torch.from_numpy(mask), torch.from_numpy(mask.sum(axis=1))))
    packed_gru = torch_gru(gru)

    def keras_gru(masked: bool) -> Callable[[Any, Any, Any], Any]:
        return lambda inputs, mask, lengths: gru(inputs, mask=mask if masked else None)

    def packed(inputs: Any, mask: Any, lengths: Any) -> Any:
        sequences = torch.nn.utils.rnn.pack_padded_sequence(
            inputs, lengths, batch_first=True, enforce_sorted=False
        )
        return packed_gru(sequences)[1][0]  # the final state of each sequence

    def passes(final_states: Callable[[Any, Any, Any], Any]) -> dict[str, Callable[[], None]]:
        def forward() -> None:
            with torch.no_grad():
                for embedded, mask, lengths in prepared:
                    final_states(embedded, mask, lengths)

        def forward_backward() -> None:
            for embedded, mask, lengths in prepared:
                # The embedding is trained too: its output needs a gradient, as in fit.
                inputs = embedded.clone().requires_grad_()
                final_states(inputs, mask, lengths).sum().backward()

        return {GRU_FORWARD: forward, GRU_PASS: forward_backward}

    for embedded, mask, lengths in prepared:
        with torch.no_grad():
            own = keras.ops.convert_to_numpy(gru(embedded, mask=mask))
            theirs = packed(embedded, mask, lengths).numpy()
        if not np.allclose(own, theirs, atol=1e-5):
            raise RuntimeError("torch's packed GRU and Keras's masked GRU disagree")
    return {
        GRU_MASKED: passes(keras_gru(True)),
        GRU_UNMASKED: passes(keras_gru(False)),
        GRU_PACKED: passes(packed),
    }


def torch_gru(gru: Any) -> Any:
    """A torch.nn.GRU computing what the Keras `gru` (reset_after=True) computes: Keras
    orders the gates z, r, h in its kernels and torch r, z, n."""
    import keras
    import torch

    units = gru.units
    kernel, recurrent, bias = (keras.ops.convert_to_numpy(w) for w in gru.cell.weights)
    if bias.shape != (2, 3 * units):
        raise RuntimeError(f"expected a reset_after GRU with a bias, got bias {bias.shape}")

    def reorder(weights: np.ndarray) -> torch.Tensor:
        z, r, h = np.split(weights, 3, axis=-1)
        return torch.from_numpy(np.ascontiguousarray(np.concatenate([r, z, h], axis=-1)))

    packed = torch.nn.GRU(kernel.shape[0], units, batch_first=True)
    with torch.no_grad():
        packed.weight_ih_l0.copy_(reorder(kernel).T)
        packed.weight_hh_l0.copy_(reorder(recurrent).T)
        packed.bias_ih_l0.copy_(reorder(bias[0]))
        packed.bias_hh_l0.copy_(reorder(bias[1]))
    return packed


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
