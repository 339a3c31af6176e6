"""Ending what a test started: a process and its group, which may ignore SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

# How long a process has to end after SIGTERM before SIGKILL (JAX ignores SIGTERM).
KILL_GRACE_SECONDS = 10


def stop_group(process: subprocess.Popen[str]) -> None:
    """End `process`, started with start_new_session=True, and its whole group if it still
    runs: SIGTERM, then SIGKILL after KILL_GRACE_SECONDS."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
