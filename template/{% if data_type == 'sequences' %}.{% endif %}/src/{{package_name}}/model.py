"""The model: token embeddings, read in order by a GRU and averaged, for sequences of any length."""

from __future__ import annotations

import keras

from .head import compile_model, output_layer
from .tokens import VOCAB_SIZE

# Small, so an epoch of the demo takes seconds on two CPU cores. The embedding has
# VOCAB_SIZE * EMBEDDING_DIM weights: with a large vocabulary it is most of the model.
EMBEDDING_DIM = 32
UNITS = 32
# Higher than Adam's usual 1e-3: the demo learns its rule sooner in every configuration
# tried (figures in the template's docs/performance.md).
LEARNING_RATE = 3e-3


def build_model(input_shape: tuple[int | None, ...]) -> keras.Model:
    """A compiled network for right-padded batches of token ids: `input_shape` is (None,).

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
    model = keras.Model(inputs, output_layer(x), name="sequence_model")
    compile_model(model, learning_rate=LEARNING_RATE)
    return model
