"""Render a project per data type and measure its loader against the pipelines a user of
each Keras backend would pick instead, in one run; print one report (Markdown) with the
machine and the versions.

    python -m benchmarks [--backend tensorflow,jax,torch]
                         [--only arrays,memmap,images,sequences,scale]
                         [--repeats 3] [--max-repeats 10] [--quick | --smoke]
                         [--work build/bench] [--output results.md]

Each benchmark runs on each backend in a process of its own (a fresh backend, its own peak
memory) with its rendered project on PYTHONPATH and KERAS_BACKEND set, which wins over a
project's own default; see benchmarks/common.py. Every backend by default: the template
renders projects for all three, and a run that measured one would leave the others'
regressions unseen (`--backend tensorflow` takes a third of the time). Figures depend on
the machine, so they are reported, never asserted. The test suite runs `--smoke`
(tests/test_benchmarks.py): the least sizes, one repetition, in a temporary folder, so a
template change that breaks a benchmark on any backend fails the tests. A smoke run measures
each benchmark on the backends whose own code it has (SMOKE_BACKENDS), not on all three:
the same lines on another backend prove nothing more, and the rendered projects' suites
test their loaders on every backend.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.common import BACKENDS, MAX_REPEATS, RESULT_PREFIX, SPREAD_GOAL, TF_DATA_BACKENDS

REPO_ROOT = Path(__file__).resolve().parent.parent

# The answers each benchmark's project is rendered with (defaults for the rest).
PROJECTS: dict[str, dict[str, Any]] = {
    "arrays": {"data_type": "array", "num_classes": 10, "batch_size": 256},
    "images": {
        "data_type": "images",
        "num_classes": 10,
        "batch_size": 32,
        "image_height": 64,
        "image_width": 64,
    },
    # The images benchmark's 224 x 224 rows (benchmarks/images.py, PACKAGE_224): a package
    # name of its own, so that both image projects import in one process.
    "images224": {
        "data_type": "images",
        "package_name": "images224",
        "num_classes": 10,
        "batch_size": 32,
        "image_height": 224,
        "image_width": 224,
    },
    "sequences": {
        "data_type": "sequences",
        "num_classes": 2,
        "batch_size": 64,
        "vocab_size": 10000,
        "max_length": 512,
    },
}
# Where copier records a rendered project's answers.
ANSWERS_FILE = ".copier-answers.yml"
# Benchmark module -> the project it measures.
BENCHMARKS = {
    "arrays": "arrays",
    "memmap": "arrays",
    "images": "images",
    "sequences": "sequences",
    "scale": "arrays",
}
# Benchmark module -> the backends a --smoke run measures it on: every branch the module
# takes on the backend (its own alternatives, tf.data on TensorFlow and JAX, Grain on JAX
# and torch, JAX's processes) on at least one of them, and torch for all five, so one
# backend's part of the report is whole.
SMOKE_BACKENDS = {
    "arrays": ("tensorflow", "torch"),  # TensorFlow's rows and tf.data; DataLoader, Grain
    "memmap": ("torch",),  # the same rows on every backend
    "images": ("jax", "torch"),  # tf.data and image_dataset_from_directory; DataLoader, Grain
    "sequences": ("tensorflow", "torch"),  # TensorFlow's rows and tf.data; the GRUs
    "scale": ("jax", "torch"),  # tf.data and the JAX processes; the rows alone
}
# Benchmark module -> the further projects it imports, rendered too and on its PYTHONPATH.
ALSO_IMPORTS = {"images": ["images224"]}
# Backend -> the modules it needs. On JAX without TensorFlow the tf.data pipelines and
# image_dataset_from_directory are left out, and the report's header says so
# (benchmarks/common.py, TF_DATA_BACKENDS).
BACKEND_MODULES = {
    "tensorflow": ["tensorflow"],
    "jax": ["jax"],
    "torch": ["torch"],
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.work is None:  # --smoke without --work: a folder of its own, removed after
        with tempfile.TemporaryDirectory(prefix="benchmarks-smoke-") as work:
            return run_all(args, Path(work))
    return run_all(args, Path(args.work).resolve())


def run_all(args: argparse.Namespace, work: Path) -> int:
    """Render the projects into `work`, run the benchmarks, print (and write) the report."""
    started = time.monotonic()
    header = describe_run(args)
    print(header, flush=True)

    projects = {}
    for name in dict.fromkeys(
        p for b in args.only for p in [BENCHMARKS[b], *ALSO_IMPORTS.get(b, [])]
    ):
        dest = work / "projects" / name
        projects[name] = (
            rendered_project(name, dest) if args.no_render else render_project(name, dest)
        )

    results = []
    for backend, benchmark in measured_pairs(args):
        project = projects[BENCHMARKS[benchmark]]
        log(f"running {benchmark} on {backend} with {project}")
        data = work / "data" / benchmark  # shared by the backends: written once
        also = [projects[name] for name in ALSO_IMPORTS.get(benchmark, [])]
        results.append(run_benchmark(benchmark, backend, project, data, args, also))

    parts = [header]
    for backend in dict.fromkeys(r["backend"] for r in results):
        parts.append(f"## {backend}\n")
        parts += [format_result(r) for r in results if r["backend"] == backend]
    report = "\n".join([*parts, format_summary(results)])
    report += f"\nTotal time: {(time.monotonic() - started) / 60:.1f} min.\n"
    print("\n" + report, flush=True)
    if args.output:
        Path(args.output).write_text(report, encoding="utf-8")
        log(f"wrote {args.output}")
    return 0


def measured_pairs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(backend, benchmark) for each benchmark to run, backend by backend: all of them, or
    with --smoke those SMOKE_BACKENDS names."""
    return [
        (backend, benchmark)
        for backend in args.backend
        for benchmark in args.only
        if not args.smoke or backend in SMOKE_BACKENDS[benchmark]
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--backend",
        default=",".join(BACKENDS),
        help=f"comma-separated Keras backends to run each benchmark on (default: all of "
        f"{','.join(BACKENDS)})",
    )
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated benchmarks to run (default: all of {','.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        help="repetitions at least (the median is reported with its range; default 3, --smoke 1)",
    )
    parser.add_argument(
        "--max-repeats",
        type=int,
        help=f"repetitions at most, while a figure in a target spreads {SPREAD_GOAL:.0%}% of its "
        f"median or more (default {MAX_REPEATS}; --smoke 1)",
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument(
        "--quick", action="store_true", help="small data sizes: checks the benchmarks run"
    )
    sizes.add_argument(
        "--smoke",
        action="store_true",
        help="the least sizes that run every pipeline once, each benchmark on the backends "
        "whose own code it has (minutes): the test suite's check",
    )
    parser.add_argument(
        "--work",
        help="folder for the rendered projects and generated data "
        "(default: build/bench; with --smoke a temporary folder, removed after)",
    )
    parser.add_argument("--output", help="also write the report (Markdown) to this file")
    parser.add_argument(
        "--no-render",
        action="store_true",
        help="use the projects an earlier run rendered into --work instead of rendering them "
        "(a machine without copier: .ci/gpu-bench)",
    )
    parser.add_argument(
        "--intra-op-threads",
        type=int,
        default=1,
        help="intra-op threads of TensorFlow (also for tf.data on JAX) and torch for every "
        "pipeline (0: their defaults, one per core); JAX has no such setting",
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.smoke else 3
    if args.max_repeats is None:
        args.max_repeats = 1 if args.smoke else max(MAX_REPEATS, args.repeats)
    if args.work is None and not args.smoke:
        args.work = str(REPO_ROOT / "build" / "bench")
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in BENCHMARKS]
    if unknown or not args.only:
        parser.error(f"--only takes some of {', '.join(BENCHMARKS)}; got {args.only}")
    if not 1 <= args.repeats <= args.max_repeats:
        parser.error(
            f"need 1 <= --repeats <= --max-repeats, got {args.repeats} and {args.max_repeats}"
        )
    args.backend = [name.strip() for name in args.backend.split(",") if name.strip()]
    unknown = [name for name in args.backend if name not in BACKENDS]
    if unknown or not args.backend:
        parser.error(f"--backend takes some of {', '.join(BACKENDS)}; got {args.backend}")
    for backend in args.backend:
        missing = [m for m in BACKEND_MODULES[backend] if importlib.util.find_spec(m) is None]
        if missing:
            parser.error(
                f"--backend {backend} needs {' and '.join(missing)}, not installed in "
                f"{sys.executable}: install it or leave {backend} out of --backend"
            )
    if not measured_pairs(args):
        parser.error(
            f"--smoke measures none of {', '.join(args.only)} on {', '.join(args.backend)}: "
            f"it runs each benchmark on the backends whose own code it has ({SMOKE_BACKENDS})"
        )
    if args.output and Path(args.output).exists():
        parser.error(f"--output {args.output} exists; choose a new file (nothing is overwritten)")
    return args


def log(message: str) -> None:
    print(f"benchmarks: {message}", file=sys.stderr, flush=True)


def render_project(name: str, dest: Path) -> Path:
    """The template's working tree rendered with PROJECTS[name] into `dest` (replaced)."""
    import shutil

    import copier

    if dest.exists():
        if not (dest / ANSWERS_FILE).is_file():
            raise SystemExit(f"{dest} exists and is not a rendered project: refusing to replace it")
        shutil.rmtree(dest)
    warnings.filterwarnings("ignore", category=copier.errors.DirtyLocalWarning)
    log(f"rendering the {name} project into {dest}")
    copier.run_copy(
        str(REPO_ROOT),
        str(dest),
        data=PROJECTS[name],
        defaults=True,
        vcs_ref="HEAD",
        unsafe=False,
        skip_tasks=True,
        quiet=True,
    )
    return dest


def rendered_project(name: str, dest: Path) -> Path:
    """The project an earlier run rendered into `dest` (--no-render: on a machine without
    copier), if it was rendered with PROJECTS[name]; else SystemExit naming what differs."""
    if not (dest / ANSWERS_FILE).is_file():
        raise SystemExit(f"--no-render: {dest} holds no rendered project: render it first")
    answers = project_answers(dest)
    differ = [key for key, value in PROJECTS[name].items() if answers.get(key) != value]
    if differ:
        raise SystemExit(
            f"--no-render: {dest / ANSWERS_FILE} answers {', '.join(differ)} otherwise than "
            f"the {name} benchmark asks: render it again"
        )
    log(f"using the {name} project rendered earlier in {dest}")
    return dest


def project_answers(project: Path) -> dict[str, Any]:
    """The answers copier recorded in a rendered project (its _commit among them)."""
    import yaml

    return yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))


def package_name(project: Path) -> str:
    name = project_answers(project).get("package_name")
    if not name:
        raise SystemExit(f"{project / ANSWERS_FILE} has no package_name")
    return str(name)


def run_benchmark(
    benchmark: str,
    backend: str,
    project: Path,
    data: Path,
    args: argparse.Namespace,
    also: list[Path] | None = None,
) -> dict[str, Any]:
    data.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        f"benchmarks.{benchmark}",
        "--package",
        package_name(project),
        "--work",
        str(data),
        "--repeats",
        str(args.repeats),
        "--max-repeats",
        str(args.max_repeats),
        "--intra-op-threads",
        str(args.intra_op_threads),
        *(["--quick"] if args.quick else []),
        *(["--smoke"] if args.smoke else []),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(
            None,
            [
                str(REPO_ROOT),
                *(str(path / "src") for path in [project, *(also or [])]),
                env.get("PYTHONPATH"),
            ],
        )
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Explicit, so it wins over the project's default backend.
    env["KERAS_BACKEND"] = backend
    start = time.monotonic()
    process = subprocess.run(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True, check=False
    )
    result = None
    for line in process.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line.removeprefix(RESULT_PREFIX))
        else:
            print(f"  {line}", file=sys.stderr)
    if process.returncode != 0 or result is None:
        raise SystemExit(
            f"benchmark {benchmark} on {backend} failed (exit code {process.returncode}); "
            "its output is above"
        )
    log(f"{benchmark} on {backend} done in {time.monotonic() - start:.0f} s")
    return result


def describe_run(args: argparse.Namespace) -> str:
    """The report's header: when, where, with what."""
    versions = ", ".join(
        f"{name} {installed_version(name)}"
        for name in (
            "tensorflow",
            "tensorflow-cpu",
            "keras",
            "jax",
            "jaxlib",
            "torch",
            "numpy",
            "pillow",
            "copier",
        )
        if installed_version(name)
    )
    threads = args.intra_op_threads or "the backends' defaults"
    sizes = "SMOKE" if args.smoke else "QUICK" if args.quick else ""
    size_note = f", {sizes} sizes (not for comparison)" if sizes else ""
    if args.smoke:
        size_note += ", each benchmark on the backends whose own code it has"
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {memory_gib():.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Accelerators: {accelerators()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- Template: {template_version(args)}",
        f"- Backends: {', '.join(args.backend)}",
        f"- Settings: {args.repeats} to {args.max_repeats} repetitions per benchmark, more "
        f"while a figure in a target spreads {SPREAD_GOAL:.0%} of its median or more; medians "
        f"with their range (min-max); intra-op threads of TensorFlow and torch: "
        f"{threads}{size_note}",
    ]
    if "jax" in args.backend and "jax" not in TF_DATA_BACKENDS:
        lines.append(
            "- TensorFlow is not installed: the JAX sections leave out tf.data and "
            "image_dataset_from_directory"
        )
    lines.append("")
    return "\n".join(lines)


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def accelerators() -> str:
    """The NVIDIA GPUs nvidia-smi lists (name, memory, driver), or "none" where it finds
    none."""
    try:
        listed = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "none"
    gpus = [line.strip() for line in listed.splitlines() if line.strip()]
    return "; ".join(gpus) or "none"


def memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def template_version(args: argparse.Namespace) -> str:
    """This clone's version; with --no-render, the one the projects were rendered from (the
    machine they run on may have no git clone)."""
    if args.no_render:
        commits = {
            str(project_answers(answers.parent).get("_commit", "unknown"))
            for answers in Path(args.work).glob(f"projects/*/{ANSWERS_FILE}")
        }
        return f"{', '.join(sorted(commits)) or 'unknown'} (rendered before, --no-render)"
    described = subprocess.run(
        ["git", "describe", "--tags", "--always", "--dirty"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return described.stdout.strip() or "unknown (not a git clone)"


def format_number(value: float) -> str:
    if value != value:  # NaN: not measured
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_values(values: list[float]) -> str:
    """The median of a figure's repetitions, then their range: "1,234 (1,200-1,300)"."""
    if not values:
        return "-"
    middle = format_number(statistics.median(values))
    if len(values) == 1:
        return middle
    return f"{middle} ({format_number(min(values))}-{format_number(max(values))})"


def format_result(result: dict[str, Any]) -> str:
    columns = list(dict.fromkeys(key for row in result["rows"] for key in row["figures"]))
    lines = [
        f"### {result['section']}",
        "",
        f"{result['setup']} Imported: {', '.join(result['loaded'])}.",
        "",
        f"| pipeline | {' | '.join(columns)} | note |",
        f"|---|{'---:|' * len(columns)}---|",
    ]
    for row in result["rows"]:
        figures = [format_values(row["figures"].get(column, [])) for column in columns]
        lines.append(f"| {row['pipeline']} | {' | '.join(figures)} | {row['note']} |")
    lines.append(f"\nFigures in {result['unit']} unless the column says otherwise.\n")
    if result["targets"]:
        lines += ["| target | measured (range) | goal | held? |", "|---|---:|---:|---|"]
        for target in result["targets"]:
            lines.append(format_target(target))
        lines.append("")
    lines += [f"- {note}" for note in result["notes"]]
    return "\n".join(lines) + "\n"


def format_target(target: dict[str, Any], backend: str | None = None) -> str:
    """A target's line: its ratio per repetition (median, range), its goal and the verdict."""
    goal = "-" if target["goal"] is None else f"{target['compare']} {format_number(target['goal'])}"
    verdict = target["verdict"] or "reported, no goal"
    if verdict.startswith("missed"):
        verdict = f"**{verdict}**"
    cells = [*([backend] if backend else []), target["name"], format_values(target["values"])]
    return f"| {' | '.join(cells)} | {goal} | {verdict} |"


def format_summary(results: list[dict[str, Any]]) -> str:
    """Every target of the run in one table with a backend column, then the count met."""
    targets = [
        (result["backend"], target)
        for result in results
        for target in result["targets"]
        if target["goal"] is not None
    ]
    lines = [
        "## Targets",
        "",
        "| backend | target | measured (range) | goal | held? |",
        "|---|---|---:|---:|---|",
    ]
    lines += [format_target(target, backend) for backend, target in targets]
    missed = [
        f"{target['name']} ({backend})"
        for backend, target in targets
        if target["verdict"].startswith("missed")
    ]
    summary = f"Targets met: {len(targets) - len(missed)} of {len(targets)}."
    if missed:
        summary += " Not met: " + "; ".join(missed) + "."
    return "\n".join([*lines, "", summary])


if __name__ == "__main__":
    sys.exit(main())
