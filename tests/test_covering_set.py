"""The covering set: every pair of answer values is rendered in at least one project, and
each of those projects passes its own lint and its own generated test suite."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests import covering, helpers
from tests.conftest import Rendered, SlotLine, SuiteRunner, assert_suite_passed
from tests.helpers import (
    COUNT_EDGES,
    IMAGE_SIZES,
    answers_id,
    applies,
    check_answer_keys,
    choice_values,
    sequence_sizes,
)

COVERING_SET = covering.covering_set()


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


def test_every_image_size_and_each_colour_mode_with_each_background_are_covered() -> None:
    if "images" not in choice_values("data_type"):
        pytest.skip("no images data type")
    images = [x for x in COVERING_SET if x["data_type"] == "images"]
    assert {(x["image_height"], x["image_width"]) for x in images} == set(IMAGE_SIZES)
    assert {(x["color_mode"], x["image_background"]) for x in images} == set(
        itertools.product(choice_values("color_mode"), choice_values("image_background"))
    )


def test_every_sequence_size_is_covered() -> None:
    if "sequences" not in choice_values("data_type"):
        pytest.skip("no sequences data type")
    for sequence_input in choice_values("sequence_input"):
        question, sizes = sequence_sizes({"sequence_input": sequence_input})
        seen = {
            (x[question], x["max_length"])
            for x in COVERING_SET
            if x.get("sequence_input") == sequence_input
        }
        assert seen == set(sizes), (sequence_input, seen)


def test_covering_set_is_valid_small_and_deterministic() -> None:
    for answers in COVERING_SET:
        check_answer_keys(answers)
        for name, values in covering.factors().items():
            # A question copier does not ask for these answers (color_mode for arrays) is absent.
            assert name in answers or not applies(name, answers)
            assert name not in answers or answers[name] in values
    # Each label format in arrays, in images and in each sequence input: the least any
    # covering set can have; the size edges and the other pairs may cost a few more.
    labels = len(choice_values("label_format"))
    least = labels * (len(choice_values("sequence_input")) + 2)
    assert least <= len(COVERING_SET) <= least + 6
    assert len({answers_id(x) for x in COVERING_SET}) == len(COVERING_SET)
    covering._covering_set.cache_clear()
    assert covering.covering_set() == COVERING_SET


def test_each_data_type_stops_and_resumes_train_in_one_suite() -> None:
    chosen = [x for x in COVERING_SET if answers_id(x) in covering.resume_suites(COVERING_SET)]
    assert sorted(x["data_type"] for x in chosen) == sorted(choice_values("data_type"))
    # Each backend resumes in one of them: what a backup holds differs between backends.
    assert sorted(x["backend"] for x in chosen) == sorted(choice_values("backend"))
    assert all(x["augmentation"] for x in chosen)
    assert len({x["label_format"] for x in chosen}) >= 2


def test_the_pair_check_notices_missing_projects() -> None:
    assert covering.uncovered_pairs([]) == covering.required_pairs()
    # Every project is needed: without any one of them some pair goes uncovered.
    for index in range(len(COVERING_SET)):
        assert covering.uncovered_pairs(COVERING_SET[:index] + COVERING_SET[index + 1 :]), index


# A process that ignores SIGTERM, with a child that ignores it too: a hung suite at its worst.
HANGING = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                          "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("child", child.pid, flush=True)
time.sleep(600)
"""


def ends_soon(pid: int, seconds: float = 5) -> bool:
    """Whether process `pid` ends within `seconds` (a zombie not yet reaped has ended): a
    killed process closes its files, and so the pipes, a moment before it is a zombie."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_hung_suite_is_killed_with_its_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helpers, "KILL_GRACE_SECONDS", 1)
    with pytest.raises(helpers.Hung, match="hung: killed with its process group") as raised:
        helpers.run_bounded([sys.executable, "-c", HANGING], timeout=2)
    # The message shows the output so far; the child, SIGTERM ignored, is gone too.
    assert "child " in str(raised.value)
    child = int(raised.value.stdout.split()[1])
    assert ends_soon(child)
    # Forgotten as running (the covering suites may be running beside it, in the set too).
    assert not [process for process in list(helpers._RUNNING) if HANGING in process.args]


@pytest.mark.skipif(
    helpers.cpu_slots(2) == [(), ()], reason="needs 2 CPUs and Linux's taskset to pin suites"
)
def test_suites_running_at_once_are_pinned_to_disjoint_cpus() -> None:
    slots = helpers.cpu_slots(2)
    assert all(slots) and not set(slots[0]) & set(slots[1])
    assert set(slots[0]) | set(slots[1]) <= set(helpers.SESSION_CPUS)
    for slot in slots:
        seen = helpers.run_bounded(
            [*helpers.pinned_to(slot), sys.executable, "-c",
             "import os; print(sorted(os.sched_getaffinity(0)))"],
            timeout=60,
        )  # fmt: skip
        assert seen.stdout.strip() == str(list(slot)), seen.stderr


def take_in_thread(line: SlotLine, ticket: int, taken: list[int]) -> threading.Thread:
    """Start a thread that waits for `ticket`'s turn, notes it in `taken` and holds its
    slot (a daemon: one left waiting by a failed test does not keep the session alive)."""

    def take() -> None:
        line.take(ticket)
        taken.append(ticket)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return thread


def test_a_freed_slot_goes_to_the_suite_queued_first() -> None:
    line = SlotLine([(0,), (1,)])
    first, second, third, fourth = (line.ticket() for _ in range(4))
    taken: list[int] = []
    # The third and fourth are asked for first, while both slots are free: they wait.
    late = [take_in_thread(line, ticket, taken) for ticket in (fourth, third)]
    time.sleep(0.2)
    assert taken == []
    held = line.take(first)
    waiting = take_in_thread(line, second, taken)
    waiting.join(timeout=10)
    assert taken == [second]
    # The one that gives a slot back cannot take it again ahead of the line: the third
    # gets it (as a plain queue did not: a long suite queued second began last).
    line.give_back(held)
    late[1].join(timeout=10)
    assert taken == [second, third] and late[0].is_alive()
    line.give_back((1,))
    late[0].join(timeout=10)
    assert taken == [second, third, fourth]


def test_a_cancelled_suite_leaves_the_line() -> None:
    line = SlotLine([()])
    cancelled, after = line.ticket(), line.ticket()
    taken: list[int] = []
    waiting = take_in_thread(line, after, taken)
    line.skip(cancelled)
    waiting.join(timeout=10)
    assert taken == [after]


@pytest.mark.slow
@pytest.mark.parametrize("covering_answers", COVERING_SET, ids=answers_id)
def test_rendered_project_passes_its_own_checks(
    covering_projects: tuple[dict[str, Rendered], SuiteRunner],
    covering_answers: dict[str, Any],
) -> None:
    """Its duration is reported (the summary at the end of the run), not asserted: a loaded
    machine makes any limit flaky. Only a hang fails it (runner.result raises Hung)."""
    projects, runner = covering_projects
    key = answers_id(covering_answers)
    project = projects[key].path
    assert_suite_passed(key, project, runner.result(key), f"rendered suite failed in {project}")
