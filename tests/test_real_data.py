"""Data no one here wrote: scikit-learn's digits, as a user would bring them (arrays, and PNG
files in class folders, without the project's demo_data), go through a rendered project's
train, evaluate and predict, and learn as well as plain Keras fits the same model
(tests/real_data.py). Only that both learn is asserted; the accuracies and durations are
printed (pytest -s, or the -ra summary on failure)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, render, run_bounded, tail

# A hang bound: a few minutes beyond a normal run (about 1 min for images on a loaded 2-core
# machine).
HANG_SECONDS = 15 * 60
# Ten classes: chance is 0.1; both fits reach above 0.95 on this machine.
LEARNT = 0.9


@pytest.mark.slow
@pytest.mark.parametrize("data_type", ["array", "images"])
def test_the_digits_learn_through_the_project_as_through_plain_keras(
    data_type: str, tmp_path: Path
) -> None:
    project = render(tmp_path / "project", project_name="digits", data_type=data_type)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONDONTWRITEBYTECODE": "1"}
    done = run_bounded(
        [sys.executable, REPO_ROOT / "tests" / "real_data.py", project, work],
        timeout=HANG_SECONDS,
        env=env,
    )
    assert done.returncode == 0, tail(done.stderr)
    result = json.loads(done.stdout.splitlines()[-1])
    print(result)
    assert result["project_accuracy"] >= LEARNT, result
    assert result["keras_accuracy"] >= LEARNT, result
    # predict's CSV, read back against the true labels, agrees with evaluate.
    assert abs(result["predictions_accuracy"] - result["project_accuracy"]) < 1e-6, result
