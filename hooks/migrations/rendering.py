"""What the migrations share: the project's answers, and a version of its template rendered
with them in a folder of its own (copier, no tasks, no trust).

The migrations import it as their sibling: copier runs them as scripts of the new template's
checkout, whose folder Python puts first on the import path.
"""

from __future__ import annotations

from pathlib import Path


def read_answers(answers_file: Path) -> dict[str, object]:
    import yaml  # copier's own dependency

    return yaml.safe_load(answers_file.read_text(encoding="utf-8")) or {}


def render(answers: dict[str, object], commit: str, dest: Path) -> Path:
    """The template (`_src_path` in `answers`) at `commit`, rendered into `dest` with the
    answers recorded in `answers`."""
    import copier

    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    copier.run_copy(
        str(answers["_src_path"]),
        str(dest),
        data=data,
        vcs_ref=commit,
        defaults=True,
        unsafe=False,
        skip_tasks=True,
        quiet=True,
    )
    return dest
