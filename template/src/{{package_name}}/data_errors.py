"""Bad input data: one error type whose message names the file (and line or row).

Every check on a dataset raises DataError (a ValueError, so `except ValueError` still
catches it) with a message that starts with what is wrong where:
`data/train/x.npy: row 3 holds 1e+300, ...` or `data/val/labels.csv, line 10: ...`.
train and predict print such an error as one line.

A loader that fails mid-epoch raises in a Keras worker, and the backend may hand the
error on wrapped in its own (TensorFlow: an InvalidArgumentError whose text holds the
original's class name and message); `loader_error` finds the DataError again.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path


class DataError(ValueError):
    """An input that cannot be trained on; the message names its file (and line or row)."""


def in_file(path: Path | str, error: Exception) -> DataError:
    """`error` as a DataError whose message starts with `path`."""
    return DataError(f"{path}: {error}")


def not_a_file(path: Path) -> str:
    """Why `path`, which should be a file, is not one: for a message that names it."""
    if path.is_symlink() and not path.exists():
        return f"{path} is a broken symbolic link (to {os.readlink(path)})"
    if path.is_dir():
        return f"{path} is a folder, not a file"
    return f"{path} does not exist"


def _data_error_types() -> dict[str, type[DataError]]:
    """DataError and its subclasses (defined anywhere in the project), by class name."""
    found: dict[str, type[DataError]] = {}
    pending: list[type[DataError]] = [DataError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending += cls.__subclasses__()
    return found


def loader_error(error: BaseException) -> DataError | None:
    """The DataError behind `error`, raised where a loader read its batch, if there is one.

    Looked for in the chain of causes, then in the text of a backend's wrapping error.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DataError):
            return seen
        seen = seen.__cause__ or seen.__context__
    types = _data_error_types()
    names = "|".join(re.escape(name) for name in types)
    # On a line of its own, or first after the op's name in double braces that starts
    # TensorFlow's error (as keras-nightly 3.16 passes a worker's error on).
    wrapped = r"(?:\{\{[^}]*\}\} )?"
    match = re.search(rf"^{wrapped}({names}): (.+)$", str(error), flags=re.MULTILINE)
    if match is None:
        return None
    try:
        return types[match[1]](match[2])
    except TypeError:  # a subclass that takes other arguments
        return DataError(match[2])


@contextlib.contextmanager
def loader_errors() -> Iterator[None]:
    """Re-raise a loader's DataError out of whatever the backend wrapped it in.

    with loader_errors():
        model.fit(loader, ...)
    """
    try:
        yield
    except DataError:
        raise
    except Exception as error:
        found = loader_error(error)
        if found is None:
            raise
        raise found from error
