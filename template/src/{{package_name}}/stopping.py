"""Ctrl-C, and SIGTERM, what schedulers and containers send to stop a process (Kubernetes,
Slurm, Docker and systemd, before their SIGKILL), taken alike: the command stops where it
is, says so in one line, and exits with 128 + the signal's number, as a shell reports a
process it killed.

A signal's exception is raised wherever the main thread is, and where that is an object's
`__del__` (a multiprocessing connection's, say) Python ignores it, printing "Exception
ignored in": the stop would be lost and training would go on. So the stop is kept, and
StopWhenSignalled raises it again at the next batch.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

import keras


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread wherever it was, as Ctrl-C's is."""


# The stops raised inside stop_signals's block, the latest last.
_raised: list[KeyboardInterrupt] = []


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    stop = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
    _raised.append(stop)
    raise stop


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated and Ctrl-C KeyboardInterrupt in the main
    thread, and raise_if_stopped raises either again. A Ctrl-C that the process ignores (a
    shell's background job) stays ignored."""
    signums = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signums.append(signal.SIGINT)
    try:
        previous = {signum: signal.signal(signum, _raise_stop) for signum in signums}
    except ValueError:  # not the main thread, where Python takes signals: left as it is
        yield
        return
    _raised.clear()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _raised.clear()


def raise_if_stopped() -> None:
    """Raise again the stop a signal raised in stop_signals's block, if there was one: the
    first raise may have been ignored."""
    if _raised:
        raise _raised[-1]


class StopWhenSignalled(keras.callbacks.Callback):
    """Stops fit, evaluate or predict at the end of a batch if a stop was ignored."""

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        raise_if_stopped()

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        raise_if_stopped()

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        raise_if_stopped()


def stopped_how(stop: KeyboardInterrupt) -> str:
    """How the command was stopped, for its line."""
    return "stopped by SIGTERM" if isinstance(stop, Terminated) else "interrupted"


def exit_code(stop: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM, 130 for Ctrl-C's SIGINT."""
    return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
