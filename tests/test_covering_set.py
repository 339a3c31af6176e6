"""The covering set: every pair of answer values is rendered in at least one project, and
each of those projects passes its own lint and its own generated test suite."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests import covering
from tests.conftest import Rendered, SuiteRunner
from tests.helpers import (
    COUNT_EDGES,
    IMAGE_SIZES,
    SEQUENCE_SIZES,
    answers_id,
    applies,
    check_answer_keys,
    choice_values,
    run_ruff,
    tail,
)

COVERING_SET = covering.covering_set()
# A rendered suite is meant to take under 60 s on 2 cores; fail well past that (two suites
# sharing the cores take longer each), so that a slow test is noticed.
SUITE_SECONDS_LIMIT = float(os.environ.get("KST_SUITE_SECONDS_LIMIT", "180"))


def test_every_pair_of_answer_values_is_covered() -> None:
    assert covering.uncovered_pairs(COVERING_SET) == set()
    # The pairs cover what the spec names: each value of each factor against each other's.
    factors = covering.factors()
    assert {"data_type", "label_format", "remainder", "augmentation", "predict"} <= set(factors)
    for answers in COVERING_SET:
        covered = covering.pairs_of(answers)
        assert covered  # each project contributes pairs
    for a in ("label_format", "remainder", "augmentation", "predict", "data_type", "batch_size"):
        for b in ("label_format", "remainder", "augmentation", "predict", "data_type"):
            if a == b:
                continue
            seen = {(x[a], x[b]) for x in COVERING_SET}
            for va in factors[a]:
                for vb in factors[b]:
                    assert (va, vb) in seen, f"{a}={va!r} never with {b}={vb!r}"


def test_every_count_edge_is_covered() -> None:
    for label_format, (question, edges) in COUNT_EDGES.items():
        if label_format not in choice_values("label_format"):
            continue
        seen = {x[question] for x in COVERING_SET if x["label_format"] == label_format}
        assert seen == set(edges), (label_format, question, seen)


def test_every_image_size_is_covered_in_each_colour_mode() -> None:
    if "images" not in choice_values("data_type"):
        pytest.skip("no images data type")
    for color_mode in choice_values("color_mode"):
        seen = {
            (x["image_height"], x["image_width"])
            for x in COVERING_SET
            if x.get("color_mode") == color_mode
        }
        assert seen == set(IMAGE_SIZES), (color_mode, seen)


def test_every_sequence_size_is_covered() -> None:
    if "sequences" not in choice_values("data_type"):
        pytest.skip("no sequences data type")
    seen = {
        (x["vocab_size"], x["max_length"]) for x in COVERING_SET if x["data_type"] == "sequences"
    }
    assert seen == set(SEQUENCE_SIZES), seen


def test_covering_set_is_valid_small_and_deterministic() -> None:
    for answers in COVERING_SET:
        check_answer_keys(answers)
        for name, values in covering.factors().items():
            # A question copier does not ask for these answers (color_mode for arrays) is absent.
            assert name in answers or not applies(name, answers)
            assert name not in answers or answers[name] in values
    # 4 label formats x 4 remainder policies is the least any covering set can have; the
    # size edges of images and sequences cost a few more.
    least = len(choice_values("label_format")) * len(choice_values("remainder"))
    assert least <= len(COVERING_SET) <= least + 6
    assert len({answers_id(x) for x in COVERING_SET}) == len(COVERING_SET)
    covering._covering_set.cache_clear()
    assert covering.covering_set() == COVERING_SET


def test_the_pair_check_notices_missing_projects() -> None:
    assert covering.uncovered_pairs([]) == covering.required_pairs()
    # Every project is needed: without any one of them some pair goes uncovered.
    for index in range(len(COVERING_SET)):
        assert covering.uncovered_pairs(COVERING_SET[:index] + COVERING_SET[index + 1 :]), index


@pytest.mark.slow
@pytest.mark.parametrize("covering_answers", COVERING_SET, ids=answers_id)
def test_rendered_project_passes_its_own_checks(
    covering_projects: tuple[dict[str, Rendered], SuiteRunner],
    covering_answers: dict[str, Any],
    record_property: Any,
) -> None:
    projects, runner = covering_projects
    key = answers_id(covering_answers)
    project = projects[key].path

    result = runner.result(key)
    record_property("suite_seconds", round(result.seconds, 1))
    print(f"{key}: rendered suite exit {result.returncode} in {result.seconds:.1f} s")
    stdout, stderr = tail(result.stdout), tail(result.stderr, 30)
    output = f"--- stdout (tail)\n{stdout}\n--- stderr (tail)\n{stderr}"

    lint = run_ruff(project, "check")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert result.returncode != 5, f"the rendered suite collected no test\n{output}"
    assert result.returncode == 0, f"rendered suite failed in {project}\n{output}"
    assert " passed" in result.stdout, output
    assert result.seconds < SUITE_SECONDS_LIMIT, (
        f"rendered suite took {result.seconds:.0f} s (limit {SUITE_SECONDS_LIMIT:.0f} s)\n{output}"
    )
