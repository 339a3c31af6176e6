"""tests/shared_modules.py: a rendered test module is left out of a covering suite only when
everything it depends on in the project is the same as in a suite that runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import shared_modules
from tests.helpers import package_dir, render

BATCHING = "tests/test_batching.py"
PADDING = "tests/test_padding.py"
BACKEND = "tests/test_backend.py"


@pytest.fixture(scope="module")
def two_projects(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Projects whose answers differ in everything that the two can differ in."""
    root = tmp_path_factory.mktemp("shared")
    array = render(root / "array", data_type="array", label_format="regression",
                   remainder="drop", augmentation=False, batch_size=1)  # fmt: skip
    sequences = render(root / "sequences", data_type="sequences", label_format="sparse",
                       remainder="pad", augmentation=True, batch_size=7)  # fmt: skip
    return array, sequences


@pytest.fixture
def project(two_projects: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the sequences project, to edit."""
    return Path(shutil.copytree(two_projects[1], tmp_path / "project"))


def test_answer_independent_modules_share_a_fingerprint(two_projects: tuple[Path, Path]) -> None:
    array, sequences = two_projects
    assert shared_modules.fingerprint(array, BATCHING) == shared_modules.fingerprint(
        sequences, BATCHING
    )
    assert shared_modules.fingerprint(array, PADDING) is None  # sequences only
    # An answer-dependent module differs (settings.py, the loader).
    assert shared_modules.fingerprint(array, "tests/test_data.py") != shared_modules.fingerprint(
        sequences, "tests/test_data.py"
    )
    plan = shared_modules.plan({"array": array, "sequences": sequences})
    assert plan == {"array": [], "sequences": [BATCHING, BACKEND]}
    assert shared_modules.plan({"sequences": sequences, "array": array}) == {
        "sequences": [],
        "array": [BATCHING, BACKEND],
    }


def test_the_backend_test_runs_once_per_backend(
    two_projects: tuple[Path, Path], tmp_path: Path
) -> None:
    array, _ = two_projects
    jax = render(tmp_path / "jax", data_type="array", label_format="regression",
                 remainder="drop", augmentation=False, batch_size=1, backend="jax")  # fmt: skip
    # The package's __init__ imports keras_backend.py, which names the backend: every module
    # runs again on each backend.
    assert shared_modules.fingerprint(jax, BACKEND) != shared_modules.fingerprint(array, BACKEND)
    assert shared_modules.plan({"array": array, "jax": jax}) == {"array": [], "jax": []}


def test_the_import_closure_follows_absolute_relative_and_helper_imports(project: Path) -> None:
    package = package_dir(project)
    closure = shared_modules.import_closure(project, [project / PADDING])
    # test_padding imports padding, which imports .batching; both load the package.
    assert {package / "padding.py", package / "batching.py", package / "__init__.py"} <= closure
    assert package / "settings.py" not in closure
    conftest = shared_modules.import_closure(project, [project / "tests" / "conftest.py"])
    assert project / "tests" / "sample_data.py" in conftest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def changes_fingerprint(project: Path, module: str, path: Path, old: str, new: str) -> bool:
    before = shared_modules.fingerprint(project, module)
    edit(path, old, new)
    return shared_modules.fingerprint(project, module) != before


def test_code_it_imports_changes_the_fingerprint(project: Path) -> None:
    package = package_dir(project)
    batching = package / "batching.py"
    # batching.py directly, and through padding.py for test_padding.
    assert changes_fingerprint(project, BATCHING, batching, "import math\n", "import math\nX = 1\n")
    assert changes_fingerprint(project, PADDING, batching, "X = 1\n", "X = 2\n")
    assert changes_fingerprint(project, PADDING, project / PADDING, "import math", "import cmath")
    # An import of settings.py brings it, and its answers, in.
    assert changes_fingerprint(
        project, BATCHING, batching, "import math\n", "import math\nfrom . import settings\n"
    )
    assert changes_fingerprint(
        project, BATCHING, package / "settings.py", "from typing", "X = 3\nfrom typing"
    )


def test_comments_and_docstrings_do_not(project: Path) -> None:
    package = package_dir(project)
    assert not changes_fingerprint(
        project, BATCHING, package / "__init__.py", '"""', '"""Another docstring.\n\n'
    )
    assert not changes_fingerprint(project, BATCHING, package / "batching.py",
                                   "import math\n", "import math  # a comment\n")  # fmt: skip


def test_conftest_counts_when_it_can_reach_the_module(project: Path) -> None:
    conftest = project / "tests" / "conftest.py"
    # Its fixtures serve other modules: test_batching uses none of them.
    fixture = "\n\n@pytest"
    assert not changes_fingerprint(project, BATCHING, conftest, fixture, f"\n\nX = 1{fixture}")
    edit(conftest, "X = 1\n", "")
    for addition in (
        "@pytest.fixture(autouse=True)\ndef everywhere() -> None:\n    pass\n",
        "def pytest_collection_modifyitems(items):\n    pass\n",
        "import hypothesis\nhypothesis.settings.load_profile('default')\n",
    ):
        reaching = project / "reaching"
        shutil.copytree(project, reaching)
        reaching_conftest = reaching / "tests" / "conftest.py"
        added = f"\n\n{addition}{fixture}"
        assert changes_fingerprint(reaching, BATCHING, reaching_conftest, fixture, added), addition
        shutil.rmtree(reaching)
    # A fixture of conftest that the module uses brings conftest in.
    edit(project / BATCHING, "def test_policies_are_the_four_documented_ones() -> None:",
         "def test_policies_are_the_four_documented_ones(make_inputs) -> None:")  # fmt: skip
    assert changes_fingerprint(project, BATCHING, conftest, fixture, f"\n\nX = 2{fixture}")


def test_pytest_settings_count(project: Path) -> None:
    old, new = 'addopts = "-ra --strict-markers"', 'addopts = "-ra --strict-markers -x"'
    assert changes_fingerprint(project, BATCHING, project / "pyproject.toml", old, new)
