"""Render every answer combination with a release and with the working tree, and report how the
rendered projects differ: files added, removed and changed, grouped by file, with counts.

    python scripts/compare_release.py [--release 0.5.0] [--out build/compare] [--diff FILE]

Run from the repository's root. The release is rendered from its git tag, the working tree with
uncommitted changes included (vcs_ref=HEAD), both without trusting the template (no hooks).
"""

from __future__ import annotations

import argparse
import collections
import difflib
import shutil
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import copier

from tests.helpers import REPO_ROOT, all_combinations, answers_id, render


def files_of(project: Path) -> dict[str, Path]:
    return {
        str(path.relative_to(project)): path
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.parts and path.name != ".copier-answers.yml"
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="0.5.0")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "compare")
    parser.add_argument("--diff", type=Path, help="write every unified diff to this file")
    parser.add_argument("--only", help="answer ids containing this text")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=copier.errors.DirtyLocalWarning)
    shutil.rmtree(args.out, ignore_errors=True)
    added: collections.Counter[str] = collections.Counter()
    removed: collections.Counter[str] = collections.Counter()
    changed: collections.Counter[str] = collections.Counter()
    same = 0
    diffs: list[str] = []
    combinations = [a for a in all_combinations() if not args.only or args.only in answers_id(a)]
    for number, answers in enumerate(combinations, 1):
        key = answers_id(answers)
        old, new = args.out / key / "old", args.out / key / "new"
        render(old, args.release, **answers)
        render(new, **answers)
        old_files, new_files = files_of(old), files_of(new)
        for name in sorted(set(old_files) | set(new_files)):
            if name not in new_files:
                removed[name] += 1
            elif name not in old_files:
                added[name] += 1
            else:
                before = old_files[name].read_bytes()
                after = new_files[name].read_bytes()
                if before == after:
                    same += 1
                    continue
                changed[name] += 1
                if args.diff:
                    diffs.extend(
                        difflib.unified_diff(
                            before.decode().splitlines(keepends=True),
                            after.decode().splitlines(keepends=True),
                            f"{key}/old/{name}",
                            f"{key}/new/{name}",
                        )
                    )
        shutil.rmtree(args.out / key)
        print(f"\r{number}/{len(combinations)} rendered", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(f"# {len(combinations)} answer combinations: {args.release} against the working tree")
    print(f"identical files: {same}")
    for title, counter in (("removed", removed), ("added", added), ("changed", changed)):
        print(f"\n## {title} ({sum(counter.values())} files)")
        for name, count in sorted(counter.items()):
            print(f"- {name}: in {count} projects")
    if args.diff:
        args.diff.parent.mkdir(parents=True, exist_ok=True)
        args.diff.write_text("".join(diffs), encoding="utf-8")
        print(f"\nunified diffs: {args.diff}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
