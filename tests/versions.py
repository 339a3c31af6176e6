"""Template versions and git sandboxes for the lifecycle tests (test_hooks, test_update).

A "template version" is this repository's working tree (uncommitted work included, as
`git ls-files --cached --others --exclude-standard` lists it) copied into a throwaway git
repository and tagged, so copier sees real PEP 440 versions and a clean template.

Git and copier run in a sandbox (`sandbox`): a temporary HOME and global git config, a
fixed identity (or none), and no copier user settings (no trusted prefixes, no default
answers). Copier starts git and its tasks through plumbum, whose `local.env` is a copy of
os.environ taken at import, so the sandbox changes both.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from plumbum import local

from tests.helpers import REPO_ROOT

IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.invalid",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.invalid",
}
# Where git could find an identity other than its config: cleared for "no identity".
IDENTITY_FALLBACKS = ("EMAIL",)
CONFLICT_MARKERS = ("<<<<<<< before updating", ">>>>>>> after updating")


# --- environment ---------------------------------------------------------------------------


@contextmanager
def environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Set (str) or unset (None) variables in os.environ and in plumbum's copy of it."""
    with pytest.MonkeyPatch.context() as patch, local.env():
        for name, value in changes.items():
            if value is None:
                patch.delenv(name, raising=False)
                if name in local.env:
                    del local.env[name]
            else:
                patch.setenv(name, value)
                local.env[name] = value
        yield


def sandbox_variables(home: Path, identity: bool = True) -> dict[str, str | None]:
    """A fresh HOME with a global git config that never guesses an identity from the
    user and host names (user.useConfigOnly), no system config, no copier settings."""
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tuseConfigOnly = true\n[init]\n\tdefaultBranch = main\n", encoding="utf-8"
    )
    settings = home / "copier-settings.yml"
    settings.write_text("defaults: {}\ntrust: []\n", encoding="utf-8")
    changes: dict[str, str | None] = {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "COPIER_SETTINGS_PATH": str(settings),
    }
    for name in (*IDENTITY, *IDENTITY_FALLBACKS):
        changes[name] = IDENTITY.get(name) if identity else None
    return changes


@contextmanager
def sandbox(home: Path, identity: bool = True) -> Iterator[None]:
    with environment(sandbox_variables(home, identity)):
        yield


# --- git -----------------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{done.stderr}")
    return done.stdout


def commit_all(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "--no-gpg-sign", "-m", message, cwd=repo)


def commit_count(repo: Path) -> int:
    return int(git("rev-list", "--count", "HEAD", cwd=repo))


def head(repo: Path) -> str:
    return git("rev-parse", "HEAD", cwd=repo).strip()


def status(repo: Path) -> str:
    return git("status", "--porcelain", "--untracked-files=all", cwd=repo)


def init_project_repo(project: Path) -> None:
    """What a user does after an untrusted copy: git init, add, commit."""
    git("init", "--quiet", cwd=project)
    commit_all(project, "Rendered project")


# --- template versions -----------------------------------------------------------------------

# Release commits of this repository, by version: a clone has them in its history, even where
# it has no tags (CI's fresh clone has none). Add each release's commit after tagging it.
RELEASE_COMMITS = {
    "0.5.0": "9558a2ddf4b4c4651784d05f080226690be08aed",
    "0.10.0": "59674557cfeddae1020ab4ba9c327fbd09f40314",
    "0.11.0": "731c1fb8c013ef3b7ab309f013ef6afe97e23098",
    "0.12.0": "d043525b0951257d460bf03cdd0ca88699343396",
    "0.13.0": "dbde3edfb6753718bcd9d57a31ea128e5d74a38c",
}
# The first release with files of the user's (the rendered README's "Layout: yours and ours").
USER_FILES_SINCE = "0.11.0"


def working_tree_files() -> list[str]:
    """This repository's files as git sees them, uncommitted and untracked ones included."""
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=REPO_ROOT)
    return sorted({name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()})


def write_snapshot(dest: Path) -> None:
    """Replace everything in `dest` but .git with this repository's working tree."""
    dest.mkdir(parents=True, exist_ok=True)
    for child in dest.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for name in working_tree_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)


def write_release(dest: Path, version: str) -> None:
    """Replace everything in `dest` but .git with this repository's files at the release
    commit of `version`."""
    commit = RELEASE_COMMITS[version]
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
        timeout=120,
    )
    if archive.returncode != 0:
        raise AssertionError(
            f"release {version} (commit {commit}) is not in this clone's history: "
            f"{archive.stderr.decode(errors='replace').strip()}; clone without --depth"
        )
    dest.mkdir(parents=True, exist_ok=True)
    for child in dest.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")


def release_from_history(repo: Path, version: str) -> Path:
    """`repo` (a git repository, made if missing) holding this repository's files at the
    release commit of `version`, committed and tagged `version`."""
    write_release(repo, version)
    return release(repo, version)


def release(repo: Path, tag: str) -> Path:
    """Commit everything in `repo` (a git repository, made if missing) and tag it."""
    if not (repo / ".git").exists():
        git("init", "--quiet", cwd=repo)
    commit_all(repo, f"Release {tag}")
    git("tag", tag, cwd=repo)
    return repo


def current_template(repo: Path, tag: str) -> Path:
    """The working tree as a template repository whose HEAD is tagged `tag`."""
    write_snapshot(repo)
    return release(repo, tag)


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path` (fails if it is not exactly one)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"expected one {old!r} in {path}, found {text.count(old)}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def drop_top_level_block(text: str, key: str) -> str:
    """`text` (a YAML document) without the top-level `key:` and its indented lines
    (unchanged without that key)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{key}:")), None)
    if start is None:
        return text
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    return "".join(lines[:start] + lines[end:])


def make_0_3_0(repo: Path) -> None:
    """Turn a snapshot into the template as it was at 0.3.0: the question was still called
    tensorflow_requirement, and there were no _tasks, _migrations or hooks."""
    config = repo / "copier.yml"
    text = config.read_text(encoding="utf-8")
    for key in ("_tasks", "_migrations"):
        text = drop_top_level_block(text, key)
    config.write_text(text.replace("tensorflow_build", "tensorflow_requirement"), encoding="utf-8")
    shutil.rmtree(repo / "hooks")
    for path in (repo / "template").rglob("*"):
        if path.is_file():
            content = path.read_text(encoding="utf-8")
            if "tensorflow_build" in content:
                path.write_text(
                    content.replace("tensorflow_build", "tensorflow_requirement"),
                    encoding="utf-8",
                )


# A Jinja expression or statement, which may span lines.
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def make_before_backends(repo: Path) -> None:
    """Turn a snapshot into the template as it was before 0.9.0 (0.5.0 to 0.8.0): TensorFlow
    was the only backend, and no `backend` was asked, recorded or known to Jinja. The question
    goes, and every use of it in a Jinja tag (copier.yml and the template files) becomes the
    literal 'tensorflow'. copier update renders the old version with the new version's
    `_exclude` entries: with `backend` undefined there, as in a real old version, an entry that
    needs it fails the update."""
    config = repo / "copier.yml"
    config.write_text(
        drop_top_level_block(config.read_text(encoding="utf-8"), "backend"), encoding="utf-8"
    )

    def literal(tag: re.Match[str]) -> str:
        return re.sub(r"\bbackend\b", "'tensorflow'", tag.group())

    uses = 0
    for path in [config, *(p for p in (repo / "template").rglob("*") if p.is_file())]:
        text = path.read_text(encoding="utf-8")
        changed = JINJA_TAG.sub(literal, text)
        if changed != text:
            uses += 1
            path.write_text(changed, encoding="utf-8")
    assert uses, "no file of the template uses the backend answer"


# --- rendered projects -----------------------------------------------------------------------


def project_files(project: Path) -> dict[str, bytes]:
    """Every file of `project` but those under .git, by relative path."""
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


def conflicted_files(project: Path) -> list[str]:
    """Files holding copier's inline conflict markers, or left as .rej rejections."""
    found = []
    for name, content in project_files(project).items():
        text = content.decode("utf-8", errors="replace")
        if name.endswith(".rej") or any(
            re.search(rf"^{re.escape(marker)}$", text, re.MULTILINE) for marker in CONFLICT_MARKERS
        ):
            found.append(name)
    return found


def unmerged_paths(project: Path) -> list[str]:
    """Paths git reports as unmerged (copier records its inline conflicts in the index)."""
    return git("diff", "--name-only", "--diff-filter=U", cwd=project).split()
