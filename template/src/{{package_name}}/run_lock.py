"""One writer per run folder: train holds a lock on it from before it reads the folder until
it ends, and a second train of the same folder is refused in one line naming the first.

The lock is the operating system's (flock on RUN/.lock), which goes with the process however
it ends, a SIGKILL too: a killed run never leaves a stale lock, and the next train resumes it.
The file holds the holder's pid and host, for the message; it stays in the folder between
runs (--overwrite keeps it), and goes when a run leaves nothing else there.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from .runs import LOCK_FILE, RunError, not_a_folder


class RunInUse(RunError):
    """Another process holds the run folder's lock."""


@contextlib.contextmanager
def locked_run(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir`'s lock (creating the folder), or raise RunInUse naming its holder.

    If the run leaves nothing in the folder but the lock, the lock file goes, and the folders
    this call created too.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise not_a_folder(run_dir)
    # The folders this call creates, the run's and any missing above it, deepest first.
    created = [folder for folder in (run_dir, *run_dir.parents) if not folder.exists()]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"cannot create the run folder {run_dir}: {error.strerror}") from None
    path = run_dir / LOCK_FILE
    descriptor = lock(path, run_dir)
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        yield
    finally:
        # A run refused before it wrote anything leaves the folder as it found it.
        if run_dir.is_dir() and [entry.name for entry in run_dir.iterdir()] == [LOCK_FILE]:
            path.unlink()
            for folder in created:
                folder.rmdir()
        os.close(descriptor)  # releases the lock


def lock(path: Path, run_dir: Path) -> int:
    """A descriptor of `path`, locked; RunInUse if another process holds it."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not try_lock(descriptor):
            holder = read_holder(descriptor)
            os.close(descriptor)
            raise RunInUse(
                f"{run_dir} is in use by another train ({holder}): wait for it to end, "
                "or choose another --output"
            )
        # The holder before may have removed the file (and its empty folder) as this process
        # opened it: a lock on a file no longer there locks nothing.
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(descriptor).st_ino:
                return descriptor
        os.close(descriptor)
        run_dir.mkdir(parents=True, exist_ok=True)


def try_lock(descriptor: int) -> bool:
    """Take the exclusive lock of an open file without waiting; False if another holds it."""
    try:
        if os.name == "posix":
            import fcntl

            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # Windows: a lock on the first byte
            import msvcrt

            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def read_holder(descriptor: int) -> str:
    """What the holder wrote in the lock file: its pid and host."""
    try:
        return os.read(descriptor, 200).decode(errors="replace").strip() or "starting"
    except OSError:  # Windows: the locked byte cannot be read
        return "another process"
