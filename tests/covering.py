"""A covering set of answers: every pair of answer values appears in at least one project.

A small deterministic greedy all-pairs generator (no dependency): the candidates are all
valid answer combinations, enumerated in a fixed order; each step takes the first candidate
whose pairs not yet covered weigh the most, until none is left. A pair weighs the product of
its two factors' numbers of values: pairs of the factors with many values are the hardest to
fit, so placing them first (AETG-style) gives 16 projects where plain counting gives 19, and
16 = 4 label formats x 4 remainder policies is the least possible. The pairs required are

* every pair of values of two different factors: the questions with choices and the bools
  of copier.yml (data_type, label_format, remainder, augmentation, predict,
  tensorflow_requirement) and batch_size over its edge values;
* every label format with each edge value of its count (num_classes for sparse, onehot and
  multilabel; num_targets for regression), since the allowed counts depend on the format.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from tests.helpers import BATCH_SIZES, COUNT_EDGES, choice_questions, choice_values

Pair = frozenset[tuple[str, Any]]


def factors() -> dict[str, list[Any]]:
    """The factors whose values are paired with each other, in copier.yml order."""
    result = {name: choice_values(name) for name in choice_questions()}
    result["batch_size"] = list(BATCH_SIZES)
    return result


def _count_question(label_format: str) -> str:
    return COUNT_EDGES[label_format][0]


def required_pairs() -> set[Pair]:
    """All pairs a covering set must contain (see the module docstring)."""
    pairs: set[Pair] = set()
    for (a, a_values), (b, b_values) in itertools.combinations(factors().items(), 2):
        for va, vb in itertools.product(a_values, b_values):
            pairs.add(frozenset({(a, va), (b, vb)}))
    for label_format in factors()["label_format"]:
        question, counts = COUNT_EDGES[label_format]
        for count in counts:
            pairs.add(frozenset({("label_format", label_format), (question, count)}))
    return pairs


def pairs_of(answers: Mapping[str, Any]) -> set[Pair]:
    """The pairs one project covers."""
    items = list(answers.items())
    return {frozenset({x, y}) for x, y in itertools.combinations(items, 2)}


def candidates() -> list[dict[str, Any]]:
    """Every valid combination of the factors and the label format's count values."""
    found = []
    names = list(factors())
    for values in itertools.product(*factors().values()):
        base = dict(zip(names, values, strict=True))
        question, counts = COUNT_EDGES[base["label_format"]]
        for count in counts:
            found.append({**base, question: count})
    return found


def _weights() -> dict[Pair, int]:
    sizes = {name: len(values) for name, values in factors().items()}
    for question, counts in COUNT_EDGES.values():
        sizes[question] = max(sizes.get(question, 0), len(counts))
    weights = {}
    for pair in required_pairs():
        (a, _), (b, _) = pair
        weights[pair] = sizes[a] * sizes[b]
    return weights


@cache
def _covering_set() -> tuple[tuple[tuple[str, Any], ...], ...]:
    weights = _weights()
    uncovered = required_pairs()
    pool = [(answers, pairs_of(answers) & uncovered) for answers in candidates()]
    chosen = []
    while uncovered:
        best, best_gain = None, 0
        for answers, pairs in pool:
            gain = sum(weights[pair] for pair in pairs & uncovered)
            if gain > best_gain:
                best, best_gain = answers, gain
        if best is None:  # pragma: no cover - every required pair has a candidate
            raise AssertionError(f"no candidate covers {sorted(map(sorted, uncovered))[:5]}")
        chosen.append(tuple(best.items()))
        uncovered -= pairs_of(best)
    return tuple(chosen)


def covering_set() -> list[dict[str, Any]]:
    """The covering set: a list of answer dicts (fresh copies), deterministic."""
    return [dict(items) for items in _covering_set()]


def uncovered_pairs(answer_sets: Iterable[Mapping[str, Any]]) -> set[Pair]:
    covered: set[Pair] = set()
    for answers in answer_sets:
        covered |= pairs_of(answers)
    return required_pairs() - covered
