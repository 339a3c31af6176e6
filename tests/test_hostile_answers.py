"""Answers are data, never code (issue 12): hostile free-text answers render projects whose
files parse, whose package imports silently and installs with the metadata it should have,
and whose README shows the name as text; answers no file can hold are refused."""

from __future__ import annotations

import ast
import itertools
import json
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt  # a Keras dependency (through rich)

from tests.helpers import (
    install_editable,
    questions,
    read_answers,
    render,
    rendered_suite_env,
    run_bounded,
    run_ruff,
    tail,
)

PACKAGE = "hostile"
# Project names that broke a file on 0.5.0, and others like them: each one's id, the name and
# the data type it is rendered with (so every data type's README passages are covered).
HOSTILE_NAMES: dict[str, tuple[str, str]] = {
    # Ended the __init__.py docstring: `import hostile` printed INJECTED.
    "triple-double-quotes": ('x"""; print("INJECTED"); """', "array"),
    "triple-single-quotes": ("x'''; print('INJECTED'); ''' it's", "images"),
    # Escape sequences that raw text would turn into other characters (or a SyntaxError), and
    # a trailing backslash, which escaped the closing quote of the TOML string.
    "backslashes": ("C:\\new\\x41\\N{BULLET}\\u0041 \\", "sequences"),
    # Closed the TOML string on 0.5.0, the rest a comment: the description was "x". (With a
    # line break it added [project.scripts]: REFUSED_NAMES.)
    "toml-injection": ('x" # [project.scripts] evil = "os:system"', "array"),
    # Answers are plain values: copier does not render them again.
    "jinja": ("{{ project_name }} {% if true %}x{% endif %} {# c #} {{ 7 * 7 }}", "images"),
    # Outer spaces too: ruff format trims them from a docstring.
    "non-ascii": ("  Café ✓ 日本 ", "sequences"),
    # Markdown that would be a heading, HTML, code, emphasis, a link, an entity or math.
    "markdown": (
        "# <b>x</b> `c` *b* _i_ [l](x) ![i](y) ~~s~~ &amp; $m$ ## Measure your loader ```python",
        "array",
    ),
}
IDS = list(HOSTILE_NAMES)

# Names no file can hold on one line: (name, the position the message names, the character
# as the message shows it). The first two are the TOML and README injections of 0.5.0.
REFUSED_NAMES: dict[str, tuple[str, int, str]] = {
    "toml-injection": ('x"\n[project.scripts]\nevil = "os:system"', 3, '"\\n"'),
    "readme-section": (
        "x\n\n## Measure your loader\n\n```python\nprint('INJECTED')\n```",
        2,
        '"\\n"',
    ),
    "carriage-return": ("digits\r", 7, '"\\r"'),
    "tab": ("digits\tclassifier", 7, '"\\t"'),
    "nul": ("a\x00", 2, '"\\u0000"'),
    "delete": ("a\x7fb", 2, '"\\u007f"'),
    "line-separator": ("a\u2028b", 2, '"\\u2028"'),
    # Trojan Source: bidirectional controls make code display other than it reads.
    "right-to-left-override": ("abc\u202edef", 4, '"\\u202e"'),
}
REFUSED_PACKAGE_NAMES = ["pkg\n", 'x"', "a.b", "café", "__import__('os')", "x; import os"]


def summary(data_type: str) -> str:
    return f"a Keras PyDataset loader for {data_type} data with sparse targets"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each hostile name rendered, and a plainly named project of each data type ("plain-X")
    with the same package name, to compare with."""
    root = tmp_path_factory.mktemp("hostile")
    rendered = {
        key: render(root / key, project_name=name, package_name=PACKAGE, data_type=data_type)
        for key, (name, data_type) in HOSTILE_NAMES.items()
    }
    for data_type in {data_type for _, data_type in HOSTILE_NAMES.values()}:
        key = f"plain-{data_type}"
        rendered[key] = render(
            root / key, project_name="plain", package_name=PACKAGE, data_type=data_type
        )
    return rendered


def plain(projects: dict[str, Path], key: str) -> Path:
    return projects[f"plain-{HOSTILE_NAMES[key][1]}"]


def test_the_free_text_questions_are_these() -> None:
    """A new free-text question needs hostile values here: this fails until it has them."""
    free_text = {
        name
        for name, spec in questions().items()
        if spec.get("type", "str") == "str"
        and "choices" not in spec
        and spec.get("when") is not False
    }
    assert free_text == {"project_name", "package_name"}


@pytest.mark.parametrize("key", IDS)
def test_pyproject_holds_the_name_as_a_string(projects: dict[str, Path], key: str) -> None:
    name, data_type = HOSTILE_NAMES[key]
    pyproject = tomllib.loads((projects[key] / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == PACKAGE
    assert pyproject["project"]["description"] == f"{name}: {summary(data_type)}"
    # Nothing else differs from the plain project's: no key, table or script was added.
    expected = tomllib.loads((plain(projects, key) / "pyproject.toml").read_text(encoding="utf-8"))
    expected["project"]["description"] = pyproject["project"]["description"]
    assert pyproject == expected


@pytest.mark.parametrize("key", IDS)
def test_python_files_compile_and_the_docstring_holds_the_name(
    projects: dict[str, Path], key: str
) -> None:
    name, data_type = HOSTILE_NAMES[key]
    for path in projects[key].rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    init = projects[key] / "src" / PACKAGE / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")), clean=False)
    text = summary(data_type)
    # Trimmed (as ruff format would); one line while it fits in 100 columns, else the name on a
    # line of its own.
    name = name.strip()
    assert docstring in (f"{name}: {text}.", f"{name}.\n\nA{text[1:]}.\n"), docstring


@pytest.mark.parametrize("key", IDS)
def test_importing_the_package_prints_nothing(projects: dict[str, Path], key: str) -> None:
    done = run_bounded(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, 'src'); import {PACKAGE}"],
        timeout=60,
        cwd=projects[key],
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.parametrize("key", IDS)
def test_the_project_stays_ruff_clean(projects: dict[str, Path], key: str) -> None:
    for args in (["check"], ["format", "--check"]):
        done = run_ruff(projects[key], *args)
        assert done.returncode == 0, f"ruff {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("key", IDS)
def test_yaml_files_parse_and_keep_the_name(projects: dict[str, Path], key: str) -> None:
    name, _ = HOSTILE_NAMES[key]
    assert read_answers(projects[key])["project_name"] == name

    def workflow(project: Path) -> dict[str, Any]:
        return yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())

    ci = workflow(projects[key])
    assert set(ci["jobs"]) == {"test"}
    assert ci == workflow(plain(projects, key))


def heading_text(line: str) -> str:
    """The text a Markdown heading line shows, asserting it is a level-1 heading of text only
    (no HTML, code, emphasis, link, image or strikethrough)."""
    tokens = MarkdownIt("commonmark").enable("strikethrough").parse(line)
    assert [token.type for token in tokens] == ["heading_open", "inline", "heading_close"], tokens
    assert tokens[0].tag == "h1"
    children = tokens[1].children or []
    assert {child.type for child in children} <= {"text"}, children
    return "".join(child.content for child in children)


@pytest.mark.parametrize("key", IDS)
def test_readme_shows_the_name_as_text_in_its_title_only(
    projects: dict[str, Path], key: str
) -> None:
    name, _ = HOSTILE_NAMES[key]
    lines = (projects[key] / "README.md").read_text(encoding="utf-8").split("\n")
    # Markdown drops a heading's outer spaces and nothing else.
    assert heading_text(lines[0]) == name.strip()
    plain_lines = (plain(projects, key) / "README.md").read_text(encoding="utf-8").split("\n")
    assert lines[1:] == plain_lines[1:]


def rendered_readme_snippet(project: Path) -> Callable[[str], str]:
    """The rendered tests/test_readme.py's readme_snippet, reading the README at its path
    (only that function: its module imports the project and Keras)."""
    tree = ast.parse((project / "tests" / "test_readme.py").read_text(encoding="utf-8"))
    function = next(
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "readme_snippet"
    )
    namespace: dict[str, Any] = {"README": project / "README.md", "re": re, "itertools": itertools}
    exec(compile(ast.Module(body=[function], type_ignores=[]), "test_readme.py", "exec"), namespace)
    return namespace["readme_snippet"]


def test_the_readme_test_runs_the_templates_snippet_only(projects: dict[str, Path]) -> None:
    """The name holds the section's heading and a code fence, on the title line: the rendered
    test still takes the template's block; a README with the heading on a second line of its
    own (as a name with line breaks made on 0.5.0) is refused, not run."""
    project = projects["markdown"]
    heading = "## Measure your loader"
    snippet = rendered_readme_snippet(project)(heading)
    assert snippet == rendered_readme_snippet(plain(projects, "markdown"))(heading)
    assert "loader = ArraySequence(" in snippet

    readme = project / "README.md"
    original = readme.read_text(encoding="utf-8")
    try:
        readme.write_text(
            f"# x\n\n{heading}\n\n```python\nraise SystemExit('INJECTED')\n```\n\n{original}",
            encoding="utf-8",
        )
        with pytest.raises(AssertionError, match="not exactly one line"):
            rendered_readme_snippet(project)(heading)
    finally:
        readme.write_text(original, encoding="utf-8")


@pytest.mark.slow
def test_the_rendered_readme_test_passes(projects: dict[str, Path]) -> None:
    project = projects["markdown"]
    done = run_bounded(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_readme.py"],
        timeout=300,
        cwd=project,
        env=rendered_suite_env(project),
    )
    assert done.returncode == 0, f"{tail(done.stdout)}\n{tail(done.stderr)}"
    assert re.search(r"\b1 passed\b", done.stdout), done.stdout


@pytest.mark.slow
def test_a_hostile_project_installs_with_its_metadata(
    projects: dict[str, Path], tmp_path: Path
) -> None:
    """As tests/test_install.py installs the default project: offline, editable, into a
    throwaway venv that sees this environment's packages."""
    project = projects["toml-injection"]
    name, data_type = HOSTILE_NAMES["toml-injection"]
    python = install_editable(project, tmp_path / "venv")
    done = run_bounded(
        [python, "-c",
         "import importlib.metadata as m, json; d = m.distribution('hostile'); "
         "print(json.dumps([d.metadata['Summary'], [e.name for e in d.entry_points]]))"],
        timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [f"{name}: {summary(data_type)}", []]
    assert not (tmp_path / "venv" / "bin" / "evil").exists()


@pytest.mark.parametrize("key", list(REFUSED_NAMES))
def test_a_name_with_a_control_character_is_refused(tmp_path: Path, key: str) -> None:
    name, position, shown = REFUSED_NAMES[key]
    with pytest.raises(ValueError) as caught:
        render(tmp_path / "project", project_name=name, package_name=PACKAGE)
    message = str(caught.value)
    assert "'project_name'" in message, message
    assert f"one line of printable text, but character {position} is {shown}" in message
    assert "\n" not in message.strip(), "the message is one line"
    assert not any((tmp_path / "project").rglob("*.py")), "a refused answer rendered files"


@pytest.mark.parametrize("package_name", REFUSED_PACKAGE_NAMES)
def test_a_package_name_that_is_not_an_identifier_is_refused(
    tmp_path: Path, package_name: str
) -> None:
    with pytest.raises(ValueError, match=r"'package_name'.*lowercase Python identifier"):
        render(tmp_path / "project", package_name=package_name)
    assert not any((tmp_path / "project").rglob("*.py")), "a refused answer rendered files"


# The longest package_name copier.yml accepts: every rendered line that names it must still
# keep to the projects' 100 columns, unformatted by ruff (their own `ruff format --check`).
LONGEST_PACKAGE = "a" * 32
KINDS = [
    {"data_type": "array"},
    {"data_type": "images"},
    *(
        {"data_type": "sequences", "sequence_input": kind}
        for kind in ("tokens", "text", "features")
    ),
]
LONG_NAME_CASES = [
    {**kind, "label_format": label_format, "backend": backend, "predict": True}
    for kind, (label_format, backend) in itertools.product(
        KINDS,
        zip(("sparse", "multilabel", "regression"), ("tensorflow", "jax", "torch"), strict=True),
    )
]


@pytest.mark.parametrize(
    "answers", LONG_NAME_CASES, ids=["-".join(map(str, case.values())) for case in LONG_NAME_CASES]
)
def test_the_longest_package_name_renders_ruff_clean(
    answers: dict[str, object], tmp_path: Path
) -> None:
    project = render(tmp_path / "project", package_name=LONGEST_PACKAGE, **answers)
    for command in (("check",), ("format", "--check")):
        done = run_ruff(project, *command)
        assert done.returncode == 0, done.stdout + done.stderr
