"""A covering set of answers: every pair of answer values appears in at least one project.

A small deterministic greedy all-pairs generator (no dependency): the candidates are all
valid answer combinations, enumerated in a fixed order; each step takes the first candidate
whose pairs not yet covered weigh the most, until none is left. A pair weighs the square of
the product of its two factors' numbers of values: pairs of the factors with many values are
the hardest to fit, so placing them first (AETG-style) keeps the set near the least possible
size (4 label formats x 5 kinds of data: arrays, images, and sequences of token ids, text
or features = 20; the square gives 21 where the plain product gave 23). The pairs required
are

* every pair of values of two different factors that copier asks together: the questions
  with choices and the bools of copier.yml (data_type, label_format, remainder,
  augmentation, predict, backend) and batch_size over its edge values;
* every value of each build question (tensorflow_build, jax_build, torch_build: they change
  a dependency line, never code), once, not paired;
* every label format with each edge value of its count (num_classes for sparse, onehot and
  multilabel; num_targets for regression), since the allowed counts depend on the format;
* every edge image size (height, width), once, and every colour mode with each image
  background, for images: they set constants the image reader reads (VALUE_QUESTIONS, and
  the sizes' numbers), so they are not paired with the other answers;
* each edge sequence size with each sequence input: (vocab_size, max_length) for token ids
  and text, (num_features, max_length) for features, which have no vocabulary.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from tests.helpers import (
    BATCH_SIZES,
    BUILD_QUESTIONS,
    COUNT_EDGES,
    FEATURE_SIZES,
    IMAGE_SIZES,
    SEQUENCE_SIZES,
    VALUE_QUESTIONS,
    answers_id,
    applies,
    choice_questions,
    choice_values,
    drop_unasked,
    sequence_sizes,
    value_combinations,
)

Pair = frozenset[tuple[str, Any]]
# An image size is one value of the pseudo-question "image_size", expanded when rendering.
IMAGE_SIZE = "image_size"
# Likewise a sequence size, (vocab_size or num_features, max_length): helpers.sequence_sizes.
SEQUENCE_SIZE = "sequence_size"


def factors() -> dict[str, list[Any]]:
    """The factors whose values are paired with each other, in copier.yml order."""
    result = {
        name: choice_values(name)
        for name in choice_questions()
        if name not in {*BUILD_QUESTIONS, *VALUE_QUESTIONS}
    }
    result["batch_size"] = list(BATCH_SIZES)
    return result


def _edge_pairs(answers: Mapping[str, Any]) -> set[Pair]:
    """The edge pairs a (collapsed) answer set holds: label format with count, image size
    alone, colour mode with image background, sequence input with sequence size."""
    pairs = set()

    def pair(first: str, second: str) -> Pair:
        return frozenset({(first, answers[first]), (second, answers[second])})

    if "label_format" in answers:
        pairs.add(pair("label_format", COUNT_EDGES[answers["label_format"]][0]))
    if IMAGE_SIZE in answers:
        pairs.add(frozenset({(IMAGE_SIZE, answers[IMAGE_SIZE])}))
        pairs.add(pair("color_mode", "image_background"))
    if SEQUENCE_SIZE in answers:
        pairs.add(pair("sequence_input", SEQUENCE_SIZE))
    # A build value or an image size alone: a "pair" of one element.
    pairs.update(frozenset({(name, answers[name])}) for name in BUILD_QUESTIONS if name in answers)
    return pairs


@cache
def _factor_names() -> frozenset[str]:
    return frozenset(factors())


def _factor_pairs(answers: Mapping[str, Any]) -> set[Pair]:
    names = _factor_names()
    items = [(name, value) for name, value in answers.items() if name in names]
    return {frozenset({x, y}) for x, y in itertools.combinations(items, 2)}


def _collapse(answers: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(answers)
    if "image_height" in result:
        result[IMAGE_SIZE] = (result.pop("image_height"), result.pop("image_width"))
    if "max_length" in result:
        question, _ = sequence_sizes(result)
        result[SEQUENCE_SIZE] = (result.pop(question), result.pop("max_length"))
    return result


def _expand(answers: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(answers)
    if IMAGE_SIZE in result:
        result["image_height"], result["image_width"] = result.pop(IMAGE_SIZE)
    if SEQUENCE_SIZE in result:
        question, _ = sequence_sizes(result)
        result[question], result["max_length"] = result.pop(SEQUENCE_SIZE)
    return result


@cache
def candidates() -> tuple[tuple[tuple[str, Any], ...], ...]:
    """Every valid combination (collapsed): factors copier asks together, each value of the
    backend's build question and each combination of the image values, then each count edge
    of the label format and each image or sequence size where they apply."""
    found: dict[tuple[tuple[str, Any], ...], None] = {}
    names = list(factors())
    for values in itertools.product(*factors().values()):
        unbuilt = drop_unasked(dict(zip(names, values, strict=True)))
        build_questions = [name for name in BUILD_QUESTIONS if applies(name, unbuilt)]
        for builds in itertools.product(*(choice_values(name) for name in build_questions)):
            built = {**unbuilt, **dict(zip(build_questions, builds, strict=True))}
            for values in value_combinations(built):
                _add_sized(found, {**built, **values})
    return tuple(found)


def _add_sized(found: dict[tuple[tuple[str, Any], ...], None], base: dict[str, Any]) -> None:
    """Add `base` to `found` with each count edge and image or sequence size it takes."""
    question, counts = COUNT_EDGES[base["label_format"]]
    size_question, sizes = {
        "images": (IMAGE_SIZE, IMAGE_SIZES),
        "sequences": (SEQUENCE_SIZE, sequence_sizes(base)[1]),
    }.get(base["data_type"], (None, (None,)))
    for count, size in itertools.product(counts, sizes):
        answers = {**base, question: count}
        if size_question is not None:
            answers[size_question] = size
        found[tuple(answers.items())] = None


def pairs_of(answers: Mapping[str, Any]) -> set[Pair]:
    """The required pairs one project covers."""
    collapsed = _collapse(answers)
    return _factor_pairs(collapsed) | _edge_pairs(collapsed)


@cache
def _candidate_pairs() -> tuple[tuple[tuple[tuple[str, Any], ...], frozenset[Pair]], ...]:
    """Each candidate with the required pairs it covers."""
    return tuple((items, frozenset(pairs_of(_expand(dict(items))))) for items in candidates())


@cache
def _required_pairs() -> frozenset[Pair]:
    return frozenset(pair for _, pairs in _candidate_pairs() for pair in pairs)


def required_pairs() -> set[Pair]:
    """All pairs a covering set must contain (see the module docstring)."""
    return set(_required_pairs())


def _weights() -> dict[Pair, int]:
    sizes = {name: len(values) for name, values in factors().items()}
    sizes.update((name, len(choice_values(name))) for name in VALUE_QUESTIONS)
    for question, counts in COUNT_EDGES.values():
        sizes[question] = max(sizes.get(question, 0), len(counts))
    sizes[IMAGE_SIZE] = len(IMAGE_SIZES)
    sizes[SEQUENCE_SIZE] = max(len(SEQUENCE_SIZES), len(FEATURE_SIZES))
    weights = {}
    for pair in _required_pairs():
        if len(pair) == 1:  # a build value or image size: any project of its kind takes it
            weights[pair] = 1
            continue
        (a, _), (b, _) = pair
        weights[pair] = (sizes[a] * sizes[b]) ** 2
    return weights


@cache
def _covering_set() -> tuple[tuple[tuple[str, Any], ...], ...]:
    weights = _weights()
    uncovered = required_pairs()
    pool = _candidate_pairs()
    chosen = []
    while uncovered:
        best, best_gain = None, 0
        for items, pairs in pool:
            gain = sum(weights[pair] for pair in pairs & uncovered)
            if gain > best_gain:
                best, best_gain = items, gain
        if best is None:  # pragma: no cover - every required pair has a candidate
            raise AssertionError(f"no candidate covers {sorted(map(sorted, uncovered))[:5]}")
        chosen.append(tuple(_expand(dict(best)).items()))
        uncovered -= pairs_of(_expand(dict(best)))
    # An early pick can end up covered by later ones: drop such projects, earliest first.
    for items in list(chosen):
        others = [pairs_of(dict(other)) for other in chosen if other is not items]
        if not pairs_of(dict(items)) - set().union(*others):
            chosen.remove(items)
    return tuple(chosen)


def covering_set() -> list[dict[str, Any]]:
    """The covering set: a list of answer dicts (fresh copies), deterministic."""
    return [dict(items) for items in _covering_set()]


def uncovered_pairs(answer_sets: Iterable[Mapping[str, Any]]) -> set[Pair]:
    covered: set[Pair] = set()
    for answers in answer_sets:
        covered |= pairs_of(answers)
    return required_pairs() - covered


def resume_suites(answer_sets: Iterable[Mapping[str, Any]]) -> list[str]:
    """The projects whose suites also run the tests marked `resume` (whole train runs,
    stopped and resumed, some killed in processes of their own: minutes a suite); the
    others deselect them. One per data type, with as many backends, then projects with
    augmentation, then label formats among them as the set allows (the first such choice in
    set order):
    those tests run train as a whole, and what the other answers change in it (loader, head)
    the in-process tests check in every suite."""
    projects = list(answer_sets)
    by_type = [
        [answers for answers in projects if answers["data_type"] == data_type]
        for data_type in dict.fromkeys(answers["data_type"] for answers in projects)
    ]

    def merit(choice: tuple[Mapping[str, Any], ...]) -> tuple[int, int, int]:
        return (
            len({answers["backend"] for answers in choice}),
            sum(bool(answers.get("augmentation")) for answers in choice),
            len({answers["label_format"] for answers in choice}),
        )

    best = max(itertools.product(*by_type), key=merit)  # max keeps the first of equals
    return [answers_id(answers) for answers in best]
