"""SIGTERM, what schedulers and containers send to stop a process (Kubernetes, Slurm, Docker
and systemd, before their SIGKILL), taken as Ctrl-C is: the command stops where it is, says so
in one line, and exits with 128 + the signal's number, as a shell reports a process it killed.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread wherever it was, as Ctrl-C's is."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread, where Python takes signals: left as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stopped_how(stop: KeyboardInterrupt) -> str:
    """How the command was stopped, for its line."""
    return "stopped by SIGTERM" if isinstance(stop, Terminated) else "interrupted"


def exit_code(stop: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM, 130 for Ctrl-C's SIGINT."""
    return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
