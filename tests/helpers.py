"""Shared helpers of the template's own tests: copier.yml's questions, rendering, answer sets.

Answer sets are built from copier.yml (its choices and bools), so a new choice is tested
without editing the tests; `render` refuses answer keys that are not questions, because
copier (like pytest-copie) would silently ignore a misspelled one.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import copier
import jinja2
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = REPO_ROOT / "copier.yml"
ANSWERS_FILE = ".copier-answers.yml"

# Edge values of the integer questions. Class counts depend on the label format: the least
# the validator allows, a small odd count, and the default; for multilabel a single label and
# a few; for regression one target and a row of them. Batch sizes: 1, a prime that divides
# no test size evenly, and the default.
COUNT_EDGES: dict[str, tuple[str, tuple[int, ...]]] = {
    "sparse": ("num_classes", (2, 3, 10)),
    "onehot": ("num_classes", (2, 3, 10)),
    "multilabel": ("num_classes", (1, 4)),
    "regression": ("num_targets", (1, 3)),
}
BATCH_SIZES = (1, 7, 32)
# The build questions: each names the backend's package (CPU, CUDA, TPU builds) and changes
# only pyproject.toml, the README's install line and the project's CI install step, never code.
# They are varied one value per project (each value in some project), not paired or multiplied
# with the other answers.
BUILD_QUESTIONS = ("tensorflow_build", "jax_build", "torch_build")
BUILD_QUESTIONS_SET = frozenset(BUILD_QUESTIONS)
# The image value questions: each sets one constant of settings.py (COLOR_MODE,
# IMAGE_BACKGROUND) that the image reader reads; neither chooses a file or a block of code.
# The covering set pairs them with each other and colour mode with each image size
# (tests/covering.py); every combination of the other answers takes one pair of their values,
# cycling (all_combinations). They are not multiplied with the other answers.
VALUE_QUESTIONS = ("color_mode", "image_background")
# Image sizes (height, width): the least allowed, the default, and a non-square one.
IMAGE_SIZES = ((8, 8), (32, 32), (64, 48))
# Sequence sizes (vocab_size, max_length): the least allowed, a small pair that cuts the test
# sequences, and the defaults.
SEQUENCE_SIZES = ((3, 2), (50, 16), (10000, 128))
# Feature sequence sizes (num_features, max_length), for sequence_input=features (no
# vocabulary): one feature with the least length, many features with a length that cuts the
# test sequences, and the defaults.
FEATURE_SIZES = ((1, 2), (16, 16), (3, 128))


def sequence_sizes(answers: Mapping[str, Any]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The question sized with max_length in a sequences project, and their edge pairs:
    num_features for features sequences, vocab_size for the others."""
    if answers.get("sequence_input") == "features":
        return "num_features", FEATURE_SIZES
    return "vocab_size", SEQUENCE_SIZES


# --- copier.yml ---------------------------------------------------------------------------


@cache
def copier_config() -> dict[str, Any]:
    return yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))


def user_file_patterns() -> list[str]:
    """The user's files as copier.yml's `_skip_if_exists` names them (those entries without
    Jinja: the others make a plain copy keep every file)."""
    return [p for p in copier_config()["_skip_if_exists"] if "{" not in p and not p.startswith("!")]


def is_users(path: str) -> bool:
    """Whether the project file `path` is the user's (a `_skip_if_exists` pattern matches)."""
    for pattern in user_file_patterns():
        regex = re.escape(pattern.lstrip("/")).replace(r"\*", "[^/]+")
        if re.match(regex, path):
            return True
    return False


@cache
def questions() -> dict[str, dict[str, Any]]:
    """Every question of copier.yml, computed values (`when: false`) included."""
    return {
        name: spec if isinstance(spec, dict) else {"default": spec}
        for name, spec in copier_config().items()
        if not name.startswith("_")
    }


def answerable_questions() -> set[str]:
    """Questions a user (or a test's `data=`) can answer: computed values excluded."""
    return {name for name, spec in questions().items() if spec.get("when") is not False}


def choice_values(question: str) -> list[Any]:
    """The allowed values of a question with choices (or of a bool), in copier.yml order."""
    spec = questions()[question]
    if spec.get("type") == "bool":
        return [False, True]
    choices = spec.get("choices")
    if isinstance(choices, dict):
        return list(choices.values())
    if isinstance(choices, list):
        return [c[1] if isinstance(c, list | tuple) else c for c in choices]
    raise ValueError(f"question {question!r} has no choices in copier.yml")


def choice_questions() -> list[str]:
    """Questions whose every value can be enumerated: those with choices, and the bools."""
    return [
        name
        for name, spec in questions().items()
        if spec.get("when") is not False and ("choices" in spec or spec.get("type") == "bool")
    ]


def check_answer_keys(answers: Mapping[str, Any]) -> None:
    unknown = sorted(set(answers) - answerable_questions())
    if unknown:
        raise AssertionError(
            f"answer keys {unknown} are not questions in copier.yml "
            f"(questions: {sorted(answerable_questions())})"
        )


def type_folder(data_type: str) -> str:
    """The folder of template/ that holds one data type's own files (copier.yml explains it)."""
    return f"{{% if data_type == '{data_type}' %}}.{{% endif %}}"


# --- rendering -----------------------------------------------------------------------------


def render(dest: Path, vcs_ref: str = "HEAD", **answers: Any) -> Path:
    """Render the template's working tree (uncommitted changes included) with `answers`,
    or with `vcs_ref` another of its versions (a tag or commit).

    Unanswered questions take their defaults. Rendered as a careful user would, without
    trusting the template: no --trust (unsafe=False). The working tree has no tasks;
    --skip-tasks is for releases 0.4.0 to 0.10.0 (scripts/compare_release.py), whose
    post-copy hook only made a git repository."""
    check_answer_keys(answers)
    return copy_version(REPO_ROOT, dest, vcs_ref, **answers)


def copy_version(template: Path, dest: Path, version: str, **answers: Any) -> Path:
    """`version` of `template` copied into `dest` as a careful user would: no --trust, so no
    tasks (releases 0.4.0 to 0.10.0 had a post-copy one, which only made a git repository)."""
    copier.run_copy(
        str(template),
        str(dest),
        data=answers,
        defaults=True,
        vcs_ref=version,
        unsafe=False,
        skip_tasks=True,
        quiet=True,
    )
    return dest


def read_answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))


def package_dir(project: Path) -> Path:
    return project / "src" / read_answers(project)["package_name"]


# --- answer sets ---------------------------------------------------------------------------


@cache
def _when_template(when: str) -> jinja2.Template:
    return jinja2.Environment().from_string(when)


def applies(question: str, answers: Mapping[str, Any]) -> bool:
    """Whether copier asks `question` given the other answers (its `when`, rendered)."""
    when = questions()[question].get("when", True)
    if isinstance(when, bool):
        return when
    rendered = _when_template(str(when)).render(**answers).strip()
    return rendered.lower() not in {"", "false", "0", "none", "no"}


def drop_unasked(answers: Mapping[str, Any]) -> dict[str, Any]:
    """`answers` without those of questions copier would not ask for them."""
    return {name: value for name, value in answers.items() if applies(name, answers)}


def with_edges(answers: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Add integer answers, cycling through their edge values by `index`."""
    result = dict(answers)
    if "label_format" in result:
        question, counts = COUNT_EDGES[result["label_format"]]
        result[question] = counts[index % len(counts)]
    if result.get("data_type") == "images":
        result["image_height"], result["image_width"] = IMAGE_SIZES[index % len(IMAGE_SIZES)]
    if result.get("data_type") == "sequences":
        question, sizes = sequence_sizes(result)
        result[question], result["max_length"] = sizes[index % len(sizes)]
    result["batch_size"] = BATCH_SIZES[index % len(BATCH_SIZES)]
    return result


def all_combinations() -> Iterator[dict[str, Any]]:
    """Every combination of the choice and bool questions that copier would ask together
    (copier.yml order), with the integer answers cycling through their edge values, the
    backend's build question (BUILD_QUESTIONS) through its values and the image value
    questions (VALUE_QUESTIONS) through the combinations of theirs."""
    skipped = {*BUILD_QUESTIONS, *VALUE_QUESTIONS}
    names = [name for name in choice_questions() if name not in skipped]
    seen: set[tuple[tuple[str, Any], ...]] = set()
    per_backend: Counter[Any] = Counter()
    per_data_type: Counter[Any] = Counter()
    for values in itertools.product(*(choice_values(n) for n in names)):
        answers = drop_unasked(dict(zip(names, values, strict=True)))
        key = tuple(answers.items())
        if key not in seen:
            seen.add(key)
            per_backend[answers.get("backend")] += 1
            per_data_type[answers["data_type"]] += 1
            answers = with_build(answers, per_backend[answers.get("backend")] - 1)
            answers = with_values(answers, per_data_type[answers["data_type"]] - 1)
            yield with_edges(answers, len(seen) - 1)


def value_combinations(answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each combination of the values of the VALUE_QUESTIONS that apply to `answers`."""
    names = [name for name in VALUE_QUESTIONS if applies(name, answers)]
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(choice_values(name) for name in names))
    ]


def with_values(answers: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Add the value questions that apply, their combination picked by `index`, cycling."""
    combinations = value_combinations(answers)
    return {**answers, **combinations[index % len(combinations)]}


def with_build(answers: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Add the build question that the backend brings, its value picked by `index`, cycling."""
    result = dict(answers)
    for question in BUILD_QUESTIONS:
        if applies(question, result):
            builds = choice_values(question)
            result[question] = builds[index % len(builds)]
    return result


# Short test-id prefixes of the integer and bool answers: c10, t3, b32, h8, w48, v50, len16,
# aug1, pred0.
ID_PREFIXES = {
    "vocab_size": "v",
    "num_features": "f",
    "max_length": "len",
    "num_classes": "c",
    "num_targets": "t",
    "batch_size": "b",
    "image_height": "h",
    "image_width": "w",
    "augmentation": "aug",
    "predict": "pred",
}


def answers_id(answers: Mapping[str, Any]) -> str:
    """A short, shell-friendly test id: array-sparse-c10-partial-b32-aug0-pred1-tf-cpu."""
    parts = []
    for name, value in answers.items():
        if name in ID_PREFIXES:
            parts.append(f"{ID_PREFIXES[name]}{int(value)}")
        elif name == "tensorflow_build":
            parts.append("tf" + re.sub(r"^tensorflow|[^a-z0-9]+", "-", value).rstrip("-"))
        elif name == "backend":
            # The build question names it (tf-cpu, jax-cuda13, torch-cpu), when answered.
            if not BUILD_QUESTIONS_SET & answers.keys():
                parts.append(value)
        elif name == "jax_build":
            parts.append("jax-cpu" if value == "jax" else re.sub(r"[^a-z0-9]+", "-", value))
        elif name == "torch_build":
            parts.append(f"torch-{value}")
        else:
            parts.append(str(value))
    return re.sub(r"-+", "-", "-".join(parts)).strip("-")


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --- bounded subprocesses ------------------------------------------------------------------

# Hang bounds, not time limits: minutes beyond any normal run (a rendered suite takes 30-60 s
# alone and up to about 5 min on a loaded 2-core machine), so only a process that is stuck
# reaches them. How long things take is reported (conftest's summary), never asserted.
SUITE_HANG_SECONDS = 20 * 60
# How long a process group gets to exit after SIGTERM before SIGKILL (JAX ignores SIGTERM).
KILL_GRACE_SECONDS = 10

# Process groups run_bounded started that have not finished (see kill_running).
_RUNNING: set[subprocess.Popen[str]] = set()


class Hung(AssertionError):
    """A process ran past its hang bound; it was killed with its whole process group."""

    def __init__(
        self,
        command: Sequence[str | Path],
        cwd: Path | None,
        seconds: float,
        stdout: str,
        stderr: str,
    ) -> None:
        where = f" in {cwd}" if cwd else ""
        super().__init__(
            f"{' '.join(map(str, command))}{where} hung: killed with its process group after "
            f"{seconds:.0f} s\n--- stdout so far (tail)\n{tail(stdout)}\n"
            f"--- stderr so far (tail)\n{tail(stderr, 30)}"
        )
        self.stdout, self.stderr = stdout, stderr


def run_bounded(
    command: Sequence[str | Path],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` to its end, its output captured as text.

    It starts a session of its own, so everything it starts is in its process group; past
    `timeout` seconds the whole group gets SIGTERM, then SIGKILL, and Hung is raised with
    the output so far. (subprocess.run's timeout kills the child alone: a grandchild
    holding the pipes then keeps run waiting.)"""
    process = subprocess.Popen(
        [str(part) for part in command],
        cwd=cwd,
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _RUNNING.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout, stderr = _kill_group(process)
        raise Hung(command, cwd, timeout, stdout, stderr) from None
    except BaseException:
        # Ctrl-C: in a session of its own the group no longer gets the terminal's SIGINT.
        _kill_group(process)
        raise
    finally:
        _RUNNING.discard(process)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM to the process's group, SIGKILL after the grace period; the output so far."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            return process.communicate(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            continue
    # Only a process that left the group (a session of its own) can still hold the pipes.
    process.wait()
    return "", "(output unreadable: a process outside the group holds the pipes)"


def kill_running() -> None:
    """SIGKILL every process group run_bounded started that is still running, for the end
    of a session: whatever is still running then has no test left to wait for it."""
    for process in list(_RUNNING):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


# --- rendered projects' own checks ---------------------------------------------------------


def ruff_executable() -> str:
    """ruff of this interpreter's environment (the repo venv), else the one on PATH."""
    candidate = Path(sys.executable).with_name("ruff")
    return str(candidate) if candidate.exists() else (shutil.which("ruff") or "ruff")


def run_ruff(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """ruff in the project's folder, so it reads the project's own pyproject.toml."""
    return subprocess.run(
        [ruff_executable(), *args, "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def rendered_suite_env(project: Path, pythonpath: Sequence[Path] = ()) -> dict[str, str]:
    """The environment a rendered project's suite runs in: its src/ first on PYTHONPATH,
    then `pythonpath` (packages that win over the installed ones: tests/test_keras_nightly.py)."""
    env = dict(os.environ)
    paths = [str(project / "src"), *map(str, pythonpath), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # The suite runs on the project's own backend, as a new user's would.
    env.pop("KERAS_BACKEND", None)
    # The rendered suite must not pick up this repository's pytest settings or plugins.
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    return env


# The CPUs this test session may use, read when it starts: while suites run, its own main
# thread is pinned to a share of them (tests/conftest.py, SuiteRunner.hold_for_session).
SESSION_CPUS: tuple[int, ...] = (
    tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else ()
)


def cpu_slots(jobs: int) -> list[tuple[int, ...]]:
    """The session's CPUs split into `jobs` disjoint sets, one per suite running at once;
    no split (every set empty) with fewer CPUs than jobs, or where Linux's affinity calls
    are missing."""
    if not SESSION_CPUS or shutil.which("taskset") is None:
        return [()] * jobs
    cpus = SESSION_CPUS
    share = len(cpus) // jobs
    if jobs == 1 or share == 0:
        return [()] * jobs
    return [tuple(cpus[slot * share : (slot + 1) * share]) for slot in range(jobs)]


def pinned_to(cpus: Sequence[int]) -> list[str]:
    """The `taskset` prefix that runs a command on `cpus` only (none for no CPUs).

    TensorFlow, XLA (JAX) and PyTorch's OpenMP each start a compute thread per CPU they may
    use. Two suites at once on 2 cores then run 4 or more such threads, which spin-wait
    for one another: measured, the torch images demo test took 76 s beside one busy core
    with its default threads and 39 s with one. Pinned to its own CPUs, each library
    sizes its pools to them (sched_getaffinity), on every backend alike."""
    return ["taskset", "--cpu-list", ",".join(map(str, cpus))] if cpus else []


# Where the rendered suites keep their temporary files (pytest's tmp_path, JAX's compilation
# cache): Linux's RAM-backed /dev/shm where there is one. Their train runs fsync each file they
# write (atomic_files.py), and on a disk an fsync also waits for what the suite running beside
# it wrote: one test of the images resume suite sat idle 20 s of its 29 (the suite 200 s
# instead of 177) in one of two runs side by side, never on /dev/shm (2026-12-08).
SUITE_TEMP_ROOT: Path | None = (
    Path("/dev/shm") if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None
)


def run_rendered_suite(
    project: Path,
    timeout: float = SUITE_HANG_SECONDS,
    ignore: Sequence[str] = (),
    *,
    resume: bool = True,
    distributed: bool | None = None,
    cpus: Sequence[int] = (),
    pythonpath: Sequence[Path] = (),
    keyword: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The rendered project's own pytest suite, with this interpreter and no install, less
    the test modules in `ignore` (paths relative to the project), the tests marked `resume`
    unless `resume`, and those marked `distributed` unless `distributed` (by default, as
    `resume`; covering.resume_suites says where they run: both train whole runs in processes
    of their own), on the CPUs in `cpus` if given (pinned_to), with `pythonpath` ahead of
    the installed packages (rendered_suite_env), only the tests pytest's `-k keyword`
    selects if given; killed (with its process group) and Hung raised past `timeout`. Its
    temporary files go to a folder of its own under SUITE_TEMP_ROOT, removed after."""
    ignored = [f"--ignore={module}" for module in ignore]
    left_out = [
        mark
        for mark, runs in (
            ("resume", resume),
            ("distributed", resume if distributed is None else distributed),
        )
        if not runs
    ]
    select = ["-m", " and ".join(f"not {mark}" for mark in left_out)] if left_out else []
    if keyword is not None:
        select += ["-k", keyword]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ignored, *select]
    with tempfile.TemporaryDirectory(
        prefix="kst-suite-", dir=SUITE_TEMP_ROOT, ignore_cleanup_errors=True
    ) as temporary:
        return run_bounded(
            [*pinned_to(cpus), *command],
            timeout=timeout,
            cwd=project,
            env={**rendered_suite_env(project, pythonpath), "TMPDIR": temporary},
        )


def render_many(jobs: list[tuple[Path, dict[str, Any]]], vcs_ref: str = "HEAD") -> list[Path]:
    """Render several projects of one template version, each exactly as `render` does
    (tests/test_render_all.py checks the files are byte-identical), but with copier's
    per-project overheads paid once for the whole batch (BatchRenderer). One process-pool
    task: copier's git steps change the working directory, so parallel renders use
    processes, not threads."""
    import warnings

    warnings.filterwarnings("ignore", category=copier.errors.DirtyLocalWarning)
    for _dest, answers in jobs:
        check_answer_keys(answers)
    with BatchRenderer(vcs_ref) as renderer:
        return [renderer.render(dest, answers) for dest, answers in jobs]


class BatchRenderer:
    """Renders many projects from one template version, as `copier.run_copy` with
    `render`'s arguments does each, in a fifth of the time (0.86 s a project with run_copy
    on 2 cores, about 0.17 s of CPU here). Copier's own Worker does the rendering;
    three of its per-project costs are paid once per batch instead:

    * the template: run_copy clones the repository (with the working tree's uncommitted
      changes committed in the clone) for every project; here one copier Template, cloned
      the same way, serves the whole batch, and is removed at the end;
    * Jinja compilation: each project's fresh Jinja environment compiles the same few
      hundred templates (file contents, path parts, question defaults) again, which was
      half of the time; here the compiled code is shared between the batch's environments,
      which copier configures identically from the one template (extensions' preprocess
      hooks still run for every template, as copier's `yield` extension resets its state
      there);
    * `git config core.fileMode` in the destination for every rendered file (copier syncs
      a git index's executable bits when that setting is false): asked once per destination
      folder's parent instead, and copier's per-file step kept whenever it is false there.

    And one per-file cost is paid once per project: copier builds the Jinja context again
    for every file name and file it renders (about 650 times a project, each merging the
    answers anew: a third of the time), though nothing in it changes while it renders;
    here it is built once in the render phase (_render_context_once).

    This leans on copier internals (Worker, Template, Worker.jinja_env,
    Worker._render_context, Phase, LazyDict: copier 9.19);
    test_render_all.test_batch_renders_like_run_copy fails if a copier upgrade makes its
    output differ from run_copy's."""

    def __init__(self, vcs_ref: str = "HEAD") -> None:
        from copier._template import Template

        self.template = Template(url=str(REPO_ROOT), ref=vcs_ref)
        self.vcs_ref = vcs_ref
        self._code: dict[tuple[Any, ...], Any] = {}
        self._file_mode_false: dict[Path, bool] = {}

    def __enter__(self) -> BatchRenderer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.template._cleanup()

    def _share_compiled_code(self, env: jinja2.Environment) -> None:
        compile_uncached = env.compile
        code = self._code

        def compile_shared(
            source: str,
            name: str | None = None,
            filename: str | None = None,
            raw: bool = False,
            defer_init: bool = False,
        ) -> Any:
            if not isinstance(source, str):  # a parsed template: nothing to share
                return compile_uncached(source, name, filename, raw, defer_init)
            # The preprocess hooks run for every template, hit or miss (copier's yield
            # extension resets its state there); the key is the preprocessed source.
            key = (env.preprocess(source, name, filename), name, filename, raw, defer_init)
            if key not in code:
                code[key] = compile_uncached(source, name, filename, raw, defer_init)
            return code[key]

        env.compile = compile_shared  # type: ignore[method-assign]

    def _file_mode_is_false(self, dest: Path) -> bool:
        """Whether git's core.fileMode is false where `dest` is made (its parent folder),
        the one case where copier's per-file git index step does anything."""
        parent = dest.absolute().parent
        if parent not in self._file_mode_false:
            parent.mkdir(parents=True, exist_ok=True)
            setting = subprocess.run(
                ["git", "config", "--type=bool", "--get", "core.fileMode"],
                cwd=parent,
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
            )
            self._file_mode_false[parent] = setting.stdout.strip() == "false"
        return self._file_mode_false[parent]

    @staticmethod
    def _render_context_once(worker: Any) -> None:
        """Build the worker's render context once in the render phase, when the answers
        are final, and hand out copies: each with its own `_copier_conf` (a LazyDict of the
        same functions), which copier's answers_relpath writes into."""
        from copier._types import LazyDict, Phase

        build = worker._render_context
        built: dict[str, Any] = {}

        def render_context() -> dict[str, Any]:
            if Phase.current() is not Phase.RENDER:
                return build()
            if not built:
                built.update(build())
            return {**built, "_copier_conf": LazyDict(built["_copier_conf"]._pending)}

        worker._render_context = render_context

    def render(self, dest: Path, answers: dict[str, Any]) -> Path:
        from copier._main import Worker

        worker = Worker(
            src_path=str(REPO_ROOT),
            dst_path=Path(dest),
            data=dict(answers),
            defaults=True,
            vcs_ref=self.vcs_ref,
            unsafe=False,
            skip_tasks=True,
            quiet=True,
        )
        # Worker.template is a cached property: set, it is not cloned again, and not
        # registered for the worker's cleanup (__exit__ removes it).
        worker.__dict__["template"] = self.template
        self._share_compiled_code(worker.jinja_env)
        self._render_context_once(worker)
        if not self._file_mode_is_false(dest):
            # Copier's step asks git for core.fileMode and returns when it is not false.
            worker.__dict__["_sync_git_index_executable_bit"] = lambda *args: None
        with worker:
            worker.run_copy()
        return dest


def render_all(jobs: list[tuple[Path, dict[str, Any]]], processes: int) -> list[Path]:
    """render_many over `processes` spawned processes (1: in this process)."""
    if processes <= 1 or len(jobs) < 2:
        return render_many(jobs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunks = [jobs[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        results = list(pool.map(render_many, chunks))
    return [path for chunk in results for path in chunk]


def render_processes() -> int:
    """KST_RENDER_JOBS, else the CPUs this thread may use now (at most 4): one while the
    session shares the machine with a suite (SuiteRunner.hold_for_session)."""
    if "KST_RENDER_JOBS" in os.environ:
        return int(os.environ["KST_RENDER_JOBS"])
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(4, usable or 1)


def make_overlay_venv(env_dir: Path) -> Path:
    """A throwaway venv that sees this environment's packages through a .pth file, so pip
    finds every requirement already satisfied (offline, in seconds) and installs only into
    the throwaway venv. Plain paths, not site dirs: this environment's own .pth files
    (editable installs of earlier demos, say) stay inactive there. Returns its python."""
    import sysconfig
    import venv

    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True,
        timeout=60,
    ).strip()
    parent = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (Path(purelib) / "_parent_env.pth").write_text("\n".join(parent) + "\n")
    return python


def install_editable(project: Path, env_dir: Path, target: str = ".") -> Path:
    """`pip install -e TARGET` of `project` into a throwaway overlay venv (make_overlay_venv)
    at `env_dir`, as a user would but offline: --no-index, so every requirement must already
    be satisfied, and --no-build-isolation, so it builds with the setuptools at hand
    (requirements.txt). pip starts processes of its own: a hang kills the whole group.
    Returns the venv's python; fails with pip's output unless pip installed the project."""
    python = make_overlay_venv(env_dir)
    install = run_bounded(
        [python, "-m", "pip", "install", "--no-index", "--no-build-isolation",
         "--disable-pip-version-check", "-e", target],
        timeout=900,
        cwd=project,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    output = f"{tail(install.stdout)}\n{tail(install.stderr)}"
    assert install.returncode == 0, output
    assert "Successfully installed" in install.stdout, output
    return python
