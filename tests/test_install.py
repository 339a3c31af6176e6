"""The default project installs and runs as a new user would: pip install -e ".[dev]", and
.ci/demo end to end.

Both install into a throwaway venv that sees this environment's packages (a .pth file), so
every dependency is already satisfied and this environment is left untouched."""

from __future__ import annotations

import csv
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    REPO_ROOT,
    install_editable,
    make_overlay_venv,
    read_answers,
    run_bounded,
    tail,
)


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None):
    # pip and .ci/demo start processes of their own: a hang kills the whole group.
    done = run_bounded(
        args, timeout=900, cwd=cwd, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    )
    assert done.returncode == 0, f"{args}:\n{tail(done.stdout)}\n{tail(done.stderr)}"
    return done


@pytest.mark.slow
def test_default_project_installs_editable_with_dev_extra(
    default_project: Path, tmp_path: Path
) -> None:
    # Offline: every requirement, the dev extra's included, must already be satisfied.
    python = install_editable(default_project, tmp_path / "venv", ".[dev]")

    package = read_answers(default_project)["package_name"]
    name = tomllib.loads((default_project / "pyproject.toml").read_text())["project"]["name"]
    where = run(
        python, "-c",
        f"import importlib.metadata as m, {package}; print({package}.__file__); "
        f"print(m.version({name!r}))",
        cwd=tmp_path,
    ).stdout.split()  # fmt: skip
    assert Path(where[0]).resolve().is_relative_to((default_project / "src").resolve())
    assert where[1] == "0.1.0"
    helped = run(python, "-m", f"{package}.train", "--help", cwd=tmp_path)
    assert f"python -m {package}.train" in helped.stdout


@pytest.mark.slow
def test_ci_demo_runs_the_readme_demo_end_to_end(tmp_path: Path) -> None:
    """.ci/demo as a user runs it (its venv step, a real pip install -e with build
    isolation, data, training, prediction), with VENV_DIR pointing at a throwaway venv."""
    make_overlay_venv(tmp_path / "venv")
    demo = tmp_path / "demo"
    done = run(
        "bash", REPO_ROOT / ".ci" / "demo", demo,
        cwd=tmp_path,
        env={"VENV_DIR": str(tmp_path / "venv")},
    )  # fmt: skip
    package = read_answers(demo)["package_name"]
    run_dir = demo / "runs" / "demo"
    assert (run_dir / "model.keras").is_file()
    assert list(run_dir.glob("*.png"))
    with (run_dir / "history.csv").open() as f:
        history = list(csv.DictReader(f))
    assert len(history) == 5
    assert float(history[-1]["val_accuracy"]) >= 0.9, history[-1]
    val_rows = len(np.load(demo / "data" / "val" / "x.npy", mmap_mode="r"))
    with (demo / "predictions.csv").open() as f:
        rows = list(csv.reader(f))
    assert len(rows) - 1 == val_rows  # a header, then one row per input
    for where in (str(run_dir), str(demo / "predictions.csv"), f"python -m {package}.predict"):
        assert where in done.stdout
