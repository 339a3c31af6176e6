"""Every combination of the answers renders a clean project: no leftover Jinja, Python that
compiles, ruff-clean with the project's own settings, the files its options call for, and an
answers file that records them."""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from tests.conftest import Rendered
from tests.helpers import (
    ANSWERS_FILE,
    BUILD_QUESTIONS,
    REPO_ROOT,
    VALUE_QUESTIONS,
    all_combinations,
    answers_id,
    applies,
    choice_questions,
    choice_values,
    copier_config,
    read_answers,
    render,
    ruff_executable,
    type_folder,
)

COMBINATIONS = list(all_combinations())
JINJA_MARKERS = ("{{", "{%", "{#")
# GitHub Actions expressions (${{ ... }}) are the one legitimate `{{` in rendered files.
ACTIONS_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def test_every_combination_is_rendered(all_rendered: dict[str, Rendered]) -> None:
    # Per data type, the product of the value counts of the questions copier asks for it,
    # but the builds and the image values: each project takes one build of its backend
    # (helpers.with_build) and one combination of image values (helpers.with_values).
    expected = sum(
        math.prod(
            len(choice_values(name))
            for name in choice_questions()
            if name not in {"data_type", *BUILD_QUESTIONS, *VALUE_QUESTIONS}
            and applies(name, {"data_type": data_type})
        )
        for data_type in choice_values("data_type")
    )
    assert len(COMBINATIONS) == len(all_rendered) == expected
    assert expected >= 4 * 4 * 2 * 2 * 3  # label formats x remainders x bools x backends
    # Each combination of image values, with each backend and each label format.
    for factor in ("backend", "label_format"):
        seen = {
            (answers[factor], *(answers[name] for name in VALUE_QUESTIONS))
            for answers in COMBINATIONS
            if answers["data_type"] == "images"
        }
        assert len(seen) == len(choice_values(factor)) * math.prod(
            len(choice_values(name)) for name in VALUE_QUESTIONS
        ), (factor, seen)


def rendered_files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts)


def tree(project: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and folder of a project: its mode, and a file's bytes."""
    return {
        str(path.relative_to(project)): (
            path.stat().st_mode,
            path.read_bytes() if path.is_file() else None,
        )
        for path in sorted(project.rglob("*"))
    }


def test_batch_renders_like_run_copy(all_rendered: dict[str, Rendered], tmp_path: Path) -> None:
    """all_rendered comes from helpers.render_many (copier's Worker with the per-project
    overheads shared, helpers.BatchRenderer); a sample of it, one project in 64 and the
    last, must be byte for byte what copier.run_copy (helpers.render) renders."""
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    sample = COMBINATIONS[::64] + COMBINATIONS[-1:]
    for answers in sample:
        batch = all_rendered[answers_id(answers)].path
        single = render(tmp_path / answers_id(answers), **answers)
        batch_tree, single_tree = tree(batch), tree(single)
        if dirty:
            # Each clone commits the uncommitted changes anew, with its own hash in _commit,
            # which settings.py's TEMPLATE_VERSION repeats: both are left out. The hash is
            # read as YAML, and left out quoted first: YAML quotes one of digits only.
            for files in (batch_tree, single_tree):
                mode, text = files[ANSWERS_FILE]
                assert text is not None
                commit = str(yaml.safe_load(text)["_commit"]).encode()
                for name, (mode, text) in files.items():
                    if text is not None:
                        text = text.replace(b"'%s'" % commit, b"COMMIT")
                        files[name] = (mode, text.replace(commit, b"COMMIT"))
        assert batch_tree.keys() == single_tree.keys(), answers_id(answers)
        for name, entry in single_tree.items():
            assert batch_tree[name] == entry, f"{answers_id(answers)}: {name} differs"


@pytest.fixture
def rendered(all_rendered: dict[str, Rendered], answers: dict[str, Any]) -> Rendered:
    return all_rendered[answers_id(answers)]


parametrize_all = pytest.mark.parametrize("answers", COMBINATIONS, ids=answers_id)


@parametrize_all
def test_no_leftover_jinja(rendered: Rendered) -> None:
    problems = []
    for path in rendered_files(rendered.path):
        relative = path.relative_to(rendered.path)
        if "{" in str(relative) or "}" in str(relative) or path.suffix == ".jinja":
            problems.append(f"file name {relative}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if relative.parts[:2] == (".github", "workflows"):
            text = ACTIONS_EXPRESSION.sub("", text)
        for number, line in enumerate(text.splitlines(), 1):
            if any(marker in line for marker in JINJA_MARKERS):
                problems.append(f"{relative}:{number}: {line.strip()}")
    assert not problems, "leftover Jinja:\n" + "\n".join(problems)


# The digests of the sources that compiled: most files are the same in hundreds of projects.
_COMPILED: set[bytes] = set()


@parametrize_all
def test_python_compiles(rendered: Rendered) -> None:
    sources = sorted(rendered.path.rglob("*.py"))
    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode()).digest()
        if digest not in _COMPILED:
            # compile() rather than py_compile: no .pyc written, the error names file and line.
            compile(text, str(path), "exec", dont_inherit=True)
            _COMPILED.add(digest)


# The files ruff checks at once: a command line of them stays far below the system's limit.
RUFF_BATCH = 2000


# A file's settings (its project's pyproject.toml), path in its project and bytes: sha256s.
FileKey = tuple[bytes, str, bytes]


@dataclass(frozen=True)
class DistinctFiles:
    """The Python files of every project under a root, each distinct one once: a file with
    the same bytes at the same path under the same pyproject.toml as another has the same
    ruff findings (the settings, among them isort's first-party package, are the same), so
    only the first of them is checked: about 11,000 of the 66,000 files."""

    first: dict[str, FileKey]  # the file checked (its path from the root) -> its key
    projects: dict[FileKey, list[str]]  # key -> every project that has that file

    @classmethod
    def under(cls, root: Path) -> DistinctFiles:
        first: dict[str, FileKey] = {}
        projects: dict[FileKey, list[str]] = defaultdict(list)
        for project in sorted(path for path in root.iterdir() if path.is_dir()):
            settings = hashlib.sha256((project / "pyproject.toml").read_bytes()).digest()
            for path in sorted(project.rglob("*.py")):
                name = path.relative_to(project).as_posix()
                key = (settings, name, hashlib.sha256(path.read_bytes()).digest())
                if key not in projects:
                    first[path.relative_to(root).as_posix()] = key
                projects[key].append(project.name)
        return cls(first, dict(projects))


def ruff_findings(root: Path, files: DistinctFiles, *command: str) -> dict[str, list[str]]:
    """`ruff COMMAND` over every project under `root`, its findings by project: each of
    `files` checked once, under the closest pyproject.toml, its own project's, as when ruff
    runs in the project's folder."""
    findings: dict[str, list[str]] = defaultdict(list)
    checked = sorted(files.first)
    for start in range(0, len(checked), RUFF_BATCH):
        done = subprocess.run(
            [ruff_executable(), *command, "--no-cache", "--output-format", "json",
             *checked[start : start + RUFF_BATCH]],
            cwd=root, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        assert done.returncode in (0, 1) and done.stdout.startswith("["), done.stderr
        for finding in json.loads(done.stdout):
            key = files.first[Path(finding["filename"]).relative_to(root).as_posix()]
            row = finding["location"]["row"]
            for project in files.projects[key]:
                findings[project].append(f"{key[1]}:{row}: {finding['code']} {finding['message']}")
    return findings


@pytest.fixture(scope="session")
def ruff_reports(all_rendered: dict[str, Rendered]) -> dict[str, dict[str, list[str]]]:
    """`ruff check` and `ruff format --check` over all the projects, by project."""
    (root,) = {rendered.path.parent for rendered in all_rendered.values()}
    # ruff sees every project's Python files: none is left out by where it runs from.
    shown = subprocess.run(
        [ruff_executable(), "check", "--no-cache", "--show-files", "."],
        cwd=root, capture_output=True, text=True, check=True, timeout=600,
    ).stdout  # fmt: skip
    seen = {Path(line.strip()) for line in shown.splitlines() if line.strip().endswith(".py")}
    for rendered in all_rendered.values():
        assert set(rendered.path.rglob("*.py")) <= seen, rendered.id
    files = DistinctFiles.under(root)
    return {
        "check": ruff_findings(root, files, "check"),
        "format": ruff_findings(root, files, "format", "--check"),
    }


@parametrize_all
def test_ruff_clean(rendered: Rendered, ruff_reports: dict[str, dict[str, list[str]]]) -> None:
    # ruff reads the project's own pyproject.toml (ruff_findings).
    assert "[tool.ruff" in (rendered.path / "pyproject.toml").read_text(encoding="utf-8")
    assert not ruff_reports["check"].get(rendered.id), "\n".join(ruff_reports["check"][rendered.id])
    assert not ruff_reports["format"].get(rendered.id), "\n".join(
        ruff_reports["format"][rendered.id]
    )


def expected_files(answers: dict[str, Any], package: str) -> set[str]:
    """The files copier.yml says these answers bring: the shared tree and the data type's
    folder of template/, less what the rendered `_exclude` entries drop."""
    template = REPO_ROOT / copier_config()["_subdirectory"]
    type_folders = {type_folder(t): t for t in choice_values("data_type")}
    context = {**answers, "package_name": package}
    # A leading "/" anchors a pattern at the project's root, as in .gitignore.
    excluded = [
        line.strip().removeprefix("/")
        for entry in copier_config()["_exclude"]
        for line in jinja2.Environment().from_string(entry).render(**context).splitlines()
        if line.strip()
    ]
    expected = set()
    for path in template.rglob("*"):
        parts = path.relative_to(template).parts
        if not path.is_file() or parts[0] in excluded:
            continue
        if parts[0] in type_folders:
            if type_folders[parts[0]] != answers["data_type"]:
                continue
            parts = parts[1:]
        name = "/".join(parts).replace("{{package_name}}", package)
        name = name.replace("{{_copier_conf.answers_file}}", ANSWERS_FILE).removesuffix(".jinja")
        if name not in excluded:
            expected.add(name)
    return expected


def test_every_data_type_has_a_folder_of_its_own() -> None:
    folders = {p.name for p in (REPO_ROOT / "template").iterdir() if p.is_dir()}
    for data_type in choice_values("data_type"):
        assert type_folder(data_type) in folders, data_type


@parametrize_all
def test_files_follow_the_options(rendered: Rendered, answers: dict[str, Any]) -> None:
    project = rendered.path
    package = read_answers(project)["package_name"]
    rendered_names = {str(p.relative_to(project)) for p in rendered_files(project)}
    expected = expected_files(answers, package)
    assert rendered_names == expected, (
        f"rendered but not expected: {sorted(rendered_names - expected)}; "
        f"expected but not rendered: {sorted(expected - rendered_names)}"
    )
    # Spot checks that the manifest itself says what the options mean.
    for module in [
        "__init__",
        "batch_loader",
        "data",
        "modeling",
        "train",
        "evaluate",
        "demo_data",
    ]:
        assert f"src/{package}/{module}.py" in expected, module
    # The user's files, every project's (copier.yml's _skip_if_exists keeps them).
    for module in ["model", "training", "preprocessing", "reading"]:
        assert f"src/{package}/custom/{module}.py" in expected, module
    assert (f"src/{package}/predict.py" in expected) == answers["predict"]
    assert (f"src/{package}/augmentation.py" in expected) == answers["augmentation"]
    assert (f"src/{package}/randomness.py" in expected) == answers["augmentation"]
    assert (f"src/{package}/digits.py" in expected) == (answers["data_type"] != "sequences")
    assert ("conftest.py" in expected) == (answers["backend"] == "jax")
    assert "tests/conftest.py" in expected
    # Images: class folders for sparse and onehot labels, a labels.csv for the others.
    images = answers["data_type"] == "images"
    class_layout = answers["label_format"] in ("sparse", "onehot")
    assert (f"src/{package}/class_folders.py" in expected) == (images and class_layout)
    assert (f"src/{package}/labels_csv.py" in expected) == (images and not class_layout)


@parametrize_all
def test_answers_file_records_the_answers(rendered: Rendered, answers: dict[str, Any]) -> None:
    recorded = read_answers(rendered.path)
    for name, value in answers.items():
        assert recorded.get(name) == value, f"{name}: {recorded.get(name)!r} != {value!r}"
    assert recorded["_src_path"] == str(REPO_ROOT)
    assert re.fullmatch(r"\S+", str(recorded["_commit"])), recorded.get("_commit")
    # Only the question that applies to the label format is asked and stored.
    unused = "num_classes" if answers["label_format"] == "regression" else "num_targets"
    assert unused not in recorded
    if answers["data_type"] != "images":
        assert not {"image_height", "image_width", "color_mode"} & set(recorded)
    if answers["data_type"] != "sequences":
        assert not {"vocab_size", "max_length"} & set(recorded)
    # Float features have no vocabulary; token ids and text have no feature count.
    if answers.get("sequence_input") == "features":
        assert "vocab_size" not in recorded
    else:
        assert "num_features" not in recorded
    # Computed values (when: false) are never stored.
    assert "sequence_class" not in recorded


@parametrize_all
def test_pyproject_depends_on_the_chosen_backend(
    rendered: Rendered, answers: dict[str, Any]
) -> None:
    pyproject = tomllib.loads((rendered.path / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    assert project["name"] == read_answers(rendered.path)["package_name"].replace("_", "-")
    names = {
        re.match(r"[A-Za-z0-9_.\-]+(\[[^\]]*\])?", dep.replace(" ", "")).group(0): dep
        for dep in project["dependencies"]
    }
    backends = [name for name in names if re.match(r"(tensorflow|jax|torch)\b", name)]
    build = {
        "tensorflow": answers.get("tensorflow_build"),
        "jax": answers.get("jax_build"),
        "torch": "torch",
    }[answers["backend"]]
    # Exactly the backend's package: no TensorFlow in a JAX or torch project.
    assert backends == [build], project["dependencies"]
    uv = pyproject.get("tool", {}).get("uv", {})
    cpu_torch = answers["backend"] == "torch" and answers["torch_build"] == "cpu"
    assert (uv.get("sources", {}).get("torch") == [{"index": "pytorch-cpu"}]) == cpu_torch
    if cpu_torch:
        assert uv["index"] == [
            {"name": "pytorch-cpu", "url": "https://download.pytorch.org/whl/cpu", "explicit": True}
        ]
    # TensorBoard's logs go through tf.summary on every backend: the extra says so.
    extras = project["optional-dependencies"]
    assert any(dep.startswith("tensorflow") for dep in extras["tensorboard"]) == (
        answers["backend"] != "tensorflow"
    )
    assert "keras" in names
    assert "dev" in project.get("optional-dependencies", {})
