"""Migration to 0.4.0: the question `tensorflow_requirement` is now `tensorflow_build`.

Copier runs this before updating a project from a version older than 0.4.0 (see
`_migrations` in copier.yml), in the project's folder, with the answers file's path as
its argument. It renames the key in the answers file, so the update keeps the build you
chose instead of silently falling back to the default. Standard library only (a regular
expression on the key, no YAML parser) and safe to rerun: without the old key it does
nothing, and a key already renamed stays as it is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OLD, NEW = "tensorflow_requirement", "tensorflow_build"
# A top-level key at the start of a line, as copier writes its answers file.
OLD_KEY = re.compile(rf"^{OLD}:", re.MULTILINE)
NEW_KEY = re.compile(rf"^{NEW}:", re.MULTILINE)


def migrate(answers_file: Path) -> str:
    """Rename the key in `answers_file`; a sentence on what was done."""
    text = answers_file.read_text(encoding="utf-8")
    if not OLD_KEY.search(text):
        return f"{answers_file}: no {OLD} answer, nothing to rename"
    if NEW_KEY.search(text):
        # Both present (an interrupted earlier run): the new one wins, drop the old line.
        text = re.sub(rf"^{OLD}:.*\n?", "", text, flags=re.MULTILINE)
    else:
        text = OLD_KEY.sub(f"{NEW}:", text)
    answers_file.write_text(text, encoding="utf-8")
    return f"{answers_file}: renamed the answer {OLD} to {NEW}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: {Path(__file__).name} ANSWERS_FILE", file=sys.stderr)
        return 2
    print(migrate(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
