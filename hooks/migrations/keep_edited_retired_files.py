"""Migration to 0.6.0: keep your edits of modules that the update removes or renames.

0.6.0 renamed `loader.py` to `batch_loader.py` and split `arrays.py` into `memmap_rows.py` and
`array_checks.py`. Copier deletes a file that the new version no longer renders, edited or not,
so an edit would be lost from the working tree. Copier runs this script before updating a
project from a version older than 0.6.0 (see `_migrations` in copier.yml), in the project's
folder:

    keep_edited_retired_files.py ANSWERS_FILE PATH [PATH ...]

For each PATH (relative to the project; `{package_name}` in it is filled in from the answers) that
exists, it renders the project's current template
version (`_src_path` at `_commit` in ANSWERS_FILE) into a temporary folder with the recorded
answers, and when
your file differs from that render it copies your file to `PATH.before-0.6.0` and says so; an
unedited file is left to copier. When the old version cannot be rendered (copier missing, the
commit unknown), every PATH that exists is kept: a spare copy costs less than a lost edit.
Uses the standard library and copier, which runs it (`_copier_python`); safe to rerun.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from rendering import read_answers, render

SUFFIX = ".before-0.6.0"


def keep(path: Path, reason: str) -> str:
    kept = path.with_name(path.name + SUFFIX)
    shutil.copy2(path, kept)
    return f"{path}: {reason}; your version is kept as {kept} (0.6.0 removes {path.name})"


def migrate(answers_file: Path, patterns: list[str]) -> list[str]:
    answers = read_answers(answers_file)
    paths = [Path(pattern.format(package_name=answers["package_name"])) for pattern in patterns]
    present = [path for path in paths if path.is_file()]
    if not present:
        return ["no retired file to check"]
    with tempfile.TemporaryDirectory(prefix="keep_edited_") as tmp:
        try:
            old = render(answers, str(answers["_commit"]), Path(tmp) / "old")
        except Exception as error:  # any failure: keep everything, say why
            why = f"could not render the old version to compare ({type(error).__name__}: {error})"
            return [keep(path, why) for path in present]
        notes = []
        for path in present:
            pristine = old / path
            if pristine.is_file() and pristine.read_bytes() == path.read_bytes():
                notes.append(f"{path}: unedited, removed by the update")
            else:
                notes.append(keep(path, "edited since the template rendered it"))
        return notes


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(f"usage: {Path(__file__).name} ANSWERS_FILE PATH [PATH ...]", file=sys.stderr)
        return 2
    for note in migrate(Path(argv[0]), argv[1:]):
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
