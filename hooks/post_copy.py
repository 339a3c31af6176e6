"""After `copier copy`: make the new project a git repository with a first commit.

Copier runs this in the new project's folder (see `_tasks` in copier.yml), only on copy.
`copier update` needs the project in git, committed, to tell your edits from the
template's; this makes that true from the start. It commits only files the template
rendered, exactly as rendered, never anything else of the folder:

* not in any git repository, or the top of a repository with no commit yet (an earlier
  run could not commit): it renders the template again with the answers file's answers
  into a temporary folder and compares. When every file of the folder is one the template
  rendered, with the rendered content: `git init` (if needed), `git add` of exactly those
  files, `git commit`. Otherwise the folder held files before the copy (copier keeps
  them, see `_skip_if_exists`): it commits nothing, runs no `git init`, and names them;
* anything else (your own repository, or this folder inside another one): left alone.

Then it prints the next commands. It never fails the copy and is safe to rerun: if git is
missing, cannot commit (no user.name / user.email) or the render fails, it says what to
run instead. It renders with copier, which runs it (`_copier_python`), from the template
copier copied from: the folder holding this script's `hooks/` (`_copier_conf.src_path`,
copier's own checkout of the template, draft changes included, at its HEAD).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

COMMIT_MESSAGE = "Project rendered by copier-keras-sequence"
ANSWERS_FILE = ".copier-answers.yml"
TEMPLATE = Path(__file__).resolve().parent.parent
SHOWN = 5  # file names listed per kind; the rest are counted
NEXT_STEPS = """\
Next:
    cd {folder}
    python -m venv .venv && . .venv/bin/activate
    pip install -e ".[dev]"
    python -m pytest
The README's "Run it" section runs the demo end to end. To pull template fixes
later, commit your work and run `copier update --trust` (see the README)."""
COMMIT_YOURSELF = "\n".join(
    [
        "Review {what}, then make the first commit yourself (copier update needs one):",
        "    git init",
        "    git add <the files you want in the repository>   (git add -A adds all, yours too)",
        '    git commit -m "Start"',
    ]
)
SEE_THE_TEMPLATES = """\
To see the template's version of a file kept as it was, copy the template into an empty
folder and compare."""


def git(*args: str, folder: Path) -> subprocess.CompletedProcess[str]:
    # Pathspecs are file names, never patterns: a file called `*.py` adds itself only.
    command = ["git", "--literal-pathspecs", *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)


def repository_top(folder: Path) -> Path | None:
    """The top folder of the git work tree holding `folder`, or None outside any."""
    result = git("rev-parse", "--show-toplevel", folder=folder)
    return Path(result.stdout.strip()).resolve() if result.returncode == 0 else None


def has_commit(folder: Path) -> bool:
    return git("rev-parse", "--verify", "--quiet", "HEAD", folder=folder).returncode == 0


# --- what the template rendered ------------------------------------------------------------


def files_under(root: Path) -> dict[str, Path]:
    """Every file and symlink under `root` by relative POSIX path; the top `.git` left out."""
    found = {}
    for top, folders, files in os.walk(root):
        here = Path(top)
        if here == root and ".git" in folders:
            folders.remove(".git")
        # os.walk lists a symlink to a folder with the folders and does not enter it.
        for name in [*files, *(name for name in folders if (here / name).is_symlink())]:
            found[(here / name).relative_to(root).as_posix()] = here / name
    return found


def signature(path: Path) -> tuple[object, ...]:
    """What copier compares: a symlink's target, or a file's bytes and executable bits."""
    if path.is_symlink():
        return ("symlink", os.readlink(path))
    return ("file", path.read_bytes(), path.stat().st_mode & 0o111)


def render_again(folder: Path, dest: Path) -> Path:
    """Render the template as copier just did, with the answers file's answers, in `dest`."""
    import copier
    import yaml  # copier's own dependency

    answers = yaml.safe_load((folder / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    # The folder's name, as a template may use `_folder_name`.
    rendered = dest / folder.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # copier's notes on versions and dirty templates
        copier.run_copy(
            str(TEMPLATE),
            str(rendered),
            data=data,
            # HEAD of copier's checkout: the commit it copied from (_copier_conf.vcs_ref_hash);
            # copier ignores it for a template that is not a git repository.
            vcs_ref="HEAD",
            defaults=True,
            unsafe=False,
            skip_tasks=True,
            quiet=True,
        )
    return rendered


@dataclass
class Comparison:
    rendered: list[str]  # the files the template renders that are in the folder
    foreign: list[str]  # files of the folder the template does not render
    kept: list[str]  # files the template renders, kept in the folder with other content


def compare(folder: Path) -> Comparison:
    with tempfile.TemporaryDirectory(prefix="post_copy_") as tmp:
        pristine = files_under(render_again(folder, Path(tmp)))
        present = files_under(folder)
        # Copier always writes the answers file; its _src_path is the checkout's in the render.
        kept = [
            name
            for name in sorted(present.keys() & pristine.keys())
            if name != ANSWERS_FILE and signature(present[name]) != signature(pristine[name])
        ]
    return Comparison(
        rendered=sorted(present.keys() & pristine.keys()),
        foreign=sorted(present.keys() - pristine.keys()),
        kept=kept,
    )


def listing(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def not_the_templates(comparison: Comparison) -> str:
    """The message for a folder that held files before the copy."""
    lines = [
        "Not committed: this folder held files before the copy, and this hook commits only",
        "what the template rendered. Copier left these files as they were:",
    ]
    if comparison.foreign:
        count = len(comparison.foreign)
        lines.append(
            f"  {count} file{'s' * (count != 1)} the template does not render: "
            f"{listing(comparison.foreign)}"
        )
    if comparison.kept:
        count = len(comparison.kept)
        lines.append(
            f"  {count} file{'s' * (count != 1)} the template renders, kept with your content "
            f'(copier printed "skip"): {listing(comparison.kept)}'
        )
    lines.append(COMMIT_YOURSELF.format(what="them"))
    if comparison.kept:
        lines.append(SEE_THE_TEMPLATES)
    return "\n".join(lines)


# --- committing ----------------------------------------------------------------------------


def commit_rendered(folder: Path, paths: list[str]) -> str:
    """Stage and commit exactly `paths`; a sentence on what happened."""
    added = git("add", "--", *paths, folder=folder)
    # `--only` with the paths: whatever else was staged before stays out of the commit.
    committed = added.returncode == 0 and git(
        "commit", "--quiet", "-m", COMMIT_MESSAGE, "--only", "--", *paths, folder=folder
    )
    if committed and committed.returncode == 0:
        return "Made it a git repository with a first commit (copier update needs one)."
    error = (committed.stderr if committed else added.stderr).strip().splitlines()
    return (
        "Made it a git repository, but could not commit"
        f"{': ' + error[-1] if error else ''}.\n"
        'Set git\'s user.name and user.email, then: git add -A && git commit -m "Start"'
    )


def checked(folder: Path) -> Comparison | str:
    """The comparison, or the message saying why there is none (nothing is committed then)."""
    if not (folder / ANSWERS_FILE).is_file():
        why = f"no {ANSWERS_FILE} here to render the template again with"
    else:
        try:
            return compare(folder)
        except Exception as error:  # any failure: commit nothing, say why
            why = (
                "could not render the template again to check which files are its own"
                f" ({type(error).__name__}: {error})"
            )
    return f"Not committed: {why}.\n{COMMIT_YOURSELF.format(what='the folder')}"


def only_rendered(comparison: Comparison | str) -> bool:
    return isinstance(comparison, Comparison) and not (comparison.foreign or comparison.kept)


def not_committed(comparison: Comparison | str) -> str:
    return comparison if isinstance(comparison, str) else not_the_templates(comparison)


def prepare_repository(folder: Path) -> str:
    """Do what the module docstring says; return a sentence on what was done."""
    if shutil.which("git") is None:
        comparison = checked(folder)
        if only_rendered(comparison):
            return (
                "git is not installed: install it, then run "
                'git init && git add -A && git commit -m "Start".'
            )
        return f"git is not installed.\n{not_committed(comparison)}"
    top = repository_top(folder)
    if top is not None and top != folder.resolve():
        return f"Inside the git repository at {top}: left alone; commit the new files there."
    if top is not None and has_commit(folder):
        return "Already a git repository with commits: left as it is."
    comparison = checked(folder)
    if not isinstance(comparison, Comparison) or not only_rendered(comparison):
        return not_committed(comparison)
    if top is None:
        initialised = git("init", "--quiet", folder=folder)
        if initialised.returncode != 0:
            return f"git init failed: {initialised.stderr.strip()}"
    return commit_rendered(folder, comparison.rendered)


def main(argv: list[str] | None = None) -> int:
    folder = Path(argv[0] if argv else ".").resolve()
    print(prepare_repository(folder))
    print(NEXT_STEPS.format(folder=folder))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
