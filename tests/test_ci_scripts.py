"""The repository's scripts: .ci/run fails when pytest runs no test; .ci/demo never
overwrites a folder that is not an earlier demo; all are strict bash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, run_bounded

CI = REPO_ROOT / ".ci"
SCRIPTS = ["run", "demo", "venv", "bench", "gpu-bench"]


def bash(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT):
    # The scripts start Python and pip: a hang kills their whole process group.
    return run_bounded(["bash", *args], timeout=300, cwd=cwd, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_is_strict_bash(name: str) -> None:
    script = CI / name
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(script, os.X_OK), f".ci/{name} is not executable"
    syntax = bash("-n", script)
    assert syntax.returncode == 0, syntax.stderr


def test_ci_run_fails_when_pytest_collects_no_test() -> None:
    # KST_PYTHON: this interpreter, so the test neither builds nor touches a venv.
    env = {"KST_PYTHON": sys.executable}
    # One module, so that pytest does not collect (and compute the covering set of) them all.
    nothing = bash(
        CI / "run", "-p", "no:cacheprovider", "tests/test_questions.py",
        "-k", "no_test_has_this_name",
        env=env,
    )  # fmt: skip
    assert nothing.returncode != 0, nothing.stdout
    assert "collected no test (exit code 5)" in nothing.stderr
    # The same command with a real test selected passes: the failure above is exit code 5's.
    one = bash(
        CI / "run", "-p", "no:cacheprovider", "tests/test_questions.py",
        "-k", "test_spec_questions_are_asked",
        env=env,
    )  # fmt: skip
    assert one.returncode == 0, one.stdout + one.stderr
    assert "1 passed" in one.stdout


def test_ci_run_passes_pytest_failures_through(tmp_path: Path) -> None:
    failing = tmp_path / "test_fails.py"
    failing.write_text("def test_fails():\n    assert False\n")
    done = bash(
        CI / "run", "-p", "no:cacheprovider", "--rootdir", tmp_path, failing,
        env={"KST_PYTHON": sys.executable},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    precious = tmp_path / "mine" / "notes.txt"
    precious.parent.mkdir()
    precious.write_text("keep me")
    for args in ([precious.parent], ["--force", precious.parent]):
        done = bash(CI / "demo", *args)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "not empty" in done.stderr
    assert precious.read_text() == "keep me"
    assert sorted(p.name for p in precious.parent.iterdir()) == ["notes.txt"]


def test_demo_rejects_unknown_options(tmp_path: Path) -> None:
    done = bash(CI / "demo", "--frce", tmp_path / "new")
    assert done.returncode == 2
    assert "usage" in done.stderr
    assert not (tmp_path / "new").exists()


def test_demo_folder_is_ignored_by_git() -> None:
    for path in ("demo/", ".venv/"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", path], cwd=REPO_ROOT, check=False, timeout=60
        )
        assert ignored.returncode == 0, f"{path} is not in .gitignore"


def test_gpu_bench_names_its_two_steps() -> None:
    done = bash(CI / "gpu-bench")
    assert done.returncode == 2
    assert "usage: bash .ci/gpu-bench prepare | run" in done.stderr
