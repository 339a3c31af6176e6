"""The post-copy hook (hooks/post_copy.py, `_tasks` in copier.yml) and what trust changes.

The trusted copy runs the hook: the new project is a git repository with one commit of
exactly the rendered files, so `copier update` works from the start. The hook is safe to
rerun, leaves an enclosing repository alone, finishes a repository that has no commit yet,
and never fails the copy. A copy into a folder that already holds the user's files keeps
them (copier.yml's `_skip_if_exists`, also without a terminal) and the hook commits nothing
there, naming them. An untrusted copy with --skip-tasks renders the very same files;
without --skip-tasks copier refuses, as the README says.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest

from tests.helpers import run_bounded
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

# In the template repository, as copier runs it (`{{ _copier_conf.src_path }}/hooks/...`):
# the hook renders the template it lives in again.
HOOK = Path("hooks") / "post_copy.py"
VERSION = "1.0.0"
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


def run_hook(
    template: Path, project: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The hook as copier runs it: the template's, in the project's folder, no argument."""
    # The hook runs git and copier: a hang kills the whole process group.
    return run_bounded([sys.executable, template / HOOK], timeout=120, cwd=project, env=env)


def copier_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`copier ARGS` as a user runs it without a terminal; output captured."""
    return run_bounded([sys.executable, "-c", NO_TERMINAL, *args], timeout=180)


def write_user_files(folder: Path) -> Path:
    for name, content in USER_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def assert_user_files_untouched(folder: Path, names: list[str] | None = None) -> None:
    for name in USER_FILES if names is None else names:
        assert (folder / name).read_bytes() == USER_FILES[name], f"{name} was changed"


@dataclass(frozen=True)
class Copied:
    project: Path
    done: subprocess.CompletedProcess[str]

    @property
    def copier_lines(self) -> list[str]:
        """Copier's report, one line per path, colours removed, spaces collapsed."""
        return [" ".join(ANSI.sub("", line).split()) for line in self.done.stderr.splitlines()]


@pytest.fixture(scope="module")
def crowded(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Copied:
    """`copier copy --trust --defaults` without a terminal into a folder of the user's."""
    project = write_user_files(tmp_path_factory.mktemp("crowded") / "project")
    done = copier_cli("copy", "--trust", "--defaults", "--vcs-ref", VERSION, template, project)
    return Copied(project, done)


# --- the trusted copy --------------------------------------------------------------------------


def test_trusted_copy_is_a_repository_with_one_commit_of_every_file(
    trusted: Path, untrusted: Path
) -> None:
    assert (trusted / ".git").is_dir()
    assert commit_count(trusted) == 1
    assert status(trusted) == "", "the first commit left files out"
    committed = set(git("ls-files", cwd=trusted).splitlines())
    assert committed == set(project_files(trusted))
    assert committed == set(project_files(untrusted)), "not exactly the rendered files"
    assert ANSWERS_FILE in committed


def test_rerunning_the_hook_changes_nothing(template: Path, trusted: Path, tmp_path: Path) -> None:
    project = shutil.copytree(trusted, tmp_path / "project", symlinks=True)
    before, files = head(project), project_files(project)
    done = run_hook(template, project)
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
    done = run_hook(template, project)
    assert done.returncode == 0, done.stderr
    assert "first commit" in done.stdout
    assert commit_count(project) == 1
    assert status(project) == ""


def test_hook_without_git_says_so_and_exits_0(
    template: Path, untrusted: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(untrusted, tmp_path / "project")
    no_git = tmp_path / "bin"
    no_git.mkdir()
    done = run_hook(template, project, env={"PATH": str(no_git), "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "git is not installed" in done.stdout
    assert "git init && git add -A && git commit" in done.stdout
    assert not (project / ".git").exists()
    assert project_files(project) == project_files(untrusted)


# --- a folder that already holds the user's files -------------------------------------------


def test_two_of_the_users_files_are_the_templates_too(untrusted: Path) -> None:
    """The premise of the tests below: README.md and data.py are the template's too."""
    rendered = project_files(untrusted)
    assert all(name in rendered for name in KEPT)
    assert not any(name in rendered for name in FOREIGN)


def test_copy_into_a_folder_of_the_users_files_keeps_them(crowded: Copied, untrusted: Path) -> None:
    """No terminal, no --overwrite: copier neither asks nor aborts; it skips every file
    that exists and renders the rest."""
    assert crowded.done.returncode == 0, crowded.done.stderr
    assert_user_files_untouched(crowded.project)
    for name in KEPT:
        assert f"skip {name}" in crowded.copier_lines
    present = project_files(crowded.project)
    for name, content in project_files(untrusted).items():
        if name not in KEPT and name != ANSWERS_FILE:
            assert present.get(name) == content, f"{name} not rendered"
    assert ANSWERS_FILE in present


def test_hook_commits_nothing_in_a_folder_that_held_files_and_names_them(
    crowded: Copied,
) -> None:
    assert not (crowded.project / ".git").exists(), "git init: a rerun would commit it all"
    out = crowded.done.stdout
    assert "Not committed: this folder held files before the copy" in out
    assert f"2 files the template does not render: {', '.join(FOREIGN)}" in out
    assert f'kept with your content (copier printed "skip"): {", ".join(KEPT)}' in out
    assert "git add <the files you want in the repository>" in out
    assert "git add -A &&" not in out


def test_rerunning_the_hook_in_that_folder_changes_nothing(
    template: Path, crowded: Copied, tmp_path: Path
) -> None:
    project = shutil.copytree(crowded.project, tmp_path / "project")
    files = project_files(project)
    done = run_hook(template, project)
    assert done.returncode == 0, done.stderr
    # The same message (copier's CLI pads its own output with blank lines).
    assert done.stdout.strip() == crowded.done.stdout.strip().replace(
        str(crowded.project), str(project)
    )
    assert not (project / ".git").exists()
    assert project_files(project) == files


def test_repository_without_commits_holding_the_users_files_gets_no_commit(
    template: Path, crowded: Copied, tmp_path: Path
) -> None:
    """The user's own `git init` (or an earlier run's), with their secret staged: the hook
    commits nothing and leaves the index as it was."""
    project = shutil.copytree(crowded.project, tmp_path / "project")
    git("init", "--quiet", cwd=project)
    git("add", ".env", cwd=project)
    done = run_hook(template, project)
    assert done.returncode == 0, done.stderr
    assert "Not committed" in done.stdout
    assert git("rev-list", "--all", cwd=project) == ""
    assert git("diff", "--cached", "--name-only", cwd=project) == ".env\n"


def test_overwrite_replaces_the_templates_files_and_the_hook_commits_none_of_the_users(
    template: Path, untrusted: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """--overwrite is the user's request to replace files (the README says never to use it
    on a folder of one's own files): copier replaces README.md and data.py; the secret and
    the data stay untouched and the hook still commits nothing."""
    project = copy(template, write_user_files(tmp_path / "project"), unsafe=True, overwrite=True)
    rendered = project_files(untrusted)
    assert all((project / name).read_bytes() == rendered[name] for name in KEPT)
    assert_user_files_untouched(project, FOREIGN)
    assert not (project / ".git").exists()
    out = capfd.readouterr().out
    assert f"2 files the template does not render: {', '.join(FOREIGN)}" in out
    assert "kept with your content" not in out


def test_copy_of_a_dirty_template_into_an_empty_folder_commits_exactly_the_rendered_files(
    template: Path, tmp_path: Path
) -> None:
    """vcs_ref=HEAD of a template with uncommitted changes: copier commits them in its own
    checkout, which the hook renders again, so the draft's files count as rendered."""
    dirty = shutil.copytree(template, tmp_path / "dirty", symlinks=True)
    (dirty / "template" / "NOTES.md").write_text("A draft file.\n", encoding="utf-8")
    with (dirty / "template" / ".gitignore").open("a", encoding="utf-8") as gitignore:
        gitignore.write("# a draft line\n")
    empty = tmp_path / "project"
    empty.mkdir()
    copier.run_copy(str(dirty), str(empty), defaults=True, vcs_ref="HEAD", quiet=True, unsafe=True)
    assert commit_count(empty) == 1
    assert status(empty) == ""
    assert set(git("ls-files", cwd=empty).splitlines()) == set(project_files(empty))
    assert "NOTES.md" in project_files(empty)
    assert (empty / ".gitignore").read_text(encoding="utf-8").endswith("# a draft line\n")


def test_hook_that_cannot_render_says_so_and_commits_nothing(
    template: Path, untrusted: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(untrusted, tmp_path / "project")
    answers = project / ANSWERS_FILE
    text = answers.read_text(encoding="utf-8")
    assert text.count("data_type: array\n") == 1
    answers.write_text(text.replace("data_type: array\n", "data_type: tabular\n"), "utf-8")
    done = run_hook(template, project)
    assert done.returncode == 0, done.stderr
    assert "Not committed: could not render the template again" in done.stdout
    assert "git add <the files you want in the repository>" in done.stdout
    assert not (project / ".git").exists()


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
