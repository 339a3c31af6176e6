"""The model: a small fully connected network for rows of numeric features."""

from __future__ import annotations

import keras

from .head import compile_model, output_layer


def build_model(input_shape: tuple[int, ...]) -> keras.Model:
    """A compiled network for samples of `input_shape` (without the batch axis).

    No BatchNormalization: under remainder="pad" it would also see the padding rows.
    """
    inputs = keras.Input(shape=input_shape, name="features")
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    model = keras.Model(inputs, output_layer(x), name="array_model")
    compile_model(model)
    return model
