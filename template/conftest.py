"""JAX only: the test session keeps JAX's compiled programs on disk and reuses them.

Every model a test builds gets new train, test and predict functions, which JAX traces and
compiles again, even when an earlier test compiled the very same program; the tests build
many identical small models, in this process and in the `train` processes they start.
JAX's persistent compilation cache, keyed by the program itself, serves the repeats: a
third less time for the training tests, measured. Results do not change: a cache hit is
the executable that compiling would give.
"""

from __future__ import annotations

import os
import shutil
import tempfile

# Set before anything imports JAX, which reads its settings once (tests/conftest.py imports
# the package, and so Keras and JAX); the environment carries them to the train processes.
# A cache named by the caller (JAX_COMPILATION_CACHE_DIR) is kept; this one is removed.
_OWN_CACHE: str | None = None
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _OWN_CACHE = tempfile.mkdtemp(prefix="jax-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _OWN_CACHE
# JAX stores only programs that took a second or more to compile; the tests' take less.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


def pytest_unconfigure() -> None:
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
