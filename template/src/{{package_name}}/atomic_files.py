"""Files that are either complete or absent: written under a temporary name, then renamed.

A process killed while writing (SIGKILL, a full disk, a power cut) leaves at most a hidden
`.NAME-partial-*` file, never a `model.keras` or a CSV that looks complete but is not.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

PARTIAL_MARK = "-partial-"


class WriteError(OSError):
    """A file could not be written; the message names it and says why."""


def partial_files(folder: Path) -> list[Path]:
    """What writes killed midway left in `folder`: safe to delete."""
    return sorted(path for path in folder.glob(f".*{PARTIAL_MARK}*") if path.is_file())


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; on success it replaces `path`.

    The temporary name keeps `path`'s suffix (Keras checks for `.keras`). On any error the
    temporary file is removed and `path` is left as it was.
    """
    temporary = path.with_name(f".{path.stem}{PARTIAL_MARK}{secrets.token_hex(4)}{path.suffix}")
    try:
        yield temporary
        # The data on disk before the name: a crash after the rename finds it whole.
        with temporary.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)
        _sync_folder(path.parent)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise WriteError(f"could not write {path}: {error.strerror or error}") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path`, complete or not at all."""
    with replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _sync_folder(folder: Path) -> None:
    # The rename itself reaches the disk (POSIX); Windows cannot open a folder this way.
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
