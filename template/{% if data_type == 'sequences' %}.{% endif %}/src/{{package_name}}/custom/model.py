"""Your model: token embeddings, read in order by a GRU and averaged, for any length.

Yours to change (see custom/__init__.py): copier update never changes this file. train,
predict and the tests call it through modeling.new_model, which seeds its random layers
and compiles it with `make_optimizer` and the loss and metrics of the project's targets
(head.py), unless `build_model` compiles it itself.
"""

from __future__ import annotations

import argparse

import keras

from ..head import output_layer
from ..tokens import VOCAB_SIZE

# Small, so an epoch of the demo takes seconds on two CPU cores. The embedding has
# VOCAB_SIZE * EMBEDDING_DIM weights: with a large vocabulary it is most of the model.
EMBEDDING_DIM = 32
UNITS = 32
# Higher than Adam's usual 1e-3: the demo learns its rule sooner in every configuration
# tried (figures in the template's docs/performance.md). train --learning-rate overrides it.
LEARNING_RATE = 3e-3


def add_options(parser: argparse.ArgumentParser) -> None:
    """train's options for the model; their values reach build_model and make_optimizer.
    train records them in the run's run.json, and a resumed run keeps them."""
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam's step")


def build_model(input_shape: tuple[int | None, ...], options: argparse.Namespace) -> keras.Model:
    """The network for right-padded batches of token ids, `input_shape` (None,), ending in
    the project's output layer (head.output_layer).

    Padding never changes a prediction: a sequence alone and the same sequence padded
    in a batch give the same output.
    No BatchNormalization: under remainder="pad" it would also see the padding rows.
    """
    inputs = keras.Input(shape=input_shape, dtype="int32", name="tokens")
    # mask_zero: id 0 is padding (PAD_ID). The mask it attaches tells the GRU and the
    # average below which steps are real, so the padding a batch needs is ignored.
    embedded = keras.layers.Embedding(VOCAB_SIZE, EMBEDDING_DIM, mask_zero=True)(inputs)
    # The GRU reads the tokens in order, so word order can matter; masked steps carry its
    # state over, so its output is its state at the last real token. On a GPU it runs on
    # cuDNN with its default settings, which needs every row right-padded and none all
    # padding: token ids are never 0 and the loader pads on the right.
    recurrent = keras.layers.GRU(UNITS)(embedded)
    # The average of the real tokens' embeddings (the mask keeps padding out) says what
    # share of the tokens are of which kind, which a GRU learns slowly: the regression
    # demo, whose targets are such shares, needs the average (figures in the template's
    # docs/performance.md).
    average = keras.layers.GlobalAveragePooling1D()(embedded)
    x = keras.layers.Concatenate()([recurrent, average])
    x = keras.layers.Dense(UNITS, activation="relu")(x)
    return keras.Model(inputs, output_layer(x), name="sequence_model")


def make_optimizer(options: argparse.Namespace) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(options.learning_rate)
