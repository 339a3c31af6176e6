"""Files that are either complete or absent: written under a temporary name, then renamed.

A process killed while writing (SIGKILL, a full disk, a power cut) leaves at most a hidden
`.NAME-partial-*` file, never a `model.keras` or a CSV that looks complete but is not. The
temporary name says which host and process wrote it, so that a later writer of the same file
can tell a killed writer's leftover (`remove_stale_partial_files`) from a live one's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

PARTIAL_MARK = "-partial-"
# This host, hashed: a folder on a shared filesystem holds other hosts' files, whose pids
# mean nothing here. Eight hex digits, so two hosts share a tag once in four billion pairs.
HOST_TAG = hashlib.blake2s(socket.gethostname().encode(), digest_size=4).hexdigest()


class WriteError(OSError):
    """A file could not be written; the message names it and says why."""


class CreatedMeanwhile(FileExistsError):
    """An exclusive write found its file created by someone else while it wrote; that file
    was left as it is."""


def partial_files(folder: Path) -> list[Path]:
    """What writes killed midway left in `folder`: safe to delete while no one writes there."""
    return sorted(path for path in folder.glob(f".*{PARTIAL_MARK}*") if path.is_file())


def writes_into(path: Path, other: Path) -> bool:
    """Whether writing `path` writes over `other`, or into it if `other` is a folder.

    Compared resolved (links followed), and as the same file where both exist (a hard link, a
    name that differs in case on a case-insensitive filesystem).
    """
    if path.resolve().is_relative_to(other.resolve()):
        return True
    return path.exists() and other.exists() and os.path.samefile(path, other)


def partial_path(path: Path) -> Path:
    """A new temporary name beside `path`: `.STEM-partial-HOST-PID-RANDOM.SUFFIX`.

    It keeps `path`'s suffix (Keras checks for `.keras`) and names this writer (HOST_TAG, its
    pid) for remove_stale_partial_files.
    """
    tag = f"{HOST_TAG}-{os.getpid()}-{secrets.token_hex(4)}"
    return path.with_name(f".{path.stem}{PARTIAL_MARK}{tag}{path.suffix}")


def remove_stale_partial_files(path: Path) -> list[Path]:
    """Delete the temporary files beside `path` that writers of `path` on this host left when
    they were killed; return them. Another host's, and those of a process still running (a
    concurrent writer of the same file), are kept."""
    name = re.compile(
        re.escape(f".{path.stem}{PARTIAL_MARK}{HOST_TAG}-")
        + r"(?P<pid>[0-9]{1,10})-[0-9a-f]{8}"
        + re.escape(path.suffix)
    )
    removed = []
    for partial in partial_files(path.parent):
        match = name.fullmatch(partial.name)
        if match and not _running(int(match["pid"])):
            # Best effort: a leftover that cannot be deleted must not cost the write itself.
            with contextlib.suppress(OSError):
                partial.unlink()
                removed.append(partial)
    return removed


@contextlib.contextmanager
def replacing(path: Path, *, exclusive: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; on success it becomes `path`.

    It replaces an existing `path`, unless `exclusive`: then CreatedMeanwhile if `path` exists
    by the time the write is done (another writer's), which is never replaced. On any error
    the temporary file is removed and `path` is left as it was.
    """
    temporary = partial_path(path)
    try:
        yield temporary
        # The data on disk before the name: a crash after the rename finds it whole.
        with temporary.open("rb") as f:
            os.fsync(f.fileno())
        if exclusive:
            _rename_to_new(temporary, path)
        else:
            os.replace(temporary, path)
        _sync_folder(path.parent)
    except CreatedMeanwhile:
        temporary.unlink(missing_ok=True)
        raise
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


def _rename_to_new(temporary: Path, path: Path) -> None:
    """Rename `temporary` to `path` if no file is there, else CreatedMeanwhile."""
    # A hard link is created only where no name is, in one step: no window in which a file
    # created by another process could be replaced. os.replace would replace it.
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise CreatedMeanwhile(f"{path} was created while it was written") from None
    except OSError:
        # No hard links on this filesystem (FAT, some network and FUSE ones: EPERM, ENOTSUP,
        # EXDEV): take the name with an empty file only one process can create, then replace
        # that. Still never another's file; but the name is briefly an empty file, and stays
        # one if this process is killed in between.
        _create_empty(path)
        try:
            os.replace(temporary, path)
        except OSError:
            path.unlink(missing_ok=True)
            raise
        return
    # Published: a second name that cannot be removed is no failure of the write, and is a
    # stale partial file once this process has ended.
    with contextlib.suppress(OSError):
        temporary.unlink()


def _create_empty(path: Path) -> None:
    """Create `path` empty, or CreatedMeanwhile if it exists (O_EXCL: atomic)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        raise CreatedMeanwhile(f"{path} was created while it was written") from None


def _running(pid: int) -> bool:
    """Whether process `pid` of this host is running (or cannot be told: then True)."""
    # Windows's os.kill ends the process whatever the signal: no check there, nothing removed.
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)  # signal 0: the checks only, nothing sent
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process; no pid of this system
        pass
    return True


def _sync_folder(folder: Path) -> None:
    # The rename itself reaches the disk (POSIX); Windows cannot open a folder this way.
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
