"""Rendered test modules that need not run in every covering project's suite.

Some of the rendered projects' test modules test answer-independent code only: pure
arithmetic over hypothesis examples (tests/test_batching.py, test_randomness.py,
test_padding.py), rendered the same in every project that has them, and the backend's choice
(tests/test_backend.py: its new processes import only the package's keras_backend.py, the same
in every project of a backend). Running such a module in 20 suites runs the same tests on the
same code 20 times. Here a module is run once per
distinct *fingerprint* among the projects selected, and left out (`--ignore`) of the others'
suites.

A module's fingerprint is everything its results can depend on inside the project, read
from the rendered files themselves, not from what the template is thought to render:

* the module's own text;
* every project module it imports, and every project module those import, transitively
  (the package's `__init__.py` included), found by parsing the imports: the package under
  src/ and the helper modules beside the tests (sample_data, sample_targets);
  Python files are compared as syntax trees without docstrings, so a comment or the
  package docstring (it names the data type and label format) makes no difference;
* tests/conftest.py and what it imports, when conftest can reach the module: when it has an
  autouse fixture, a `pytest_` hook, a statement at module level other than imports,
  definitions and plain assignments (a hypothesis profile loaded there, say), or a fixture
  whose name the module uses;
* the project's pytest settings ([tool.pytest.ini_options] of pyproject.toml: filterwarnings
  can turn a warning into a failure).

So a change that makes the module or its code differ between answers (a Jinja expression,
an import of settings.py) gives the projects different fingerprints, and the module runs in
each of them again: nothing to keep in step by hand. The interpreter and its packages are
the same for every suite of a session; the Keras backend is not, but the package's
`__init__.py` imports keras_backend.py, which names it, so each backend runs a module anew.
"""

from __future__ import annotations

import ast
import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.helpers import is_users

# Candidates only: each runs once per fingerprint, so one that turns answer-dependent just
# runs everywhere again.
SHARED_MODULES = (
    "tests/test_batching.py",
    "tests/test_randomness.py",
    "tests/test_padding.py",
    "tests/test_backend.py",
)


def _module_file(project: Path, name: str) -> Path | None:
    """The project file that `import name` loads, if it is the project's: the package
    under src/ or a helper module beside the tests."""
    parts = name.split(".")
    for root in (project / "src", project / "tests"):
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _package_of(project: Path, path: Path) -> list[str]:
    """The dotted package of a module file under src/ ([] beside the tests)."""
    src = project / "src"
    if not path.is_relative_to(src):
        return []
    parts = list(path.relative_to(src).with_suffix("").parts)
    return parts[:-1]  # a module's package; an __init__'s own package less "__init__"


def _imported_names(project: Path, path: Path) -> set[str]:
    """Every dotted module name that the file's import statements can load, anywhere in
    the file (functions included), the parents of each included."""
    names: set[str] = set()
    package = _package_of(project, path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module:
                names.add(module)
            # `from package import name` may load the submodule package.name.
            names.update(f"{module}.{alias.name}" if module else alias.name for alias in node.names)
    with_parents = set()
    for name in names:
        parts = name.split(".")
        with_parents.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return with_parents


def import_closure(project: Path, start: Iterable[Path]) -> set[Path]:
    """The files given and every project module they import, transitively."""
    seen: set[Path] = set()
    todo = list(start)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_names(project, path):
            found = _module_file(project, name)
            if found is not None and found not in seen:
                todo.append(found)
    return seen


def _is_fixture(decorator: ast.expr) -> tuple[bool, bool]:
    """(whether a decorator makes a pytest fixture, whether an autouse one)."""
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    if name != "fixture":
        return False, False
    autouse = any(
        keyword.arg == "autouse"
        and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False)
        for keyword in (call.keywords if call else [])
    )
    return True, autouse


def conftest_reaches(conftest: Path, module: Path) -> bool:
    """Whether conftest.py can change the results of `module` (see the module docstring)."""
    tree = ast.parse(conftest.read_text(encoding="utf-8"), str(conftest))
    fixtures: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, ast.Assign | ast.AnnAssign) and not any(
            isinstance(child, ast.Call) for child in ast.walk(node)
        ):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name.startswith("pytest_"):
                return True
            for decorator in node.decorator_list:
                is_fixture, autouse = _is_fixture(decorator)
                if autouse:
                    return True
                if is_fixture:
                    fixtures.add(node.name)
            continue
        if isinstance(node, ast.ClassDef):
            continue
        return True  # any other statement at module level runs for every test
    used = {
        child.id if isinstance(child, ast.Name) else child.arg
        for child in ast.walk(ast.parse(module.read_text(encoding="utf-8"), str(module)))
        if isinstance(child, ast.Name | ast.arg)
    }
    return bool(fixtures & used)


def code_of(path: Path) -> str:
    """A Python file's code as its syntax tree, without comments, layout and docstrings
    (the package's `__init__.py` is a docstring naming the data type and label format)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def depends_on(project: Path, module: str) -> set[Path]:
    """The project files whose code the module's results can depend on: the module, what it
    imports, and conftest.py and what that imports where conftest can reach the module."""
    path = project / module
    start = [path]
    conftest = project / "tests" / "conftest.py"
    if conftest.is_file() and conftest_reaches(conftest, path):
        start.append(conftest)
    return import_closure(project, start)


def fingerprint(project: Path, module: str) -> str | None:
    """The module's fingerprint in `project` (None: the project has no such module)."""
    if not (project / module).is_file():
        return None
    digest = hashlib.sha256()
    for file in sorted(depends_on(project, module)):
        digest.update(f"{file.relative_to(project)}\0{code_of(file)}\0".encode())
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_settings = pyproject.get("tool", {}).get("pytest", {})
    digest.update(repr(sorted(pytest_settings.items())).encode())
    return digest.hexdigest()


def plan(projects: Mapping[str, Path]) -> dict[str, list[str]]:
    """For each project (in the order given), the shared modules its suite leaves out,
    because an earlier project of `projects` runs the same fingerprint."""
    left_out: dict[str, list[str]] = {key: [] for key in projects}
    for module in SHARED_MODULES:
        runs: set[str] = set()
        for key, project in projects.items():
            mark = fingerprint(project, module)
            if mark is None:
                continue
            if mark in runs:
                left_out[key].append(module)
            else:
                runs.add(mark)
    return left_out


def unreached_by_the_user(project: Path) -> list[str]:
    """The shared modules of `project` whose results depend on no file of the user's
    (helpers.is_users): in a customized project they test what the covering suites test,
    and no customization can change it."""
    return [
        module
        for module in SHARED_MODULES
        if (project / module).is_file()
        and not any(
            is_users(path.relative_to(project).as_posix()) for path in depends_on(project, module)
        )
    ]
