"""`copier update` of a rendered project: user edits survive, template changes arrive,
same-line clashes become visible conflicts, changed answers regenerate what depends on
them, and the 0.4.0 migration carries the renamed question's answer over.

The template versions are this repository's working tree in throwaway git repositories
(tests/versions.py): 1.0.0 and a 1.1.0 with a few changes, and a 0.3.0 from before the
rename of tensorflow_requirement to tensorflow_build, updated to 0.4.0 (the current tree).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from tests.helpers import REPO_ROOT, check_answer_keys, copy_version, read_answers, type_folder
from tests.versions import (
    commit_all,
    conflicted_files,
    current_template,
    init_project_repo,
    make_0_3_0,
    make_before_backends,
    release,
    replace_once,
    status,
    unmerged_paths,
    write_snapshot,
)

MIGRATION = REPO_ROOT / "hooks" / "migrations" / "rename_tensorflow_requirement.py"
SRC = Path("template") / "src" / "{{package_name}}"
TRAIN_TEMPLATE = SRC / "train.py.jinja"
SEQUENCE_SRC = Path("template", type_folder("sequences"), "src", "{{package_name}}")
SEQUENCE_MODEL_TEMPLATE = SEQUENCE_SRC / "custom" / "model.py.jinja"
README_TEMPLATE = Path("template") / "README.md.jinja"
PREDICT_TEMPLATE = SRC / "predict.py.jinja"

PACKAGE = "lifecycle"
ANSWERS: dict[str, Any] = {"project_name": "lifecycle", "package_name": PACKAGE}

# The user's edits and the template's 1.1.0 changes.
USER_TOP_LINE = "# Experiment log: see notes/experiments.md\n"
EPOCHS_1_0 = 'parser.add_argument("--epochs", type=positive_int, default=10)'
EPOCHS_1_1 = 'parser.add_argument("--epochs", type=positive_int, default=20)'
LEARNING_RATE_1_0 = "LEARNING_RATE = 3e-3"
LEARNING_RATE_USER = "LEARNING_RATE = 1e-3"
LEARNING_RATE_1_1 = "LEARNING_RATE = 1e-2"
# The line before the token model's rate in custom/model.py.jinja (features have a rate too).
TOKENS_RATE_CONTEXT = "docs/performance.md). train --learning-rate overrides it.\n"
SET_UP_1_0 = "## Set up\n"
SET_UP_USER = "## Setting up\n"
SET_UP_1_1 = "## Set up the project\n"
USER_NOTES = "notes/experiments.md"
USER_NOTES_TEXT = "# Experiments\n\n- lr 1e-3: better than the default\n"
DELETED = (f"src/{PACKAGE}/predict.py", "tests/test_predict.py")


@pytest.fixture(scope="module")
def template(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree tagged 1.0.0, then 1.1.0 with a train.py line, the sequence
    model's learning rate (a file of the user's: no release may change it but through a
    migration), a README heading and predict.py's docstring changed."""
    repo = current_template(tmp_path_factory.mktemp("template") / "repo", "1.0.0")
    replace_once(repo / TRAIN_TEMPLATE, EPOCHS_1_0, EPOCHS_1_1)
    replace_once(
        repo / SEQUENCE_MODEL_TEMPLATE,
        TOKENS_RATE_CONTEXT + LEARNING_RATE_1_0,
        TOKENS_RATE_CONTEXT + LEARNING_RATE_1_1,
    )
    replace_once(repo / README_TEMPLATE, SET_UP_1_0, SET_UP_1_1)
    replace_once(repo / PREDICT_TEMPLATE, '"""Predict with ', '"""Predictions of ')
    return release(repo, "1.1.0")


def copy(template: Path, dest: Path, version: str, **data: Any) -> Path:
    """Copy `version` as a careful user would (no --trust, no tasks), then commit."""
    copy_version(template, dest, version, **data)
    init_project_repo(dest)
    return dest


def update(project: Path, version: str, **options: Any) -> None:
    options.setdefault("unsafe", True)
    copier.run_update(
        str(project),
        defaults=True,
        overwrite=True,
        vcs_ref=version,
        quiet=True,
        conflict="inline",
        **options,
    )


def read(project: Path, name: str) -> str:
    return (project / name).read_text(encoding="utf-8")


def write(project: Path, name: str, text: str) -> None:
    (project / name).parent.mkdir(parents=True, exist_ok=True)
    (project / name).write_text(text, encoding="utf-8")


CONFLICT = re.compile(
    r"^<<<<<<< before updating\n(.*?)^=======\n(.*?)^>>>>>>> after updating\n",
    re.MULTILINE | re.DOTALL,
)


def imports_of(path: Path) -> set[str]:
    """Modules a Python file imports, relative imports resolved to the project package
    (in a conflicted file, both sides of each conflict count)."""
    source = CONFLICT.sub(r"\1\2", path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = f"{PACKAGE}.{node.module or ''}" if node.level else node.module or ""
            found.add(module.rstrip("."))
            found.update(f"{module.rstrip('.')}.{alias.name}" for alias in node.names)
    return found


# --- 1. user edits against a new template version --------------------------------------------


@dataclass(frozen=True)
class Updated:
    project: Path
    before: dict[str, str]  # the user's committed files that the test reads back


@pytest.fixture(scope="module")
def updated(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Updated:
    """1.0.0 copied and committed, edited and committed as a user would, updated to 1.1.0."""
    project = copy(
        template, tmp_path_factory.mktemp("edited") / "project", "1.0.0",
        **ANSWERS, data_type="sequences", predict=True,
    )  # fmt: skip
    train, model = f"src/{PACKAGE}/train.py", f"src/{PACKAGE}/custom/model.py"
    assert EPOCHS_1_0 in read(project, train)
    write(project, train, USER_TOP_LINE + read(project, train))
    replace_once(project / model, LEARNING_RATE_1_0, LEARNING_RATE_USER)
    replace_once(project / "README.md", SET_UP_1_0, SET_UP_USER)
    write(project, USER_NOTES, USER_NOTES_TEXT)
    for name in DELETED:
        (project / name).unlink()
    commit_all(project, "User's edits")
    before = {name: read(project, name) for name in (train, model, "README.md", USER_NOTES)}

    update(project, "1.1.0")
    return Updated(project, before)


def test_update_moves_the_project_to_the_new_version(updated: Updated) -> None:
    assert read_answers(updated.project)["_commit"] == "1.1.0"


def test_user_line_at_the_top_survives_and_template_change_arrives(updated: Updated) -> None:
    train = read(updated.project, f"src/{PACKAGE}/train.py")
    assert train.startswith(USER_TOP_LINE + '"""Train the model')
    assert EPOCHS_1_1 in train
    assert EPOCHS_1_0 not in train
    assert train.count("\n") == updated.before[f"src/{PACKAGE}/train.py"].count("\n")


def test_user_file_survives(updated: Updated) -> None:
    assert read(updated.project, USER_NOTES) == USER_NOTES_TEXT


@pytest.mark.parametrize("name", DELETED)
def test_deleted_file_stays_deleted(updated: Updated, name: str) -> None:
    """Even predict.py, which the template changed in 1.1.0."""
    assert not (updated.project / name).exists()


def test_project_without_predict_imports_nothing_of_it(updated: Updated) -> None:
    """Deleting the optional predict module and its test leaves a consistent project."""
    python_files = sorted(updated.project.rglob("*.py"))
    assert len(python_files) > 10
    users = [
        path.relative_to(updated.project).as_posix()
        for path in python_files
        if f"{PACKAGE}.predict" in imports_of(path)
    ]
    assert users == []


def test_a_file_of_the_users_is_never_changed_by_an_update(updated: Updated) -> None:
    """custom/model.py is the user's: the template's 1.1.0 change to the same line does not
    reach it, and makes no conflict (a release must change it through a migration)."""
    model = f"src/{PACKAGE}/custom/model.py"
    assert read(updated.project, model) == updated.before[model]


def test_same_line_edit_is_a_visible_conflict_with_both_versions(updated: Updated) -> None:
    """A line of the template's that the user changed too (a README heading)."""
    readme = read(updated.project, "README.md")
    assert len(CONFLICT.findall(readme)) == 1, readme
    conflict = CONFLICT.search(readme)
    assert conflict
    assert conflict.group(1) == SET_UP_USER
    assert conflict.group(2) == SET_UP_1_1
    # Apart from the conflict, the README is the template's new one, the user's line kept.
    assert readme.replace(conflict.group(0), SET_UP_USER) == updated.before["README.md"]


def test_only_the_clash_is_a_conflict_and_git_knows_it(updated: Updated) -> None:
    assert conflicted_files(updated.project) == ["README.md"]
    assert unmerged_paths(updated.project) == ["README.md"]


def test_update_without_trust_succeeds_because_the_old_version_has_no_tasks(
    template: Path, tmp_path: Path
) -> None:
    """Copier counts the old version's tasks (and the migrations in the update's range):
    the template has no tasks from 0.11.0 on, and no migration lies after 1.0.0, so a plain
    `copier update` (no --trust, no --skip-tasks) works. tests/test_hooks.py checks that an
    old version with the post-copy task still needs --trust."""
    project = copy(template, tmp_path / "project", "1.0.0", **ANSWERS)
    update(project, "1.1.0", unsafe=False)
    assert read_answers(project)["_commit"] == "1.1.0"
    assert conflicted_files(project) == []


# The update steps the rendered README gives, in this order (the text before each `#`).
UPDATE_STEPS = (
    "git status",
    "copier update",
    "git status",
    "git add -A",
    "git diff --check HEAD",
    "python -m pytest",
    "git commit -m ",
)


def test_rendered_readme_gives_the_update_command_that_works(updated: Updated) -> None:
    """Plain `copier update` works (test above): the project's README gives it, then the
    steps that lose nothing: `git add -A` (a new file is not in `git diff HEAD`), the check
    for conflict markers, the tests, the commit; never `git commit -am`."""
    readme = read(updated.project, "README.md")
    section = readme.split("## Update from the template", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    commands = [command for command in commands if command]
    assert len(commands) == len(UPDATE_STEPS), commands
    for command, step in zip(commands, UPDATE_STEPS, strict=True):
        assert command.startswith(step), f"{command!r} is not {step!r}"
    assert commands[1] == "copier update"
    # `git commit -am` would leave out the files the update added: named only as a warning.
    assert not any("commit -a" in command for command in commands)
    prose = " ".join(section.split())
    assert "Never commit with `git commit -am`" in prose
    assert "--conflict rej" in prose


# --- 2. changed answers ----------------------------------------------------------------------


def test_update_with_a_changed_answer_regenerates_what_depends_on_it(
    template: Path, tmp_path: Path
) -> None:
    project = copy(template, tmp_path / "project", "1.0.0", **ANSWERS, remainder="partial")
    data_py, train = f"src/{PACKAGE}/data.py", f"src/{PACKAGE}/train.py"
    settings = f"src/{PACKAGE}/settings.py"
    assert 'REMAINDER: Final[str] = "partial"' in read(project, settings)
    user_helper = "\n\ndef user_helper() -> int:\n    return 7\n"
    write(project, data_py, read(project, data_py) + user_helper)
    write(project, train, USER_TOP_LINE + read(project, train))
    write(project, USER_NOTES, USER_NOTES_TEXT)
    commit_all(project, "User's edits")

    new_answers = {"remainder": "pad"}
    check_answer_keys(new_answers)
    update(project, "1.0.0", data=new_answers)

    assert read_answers(project)["remainder"] == "pad"
    assert 'REMAINDER: Final[str] = "pad"' in read(project, settings)
    assert '"partial"' not in read(project, settings)
    assert read(project, data_py).endswith(user_helper)
    readme = read(project, "README.md")
    assert "| remainder | `pad`" in readme
    assert "This project uses **`pad`**." in readme
    assert "**`partial`**" not in readme
    assert read(project, train).startswith(USER_TOP_LINE)
    assert read(project, USER_NOTES) == USER_NOTES_TEXT
    assert conflicted_files(project) == []


# --- 4. the 0.4.0 migration: tensorflow_requirement renamed to tensorflow_build ---------------


@pytest.fixture(scope="module")
def renamed(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repository tagged 0.3.0 (before the rename), then 0.4.0 (the working tree)."""
    repo = tmp_path_factory.mktemp("renamed") / "repo"
    write_snapshot(repo)
    make_0_3_0(repo)
    old_config = yaml.safe_load((repo / "copier.yml").read_text(encoding="utf-8"))
    assert "tensorflow_requirement" in old_config
    assert not {"tensorflow_build", "_tasks", "_migrations"} & set(old_config)
    release(repo, "0.3.0")
    write_snapshot(repo)
    return release(repo, "0.4.0")


@pytest.fixture(scope="module")
def project_0_3_0(renamed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy(
        renamed, tmp_path_factory.mktemp("old") / "project", "0.3.0",
        **ANSWERS, tensorflow_requirement="tensorflow[and-cuda]",
    )  # fmt: skip
    assert read_answers(project)["tensorflow_requirement"] == "tensorflow[and-cuda]"
    assert '"tensorflow[and-cuda]>=2.21"' in read(project, "pyproject.toml")
    return project


def test_update_across_the_rename_keeps_the_answer(project_0_3_0: Path, tmp_path: Path) -> None:
    project = shutil.copytree(project_0_3_0, tmp_path / "project", symlinks=True)
    update(project, "0.4.0")
    answers = read_answers(project)
    assert answers["_commit"] == "0.4.0"
    assert answers["tensorflow_build"] == "tensorflow[and-cuda]"
    assert "tensorflow_requirement" not in answers
    pyproject = read(project, "pyproject.toml")
    assert '"tensorflow[and-cuda]>=2.21"' in pyproject
    assert "tensorflow-cpu>=" not in pyproject
    assert "tensorflow_requirement" not in pyproject
    assert conflicted_files(project) == []
    assert unmerged_paths(project) == []


@pytest.mark.parametrize("skip_tasks", [False, True], ids=["plain", "skip-tasks"])
def test_update_across_the_rename_without_trust_is_refused(
    project_0_3_0: Path, tmp_path: Path, skip_tasks: bool
) -> None:
    project = shutil.copytree(project_0_3_0, tmp_path / "project", symlinks=True)
    with pytest.raises(copier.errors.UnsafeTemplateError, match="migrations"):
        update(project, "0.4.0", unsafe=False, skip_tasks=skip_tasks)
    assert status(project) == ""
    assert read_answers(project)["_commit"] == "0.3.0"


# --- the migration script on its own ---------------------------------------------------------

OLD_ANSWERS = """\
# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY
_commit: 0.3.0
_src_path: /somewhere/copier-keras-sequence
batch_size: 32
tensorflow_requirement: tensorflow[and-cuda]
remainder: pad
"""


def migrate(answers_file: Path) -> subprocess.CompletedProcess[str]:
    """The script as copier runs it: the answers file's path as its only argument."""
    return subprocess.run(
        [sys.executable, str(MIGRATION), answers_file.name],
        cwd=answers_file.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_migration_renames_the_key_in_place(tmp_path: Path) -> None:
    answers_file = tmp_path / ".copier-answers.yml"
    answers_file.write_text(OLD_ANSWERS, encoding="utf-8")
    done = migrate(answers_file)
    assert done.returncode == 0, done.stderr
    assert "renamed" in done.stdout
    text = answers_file.read_text(encoding="utf-8")
    assert text == OLD_ANSWERS.replace("tensorflow_requirement:", "tensorflow_build:")
    assert yaml.safe_load(text)["tensorflow_build"] == "tensorflow[and-cuda]"


def test_migration_rerun_changes_nothing(tmp_path: Path) -> None:
    answers_file = tmp_path / ".copier-answers.yml"
    answers_file.write_text(OLD_ANSWERS, encoding="utf-8")
    assert migrate(answers_file).returncode == 0
    once = answers_file.read_bytes()
    done = migrate(answers_file)
    assert done.returncode == 0, done.stderr
    assert "nothing to rename" in done.stdout
    assert answers_file.read_bytes() == once


def test_migration_with_both_keys_drops_the_old_one(tmp_path: Path) -> None:
    answers_file = tmp_path / ".copier-answers.yml"
    both = OLD_ANSWERS.replace("remainder: pad\n", "tensorflow_build: tensorflow\nremainder: pad\n")
    answers_file.write_text(both, encoding="utf-8")
    assert migrate(answers_file).returncode == 0
    text = answers_file.read_text(encoding="utf-8")
    assert text == both.replace("tensorflow_requirement: tensorflow[and-cuda]\n", "")
    answers = yaml.safe_load(text)
    assert answers["tensorflow_build"] == "tensorflow"
    assert "tensorflow_requirement" not in answers


def test_migration_without_the_old_key_leaves_the_file_alone(tmp_path: Path) -> None:
    answers_file = tmp_path / ".copier-answers.yml"
    current = OLD_ANSWERS.replace("tensorflow_requirement:", "tensorflow_build:")
    # A key that only starts like the old one is not it.
    current += "tensorflow_requirement_note: keep me\n"
    answers_file.write_text(current, encoding="utf-8")
    done = migrate(answers_file)
    assert done.returncode == 0, done.stderr
    assert answers_file.read_text(encoding="utf-8") == current


def test_migration_needs_the_answers_file() -> None:
    done = subprocess.run(
        [sys.executable, str(MIGRATION)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 2
    assert "usage" in done.stderr


# --- 5. the 0.6.0 migration: retired modules keep the user's edits ----------------------------

RETIRED = {"loader.py": "# the loader as 0.5.0 rendered it\n", "arrays.py": "# arrays\n"}
KEPT_SUFFIX = ".before-0.6.0"


@pytest.fixture(scope="module")
def retiring(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.5.0: the working tree plus the modules 0.6.0 retires; 0.6.0: the working tree."""
    repo = tmp_path_factory.mktemp("retiring") / "repo"
    write_snapshot(repo)
    for name, text in RETIRED.items():
        (repo / SRC / name).write_text(text, encoding="utf-8")
    release(repo, "0.5.0")
    write_snapshot(repo)
    return release(repo, "0.6.0")


@pytest.mark.parametrize("edited", [True, False], ids=["edited", "unedited"])
def test_update_keeps_the_users_edits_of_retired_modules(
    retiring: Path, tmp_path: Path, edited: bool
) -> None:
    project = copy(retiring, tmp_path / "project", "0.5.0", **ANSWERS)
    loader = f"src/{PACKAGE}/loader.py"
    if edited:
        write(project, loader, read(project, loader) + "# my change\n")
        commit_all(project, "User's edit")
    update(project, "0.6.0")
    package = project / "src" / PACKAGE
    # The update removes both modules; only an edited one is kept, under a new name.
    assert not (package / "loader.py").exists() and not (package / "arrays.py").exists()
    assert not (package / ("arrays.py" + KEPT_SUFFIX)).exists()
    kept = package / ("loader.py" + KEPT_SUFFIX)
    assert kept.is_file() == edited
    if edited:
        assert kept.read_text(encoding="utf-8") == RETIRED["loader.py"] + "# my change\n"
    assert (package / "batch_loader.py").is_file()


# --- 6. the backend question: a project from before it stays on TensorFlow ------------------


@pytest.fixture(scope="module")
def before_backends(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.8.0: the template before the backend question (tests/versions.py); 0.9.0: the
    working tree. Built from the working tree, not the release tags, which a fresh clone
    may not have."""
    repo = tmp_path_factory.mktemp("backends") / "repo"
    write_snapshot(repo)
    make_before_backends(repo)
    old_config = yaml.safe_load((repo / "copier.yml").read_text(encoding="utf-8"))
    assert "backend" not in old_config
    release(repo, "0.8.0")
    write_snapshot(repo)
    return release(repo, "0.9.0")


def test_update_from_before_backends_keeps_the_tensorflow_build(
    before_backends: Path, tmp_path: Path
) -> None:
    project = copy(
        before_backends, tmp_path / "project", "0.8.0", **ANSWERS,
        tensorflow_build="tensorflow[and-cuda]",
    )  # fmt: skip
    assert "backend" not in read_answers(project)
    update(project, "0.9.0")
    answers = read_answers(project)
    assert answers["_commit"] == "0.9.0"
    assert answers["backend"] == "tensorflow"
    assert answers["tensorflow_build"] == "tensorflow[and-cuda]"
    assert not {"jax_build", "torch_build"} & set(answers)
    pyproject = read(project, "pyproject.toml")
    assert '"tensorflow[and-cuda]>=2.21"' in pyproject
    assert not re.search(r'^\s*"(jax|torch)', pyproject, re.MULTILINE), pyproject
    keras_backend = read(project, f"src/{PACKAGE}/keras_backend.py")
    assert 'BACKEND: Final[str] = "tensorflow"' in keras_backend
    assert conflicted_files(project) == []
    assert unmerged_paths(project) == []
