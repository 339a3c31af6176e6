"""Your model: a small convolutional network, shaped by the image size it is built for.

Yours to change (see custom/__init__.py): copier update never changes this file. train,
predict and the tests call it through modeling.new_model, which seeds its random layers
and compiles it with `make_optimizer` and the loss and metrics of the project's targets
(head.py), unless `build_model` compiles it itself.
"""

from __future__ import annotations

import argparse

import keras

from ..head import output_layer

# Pool until the feature map is at most this many pixels along each side.
SMALLEST_MAP = 4
# Filters of the last stages; earlier, larger maps get half as many per stage, down to
# MIN_FILTERS, so the cost stays small where the map is large.
MAX_FILTERS = 64
MIN_FILTERS = 8
# Higher than Adam's usual 1e-3: this small network learns the digits demo sooner and more
# steadily (figures in the template's docs/performance.md). train --learning-rate overrides it.
LEARNING_RATE = 3e-3
# He initialisation suits ReLU; with Keras's default (Glorot) the signal fades through the
# stages and training can stay at chance level (an example in the template's
# docs/performance.md).
INITIALIZER = "he_normal"


def add_options(parser: argparse.ArgumentParser) -> None:
    """train's options for the model; their values reach build_model and make_optimizer.
    train records them in the run's run.json, and a resumed run keeps them."""
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam's step")


def pool_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """2x2 max pooling steps (1 along a side already small) until the map is small."""
    sizes = []
    while max(height, width) > SMALLEST_MAP:
        size = (2 if height > SMALLEST_MAP else 1, 2 if width > SMALLEST_MAP else 1)
        sizes.append(size)
        height, width = height // size[0], width // size[1]
    return sizes


def conv(filters: int) -> keras.layers.Conv2D:
    """A 3x3 ReLU convolution that keeps the map's size."""
    return keras.layers.Conv2D(
        filters, 3, padding="same", activation="relu", kernel_initializer=INITIALIZER
    )


def build_model(input_shape: tuple[int | None, ...], options: argparse.Namespace) -> keras.Model:
    """The network for images of `input_shape`: (height, width, channels), ending in the
    project's output layer (head.output_layer).

    Convolution and max pooling while the map is large, two convolutions at the small
    size, then global average pooling (the head's size does not grow with the image) and
    a hidden dense layer.
    No BatchNormalization: under remainder="pad" it would also see the padding rows.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    pools = pool_sizes(input_shape[0], input_shape[1])
    for stage, size in enumerate(pools):
        filters = max(MIN_FILTERS, MAX_FILTERS >> (len(pools) - stage))
        x = conv(filters)(x)
        x = keras.layers.MaxPooling2D(size)(x)
    for _ in range(2):
        x = conv(MAX_FILTERS)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    # A hidden layer between the pooled features and the output: without it the digits
    # regression demo fits clearly worse (figures in the template's docs/performance.md).
    x = keras.layers.Dense(MAX_FILTERS, activation="relu", kernel_initializer=INITIALIZER)(x)
    return keras.Model(inputs, output_layer(x), name="image_model")


def make_optimizer(options: argparse.Namespace) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(options.learning_rate)
