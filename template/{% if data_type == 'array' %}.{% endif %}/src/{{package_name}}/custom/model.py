"""Your model: a small fully connected network for rows of numeric features.

Yours to change (see custom/__init__.py): copier update never changes this file. train,
predict and the tests call it through modeling.new_model, which seeds its random layers
and compiles it with `make_optimizer` and the loss and metrics of the project's targets
(head.py), unless `build_model` compiles it itself.
"""

from __future__ import annotations

import argparse

import keras

from ..head import output_layer

# Adam's usual step size; train --learning-rate overrides it.
LEARNING_RATE = 1e-3


def add_options(parser: argparse.ArgumentParser) -> None:
    """train's options for the model; their values reach build_model and make_optimizer.
    train records them in the run's run.json, and a resumed run keeps them."""
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam's step")


def build_model(input_shape: tuple[int | None, ...], options: argparse.Namespace) -> keras.Model:
    """The network for samples of `input_shape` (without the batch axis), ending in the
    project's output layer (head.output_layer).

    No BatchNormalization: under remainder="pad" it would also see the padding rows.
    """
    inputs = keras.Input(shape=input_shape, name="features")
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    return keras.Model(inputs, output_layer(x), name="array_model")


def make_optimizer(options: argparse.Namespace) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(options.learning_rate)
