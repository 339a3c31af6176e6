"""The benchmarks cannot rot silently: `python -m benchmarks --smoke` (the least sizes, one
repetition) runs every benchmark once, so a change to the template that breaks one (a rename,
a new argument) fails here. Its figures are not checked: they depend on the machine."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, run_bounded, tail

# A hang bound, minutes beyond any normal run (1.5 min on an idle 2-core machine, 5 min measured
# on one loaded by five other test runs).
HANG_SECONDS = 20 * 60
# Each benchmark's section heading in the report (benchmarks/<name>.py, Result.section).
SECTIONS = {
    "arrays": "Arrays in memory",
    "memmap": "A memmap on disk",
    "images": "Image files",
    "sequences": "Token sequences",
}
# A figure as benchmarks.__main__.format_number prints it; "-" is a figure not measured.
NUMBER = re.compile(r"-?(\d{1,3}(,\d{3})*|\d+)(\.\d+)?(e[+-]\d+)?|inf")


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
def test_benchmarks_smoke_run_prints_every_table(tmp_path: Path) -> None:
    work = tmp_path / "bench"
    repository_folders = [REPO_ROOT / "build", REPO_ROOT / "benchmarks"]
    before = [snapshot(folder) for folder in repository_folders]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = run_bounded(
        [sys.executable, "-m", "benchmarks", "--smoke", "--work", work],
        timeout=HANG_SECONDS,
        cwd=REPO_ROOT,
        env=env,
    )
    output = f"--- stdout (tail)\n{tail(done.stdout)}\n--- stderr (tail)\n{tail(done.stderr)}"
    assert done.returncode == 0, output
    assert "SMOKE sizes" in done.stdout, output

    # The report: a "## " section per benchmark, in the order they ran.
    sections = done.stdout.split("\n## ")[1:]
    assert [section.split(":", 1)[0] for section in sections] == list(SECTIONS.values()), output
    for name, section in zip(SECTIONS, sections, strict=True):
        rows = pipeline_rows(section)
        assert len(rows) >= 2, f"{name}: a table compares pipelines\n{section}"
        for figures in rows:
            assert all(NUMBER.fullmatch(f) or f == "-" for f in figures), (name, figures)
            assert any(NUMBER.fullmatch(f) for f in figures), (name, figures)
    assert re.search(r"^Targets met: \d+ of \d+\.", done.stdout, re.MULTILINE), output

    # Everything went into tmp_path; nothing into the repository's build/ or benchmarks/.
    assert (work / "projects" / "arrays" / ".copier-answers.yml").is_file()
    assert [snapshot(folder) for folder in repository_folders] == before
