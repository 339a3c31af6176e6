"""Session fixtures: every project is rendered once per test session, and the rendered
projects' own suites run in a pool, KST_SUITE_JOBS at a time: default 2 on a machine with
2 cores or more (each suite is mostly one busy thread: TensorFlow's import, small models),
each pinned to its share of the CPUs (helpers.pinned_to says why).
The pool starts before the session's first test, so the suites run while the other tests
run here (_start_covering_suites); those tests count as one of the KST_SUITE_JOBS, on a
share of the CPUs of their own, until the first test that waits for a suite
(SuiteRunner.hold_for_session). A test module that is the same in several projects runs
in one of them (tests/shared_modules.py).
Their durations are reported at the end of the run, slowest first (pytest_terminal_summary),
never asserted: only a hang fails them (helpers.SUITE_HANG_SECONDS)."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import shared_modules
from tests.covering import covering_set, resume_suites
from tests.helpers import (
    SESSION_CPUS,
    Hung,
    all_combinations,
    answers_id,
    cpu_slots,
    kill_running,
    render,
    render_all,
    render_many,
    render_processes,
    run_rendered_suite,
    run_ruff,
    tail,
)
from tests.versions import sandbox


@dataclass(frozen=True)
class Rendered:
    answers: dict[str, Any]
    path: Path

    @property
    def id(self) -> str:
        return answers_id(self.answers)


@pytest.fixture(scope="session")
def all_rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Every combination of the choice and bool answers, rendered once (about 0.4 s each,
    in KST_RENDER_JOBS processes: default the number of cores, at most 4)."""
    root = tmp_path_factory.mktemp("all")
    combinations = {answers_id(answers): answers for answers in all_combinations()}
    render_all([(root / key, answers) for key, answers in combinations.items()], render_processes())
    return {key: Rendered(answers, root / key) for key, answers in combinations.items()}


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project rendered with every answer at its default."""
    return render(tmp_path_factory.mktemp("default") / "project")


def suite_jobs() -> int:
    return int(os.environ.get("KST_SUITE_JOBS", str(min(2, os.cpu_count() or 1))))


@dataclass
class SuiteResult:
    returncode: int | None  # None: it hung and was killed
    stdout: str
    stderr: str
    seconds: float
    began: float = 0.0  # seconds after the first suite was queued that it got its slot

    @property
    def status(self) -> str:
        if self.returncode is None:
            return "hung"
        # Negative: killed by a signal, at the end of an interrupted session (close).
        return "killed" if self.returncode < 0 else f"exit {self.returncode}"


class SlotLine:
    """CPU slots handed out first come, first served: a slot freed goes to the suite that
    was queued first, not to whichever thread asks next. With a plain queue the thread that
    gave a slot back took it again for its next suite before the longest-waiting thread
    woke, so a long suite queued second began last (+1,639 s in a CI run)."""

    def __init__(self, slots: list[tuple[int, ...]]) -> None:
        self._free = deque(slots)
        self._issued = 0  # tickets handed out, in queue order
        self._serving = 0  # the ticket whose turn it is to take the next free slot
        self._skipped: set[int] = set()  # tickets of suites cancelled before their turn
        self._changed = threading.Condition()

    def ticket(self) -> int:
        """A place in line, taken when a suite is queued."""
        with self._changed:
            self._issued += 1
            return self._issued - 1

    def take(self, ticket: int) -> tuple[int, ...]:
        """Wait until every earlier ticket has its slot and one is free, then take it."""
        with self._changed:
            self._changed.wait_for(lambda: self._serving == ticket and bool(self._free))
            self._next_turn()
            return self._free.popleft()

    def skip(self, ticket: int) -> None:
        """Leave the line: the suite holding `ticket` was cancelled and will never take."""
        with self._changed:
            self._skipped.add(ticket)
            if self._serving == ticket:
                self._next_turn()

    def _next_turn(self) -> None:
        self._serving += 1
        while self._serving in self._skipped:
            self._serving += 1
        self._changed.notify_all()

    def give_back(self, slot: tuple[int, ...]) -> None:
        with self._changed:
            self._free.append(slot)
            self._changed.notify_all()


class SuiteRunner:
    """Runs rendered projects' suites in a thread pool of subprocesses, so that with
    KST_SUITE_JOBS=2 two suites run at once while the tests wait on them in order."""

    def __init__(self, jobs: int, pythonpath: tuple[Path, ...] = ()) -> None:
        self.jobs = jobs
        # Ahead of the installed packages in every suite (helpers.rendered_suite_env).
        self.pythonpath = pythonpath
        self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="suite")
        # The CPUs of each suite running (helpers.cpu_slots), taken and given back by _run.
        self.cpu_slots = SlotLine(cpu_slots(jobs))
        self.futures: dict[str, Future[SuiteResult]] = {}
        # Each suite's place in line for a slot (SlotLine.ticket), by key.
        self.tickets: dict[str, int] = {}
        # Every suite that ended (hung ones included), by key, for the summary.
        self.results: dict[str, SuiteResult] = {}
        self.started: float | None = None
        self.finished = 0.0
        # The shared test modules each suite leaves out (tests/shared_modules.py), by key.
        self.ignored: dict[str, list[str]] = {}
        # The slot the session's own tests hold (hold_for_session); None when they hold none.
        self.session_slot: tuple[int, ...] | None = None

    def hold_for_session(self) -> None:
        """Keep one slot, and pin this thread (the session's tests and whatever they start)
        to its CPUs, until release_session. Those tests render, install and run the
        benchmarks' smoke run: beside two suites on 2 cores, three busy processes shared
        two, and the backends' compute threads spin-waited (a JAX suite took 112 s pinned
        beside one other suite, 214 s in CI with the session's tests unpinned beside it)."""
        self.session_slot = self.cpu_slots.take(self.cpu_slots.ticket())
        if self.session_slot:
            os.sched_setaffinity(0, self.session_slot)

    def release_session(self) -> None:
        """Give the session's slot to the suites: its tests now only wait for them."""
        if self.session_slot is None:
            return
        if self.session_slot:
            os.sched_setaffinity(0, SESSION_CPUS)
        self.cpu_slots.give_back(self.session_slot)
        self.session_slot = None

    def submit(
        self,
        key: str,
        project: Path,
        ignore: list[str] | None = None,
        *,
        resume: bool = True,
        distributed: bool | None = None,
    ) -> None:
        """Queue the suite of `project`, less the test modules in `ignore`, the tests marked
        `resume` unless `resume`, and those marked `distributed` unless `distributed` (by
        default, as `resume`)."""
        if key not in self.futures:
            self.started = self.started or time.perf_counter()
            self.ignored[key] = list(ignore or [])
            self.tickets[key] = self.cpu_slots.ticket()
            self.futures[key] = self.pool.submit(
                self._run, key, project, resume, distributed, self.tickets[key]
            )

    def result(self, key: str) -> SuiteResult:
        """The suite's result; raises Hung (a test failure with its output) if it hung."""
        return self.futures[key].result()

    def _run(
        self, key: str, project: Path, resume: bool, distributed: bool | None, ticket: int
    ) -> SuiteResult:
        cpus = self.cpu_slots.take(ticket)
        start = time.perf_counter()  # its run time, not its wait for a slot
        try:
            done = run_rendered_suite(
                project,
                ignore=self.ignored[key],
                resume=resume,
                distributed=distributed,
                cpus=cpus,
                pythonpath=self.pythonpath,
            )
        except Hung as hung:
            self.results[key] = SuiteResult(
                None, hung.stdout, hung.stderr, time.perf_counter() - start, self._began(start)
            )
            raise
        finally:
            self.cpu_slots.give_back(cpus)
            self.finished = time.perf_counter()
        result = SuiteResult(
            done.returncode, done.stdout, done.stderr, self.finished - start, self._began(start)
        )
        self.results[key] = result
        return result

    def _began(self, start: float) -> float:
        return start - (self.started or start)

    def close(self) -> None:
        self.release_session()
        for key, future in self.futures.items():
            if future.cancel():
                self.cpu_slots.skip(self.tickets[key])
        # Suites still running have no test left to wait for them (an interrupted or -x run).
        kill_running()
        self.pool.shutdown(wait=True)


def assert_suite_passed(key: str, project: Path, result: SuiteResult, failed: str) -> None:
    """The rendered project is ruff-clean and its suite, run by a SuiteRunner, collected tests
    and passed; else the failure says `failed` with the tail of the suite's output."""
    print(f"{key}: rendered suite exit {result.returncode} in {result.seconds:.1f} s")
    stdout, stderr = tail(result.stdout), tail(result.stderr, 30)
    output = f"--- stdout (tail)\n{stdout}\n--- stderr (tail)\n{stderr}"
    lint = run_ruff(project, "check")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert result.returncode != 5, f"the rendered suite collected no test\n{output}"
    assert result.returncode == 0, f"{failed}\n{output}"
    assert " passed" in result.stdout, output


# The session's SuiteRunner, for the summary.
SUITE_RUNNER = pytest.StashKey[SuiteRunner]()


def _is_covering_suite_test(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "covering_answers" in callspec.params


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """The tests that wait for the covering suites go last: the suites start before the
    first test and run in the background, while every other test runs. The tests marked
    `nightly` are deselected unless KST_KERAS_NIGHTLY names keras-nightly's folder
    (tests/test_keras_nightly.py): they need it, and .ci/run runs them on their own."""
    if not os.environ.get("KST_KERAS_NIGHTLY"):
        nightly = [item for item in items if item.get_closest_marker("nightly")]
        if nightly:
            config.hook.pytest_deselected(items=nightly)
            items[:] = [item for item in items if not item.get_closest_marker("nightly")]
    items[:] = sorted(items, key=_is_covering_suite_test)  # stable: the order otherwise


def selected_answer_ids(session: pytest.Session, param: str) -> list[str]:
    """The answers_id of each answer set the session's selected tests take as `param`."""
    ids = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and param in callspec.params:
            ids.append(answers_id(callspec.params[param]))
    return ids


def _selected_covering_ids(session: pytest.Session) -> list[str]:
    return selected_answer_ids(session, "covering_answers")


# Suites queued the longest first, so that the last to end is a short one. Those that also run
# the resume tests first: 356 s for images, 322 s for arrays, 140 s for sequences in a full run
# (2026-12-07, two at a time); then the others: 60-210 s for sequences, 40-115 s for images and
# about 40 s for arrays.
RESUME_ORDER = ("images", "array", "sequences")
DATA_TYPE_ORDER = ("sequences", "images", "array")


def queue_order(projects: dict[str, Rendered], keys: list[str], first: list[str]) -> list[str]:
    """`keys` in the order to queue their suites: those in `first`, then the others, each
    group by data type (RESUME_ORDER, DATA_TYPE_ORDER)."""

    def rank(key: str) -> tuple[bool, int]:
        data_type = projects[key].answers.get("data_type")
        order = RESUME_ORDER if key in first else DATA_TYPE_ORDER
        return key not in first, order.index(data_type) if data_type in order else -1

    return sorted(keys, key=rank)  # stable: the covering set's order otherwise


@pytest.fixture(scope="session")
def covering_projects(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Rendered], SuiteRunner]]:
    """The covering set, rendered; the suites of the projects this session selected are
    started at once (in the pool, the longest first) and each test waits for its own. A
    test module that is the same in several of the selected projects (same code, same
    imports: tests/shared_modules.py) runs in the first of them only."""
    root = tmp_path_factory.mktemp("covering")
    answer_sets = {answers_id(answers): answers for answers in covering_set()}
    render_many([(root / key, answers) for key, answers in answer_sets.items()])
    projects = {key: Rendered(answers, root / key) for key, answers in answer_sets.items()}
    runner = SuiteRunner(suite_jobs())
    request.config.stash[SUITE_RUNNER] = runner
    with_resume = resume_suites(list(answer_sets.values()))
    chosen = [key for key in _selected_covering_ids(request.session) if key in projects]
    selected = queue_order(projects, chosen, first=with_resume)
    # Where the modules shared by several suites run: as before the resume suites went first.
    by_type = queue_order(projects, chosen, first=[])
    left_out = shared_modules.plan({key: projects[key].path for key in by_type})
    if selected and any(not _is_covering_suite_test(item) for item in request.session.items):
        runner.hold_for_session()
    for key in selected:
        runner.submit(key, projects[key].path, left_out[key], resume=key in with_resume)
    try:
        yield projects, runner
    finally:
        runner.close()


@pytest.fixture(scope="session", autouse=True)
def _start_covering_suites(request: pytest.FixtureRequest) -> None:
    """Start the selected covering suites before the session's first test: they are the
    longest part of a run, and run in the background (KST_SUITE_JOBS at a time) while the
    other tests run here."""
    if _selected_covering_ids(request.session):
        request.getfixturevalue("covering_projects")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """At the first test that waits for a suite, the session's tests are done: their slot
    goes to the suites."""
    runner = item.config.stash.get(SUITE_RUNNER, None)
    if runner is not None and _is_covering_suite_test(item):
        runner.release_session()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The rendered suites' run times, slowest first (KST_SUITE_JOBS at a time)."""
    runner = config.stash.get(SUITE_RUNNER, None)
    if runner is None or not runner.results:
        return
    results = sorted(runner.results.items(), key=lambda item: item[1].seconds, reverse=True)
    terminalreporter.section(
        f"rendered suites, slowest first ({runner.jobs} at a time; +N s: when each began)"
    )
    for key, result in results:
        terminalreporter.write_line(
            f"{result.seconds:7.1f} s  {result.status:7}  +{result.began:4.0f} s  {key}"
        )
    total = sum(result.seconds for _, result in results)
    terminalreporter.write_line(f"{total:7.1f} s  summed over {len(results)} suites")
    if runner.started is not None:
        wall = runner.finished - runner.started
        terminalreporter.write_line(f"{wall:7.1f} s  wall clock, first start to last end")
    for module in shared_modules.SHARED_MODULES:
        left_out = [key for key, modules in runner.ignored.items() if module in modules]
        if left_out:
            terminalreporter.write_line(
                f"{module} left out of {len(left_out)} suites: the same code as in a suite "
                "that ran it (tests/shared_modules.py)"
            )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A git and copier sandbox with an identity (tests/versions.py), for a whole module."""
    path = tmp_path_factory.mktemp("home")
    with sandbox(path):
        yield path
