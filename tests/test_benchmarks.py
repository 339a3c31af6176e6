"""The benchmarks cannot rot silently: `python -m benchmarks --smoke` (the least sizes, one
repetition) runs every benchmark once on the backends whose own code it has, every branch it
takes on the backend on one of them, so a change to the template that breaks one (a rename,
a new argument, a backend it no longer runs on) fails here. Its figures are not checked:
they depend on the machine."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, run_bounded, tail

# A hang bound, minutes beyond any normal run (SMOKE_MINUTES below, three backends; twice
# that measured on a 2-core machine loaded by other test runs).
HANG_SECONDS = 30 * 60
BACKENDS = ("tensorflow", "jax", "torch")
# Each benchmark's section heading in the report (benchmarks/<name>.py, Result.section).
SECTIONS = {
    "arrays": "Arrays in memory",
    "memmap": "A memmap on disk",
    "images": "Image files",
    "sequences": "Token sequences",
    "scale": "Data parallel shards",
}
# A figure as benchmarks.__main__.format_number prints it; "-" is a figure not measured.
NUMBER = re.compile(r"-?(\d{1,3}(,\d{3})*|\d+)(\.\d+)?(e[+-]\d+)?|inf")
# The benchmarks a smoke run measures on each backend (benchmarks.__main__.SMOKE_BACKENDS):
# between them every branch on the backend in benchmarks/ (their own alternatives below,
# tf.data on TensorFlow and JAX, Grain on JAX and torch, JAX's processes); all on torch.
SMOKE = {
    "tensorflow": ["arrays", "sequences"],
    "jax": ["images", "scale"],
    "torch": list(SECTIONS),
}
# What a user of each backend picks instead, and a benchmark whose section measures it there
# in a smoke run; no section of another backend's may measure it.
OWN_PIPELINES = {
    "tensorflow": {"tf.data": "arrays"},
    "jax": {"tf.data": "images", "image_dataset_from_directory": "images", "Grain": "images"},
    "torch": {"torch DataLoader": "arrays", "Grain": "arrays"},
}


def snapshot(folder: Path) -> dict[Path, int]:
    """Every file under `folder` and its modification time (ns)."""
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


def pipeline_rows(section: str) -> list[list[str]]:
    """The figures of each row of a section's first table (the pipelines)."""
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| pipeline |"))
    rows = []
    for line in lines[start + 2 :]:  # after the header and the |---| line
        if not line.startswith("| "):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.append(cells[1:-1])  # without the pipeline's name and the note
    return rows


@pytest.mark.slow
def test_benchmarks_smoke_run_prints_every_table_on_every_backend(tmp_path: Path) -> None:
    work = tmp_path / "bench"
    repository_folders = [REPO_ROOT / "build", REPO_ROOT / "benchmarks"]
    before = [snapshot(folder) for folder in repository_folders]
    # KERAS_BACKEND here must not matter: the driver sets it for each benchmark's process.
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_BACKEND": "tensorflow",
    }
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--work", work]
    done = run_bounded(
        [*command, "--backend", ",".join(BACKENDS)],
        timeout=HANG_SECONDS,
        cwd=REPO_ROOT,
        env=env,
    )
    output = f"--- stdout (tail)\n{tail(done.stdout)}\n--- stderr (tail)\n{tail(done.stderr)}"
    assert done.returncode == 0, output
    assert "SMOKE sizes" in done.stdout, output

    # A "## backend" part per backend, in order, each with a "### " section per benchmark.
    report, summary = done.stdout.split("\n## Targets\n")
    parts = report.split("\n## ")[1:]
    assert [part.split("\n", 1)[0] for part in parts] == list(BACKENDS), output
    for backend, part in zip(BACKENDS, parts, strict=True):
        sections = dict(zip(SMOKE[backend], part.split("\n### ")[1:], strict=True))
        headings = [section.split(":", 1)[0] for section in sections.values()]
        assert headings == [SECTIONS[name] for name in SMOKE[backend]], (backend, headings)
        names = {}
        for name, section in sections.items():
            rows = pipeline_rows(section)
            assert len(rows) >= 2, f"{backend} {name}: a table compares pipelines\n{section}"
            for figures in rows:
                assert all(NUMBER.fullmatch(f) or f == "-" for f in figures), (name, figures)
                assert any(NUMBER.fullmatch(f) for f in figures), (name, figures)
            lines = section.splitlines()
            names[name] = [line.split("|")[1].strip() for line in lines if line.startswith("| ")]
        # Its own alternatives' rows, and no other backend's.
        for pipeline in {p for own in OWN_PIPELINES.values() for p in own}:
            showing = [
                name
                for name, rows in names.items()
                if any(row.startswith((pipeline, f"keras.utils.{pipeline}")) for row in rows)
            ]
            expected = OWN_PIPELINES[backend].get(pipeline)
            assert expected in showing if expected else not showing, (backend, pipeline, names)
        # Several processes fit together on JAX alone (benchmarks/scale.py).
        if "scale" in names:
            jax_processes = any(row.startswith("fit: 2 JAX processes") for row in names["scale"])
            assert jax_processes == (backend == "jax"), (backend, names["scale"])
        # Each section ran on its backend; on torch, where no pipeline is tf.data, without
        # TensorFlow (the fits seed as train does, keras_backend.set_random_seed).
        imported = [m.split(", ") for m in re.findall(r"Imported: (.*)\.$", part, re.MULTILINE)]
        assert len(imported) == len(sections), part
        assert all(backend in modules for modules in imported), (backend, imported)
        if backend == "torch":
            assert not any("tensorflow" in modules for modules in imported), imported

    # Every target in the summary, with its backend.
    rows = [line for line in summary.splitlines() if line.startswith("| ")][1:]
    assert {row.split("|")[1].strip() for row in rows} == set(BACKENDS), summary
    assert re.search(r"^Targets met: \d+ of \d+\.", summary, re.MULTILINE), output

    # Everything went into tmp_path; nothing into the repository's build/ or benchmarks/.
    assert (work / "projects" / "arrays" / ".copier-answers.yml").is_file()
    assert [snapshot(folder) for folder in repository_folders] == before


@pytest.mark.parametrize("module", ["benchmarks", *(f"benchmarks.{name}" for name in SECTIONS)])
def test_help_describes_every_option(module: str) -> None:
    """`--help` prints every option (argparse formats each help string with %: a bare %
    in one, "5%" say, made --help itself fail)."""
    done = run_bounded([sys.executable, "-m", module, "--help"], timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, tail(done.stderr)
    assert "--max-repeats" in done.stdout and "--work" in done.stdout, done.stdout


def test_no_render_refuses_a_work_folder_without_the_projects(tmp_path: Path) -> None:
    """--no-render (a machine without copier: .ci/gpu-bench) runs only projects rendered
    before, and says which is missing instead of failing inside a benchmark."""
    command = [sys.executable, "-m", "benchmarks", "--no-render", "--work", str(tmp_path)]
    done = run_bounded(
        [*command, "--backend", "torch", "--only", "arrays", "--quick"], timeout=300, cwd=REPO_ROOT
    )
    assert done.returncode != 0
    assert f"--no-render: {tmp_path}/projects/arrays holds no rendered project" in done.stderr
