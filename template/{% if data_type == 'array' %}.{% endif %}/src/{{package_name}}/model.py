"""The model: a small fully connected network for rows of numeric features."""

from __future__ import annotations

import random

import keras

from .head import compile_model, output_layer


def build_model(input_shape: tuple[int, ...]) -> keras.Model:
    """A compiled network for samples of `input_shape` (without the batch axis).

    No BatchNormalization: under remainder="pad" it would also see the padding rows.
    """
    inputs = keras.Input(shape=input_shape, name="features")
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(128, activation="relu")(x)
    # Seeded, from Python's random (keras.utils.set_random_seed seeds it, as train does): its
    # masks then come from a seed generator, one of the model's variables, which a run's
    # backup keeps. Unseeded on torch, it would draw on torch's global generator instead.
    x = keras.layers.Dropout(0.2, seed=random.randrange(2**31))(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    model = keras.Model(inputs, output_layer(x), name="array_model")
    compile_model(model)
    return model
