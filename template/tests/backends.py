"""What the tests need to know of the Keras backend they run on: the project's own
(settings.BACKEND), unless KERAS_BACKEND names another."""

from __future__ import annotations

import multiprocessing

import keras
import pytest

BACKEND = keras.backend.backend()

# batch_loader.check_process_workers refuses process workers forked from a JAX process;
# test_loader_contract.py checks that it does.
FORKED_WORKERS_REFUSED = BACKEND == "jax" and multiprocessing.get_start_method() == "fork"
forked_workers = pytest.mark.skipif(
    FORKED_WORKERS_REFUSED,
    reason="JAX: the loader refuses process workers forked from it, as a fork may deadlock "
    "(test_process_workers_forked_from_jax_are_refused)",
)
