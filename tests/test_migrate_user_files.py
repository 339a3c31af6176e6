"""The 0.11.0 migration (hooks/migrations/adopt_user_files.py): a project of 0.10.0 or 0.5.0,
customized where those releases had the user do it, updates to the working tree with no
conflict and nothing lost.

The old releases come from this repository's git history (tests/versions.py). The user
changed the model's architecture in model.py, added an option to train.py, a dependency to
pyproject.toml, a section to the README and notes of their own. After `copier update --trust`
(the old version has the post-copy task, and the migration runs): no conflict marker, no .rej
file; the model is theirs in custom/model.py, adapted; train.py is the template's, their
version kept beside it and named; their dependency and README section where 0.11.0 keeps
them; and the project passes its own checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest

from tests import shared_modules
from tests.helpers import REPO_ROOT, copy_version, read_answers, run_rendered_suite, run_ruff, tail
from tests.versions import (
    commit_all,
    conflicted_files,
    init_project_repo,
    release,
    release_from_history,
    status,
    unmerged_paths,
    write_snapshot,
)

MIGRATION = REPO_ROOT / "hooks" / "migrations" / "adopt_user_files.py"
PACKAGE = "mine"
NEW = "0.11.0"
# The architecture edit in each data type's model.py of 0.5.0 to 0.10.0.
MODEL_EDITS = {
    "array": ("Dense(128", "Dense(96"),
    "images": ("MAX_FILTERS = 64", "MAX_FILTERS = 48"),
    "sequences": ("UNITS = 32", "UNITS = 24"),
}
EPOCHS_LINE = re.compile(r'^    parser\.add_argument\("--epochs".*\n', re.MULTILINE)
OPTION = '    parser.add_argument("--warmup-epochs", type=int, default=0)  # mine\n'
DEPENDENCY = '    "rich>=13",\n'
SECTION = "\n## Our experiments\n\nBest so far: 96 units.\n"
NOTES = "notes/experiments.md"
KEPT = ".before-0.11.0"


@pytest.fixture(scope="module")
def template(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.5.0 and 0.10.0 from git history, then the working tree tagged 0.11.0."""
    repo = tmp_path_factory.mktemp("template") / "repo"
    release_from_history(repo, "0.5.0")
    release_from_history(repo, "0.10.0")
    write_snapshot(repo)
    return release(repo, NEW)


@dataclass(frozen=True)
class Migrated:
    project: Path
    version: str  # the release the project was copied from
    data_type: str
    model_py: str  # the user's model.py before the update
    train_py: str  # the user's train.py before the update


def customize_old(project: Path, version: str, data_type: str) -> Migrated:
    package = project / "src" / PACKAGE
    model, train = package / "model.py", package / "train.py"
    old, new = MODEL_EDITS[data_type]
    assert model.read_text().count(old) == 1
    model.write_text(model.read_text().replace(old, new))
    train_text = train.read_text()
    epochs = EPOCHS_LINE.search(train_text)
    assert epochs, "no --epochs option in train.py"
    train.write_text(train_text[: epochs.end()] + OPTION + train_text[epochs.end() :])
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    last = text.index("]\n", text.index("dependencies = ["))
    pyproject.write_text(text[:last] + DEPENDENCY + text[last:])
    readme = project / "README.md"
    readme.write_text(readme.read_text() + SECTION)
    (project / NOTES).parent.mkdir()
    (project / NOTES).write_text("# Experiments\n")
    commit_all(project, "My changes")
    return Migrated(project, version, data_type, model.read_text(), train.read_text())


def copy_customize_update(template: Path, dest: Path, version: str, data_type: str) -> Migrated:
    answers = {"project_name": "mine", "package_name": PACKAGE, "data_type": data_type}
    copy_version(template, dest, version, **answers)
    init_project_repo(dest)
    migrated = customize_old(dest, version, data_type)
    copier.run_update(
        str(dest), defaults=True, overwrite=True, vcs_ref=NEW, unsafe=True, quiet=True
    )
    return migrated


CASES = [("0.10.0", "array"), ("0.10.0", "images"), ("0.10.0", "sequences"), ("0.5.0", "array")]


@pytest.fixture(scope="module", params=CASES, ids=["-".join(case) for case in CASES])
def migrated(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Migrated:
    version, data_type = request.param
    dest = tmp_path_factory.mktemp(f"{version}-{data_type}") / "project"
    return copy_customize_update(template, dest, version, data_type)


def read(migrated: Migrated, name: str) -> str:
    return (migrated.project / name).read_text(encoding="utf-8")


def test_the_update_has_no_conflict(migrated: Migrated) -> None:
    assert read_answers(migrated.project)["_commit"] == NEW
    assert conflicted_files(migrated.project) == []
    assert unmerged_paths(migrated.project) == []
    assert ".rej" not in status(migrated.project)


def test_the_model_moved_into_custom_adapted(migrated: Migrated) -> None:
    assert not (migrated.project / "src" / PACKAGE / "model.py").exists()
    model = read(migrated, f"src/{PACKAGE}/custom/model.py")
    assert MODEL_EDITS[migrated.data_type][1] in model
    assert "def build_model(input_shape" in model and "options: argparse.Namespace)" in model
    assert "from ..head import" in model
    assert "compile_model(model, make_optimizer(options))" in model
    # The learning rate it compiled with is --learning-rate's default.
    rate = "1e-3" if migrated.data_type == "array" else "LEARNING_RATE"
    assert f'"--learning-rate", type=float, default={rate},' in model


def test_the_train_option_is_merged_or_kept_by_name(migrated: Migrated) -> None:
    """The option line merges into 0.11.0's train.py where the update changes nothing
    around it (from 0.10.0); else train.py is the template's, the user's kept beside it."""
    train = read(migrated, f"src/{PACKAGE}/train.py")
    kept = migrated.project / "src" / PACKAGE / f"train.py{KEPT}"
    if kept.exists():
        assert kept.read_text(encoding="utf-8") == migrated.train_py
        assert OPTION not in train
    else:
        assert train.count(OPTION) == 1
    assert kept.exists() == (migrated.version == "0.5.0")


def test_the_dependency_and_section_are_where_0_11_keeps_them(migrated: Migrated) -> None:
    pyproject = read(migrated, "pyproject.toml")
    marker_end = pyproject.index("\n", pyproject.index("    # Your dependencies below")) + 1
    assert pyproject[marker_end:].startswith(DEPENDENCY + "]\n")
    assert read(migrated, "README.md").endswith(
        "<!-- Your own sections go below this line: copier update never changes it. -->\n" + SECTION
    )
    assert read(migrated, NOTES) == "# Experiments\n"
    leftovers = [p.name for p in migrated.project.iterdir() if p.name.endswith(KEPT)]
    assert leftovers == [] and not (migrated.project / ".copier-additions-0.11.0.json").exists()


@pytest.mark.slow
def test_the_migrated_project_passes_its_own_checks(migrated: Migrated) -> None:
    """Its suite, less the tests marked resume and distributed and the shared modules no
    file of the user's reaches (the covering set runs those),
    with the user's adapted model: for the oldest release's arrays project, whose update runs
    every migration (the other cases' models adapt alike: the tests above)."""
    if (migrated.version, migrated.data_type) != CASES[-1]:
        pytest.skip("one project's suite: 0.5.0's arrays project, through every migration")
    lint = run_ruff(migrated.project, "check")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    ignore = shared_modules.unreached_by_the_user(migrated.project)
    done = run_rendered_suite(migrated.project, ignore=ignore, resume=False)
    output = f"--- stdout (tail)\n{tail(done.stdout)}\n--- stderr (tail)\n{tail(done.stderr, 30)}"
    assert done.returncode == 0, f"the migrated project's suite failed\n{output}"


# --- the script on its own ---------------------------------------------------------------------


def test_the_script_needs_its_arguments() -> None:
    done = subprocess.run(
        [sys.executable, str(MIGRATION)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 2
    assert "usage" in done.stderr


def test_after_with_nothing_to_put_back_changes_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(MIGRATION), "--after"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "nothing of yours to put back\n"
    assert list(tmp_path.iterdir()) == []
