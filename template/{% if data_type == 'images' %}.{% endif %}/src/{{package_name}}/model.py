"""The model: a small convolutional network, shaped by the image size it is built for."""

from __future__ import annotations

import keras

from .head import compile_model, output_layer

# Pool until the feature map is at most this many pixels along each side.
SMALLEST_MAP = 4
# Filters of the last stages; earlier, larger maps get half as many per stage, down to
# MIN_FILTERS, so the cost stays small where the map is large.
MAX_FILTERS = 64
MIN_FILTERS = 8
# Higher than Adam's usual 1e-3: this small network learns the digits demo sooner and more
# steadily (figures in the template's docs/performance.md).
LEARNING_RATE = 3e-3
# He initialisation suits ReLU; with Keras's default (Glorot) the signal fades through the
# stages and training can stay at chance level (an example in the template's
# docs/performance.md).
INITIALIZER = "he_normal"


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


def build_model(input_shape: tuple[int, ...]) -> keras.Model:
    """A compiled network for images of `input_shape`: (height, width, channels).

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
    model = keras.Model(inputs, output_layer(x), name="image_model")
    compile_model(model, learning_rate=LEARNING_RATE)
    return model
