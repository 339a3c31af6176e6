"""No tasks from 0.11.0 on (copier.yml): copy and update need no --trust, and the messages
copier prints without trust give the commands the post-copy hook of 0.4.0 to 0.10.0 ran.

A copy without --trust renders the project and prints the next commands; run as printed,
they make it a git repository with one commit of exactly the rendered files. An update from
a project of 0.11.0 needs no --trust either; the commands the READMEs give after an update
see the files it adds and catch copier's conflict markers. A project whose old version has
a task (0.4.0 to 0.10.0, built here by adding a `_tasks` block back) still needs --trust,
for one update. A copy into a folder that already holds the user's files keeps them
(copier.yml's `_skip_if_exists`, also without a terminal).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest

from tests.helpers import copier_config, read_answers, run_bounded
from tests.versions import (
    commit_all,
    commit_count,
    current_template,
    git,
    init_project_repo,
    project_files,
    release,
    replace_once,
    status,
    write_snapshot,
)

# The template's versions: the last with the post-copy task, the first without, a later one.
WITH_TASKS, FIRST, LATER = "0.10.0", "0.11.0", "0.11.1"
# What 0.10.0 had, in place of hooks/post_copy.py (copier only counts that a task exists).
TASKS = """\
_tasks:
  - command: ["{{ _copier_python }}", "-c", "print('the post-copy task ran')"]
    when: "{{ _copier_operation == 'copy' }}"

"""
# What LATER changes: a file it adds, and a line of .gitignore.
ADDED = "CONTRIBUTING.md"
RUNS, RUNS_LATER, RUNS_USER = "runs/\n", "runs*/\n", "my-runs/\n"
ANSWERS_FILE = ".copier-answers.yml"
# package_name's default (from project_name's default): the folder of the user's data.py.
PACKAGE = "keras_sequence_project"
# A user's folder before the copy: a secret, a dataset, and two files the template also renders.
USER_FILES = {
    ".env": b"API_TOKEN=never-commit-this\n",
    "data/train.npy": bytes(range(256)) * 4096,  # 1 MiB
    "README.md": b"# My experiments\n\nThe user's own README.\n",
    f"src/{PACKAGE}/data.py": b'"""The user\'s own loader."""\n',
}
FOREIGN = [".env", "data/train.npy"]  # not rendered by the template
KEPT = ["README.md", f"src/{PACKAGE}/data.py"]  # rendered by the template too
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# `copier ...` with no terminal: stdin is the null device, as in CI or a script.
NO_TERMINAL = (
    "import os, runpy, sys; os.dup2(os.open(os.devnull, os.O_RDONLY), 0); "
    "sys.argv[0] = 'copier'; runpy.run_module('copier', run_name='__main__', alter_sys=True)"
)
GIT_COMMANDS = ["git init", "git add -A", "git commit -m "]


@pytest.fixture(scope="module")
def template(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.10.0: the working tree with a post-copy task; 0.11.0: the working tree; 0.11.1: the
    working tree with a file added and a line of .gitignore changed."""
    repo = tmp_path_factory.mktemp("template") / "repo"
    write_snapshot(repo)
    replace_once(repo / "copier.yml", "\n_migrations:\n", "\n" + TASKS + "_migrations:\n")
    release(repo, WITH_TASKS)
    current_template(repo, FIRST)
    (repo / "template" / ADDED).write_text("# Contributing\n\nAdded in 0.11.1.\n", "utf-8")
    replace_once(repo / "template" / ".gitignore", RUNS, RUNS_LATER)
    return release(repo, LATER)


def copy(template: Path, dest: Path, version: str = FIRST, **options: Any) -> Path:
    """`copier copy` without --trust (unless `options` say otherwise)."""
    options.setdefault("unsafe", False)
    copier.run_copy(str(template), str(dest), defaults=True, vcs_ref=version, quiet=True, **options)
    return dest


def update(project: Path, version: str, **options: Any) -> None:
    """`copier update` without --trust (unless `options` say otherwise)."""
    options.setdefault("unsafe", False)
    options.setdefault("quiet", True)
    copier.run_update(str(project), defaults=True, overwrite=True, vcs_ref=version, **options)


@pytest.fixture(scope="module")
def copied(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`copier copy` of 0.11.0: no --trust, no --skip-tasks."""
    return copy(template, tmp_path_factory.mktemp("copied") / "project")


def copier_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`copier ARGS` as a user runs it without a terminal; output captured."""
    return run_bounded([sys.executable, "-c", NO_TERMINAL, *args], timeout=180, cwd=cwd)


def printed_commands(message: str) -> list[str]:
    """The indented lines of copier's output after "Next,": the commands the message gives."""
    after = message[message.index("Next,") :].splitlines()
    return [line.strip() for line in after if line.startswith("    ")]


def write_user_files(folder: Path) -> Path:
    for name, content in USER_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def assert_user_files_untouched(folder: Path, names: list[str] | None = None) -> None:
    for name in USER_FILES if names is None else names:
        assert (folder / name).read_bytes() == USER_FILES[name], f"{name} was changed"


def check_before_commit(project: Path) -> subprocess.CompletedProcess[str]:
    """The READMEs' steps after `copier update`: `git add -A`, then `git diff --check HEAD`."""
    git("add", "-A", cwd=project)
    return subprocess.run(
        ["git", "diff", "--check", "HEAD"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


# --- copy ----------------------------------------------------------------------------------


def test_template_has_no_tasks_but_messages() -> None:
    config = copier_config()
    assert "_tasks" not in config, "a task makes every copy and update need --trust"
    assert config.get("_message_after_copy") and config.get("_message_after_update")


def test_copy_without_trust_renders_the_project(copied: Path) -> None:
    files = project_files(copied)
    assert "pyproject.toml" in files and f"src/{PACKAGE}/data.py" in files
    assert read_answers(copied)["_commit"] == FIRST
    assert not (copied / ".git").exists(), "something ran git"


@dataclass(frozen=True)
class Copied:
    project: Path
    done: subprocess.CompletedProcess[str]

    @property
    def copier_lines(self) -> list[str]:
        """Copier's report, one line per path, colours removed, spaces collapsed."""
        return [" ".join(ANSI.sub("", line).split()) for line in self.done.stderr.splitlines()]


@pytest.fixture(scope="module")
def with_message(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Copied:
    """`copier copy --defaults` without a terminal, in a folder, into `my project`."""
    cwd = tmp_path_factory.mktemp("message")
    done = copier_cli("copy", "--defaults", "--vcs-ref", FIRST, template, "my project", cwd=cwd)
    return Copied(cwd / "my project", done)


def test_after_copy_message_gives_the_git_commands_then_the_readme(with_message: Copied) -> None:
    assert with_message.done.returncode == 0, with_message.done.stderr
    message = with_message.done.stderr
    commands = printed_commands(message)
    # The destination as the user typed it, quoted for the shell.
    assert commands[0] == "cd 'my project'"
    assert len(commands) == 1 + len(GIT_COMMANDS), commands
    for command, start in zip(commands[1:], GIT_COMMANDS, strict=True):
        assert command.startswith(start), f"{command!r} is not {start!r}"
    assert "copier update needs one" in message
    assert "README.md" in message[message.index("git commit") :]


def test_running_the_printed_commands_commits_exactly_the_rendered_files(
    with_message: Copied, copied: Path
) -> None:
    """The printed commands, run as printed where copier ran: one commit of every file."""
    script = "set -e\n" + "\n".join(printed_commands(with_message.done.stderr)) + "\n"
    done = run_bounded(["bash", "-c", script], timeout=60, cwd=with_message.project.parent)
    assert done.returncode == 0, done.stderr
    project = with_message.project
    assert commit_count(project) == 1
    assert status(project) == ""
    assert set(git("ls-files", cwd=project).splitlines()) == set(project_files(project))
    assert project_files(project).keys() == project_files(copied).keys()


# --- update --------------------------------------------------------------------------------


def test_update_from_0_11_0_needs_no_trust_and_the_checks_see_every_change(
    template: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = copy(template, tmp_path / "project")
    init_project_repo(project)
    capfd.readouterr()
    update(project, LATER, quiet=False)  # no --trust, no --skip-tasks
    message = capfd.readouterr().err
    assert read_answers(project)["_commit"] == LATER
    assert (project / ".gitignore").read_text(encoding="utf-8").count(RUNS_LATER) == 1
    # The file the update adds: `git status` shows it, `git diff HEAD` alone does not.
    assert f"?? {ADDED}" in status(project).splitlines()
    assert ADDED not in git("diff", "--name-only", "HEAD", cwd=project).split()
    checked = check_before_commit(project)
    assert checked.returncode == 0, checked.stdout
    assert set(git("diff", "--name-only", "HEAD", cwd=project).split()) >= {ADDED, ".gitignore"}
    # The after-update message names the same steps.
    for step in ("git status", "git add -A", "git diff --check HEAD", "python -m pytest"):
        assert step in message, f"{step!r} not in the message after the update"
    assert "commit -am" not in message


def test_conflict_markers_fail_the_check_before_commit(template: Path, tmp_path: Path) -> None:
    """The user changed the line 0.11.1 changes: copier's markers, which the check names."""
    project = copy(template, tmp_path / "project")
    init_project_repo(project)
    replace_once(project / ".gitignore", RUNS, RUNS_USER)
    commit_all(project, "User's edit")
    update(project, LATER)
    gitignore = (project / ".gitignore").read_text(encoding="utf-8")
    assert "<<<<<<< before updating" in gitignore and ">>>>>>> after updating" in gitignore
    checked = check_before_commit(project)
    assert checked.returncode != 0
    assert ".gitignore:" in checked.stdout and "leftover conflict marker" in checked.stdout


@pytest.mark.parametrize("skip_tasks", [False, True], ids=["plain", "skip-tasks"])
def test_update_from_a_version_with_tasks_is_refused_without_trust(
    template: Path, tmp_path: Path, skip_tasks: bool
) -> None:
    """Copier counts the old version's tasks, even with --skip-tasks, before changing anything."""
    project = copy(template, tmp_path / "project", WITH_TASKS, skip_tasks=True)
    init_project_repo(project)
    with pytest.raises(copier.errors.UnsafeTemplateError, match="tasks") as refused:
        update(project, LATER, skip_tasks=skip_tasks)
    assert "--trust" in str(refused.value)
    assert status(project) == ""
    assert read_answers(project)["_commit"] == WITH_TASKS


def test_update_from_a_version_with_tasks_needs_trust_once(template: Path, tmp_path: Path) -> None:
    project = copy(template, tmp_path / "project", WITH_TASKS, skip_tasks=True)
    init_project_repo(project)
    update(project, FIRST, unsafe=True)
    assert read_answers(project)["_commit"] == FIRST
    assert check_before_commit(project).returncode == 0
    commit_all(project, "Update to 0.11.0")
    update(project, LATER)  # no --trust from 0.11.0 on
    assert read_answers(project)["_commit"] == LATER


# --- a folder that already holds the user's files -------------------------------------------


@pytest.fixture(scope="module")
def crowded(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Copied:
    """`copier copy --defaults` without --trust or a terminal into a folder of the user's."""
    project = write_user_files(tmp_path_factory.mktemp("crowded") / "project")
    done = copier_cli("copy", "--defaults", "--vcs-ref", FIRST, template, project)
    return Copied(project, done)


def test_two_of_the_users_files_are_the_templates_too(copied: Path) -> None:
    """The premise of the tests below: README.md and data.py are the template's too."""
    rendered = project_files(copied)
    assert all(name in rendered for name in KEPT)
    assert not any(name in rendered for name in FOREIGN)


def test_copy_into_a_folder_of_the_users_files_keeps_them(crowded: Copied, copied: Path) -> None:
    """No terminal, no --overwrite: copier neither asks nor aborts; it skips every file
    that exists and renders the rest."""
    assert crowded.done.returncode == 0, crowded.done.stderr
    assert_user_files_untouched(crowded.project)
    for name in KEPT:
        assert f"skip {name}" in crowded.copier_lines
    present = project_files(crowded.project)
    for name, content in project_files(copied).items():
        if name not in KEPT and name != ANSWERS_FILE:
            assert present.get(name) == content, f"{name} not rendered"
    assert ANSWERS_FILE in present


def test_copy_into_a_folder_of_the_users_files_makes_no_repository(crowded: Copied) -> None:
    """Nothing runs git: the user adds what belongs, as the message says."""
    assert not (crowded.project / ".git").exists()
    assert "add only those that belong" in crowded.done.stderr


def test_overwrite_replaces_the_templates_files_and_leaves_the_others(
    template: Path, copied: Path, tmp_path: Path
) -> None:
    """--overwrite is the user's request to replace files (the README says never to use it
    on a folder of one's own files): copier replaces README.md and data.py; the secret and
    the data stay untouched."""
    project = copy(template, write_user_files(tmp_path / "project"), overwrite=True)
    rendered = project_files(copied)
    assert all((project / name).read_bytes() == rendered[name] for name in KEPT)
    assert_user_files_untouched(project, FOREIGN)
    assert not (project / ".git").exists()
