"""After `copier copy`: make the new project a git repository with a first commit.

Copier runs this in the new project's folder (see `_tasks` in copier.yml), only on copy.
`copier update` needs the project in git, committed, to tell your edits from the
template's; this makes that true from the start. Standard library only, safe to rerun:

* not in any git repository: `git init`, `git add -A`, `git commit`;
* the top of a repository with no commit yet (an earlier run could not commit): commit;
* anything else (your own repository, or this folder inside another one): left alone.

Then it prints the next commands. It never fails the copy: if git is missing or cannot
commit (no user.name / user.email), it says what to run instead.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

COMMIT_MESSAGE = "Project rendered by copier-keras-sequence"
NEXT_STEPS = """\
Next:
    cd {folder}
    python -m venv .venv && . .venv/bin/activate
    pip install -e ".[dev]"
    python -m pytest
The README's "Run it" section runs the demo end to end. To pull template fixes
later, commit your work and run `copier update --trust` (see the README)."""


def git(*args: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=False)


def repository_top(folder: Path) -> Path | None:
    """The top folder of the git work tree holding `folder`, or None outside any."""
    result = git("rev-parse", "--show-toplevel", folder=folder)
    return Path(result.stdout.strip()).resolve() if result.returncode == 0 else None


def has_commit(folder: Path) -> bool:
    return git("rev-parse", "--verify", "--quiet", "HEAD", folder=folder).returncode == 0


def commit_everything(folder: Path) -> str:
    """Stage and commit the whole project; a sentence on what happened."""
    added = git("add", "-A", folder=folder)
    committed = added.returncode == 0 and git(
        "commit", "--quiet", "-m", COMMIT_MESSAGE, folder=folder
    )
    if committed and committed.returncode == 0:
        return "Made it a git repository with a first commit (copier update needs one)."
    error = (committed.stderr if committed else added.stderr).strip().splitlines()
    return (
        "Made it a git repository, but could not commit"
        f"{': ' + error[-1] if error else ''}.\n"
        'Set git\'s user.name and user.email, then: git add -A && git commit -m "Start"'
    )


def prepare_repository(folder: Path) -> str:
    """Do what the module docstring says; return a sentence on what was done."""
    if shutil.which("git") is None:
        return (
            "git is not installed: install it, then run "
            'git init && git add -A && git commit -m "Start".'
        )
    top = repository_top(folder)
    if top is None:
        initialised = git("init", "--quiet", folder=folder)
        if initialised.returncode != 0:
            return f"git init failed: {initialised.stderr.strip()}"
        return commit_everything(folder)
    if top == folder.resolve() and not has_commit(folder):
        return commit_everything(folder)
    if top == folder.resolve():
        return "Already a git repository with commits: left as it is."
    return f"Inside the git repository at {top}: left alone; commit the new files there."


def main(argv: list[str] | None = None) -> int:
    folder = Path(argv[0] if argv else ".").resolve()
    print(prepare_repository(folder))
    print(NEXT_STEPS.format(folder=folder))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
