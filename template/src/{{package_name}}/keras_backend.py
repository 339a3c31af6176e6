"""Which Keras backend the project runs on: its own (settings.BACKEND), unless the
KERAS_BACKEND environment variable names another.

Keras reads KERAS_BACKEND once, when it is first imported, and falls back to
~/.keras/keras.json, then TensorFlow. So the package's __init__ calls `use_project_backend()`
before any of its modules imports keras: `python -m <package>.train` runs on the project's
backend with nothing set, and `KERAS_BACKEND=torch python -m ...` still runs on torch.
"""

from __future__ import annotations

import importlib
import os

from .settings import BACKEND


def use_project_backend() -> None:
    """Make Keras load the project's backend, unless KERAS_BACKEND already names one."""
    os.environ.setdefault("KERAS_BACKEND", BACKEND)


def describe_backend() -> str:
    """One line: the Keras and backend versions in use, and why that backend."""
    import keras

    name = keras.backend.backend()
    version = getattr(importlib.import_module(name), "__version__", "")
    line = f"Keras {keras.version()} on {name} {version}".rstrip()
    if name == BACKEND:
        return f"{line}: the project's backend"
    return f"{line}, not the project's {BACKEND}: KERAS_BACKEND or an earlier import chose it"
