"""Kill a rendered project's `train` at five points, resume it, and compare the resumed run
with an uninterrupted one: history rows and the largest difference of any final weight.

    python scripts/resume_kill_points.py [--epochs 5] [ANSWER=VALUE ...]

Renders the working tree (tests.helpers.render) with the answers given (defaults otherwise)
into a temporary folder, writes its demo dataset and trains on it with the default batch size.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.helpers import render  # noqa: E402

# Python run in the train process first: SIGKILL in the middle of the COUNT-th write of NAME.
KILL_IN_WRITE = """
import contextlib, os, signal
from {package} import atomic_files
_replacing, _writes = atomic_files.replacing, 0
@contextlib.contextmanager
def replacing(path):
    global _writes
    with _replacing(path) as temporary:
        yield temporary
        _writes += path.name == {name!r}
        if _writes == {count}:
            with open(temporary, "r+b") as f:
                f.truncate(os.path.getsize(temporary) // 2)
            os.kill(os.getpid(), signal.SIGKILL)
atomic_files.replacing = replacing
"""


def train_command(package: str, args: list[str], setup: str = "") -> list[str]:
    code = f"{setup}\nimport sys\nfrom {package}.train import cli\nsys.exit(cli(sys.argv[1:]))"
    return [sys.executable, "-u", "-c", code, *args]


def run_until(command: list[str], env: dict[str, str], mark: str | None, sig: int) -> int:
    """Run `command`; send `sig` when a line holds `mark` (never without a mark)."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert process.stdout is not None
    sent = False
    # Read to the end: a closed pipe would make the process fail on its next print.
    for line in process.stdout:
        if not sent and mark is not None and mark in line:
            process.send_signal(sig)
            sent = True
    return process.wait(timeout=900)


def final_weights(run_dir: Path) -> list:
    import keras
    import numpy as np

    return [np.asarray(w) for w in keras.models.load_model(run_dir / "model.keras").weights]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("answers", nargs="*", help="copier answers, NAME=VALUE")
    options = parser.parse_args()
    # Values as YAML reads them, as copier's --data does: true, 32, sparse.
    answers = {k: yaml.safe_load(v) for k, v in (a.split("=", 1) for a in options.answers)}
    epochs = options.epochs
    with tempfile.TemporaryDirectory() as tmp:
        project = render(Path(tmp) / "project", **answers)
        package = next((project / "src").iterdir()).name
        env = {**os.environ, "PYTHONPATH": str(project / "src"), "TF_CPP_MIN_LOG_LEVEL": "2"}
        data = Path(tmp) / "data"
        subprocess.run(
            [sys.executable, "-m", f"{package}.demo_data", str(data)], env=env, check=True
        )
        sys.path.insert(0, str(project / "src"))

        def args(run: str) -> list[str]:
            return ["--data", str(data), "--output", str(Path(tmp) / run), "--epochs", str(epochs)]

        start = time.monotonic()
        assert run_until(train_command(package, args("reference")), env, None, 0) == 0
        print(f"uninterrupted run: {time.monotonic() - start:.1f} s")
        reference = final_weights(Path(tmp) / "reference")
        reference_history = (Path(tmp) / "reference" / "history.csv").read_text()

        middle = max(2, epochs // 2 + 1)
        points = [
            (f"SIGKILL at 'Epoch 2/{epochs}'", f"Epoch 2/{epochs}", signal.SIGKILL, None),
            (f"SIGKILL at 'Epoch {epochs}/{epochs}'", f"Epoch {epochs}/", signal.SIGKILL, None),
            (f"Ctrl-C at 'Epoch {middle}/{epochs}'", f"Epoch {middle}/", signal.SIGINT, None),
            ("SIGKILL in the backup write after epoch 2", None, 0, ("backup.npz", 3)),
            ("SIGKILL in the model write", None, 0, ("model.keras", 1)),
        ]
        print("| kill point | exit code | resumed from | history | largest weight difference |")
        print("|---|---|---|---|---|")
        for index, (label, mark, sig, write) in enumerate(points):
            run = f"run{index}"
            # A terminal's Ctrl-C even when this runs in the background (SIGINT ignored).
            setup = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)"
            if write:
                setup += KILL_IN_WRITE.format(package=package, name=write[0], count=write[1])
            code = run_until(train_command(package, args(run), setup), env, mark, sig)
            resumed = subprocess.run(
                train_command(package, args(run)), capture_output=True, text=True, env=env
            )
            assert resumed.returncode == 0, resumed.stderr[-2000:]
            line = next(x for x in resumed.stdout.splitlines() if x.startswith("resuming"))
            history = (Path(tmp) / run / "history.csv").read_text() == reference_history
            diff = max(
                float(abs(a - b).max())
                for a, b in zip(final_weights(Path(tmp) / run), reference, strict=True)
            )
            same = "same" if history else "DIFFERS"
            print(f"| {label} | {code} | {line.split(' from ')[1]} | {same} | {diff:g} |")


if __name__ == "__main__":
    main()
