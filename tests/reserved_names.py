"""The package names copier.yml refuses because the package would shadow a module: its src/
folder comes first on sys.path, so a package named `secrets` or `optree` is imported in place
of the standard library's or Keras's own dependency, and the project cannot run.

Derived, never written by hand: every module of the standard library, every top-level module
of the distributions a rendered project installs (requirements.txt holds them all, with what
they require in turn), and every top-level module that the template's sources import (their
test helpers too: sample_data, processes, ...), and `tests`, the projects' folder of tests.
copier.yml's validator reads the list from
RESERVED_FILE, a Jinja file of one `set`; tests/test_questions.py checks that it holds every
derived name, and

    python -m tests.reserved_names --write

rewrites it (run after a dependency or an import changes).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

REPO_ROOT = Path(__file__).resolve().parents[1]
RESERVED_FILE = REPO_ROOT / "questions" / "reserved_package_names.jinja"
# What the validator lets through at all: a lowercase identifier.
PACKAGE_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
# An import statement's first module: `import a.b`, `import a as b`, `from a.b import c`.
IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)[\w.]*[ \t]+import\b"
    r"|import[ \t]+([A-Za-z_]\w*)[\w.]*[ \t]*(?:$|,|[ \t]as\b))",
    re.MULTILINE,
)
# The project's own folder of tests, which pytest imports as a package.
LAYOUT = {"tests"}


def standard_library() -> set[str]:
    return set(sys.stdlib_module_names)


def source_imports() -> set[str]:
    """Top-level modules that the template's Python sources import (relative imports and the
    project's own package, a Jinja expression, are not matched)."""
    names: set[str] = set()
    for path in (REPO_ROOT / "template").rglob("*"):
        if path.is_file() and path.name.endswith((".py", ".py.jinja")):
            for found in IMPORT.findall(path.read_text(encoding="utf-8")):
                names.update(name for name in found if name)
    return names


def requirement_names() -> list[str]:
    """The distributions requirements.txt names."""
    names = []
    for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(Requirement(line).name)
    return names


def installed_closure(names: list[str]) -> Iterator[importlib.metadata.Distribution]:
    """The installed distributions `names` require, with all they require in turn."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        yield distribution
        for text in distribution.requires or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)


def top_level_modules(distribution: importlib.metadata.Distribution) -> set[str]:
    """The importable top-level names a distribution installs."""
    listed = distribution.read_text("top_level.txt")
    if listed:
        return {line.strip() for line in listed.splitlines() if line.strip()}
    names = set()
    for file in distribution.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".data")) or first in ("..", "__pycache__"):
            continue
        names.add(first.removesuffix(".py") if len(file.parts) == 1 else first)
    return {name for name in names if name.isidentifier()}


def dependency_modules() -> set[str]:
    names: set[str] = set()
    for distribution in installed_closure(requirement_names()):
        names |= top_level_modules(distribution)
    return names


def derived_names() -> list[str]:
    """Every name the validator must refuse, sorted."""
    names = standard_library() | source_imports() | dependency_modules() | LAYOUT
    return sorted(name for name in names if PACKAGE_NAME.match(name))


def listed_names() -> list[str]:
    """The names RESERVED_FILE holds."""
    return re.findall(r'"([a-z0-9_]+)"', RESERVED_FILE.read_text(encoding="utf-8"))


def reserved_file_text(names: list[str]) -> str:
    lines = "".join(f'    "{name}",\n' for name in names)
    return (
        "{#- Written by `python -m tests.reserved_names --write`: the package names that would\n"
        "    shadow a module a rendered project imports (tests/reserved_names.py says which).\n"
        "    copier.yml's package_name validator imports NAMES. -#}\n"
        f"{{%- set NAMES = [\n{lines}] -%}}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {RESERVED_FILE.name}")
    args = parser.parse_args()
    names = derived_names()
    if args.write:
        RESERVED_FILE.parent.mkdir(exist_ok=True)
        RESERVED_FILE.write_text(reserved_file_text(names), encoding="utf-8")
        print(f"wrote {len(names)} names to {RESERVED_FILE}")
        return 0
    missing = sorted(set(names) - set(listed_names()))
    print(f"{len(names)} names derived; {len(missing)} missing from {RESERVED_FILE}: {missing}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
