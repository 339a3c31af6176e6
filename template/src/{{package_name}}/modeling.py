"""The model as train, predict and the tests get it: yours (custom/model.py), made ready.

`new_model(input_shape, options)` builds your network with custom/model.py's `build_model`
and then does what every run needs, so your model never has to:

- random layers (Dropout, GaussianNoise, ...) draw from seed generators that are model
  variables, set from the seed keras.utils.set_random_seed gave: a run's backup keeps them,
  and a resumed run draws the same masks as one that never stopped (on torch an unseeded
  layer would draw from torch's global generator instead, which no backup holds);
- a model you leave uncompiled is compiled with your optimizer (custom/model.py's
  `make_optimizer`) and the loss and metrics of the project's targets (head.py);
- train builds it inside the distribution's scope (distribution.py), and builds its
  optimizer's variables before the first epoch, for the backup.
"""

from __future__ import annotations

import argparse

import keras

from .custom import model as custom_model
from .custom import training as custom_training
from .head import compile_model


def add_custom_options(parser: argparse.ArgumentParser) -> None:
    """The train options of custom/model.py and custom/training.py."""
    custom_model.add_options(parser)
    custom_training.add_options(parser)


def custom_option_names() -> list[str]:
    """The `dest` of every option custom/ adds, in the order they were added."""
    parser = argparse.ArgumentParser(add_help=False)
    add_custom_options(parser)
    return [action.dest for action in parser._actions]


def default_options() -> argparse.Namespace:
    """custom/'s options at their defaults: what the tests build models with."""
    parser = argparse.ArgumentParser(add_help=False)
    add_custom_options(parser)
    return parser.parse_args([])


def new_model(
    input_shape: tuple[int | None, ...], options: argparse.Namespace | None = None
) -> keras.Model:
    """Your model for samples of `input_shape` (without the batch axis), seeded and compiled."""
    options = default_options() if options is None else options
    model = custom_model.build_model(input_shape, options)
    seed_random_layers(model)
    if not model.compiled:
        compile_model(model, custom_model.make_optimizer(options))
    return model


def seed_random_layers(model: keras.Model) -> None:
    """Make every seed generator of `model` a seeded one.

    A layer built without a seed still gets a generator whose state (a model variable)
    starts from Python's random, which keras.utils.set_random_seed seeds; but Keras's torch
    backend then ignores that state and draws dropout masks from torch's global generator.
    Giving the generator its own starting seed as `seed` makes every backend use the state.
    """
    # Private in Keras 3.15 (tests/test_resume.py's exact resume on torch fails if they change):
    # the generators each layer tracks, and _initial_seed None marking an unseeded one.
    for layer in model._flatten_layers():
        for generator in getattr(layer, "_seed_generators", []):
            if generator._initial_seed is None:
                generator._initial_seed = int(keras.ops.convert_to_numpy(generator.state)[0])
