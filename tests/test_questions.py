"""copier.yml's questions: names and values, help, validators, defaults, no --trust needed."""

from __future__ import annotations

import keyword
from pathlib import Path
from typing import Any

import copier
import pytest

from tests import reserved_names
from tests.covering import covering_set
from tests.helpers import (
    all_combinations,
    answerable_questions,
    applies,
    check_answer_keys,
    choice_values,
    copier_config,
    questions,
    read_answers,
    render,
)

# The questions and values the spec names exactly: answer files, tests and users depend on them.
SPEC_QUESTIONS = {
    "project_name",
    "package_name",
    "data_type",
    "label_format",
    "num_classes",
    "num_targets",
    "remainder",
    "batch_size",
    "augmentation",
    "predict",
    # the Keras backend (issue 15), and the build of each: tensorflow_build was renamed from
    # tensorflow_requirement in 0.4.0 (hooks/migrations carries old answers over)
    "backend",
    "tensorflow_build",
    "jax_build",
    "torch_build",
    # images (issue 3): the size every image is resized to, and its channels
    "image_height",
    "image_width",
    "color_mode",
    # images (issue 25): what transparent pixels show
    "image_background",
    # sequences (issue 4): token ids the model embeds, and the longest sequence it takes
    "vocab_size",
    "max_length",
    # sequences (issue 25): what a sequence is made of, and the floats of a features step
    "sequence_input",
    "num_features",
}
SPEC_CHOICES = {
    "label_format": ["sparse", "onehot", "multilabel", "regression"],
    "remainder": ["partial", "drop", "pad", "wrap"],
    "backend": ["tensorflow", "jax", "torch"],
    "tensorflow_build": ["tensorflow-cpu", "tensorflow[and-cuda]", "tensorflow"],
    "jax_build": ["jax", "jax[cuda13]", "jax[cuda12]", "jax[tpu]"],
    "torch_build": ["cpu", "cuda"],
    "color_mode": ["rgb", "grayscale"],
    "image_background": ["white", "black"],
    "sequence_input": ["tokens", "text", "features"],
}

IDENT = "lowercase Python identifier"  # what every package_name message allows
# Bad answers: (answers, the question that must be named, fragments the message must hold
# besides the question: the bad value and what is allowed).
BAD_ANSWERS: list[tuple[dict[str, Any], str, list[str]]] = [
    ({"project_name": "   "}, "project_name", ["must not be empty"]),
    # One line of printable text: a line break could add TOML tables or README sections.
    (
        {"project_name": 'x"\n[project.scripts]\nevil = "os:system"'},
        "project_name",
        ["one line of printable text", 'character 3 is "\\n"'],
    ),
    ({"project_name": "digits\tclassifier"}, "project_name", ['character 7 is "\\t"']),
    ({"project_name": "abc\u202edef"}, "project_name", ['character 4 is "\\u202e"']),
    ({"package_name": "MyPackage"}, "package_name", ["MyPackage", IDENT]),
    ({"package_name": "2digits"}, "package_name", ["2digits", "not starting with a digit"]),
    ({"package_name": "my-package"}, "package_name", ["my-package", IDENT]),
    ({"package_name": "my package"}, "package_name", ["my package", IDENT]),
    ({"package_name": "pkg\n"}, "package_name", ['"pkg\\n"', IDENT]),
    ({"package_name": ""}, "package_name", [IDENT]),
    ({"package_name": "class"}, "package_name", ['"class"', "keyword", IDENT]),
    ({"package_name": "a" * 33}, "package_name", ["at most 32 characters", "got 33", IDENT]),
    ({"package_name": "lambda"}, "package_name", ['"lambda"', "keyword", IDENT]),
    ({"package_name": "keras"}, "package_name", ['"keras"', "shadow", IDENT]),
    ({"package_name": "numpy"}, "package_name", ['"numpy"', "shadow", IDENT]),
    ({"package_name": "tensorflow"}, "package_name", ['"tensorflow"', "shadow", IDENT]),
    ({"package_name": "tests"}, "package_name", ['"tests"', "shadow", IDENT]),
    # The standard library's (the project imports some, what it runs on others), a Keras
    # dependency's, and a test helper of the project's own: tests/reserved_names.py.
    *(
        ({"package_name": name}, "package_name", [f'"{name}"', "shadow", IDENT])
        for name in ("secrets", "site", "signal", "socket", "hashlib", "optree", "sample_data")
    ),
    ({"label_format": "sparse", "num_classes": 1}, "num_classes", ["at least 2", "got 1"]),
    ({"label_format": "onehot", "num_classes": 1}, "num_classes", ["at least 2", "got 1"]),
    ({"label_format": "sparse", "num_classes": -3}, "num_classes", ["at least 2", "got -3"]),
    ({"label_format": "multilabel", "num_classes": 0}, "num_classes", ["at least 1", "got 0"]),
    ({"label_format": "regression", "num_targets": 0}, "num_targets", ["at least 1", "got 0"]),
    ({"batch_size": 0}, "batch_size", ["at least 1", "got 0"]),
    ({"batch_size": -32}, "batch_size", ["at least 1", "got -32"]),
    ({"label_format": "categorical"}, "label_format", ["categorical"]),
    ({"remainder": "truncate"}, "remainder", ["truncate"]),
    ({"data_type": "text"}, "data_type", ["text"]),
    ({"tensorflow_build": "torch"}, "tensorflow_build", ["torch"]),
    ({"backend": "mxnet"}, "backend", ["mxnet"]),
    ({"backend": "jax", "jax_build": "jax[metal]"}, "jax_build", ["jax[metal]"]),
    ({"backend": "torch", "torch_build": "rocm"}, "torch_build", ["rocm"]),
    ({"data_type": "images", "image_height": 7}, "image_height", ["between 8 and 4096", "got 7"]),
    ({"data_type": "images", "image_width": 0}, "image_width", ["between 8 and 4096", "got 0"]),
    ({"data_type": "images", "color_mode": "cmyk"}, "color_mode", ["cmyk"]),
    ({"data_type": "images", "image_background": "grey"}, "image_background", ["grey"]),
    ({"data_type": "sequences", "vocab_size": 2}, "vocab_size", ["between 3 and", "got 2"]),
    ({"data_type": "sequences", "max_length": 1}, "max_length", ["between 2 and", "got 1"]),
    ({"data_type": "sequences", "max_length": 0}, "max_length", ["between 2 and", "got 0"]),
    ({"data_type": "sequences", "sequence_input": "audio"}, "sequence_input", ["audio"]),
    (
        {"data_type": "sequences", "sequence_input": "features", "num_features": 0},
        "num_features",
        ["between 1 and 100000", "got 0"],
    ),
]
CHOICE_QUESTIONS = {
    "label_format",
    "remainder",
    "data_type",
    "backend",
    "tensorflow_build",
    "jax_build",
    "torch_build",
    "color_mode",
    "image_background",
    "sequence_input",
}


def test_spec_questions_are_asked() -> None:
    assert answerable_questions() == SPEC_QUESTIONS


@pytest.mark.parametrize("question", sorted(SPEC_CHOICES))
def test_spec_choice_values(question: str) -> None:
    assert choice_values(question) == SPEC_CHOICES[question]


def test_data_types_are_the_planned_ones() -> None:
    values = choice_values("data_type")
    assert values[0] == "array"
    assert set(values) <= {"array", "images", "sequences"}


@pytest.mark.parametrize("question", sorted(SPEC_QUESTIONS))
def test_every_question_has_help(question: str) -> None:
    text = questions()[question].get("help", "")
    assert isinstance(text, str) and len(text.split()) >= 5, f"{question}: help {text!r}"


def test_remainder_help_explains_each_policy() -> None:
    text = questions()["remainder"]["help"]
    for policy in SPEC_CHOICES["remainder"]:
        assert f"{policy}:" in text, f"remainder help says nothing of {policy}"


def test_every_answer_key_in_the_tests_is_a_question() -> None:
    answer_sets: list[dict[str, Any]] = [answers for answers, _, _ in BAD_ANSWERS]
    answer_sets += covering_set()
    answer_sets += list(all_combinations())
    answer_sets += [{"project_name": name} for name in PROJECT_NAMES]
    for answers in answer_sets:
        check_answer_keys(answers)
    used = set().union(*answer_sets)
    assert used <= answerable_questions()
    assert {"label_format", "remainder", "num_classes", "num_targets", "batch_size"} <= used


def test_render_refuses_an_unknown_answer_key(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"\['remainder_policy'\] are not questions"):
        render(tmp_path / "project", remainder_policy="drop")
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize(
    ("answers", "question", "fragments"),
    BAD_ANSWERS,
    ids=[f"{q}={a[q]!r}" for a, q, _ in BAD_ANSWERS],
)
def test_validator_rejects_bad_answer(
    tmp_path: Path, answers: dict[str, Any], question: str, fragments: list[str]
) -> None:
    check_answer_keys(answers)
    with pytest.raises(ValueError) as caught:
        copier.run_copy(
            str(Path(__file__).resolve().parent.parent),
            str(tmp_path / "project"),
            data=answers,
            defaults=True,
            vcs_ref="HEAD",
            unsafe=False,
            skip_tasks=True,
            quiet=True,
        )
    message = str(caught.value)
    assert f"'{question}'" in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    if question in CHOICE_QUESTIONS:
        # Says what is allowed: every valid value.
        for value in choice_values(question):
            assert repr(value) in message, f"{value!r} not listed in {message!r}"
    assert not any((tmp_path / "project").rglob("*.py")), "a rejected answer rendered files"


PROJECT_NAMES = {
    "My Digits-Project 2": "my_digits_project_2",
    "digits classifier": "digits_classifier",
    "  Spaced  Out  ": "spaced_out",
    "2 Fast 2 Furious": "p2_fast_2_furious",
    "__dunder__": "dunder",
    "keras-sequence-project": "keras_sequence_project",
    "Keras Digits": "keras_digits",
    "café.ML": "caf_ml",
    # At most 32 characters, without a trailing underscore where the cut falls.
    "A Very Long Project Name For Digit Classification": "a_very_long_project_name_for_dig",
    "Thirty One Characters Long Name X": "thirty_one_characters_long_name",
}


@pytest.mark.parametrize(("project_name", "package_name"), PROJECT_NAMES.items())
def test_default_package_name_is_valid(tmp_path: Path, project_name: str, package_name: str):
    project = render(tmp_path / "project", project_name=project_name)
    answers = read_answers(project)
    assert answers["package_name"] == package_name
    assert package_name.isidentifier() and not keyword.iskeyword(package_name)
    assert (project / "src" / package_name / "__init__.py").is_file()


def test_rendering_needs_no_trust_with_skip_tasks(default_project: Path) -> None:
    # default_project was rendered with unsafe=False and skip_tasks=True, as a careful user
    # can. Extensions and external data would demand --trust even then: none are used.
    assert (default_project / "pyproject.toml").is_file()
    config = copier_config()
    for setting in ("_jinja_extensions", "_external_data"):
        assert not config.get(setting), f"{setting} in copier.yml makes copier require --trust"


def test_misspelled_variables_fail_rendering() -> None:
    undefined = (copier_config().get("_envops") or {}).get("undefined", "")
    assert undefined.endswith("StrictUndefined")


def test_the_reserved_package_names_hold_every_derived_name() -> None:
    """copier.yml refuses the names questions/reserved_package_names.jinja lists: every name
    tests/reserved_names.py derives from the standard library, the dependencies installed
    here and the template's imports must be among them."""
    listed = reserved_names.listed_names()
    missing = sorted(set(reserved_names.derived_names()) - set(listed))
    assert not missing, f"run python -m tests.reserved_names --write; missing: {missing}"
    assert {"keras", "numpy", "secrets", "optree", "sample_data", "tests"} <= set(listed)


# Answers under which every int and bool question is asked: images, then features sequences
# (num_features, max_length), then token sequences (vocab_size) with regression (num_targets).
ASKING_EVERY_TYPED_QUESTION = (
    {"data_type": "images"},
    {"data_type": "sequences", "sequence_input": "features"},
    {"data_type": "sequences", "label_format": "regression"},
)
# Copier would cast each of these silently (int(1.5) == 1, bool("nope") is True).
WRONG_TYPE = {"int": [1.5, True, 64.0], "bool": ["nope", 2, 0.5]}


def typed_questions() -> dict[str, str]:
    return {
        name: spec["type"]
        for name, spec in questions().items()
        if spec.get("type") in WRONG_TYPE and name in answerable_questions()
    }


def wrong_type_answers() -> list[tuple[str, Any]]:
    """Each int and bool question with one wrong value, the values taken in turn."""
    typed = sorted(typed_questions().items())
    return [
        (name, WRONG_TYPE[kind][index % len(WRONG_TYPE[kind])])
        for index, (name, kind) in enumerate(typed)
    ]


@pytest.mark.parametrize(("question", "value"), wrong_type_answers())
def test_an_answer_of_the_wrong_type_is_refused_not_cast(
    tmp_path: Path, question: str, value: Any
) -> None:
    """Every int and bool question, derived from copier.yml: a new one without the check
    (questions/answer_types.jinja) fails here."""
    base = next(base for base in ASKING_EVERY_TYPED_QUESTION if applies(question, base))
    with pytest.raises(ValueError) as caught:
        copier.run_copy(
            str(Path(__file__).resolve().parent.parent),
            str(tmp_path / "project"),
            data={**base, question: value},
            defaults=True,
            vcs_ref="HEAD",
            skip_tasks=True,
            quiet=True,
        )
    wanted = "a whole number" if typed_questions()[question] == "int" else "true or false"
    message = str(caught.value)
    assert f"'{question}': {question} must be {wanted}, got" in message, message
    assert not any((tmp_path / "project").rglob("*.py"))


def test_answers_given_as_text_are_still_read_as_their_type(tmp_path: Path) -> None:
    """--data on the command line gives every answer as text: those stay accepted."""
    project = render(
        tmp_path / "project", batch_size="16", augmentation="yes", predict="false", num_classes="3"
    )
    answers = read_answers(project)
    assert (answers["batch_size"], answers["augmentation"], answers["predict"]) == (16, True, False)
    assert answers["num_classes"] == 3
