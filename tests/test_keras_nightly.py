"""The next Keras: three covering projects, one per data type and each backend once (those
whose suites resume in the covering set), pass their own suites on keras-nightly, built from
Keras's main branch, so what the next release breaks shows up here before a user installs
it (the rendered projects depend on `keras>=3.15,<3.17`). With the tests that distribute
training (what Keras's next release changes most: it shards a PyDataset itself,
keras-team/keras#23044), not those that stop and resume whole runs (minutes a suite; the
JAX arrays project's passed on 3.16.0.dev2026102704 when the bound was chosen).

The module runs only when KST_KERAS_NIGHTLY names a folder that holds keras-nightly,
installed with `pip install --no-deps --target FOLDER keras-nightly`: that folder goes ahead
of the installed Keras on the suites' PYTHONPATH. `.ci/run` does so after the template's own
tests, prints this module's result, and keeps its exit code for the template's own tests
(README, "The next Keras"); otherwise the module is deselected (conftest), so a plain
pytest run does not count it as skipped work.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import shared_modules
from tests.conftest import (
    SUITE_RUNNER,
    Rendered,
    SuiteRunner,
    assert_suite_passed,
    selected_answer_ids,
    suite_jobs,
)
from tests.covering import covering_set, resume_suites
from tests.helpers import answers_id, render_many, rendered_suite_env

# The environment variable naming the folder that holds keras-nightly.
NIGHTLY_VARIABLE = "KST_KERAS_NIGHTLY"
# One project per data type, each backend once (covering.resume_suites).
NIGHTLY_SET = [a for a in covering_set() if answers_id(a) in resume_suites(covering_set())]

pytestmark = pytest.mark.nightly


def nightly_folder() -> Path:
    folder = Path(os.environ[NIGHTLY_VARIABLE]).resolve()
    if not (folder / "keras" / "__init__.py").is_file():
        pytest.fail(f"{NIGHTLY_VARIABLE}={folder} holds no keras: install keras-nightly there")
    return folder


def nightly_version(folder: Path) -> str:
    """The version pip installed into `folder`, from its dist-info folder's name."""
    found = sorted(folder.glob("keras_nightly-*.dist-info"))
    assert len(found) == 1, f"{folder}: expected one keras_nightly dist-info, found {found}"
    return found[0].name.removeprefix("keras_nightly-").removesuffix(".dist-info")


@pytest.fixture(scope="module")
def nightly_projects(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[dict[str, Rendered], SuiteRunner]]:
    """The projects, rendered, and their suites started at once on keras-nightly."""
    folder = nightly_folder()
    root = tmp_path_factory.mktemp("nightly")
    render_many([(root / answers_id(answers), answers) for answers in NIGHTLY_SET])
    projects = {answers_id(a): Rendered(a, root / answers_id(a)) for a in NIGHTLY_SET}
    runner = SuiteRunner(suite_jobs(), pythonpath=(folder,))
    # For the summary of suite durations at the end of the run (conftest).
    request.config.stash.setdefault(SUITE_RUNNER, runner)
    # Only the suites of the tests selected (-k, say): the others would run for nothing.
    chosen = selected_answer_ids(request.session, "nightly_answers")
    selected = [key for key in projects if key in chosen]
    # A test module that is the same in two of them (same code, same imports) runs once.
    left_out = shared_modules.plan({key: projects[key].path for key in selected})
    for key in selected:
        runner.submit(key, projects[key].path, left_out[key], resume=False, distributed=True)
    try:
        yield projects, runner
    finally:
        runner.close()


def test_the_suites_import_keras_nightly(tmp_path: Path) -> None:
    """Else the suites below would pass on the installed Keras and tell nothing."""
    folder = nightly_folder()
    expected = nightly_version(folder)
    project = tmp_path / "empty"
    (project / "src").mkdir(parents=True)
    code = "import keras; print(keras.__version__, keras.__file__)"
    seen = subprocess.run(
        [sys.executable, "-c", code],
        env=rendered_suite_env(project, (folder,)),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.split()
    assert seen[0] == expected
    assert Path(seen[1]).is_relative_to(folder)
    print(f"keras-nightly {expected}")


@pytest.mark.slow
@pytest.mark.parametrize("nightly_answers", NIGHTLY_SET, ids=answers_id)
def test_rendered_project_passes_its_own_checks_on_keras_nightly(
    nightly_projects: tuple[dict[str, Rendered], SuiteRunner], nightly_answers: dict[str, Any]
) -> None:
    projects, runner = nightly_projects
    key = answers_id(nightly_answers)
    failed = "the rendered suite failed on keras-nightly"
    assert_suite_passed(key, projects[key].path, runner.result(key), failed)
