"""Render a project per data type and measure its loader against the pipelines a user would
pick instead, in one run; print one table (Markdown) with the machine and the versions.

    python -m benchmarks [--only arrays,memmap,images,sequences] [--repeats 3]
                         [--quick | --smoke] [--work build/bench] [--output results.md]

Each benchmark runs in a process of its own (a fresh TensorFlow, its own peak memory) with
its rendered project on PYTHONPATH; see benchmarks/common.py. Figures depend on the machine,
so they are reported, never asserted. The test suite runs `--smoke` (tests/test_benchmarks.py):
the least sizes, one repetition, in a temporary folder, so a template change that breaks a
benchmark fails the tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.common import RESULT_PREFIX

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
    "sequences": {
        "data_type": "sequences",
        "num_classes": 2,
        "batch_size": 64,
        "vocab_size": 10000,
        "max_length": 512,
    },
}
# Benchmark module -> the project it measures.
BENCHMARKS = {"arrays": "arrays", "memmap": "arrays", "images": "images", "sequences": "sequences"}


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
    for name in dict.fromkeys(BENCHMARKS[b] for b in args.only):
        projects[name] = render_project(name, work / "projects" / name)

    results = []
    for benchmark in args.only:
        project = projects[BENCHMARKS[benchmark]]
        log(f"running {benchmark} ({args.repeats} repetitions) on {project}")
        results.append(run_benchmark(benchmark, project, work / "data" / benchmark, args))

    report = "\n".join([header, *map(format_result, results), format_summary(results)])
    report += f"\nTotal time: {(time.monotonic() - started) / 60:.1f} min.\n"
    print("\n" + report, flush=True)
    if args.output:
        Path(args.output).write_text(report, encoding="utf-8")
        log(f"wrote {args.output}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated benchmarks to run (default: all of {','.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--repeats", type=int, help="repetitions per figure (median; default 3, --smoke 1)"
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument(
        "--quick", action="store_true", help="small data sizes: checks the benchmarks run"
    )
    sizes.add_argument(
        "--smoke",
        action="store_true",
        help="the least sizes that run every pipeline once (minutes): the test suite's check",
    )
    parser.add_argument(
        "--work",
        help="folder for the rendered projects and generated data "
        "(default: build/bench; with --smoke a temporary folder, removed after)",
    )
    parser.add_argument("--output", help="also write the report (Markdown) to this file")
    parser.add_argument(
        "--intra-op-threads",
        type=int,
        default=1,
        help="TensorFlow intra-op threads for every pipeline (0: TensorFlow's default)",
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.smoke else 3
    if args.work is None and not args.smoke:
        args.work = str(REPO_ROOT / "build" / "bench")
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in BENCHMARKS]
    if unknown or not args.only:
        parser.error(f"--only takes some of {', '.join(BENCHMARKS)}; got {args.only}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
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
        if not (dest / ".copier-answers.yml").is_file():
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


def package_name(project: Path) -> str:
    for line in (project / ".copier-answers.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("package_name:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"{project}/.copier-answers.yml has no package_name")


def run_benchmark(
    benchmark: str, project: Path, data: Path, args: argparse.Namespace
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
        "--intra-op-threads",
        str(args.intra_op_threads),
        *(["--quick"] if args.quick else []),
        *(["--smoke"] if args.smoke else []),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), str(project / "src"), env.get("PYTHONPATH")])
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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
            f"benchmark {benchmark} failed (exit code {process.returncode}); its output is above"
        )
    log(f"{benchmark} done in {time.monotonic() - start:.0f} s")
    return result


def describe_run(args: argparse.Namespace) -> str:
    """The report's header: when, where, with what."""
    versions = ", ".join(
        f"{name} {installed_version(name)}"
        for name in ("tensorflow", "tensorflow-cpu", "keras", "numpy", "pillow", "copier")
        if installed_version(name)
    )
    threads = args.intra_op_threads or "TensorFlow's default"
    sizes = "SMOKE" if args.smoke else "QUICK" if args.quick else ""
    size_note = f", {sizes} sizes (not for comparison)" if sizes else ""
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {memory_gib():.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- Template: {template_version()}",
        f"- Settings: {args.repeats} repetitions (median), TensorFlow intra-op threads: "
        f"{threads}{size_note}",
        "",
    ]
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


def memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def template_version() -> str:
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


def format_result(result: dict[str, Any]) -> str:
    columns = list(dict.fromkeys(key for row in result["rows"] for key in row["figures"]))
    lines = [
        f"## {result['section']}",
        "",
        result["setup"],
        "",
        f"| pipeline | {' | '.join(columns)} | note |",
        f"|---|{'---:|' * len(columns)}---|",
    ]
    for row in result["rows"]:
        figures = [format_number(row["figures"].get(column, float("nan"))) for column in columns]
        lines.append(f"| {row['pipeline']} | {' | '.join(figures)} | {row['note']} |")
    lines.append(f"\nFigures in {result['unit']} unless the column says otherwise.\n")
    if result["targets"]:
        lines += ["| target | measured | goal | met |", "|---|---:|---:|---|"]
        for target in result["targets"]:
            goal = f"{target['compare']} {format_number(target['goal'])}"
            met = "yes" if target["met"] else "**no**"
            lines.append(
                f"| {target['name']} | {format_number(target['value'])} | {goal} | {met} |"
            )
        lines.append("")
    lines += [f"- {note}" for note in result["notes"]]
    return "\n".join(lines) + "\n"


def format_summary(results: list[dict[str, Any]]) -> str:
    targets = [target for result in results for target in result["targets"]]
    missed = [target["name"] for target in targets if not target["met"]]
    summary = f"Targets met: {len(targets) - len(missed)} of {len(targets)}."
    if missed:
        summary += " Not met: " + "; ".join(missed) + "."
    return summary


if __name__ == "__main__":
    sys.exit(main())
