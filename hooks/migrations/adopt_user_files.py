"""Migration to 0.11.0: your edits move into the files that are yours, or are kept by name.

0.11.0 splits a project into your files (`src/PACKAGE/custom/`, `tests/custom/`: rendered once,
never changed by an update) and the template's. Copier runs this script before updating a
project from a version older than 0.11.0 (see `_migrations` in copier.yml), in the project's
folder:

    adopt_user_files.py ANSWERS_FILE NEW_COMMIT    (before the update)
    adopt_user_files.py --after                    (after it)

It renders the project's current template version (`_src_path` at `_commit` in ANSWERS_FILE)
and the new one (NEW_COMMIT) with the recorded answers in a temporary folder, and compares
each file of the old rendering with yours:

- `src/PACKAGE/model.py`, edited: 0.11.0 moves the model to `custom/model.py`. Your model.py is
  written there, adapted (imports one package up, `build_model(input_shape, options)`, your
  `compile_model` call given the optimizer it made, `add_options` and `make_optimizer` added),
  so your architecture, optimizer and learning rate stay in effect; copier then removes
  model.py. Where it cannot be adapted, it is kept as `model.py.before-0.11.0`.
- any other file you edited that the update would not merge without a conflict (train.py, with
  a callback or an option added, say): your version is kept as `NAME.before-0.11.0`, and the
  file is put back as your old version rendered it (in git's index too, which copier diffs), so
  the update applies cleanly. Carry what you need into `custom/` (the README's "Layout: yours
  and ours" says where each kind of change goes).
- a file you edited that the new version no longer renders: kept as `NAME.before-0.11.0`.
- README.md with sections of yours added at its end, and pyproject.toml with dependencies of
  yours added at the end of `dependencies`: after the update (`--after`), your sections go
  below the new README's last line and your dependencies below pyproject.toml's marked line,
  where 0.11.0 keeps them; the kept copy is then removed.

Every file it writes or keeps is named on a line of its own. Edits that merge cleanly are left
to copier. When a version cannot be rendered (copier missing, a commit unknown), model.py is kept by
name and nothing is moved (copier merges the rest, with conflict markers where it must). Uses the
standard library, git, and copier, which runs it (`_copier_python`); safe to rerun.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rendering import read_answers, render

RELEASE = "0.11.0"
SUFFIX = f".before-{RELEASE}"
# What the before stage leaves the after stage: your additions to README.md and pyproject.toml.
ADDITIONS = Path(f".copier-additions-{RELEASE}.json")


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(folder).parts
    }


# --- model.py into custom/model.py -----------------------------------------------------------

COMPILE_CALL = re.compile(r"compile_model\(\s*(\w+)\s*(?:,\s*learning_rate\s*=\s*([^)]+?))?\s*\)")
BUILD_MODEL = re.compile(r"def build_model\(\s*input_shape(\s*:\s*[^)]*?)?\s*\)")
# What 0.11.0's custom/model.py has beside build_model: the optimizer and its option, with the
# learning rate the project's compile_model call gave (Adam's 1e-3 without one).
ADDED = '''

def add_options(parser: argparse.ArgumentParser) -> None:
    """train's options for the model; their values reach build_model and make_optimizer.
    train records them in the run's run.json, and a resumed run keeps them."""
    parser.add_argument("--learning-rate", type=float, default={rate}, help="Adam's step")


def make_optimizer(options: argparse.Namespace) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(options.learning_rate)
'''
# A model compiled by its own model.compile(...) call keeps it: make_optimizer goes unused.
ADDED_SELF_COMPILED = '''

def add_options(parser: argparse.ArgumentParser) -> None:
    """train's options for the model: none yet (moved from model.py by the 0.11.0 update)."""


def make_optimizer(options: argparse.Namespace) -> keras.optimizers.Optimizer:
    """Unused while build_model compiles the model itself (see modeling.new_model)."""
    return keras.optimizers.Adam()
'''


def adapt_model(source: str) -> str:
    """model.py of 0.10.0 or before as custom/model.py of 0.11.0; ValueError if it cannot."""
    if not BUILD_MODEL.search(source):
        raise ValueError("no `def build_model(input_shape...)` to adapt")
    if "import keras\n" not in source or "from __future__ import annotations\n" not in source:
        raise ValueError("no `import keras` or `from __future__ import annotations` line")
    text = BUILD_MODEL.sub(
        lambda m: f"def build_model(input_shape{m.group(1) or ''}, options: argparse.Namespace)",
        source,
        count=1,
    )
    # One package down: `from .head import ...` becomes `from ..head import ...`.
    text = re.sub(r"^from \.(\w)", r"from ..\1", text, flags=re.MULTILINE)
    # 0.11.0's compile_model takes the optimizer: make_optimizer's, from --learning-rate,
    # whose default is the learning rate the call gave.
    call = COMPILE_CALL.search(text)
    if call:
        text = COMPILE_CALL.sub(f"compile_model({call.group(1)}, make_optimizer(options))", text)
        added = ADDED.format(rate=(call.group(2) or "1e-3").strip())
    else:
        added = ADDED_SELF_COMPILED
    if "import argparse\n" not in text:
        head, tail = text.split("from __future__ import annotations\n", 1)
        tail = tail.lstrip("\n")
        stdlib = not tail.startswith("import keras\n")  # array's model.py imports random first
        text = f"{head}from __future__ import annotations\n\nimport argparse\n"
        text += tail if stdlib else "\n" + tail
    text = text.rstrip("\n") + "\n" + added
    compile(text, "custom/model.py", "exec")  # SyntaxError is a ValueError
    return text


# --- the rest --------------------------------------------------------------------------------


def merges_cleanly(yours: Path, old: Path, new: Path) -> bool:
    """Whether git's 3-way merge of `old` -> `new` into `yours` has no conflict."""
    done = subprocess.run(
        ["git", "merge-file", "-p", "-q", str(yours), str(old), str(new)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    return done.returncode == 0


def keep(path: Path, why: str) -> str:
    kept = path.with_name(path.name + SUFFIX)
    if not kept.exists():
        shutil.copy2(path, kept)
    return f"{path}: {why}; your version is kept as {kept}"


def added_lines(pristine: str, yours: str) -> list[tuple[int, list[str]]]:
    """Where and what `yours` adds to `pristine`, by line, if it only adds lines; else []."""
    before, after = pristine.splitlines(keepends=True), yours.splitlines(keepends=True)
    added = []
    for tag, i1, _, j1, j2 in difflib.SequenceMatcher(None, before, after).get_opcodes():
        if tag == "insert":
            added.append((i1, after[j1:j2]))
        elif tag != "equal":
            return []
    return added


def additions(name: str, pristine: str, yours: str) -> list[str]:
    """Your lines in README.md (added at its end) or pyproject.toml (added at the end of
    `dependencies`), which 0.11.0 has places for; [] for any other edit."""
    added = added_lines(pristine, yours)
    if len(added) != 1:
        return []
    at, lines = added[0]
    before = pristine.splitlines(keepends=True)
    if name == "README.md" and at == len(before):
        return lines
    if name == "pyproject.toml" and before[at : at + 1] == ["]\n"]:
        # The list that bracket closes: the last one opened before it.
        opened = [line for line in before[:at] if line.endswith("[\n")]
        if opened and opened[-1].startswith("dependencies = ["):
            return lines
    return []


def put_back(path: Path, pristine: bytes) -> None:
    """`path` as the old version rendered it, in the working tree and in git's index (copier
    diffs the index against the old rendering)."""
    path.write_bytes(pristine)
    subprocess.run(["git", "add", "--", str(path)], check=True, timeout=60)


def migrate(answers_file: Path, new_commit: str) -> list[str]:
    answers = read_answers(answers_file)
    package = str(answers["package_name"])
    model = f"src/{package}/model.py"
    custom_model = Path(f"src/{package}/custom/model.py")
    with tempfile.TemporaryDirectory(prefix="adopt_user_files_") as tmp:
        try:
            old = files_of(render(answers, str(answers["_commit"]), Path(tmp) / "old"))
            new_dir = render(answers, new_commit, Path(tmp) / "new")
        except Exception as error:  # any failure: keep the file the update removes
            why = f"could not render the versions to compare ({type(error).__name__}: {error})"
            return [keep(Path(model), why)] if Path(model).is_file() else [why]
        new = files_of(new_dir)
        notes: list[str] = []
        moving: dict[str, list[str]] = {}
        for name, pristine in old.items():
            path = Path(name)
            # The answers file is copier's own, rewritten by every update.
            if name == answers_file.as_posix() or not path.is_file():
                continue
            if path.read_bytes() == pristine:
                continue  # deleted or unedited: copier knows what to do
            if name == model:
                if custom_model.exists():
                    notes.append(keep(path, f"edited, and {custom_model} exists already"))
                    continue
                try:
                    adapted = adapt_model(path.read_text(encoding="utf-8"))
                except (ValueError, UnicodeDecodeError) as error:
                    notes.append(keep(path, f"edited, and cannot be adapted ({error})"))
                    continue
                custom_model.parent.mkdir(parents=True, exist_ok=True)
                custom_model.write_text(adapted, encoding="utf-8")
                notes.append(f"{path}: your model moved to {custom_model}, adapted to {RELEASE}")
            elif name not in new:
                notes.append(keep(path, f"edited, and {RELEASE} no longer has it"))
            elif not merges_cleanly(path, Path(tmp, "old", name), new_dir / name):
                notes.append(keep(path, "edited where the update changes it too"))
                lines = additions(name, pristine.decode(errors="replace"), path.read_text())
                if lines:
                    moving[name] = lines
                put_back(path, pristine)
        if moving:
            ADDITIONS.write_text(json.dumps(moving), encoding="utf-8")
        return notes or ["no edited file to move or keep"]


def readd(name: str, lines: list[str]) -> None:
    """Your `lines` where 0.11.0's `name` keeps them: the README's end, or below the marked
    line of pyproject.toml's dependencies (at the end of the list without the mark)."""
    path = Path(name)
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if name == "README.md":
        text += lines
    else:
        start = next(i for i, line in enumerate(text) if line.startswith("dependencies = ["))
        end = next(i for i in range(start, len(text)) if text[i] == "]\n")
        text[end:end] = lines
    path.write_text("".join(text), encoding="utf-8")


def migrate_after() -> list[str]:
    if not ADDITIONS.is_file():
        return ["nothing of yours to put back"]
    notes = []
    for name, lines in json.loads(ADDITIONS.read_text(encoding="utf-8")).items():
        readd(name, lines)
        Path(name + SUFFIX).unlink(missing_ok=True)
        count = f"{len(lines)} added line{'' if len(lines) == 1 else 's'}"
        notes.append(f"{name}: {count} of yours put back where {RELEASE} keeps them")
    ADDITIONS.unlink()
    return notes


def main(argv: list[str]) -> int:
    if argv == ["--after"]:
        notes = migrate_after()
    elif len(argv) == 2:
        notes = migrate(Path(argv[0]), argv[1])
    else:
        usage = f"usage: {Path(__file__).name} ANSWERS_FILE NEW_COMMIT | --after"
        print(usage, file=sys.stderr)
        return 2
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
