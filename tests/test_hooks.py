"""The post-copy hook (hooks/post_copy.py, `_tasks` in copier.yml) and what trust changes.

The trusted copy runs the hook: the new project is a git repository with one commit, so
`copier update` works from the start. The hook is safe to rerun, leaves an enclosing
repository alone, finishes a repository that has no commit yet, and never fails the copy.
An untrusted copy with --skip-tasks renders the very same files; without --skip-tasks
copier refuses, as the README says.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest

from tests.helpers import REPO_ROOT, run_bounded
from tests.versions import (
    commit_all,
    commit_count,
    current_template,
    git,
    head,
    project_files,
    sandbox,
    status,
)

HOOK = REPO_ROOT / "hooks" / "post_copy.py"
VERSION = "1.0.0"


@pytest.fixture(scope="module")
def template(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return current_template(tmp_path_factory.mktemp("template") / "repo", VERSION)


def copy(template: Path, dest: Path, **options: bool) -> Path:
    copier.run_copy(str(template), str(dest), defaults=True, vcs_ref=VERSION, quiet=True, **options)
    return dest


@pytest.fixture(scope="module")
def trusted(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`copier copy --trust`: the hook runs."""
    return copy(template, tmp_path_factory.mktemp("trusted") / "project", unsafe=True)


@pytest.fixture(scope="module")
def untrusted(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`copier copy --skip-tasks` without --trust: no hook."""
    return copy(
        template, tmp_path_factory.mktemp("untrusted") / "project", unsafe=False, skip_tasks=True
    )


def run_hook(project: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The hook as copier runs it: in the project's folder, with no argument."""
    # The hook runs git: a hang kills the whole process group.
    return run_bounded([sys.executable, HOOK], timeout=60, cwd=project, env=env)


# --- the trusted copy --------------------------------------------------------------------------


def test_trusted_copy_is_a_repository_with_one_commit_of_every_file(trusted: Path) -> None:
    assert (trusted / ".git").is_dir()
    assert commit_count(trusted) == 1
    assert status(trusted) == "", "the first commit left files out"
    committed = set(git("ls-files", cwd=trusted).splitlines())
    assert committed == set(project_files(trusted))
    assert ".copier-answers.yml" in committed


def test_rerunning_the_hook_changes_nothing(trusted: Path, tmp_path: Path) -> None:
    project = shutil.copytree(trusted, tmp_path / "project", symlinks=True)
    before, files = head(project), project_files(project)
    done = run_hook(project)
    assert done.returncode == 0, done.stderr
    assert "left as it is" in done.stdout
    assert head(project) == before
    assert commit_count(project) == 1
    assert status(project) == ""
    assert project_files(project) == files


def test_copy_into_a_folder_of_another_repository_leaves_it_alone(
    template: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    parent = tmp_path / "monorepo"
    parent.mkdir()
    (parent / "README.md").write_text("The user's own repository.\n", encoding="utf-8")
    git("init", "--quiet", cwd=parent)
    commit_all(parent, "User's first commit")
    before = head(parent)

    project = copy(template, parent / "models" / "sequence", unsafe=True)

    assert not (project / ".git").exists(), "the hook nested a repository"
    assert head(parent) == before
    assert commit_count(parent) == 1
    assert status(parent).splitlines() != []
    assert all(line.startswith("?? models/") for line in status(parent).splitlines())
    assert f"Inside the git repository at {parent.resolve()}" in capfd.readouterr().out


def test_copy_without_a_git_identity_succeeds_and_says_how_to_commit(
    template: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """git init works, the commit fails (no user.name / user.email): the copy still
    succeeds, with a clear message; once git has an identity, rerunning the hook on the
    repository without commits makes the first commit."""
    with sandbox(tmp_path / "home-without-identity", identity=False):
        project = copy(template, tmp_path / "project", unsafe=True)
    out = capfd.readouterr().out
    assert "could not commit" in out
    assert "user.name and user.email" in out
    assert "git add -A && git commit" in out
    assert (project / "pyproject.toml").is_file()
    assert (project / ".git").is_dir()
    assert git("rev-list", "--all", cwd=project) == "", "a commit without an identity?"

    # The module's sandbox has an identity again: the hook finishes the job.
    done = run_hook(project)
    assert done.returncode == 0, done.stderr
    assert "first commit" in done.stdout
    assert commit_count(project) == 1
    assert status(project) == ""


def test_hook_without_git_says_so_and_exits_0(untrusted: Path, tmp_path: Path) -> None:
    project = shutil.copytree(untrusted, tmp_path / "project")
    no_git = tmp_path / "bin"
    no_git.mkdir()
    done = run_hook(project, env={"PATH": str(no_git), "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "git is not installed" in done.stdout
    assert "git init && git add -A && git commit" in done.stdout
    assert not (project / ".git").exists()
    assert project_files(project) == project_files(untrusted)


# --- trust ---------------------------------------------------------------------------------------


def test_skip_tasks_without_trust_renders_the_same_files(trusted: Path, untrusted: Path) -> None:
    assert not (untrusted / ".git").exists(), "--skip-tasks ran the hook"
    trusted_files, untrusted_files = project_files(trusted), project_files(untrusted)
    assert sorted(untrusted_files) == sorted(trusted_files)
    differing = [name for name in trusted_files if trusted_files[name] != untrusted_files[name]]
    assert differing == []


def test_copy_without_trust_or_skip_tasks_is_refused(template: Path, tmp_path: Path) -> None:
    with pytest.raises(copier.errors.UnsafeTemplateError, match="tasks") as refused:
        copy(template, tmp_path / "project", unsafe=False)
    assert "--trust" in str(refused.value)
    assert not (tmp_path / "project").exists()
