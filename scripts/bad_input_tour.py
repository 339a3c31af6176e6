"""Train rendered projects on broken datasets, as a careless or unlucky user would, and print
what `train` says for each: its exit status, its stderr, and whether it wrote a run folder.

    python scripts/bad_input_tour.py [DATA_TYPE[:ANSWER=VALUE,...] ...]

By default: array, array with regression targets, images (class folders), images with
regression targets (labels.csv), sequences. Each renders the working tree (tests.helpers.render)
into a temporary folder and writes its demo dataset; every case copies it, breaks the copy and
runs `train.cli` on it in one process per project (TensorFlow is imported once). A case passes
when train exits non-zero with one line on stderr that names the file it expects, before any
run folder is written (or, for a failure mid-epoch, with the run's backup kept).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.helpers import render  # noqa: E402

# (name, the file the message must name relative to the data folder, Python that breaks the
# dataset in folder `D`, extra train arguments). The code sees np, Path, os, json, D.
ARRAY_CASES = [
    (
        "x.npy value 1e300 (inf as float32)",
        "train/x.npy",
        "x = np.load(D / 'train/x.npy').astype(np.float64); x[5, 3] = 1e300; "
        "np.save(D / 'train/x.npy', x)",
        [],
    ),
    (
        "x.npy truncated",
        "train/x.npy",
        "p = D / 'train/x.npy'; os.truncate(p, p.stat().st_size - 1000)",
        [],
    ),
    (
        "x.npy of Python objects",
        "val/x.npy",
        "np.save(D / 'val/x.npy', np.array([{'a': 1}] * len(np.load(D / 'val/y.npy')), "
        "dtype=object), allow_pickle=True)",
        [],
    ),
    ("x.npy is a CSV file", "train/x.npy", "(D / 'train/x.npy').write_text('1,2,3\\n')", []),
    (
        "y.npy bad label",
        "val/y.npy",
        "y = np.load(D / 'val/y.npy'); y[8] = 99 if y.ndim == 1 else 7; "
        "np.save(D / 'val/y.npy', y)",
        [],
    ),
    (
        "y.npy one target short",
        "train/y.npy",
        "np.save(D / 'train/y.npy', np.load(D / 'train/y.npy')[:-1])",
        [],
    ),
    (
        "empty val split",
        "val/x.npy",
        "x = np.load(D / 'val/x.npy'); np.save(D / 'val/x.npy', x[:0]); "
        "np.save(D / 'val/y.npy', np.load(D / 'val/y.npy')[:0])",
        [],
    ),
    (
        "val has another feature count",
        "val/x.npy",
        "x = np.load(D / 'val/x.npy'); np.save(D / 'val/x.npy', x[:, :-1])",
        [],
    ),
    (
        "val inputs integers, train floats",
        "val/x.npy",
        "x = np.load(D / 'val/x.npy'); np.save(D / 'val/x.npy', (x * 255).astype(np.uint8))",
        [],
    ),
    (
        "x.npy a broken symlink",
        "train/x.npy",
        "p = D / 'train/x.npy'; p.unlink(); p.symlink_to(D / 'nowhere.npy')",
        [],
    ),
]
REGRESSION_ARRAY_CASES = [
    (
        "y.npy value 1e39 (inf as float32)",
        "train/y.npy",
        "y = np.load(D / 'train/y.npy').astype(np.float64); y[4] = 1e39; "
        "np.save(D / 'train/y.npy', y)",
        [],
    ),
]
SEQUENCES_CASES = [
    (
        "invalid JSON line",
        "val.jsonl",
        "p = D / 'val.jsonl'; lines = p.read_text().splitlines(); lines[9] = lines[9][:-3]; "
        "p.write_text('\\n'.join(lines) + '\\n')",
        [],
    ),
    (
        "Latin-1 text",
        "train.jsonl",
        "p = D / 'train.jsonl'; p.write_bytes(p.read_bytes() + "
        '\'{"tokens": [1], "label": 0, "note": "caf\u00e9"}\\n\'.encode(\'latin-1\'))',
        [],
    ),
    ("empty val file", "val.jsonl", "(D / 'val.jsonl').write_text('')", []),
    (
        "token id out of the vocabulary",
        "train.jsonl",
        "p = D / 'train.jsonl'; r = [json.loads(l) for l in p.read_text().splitlines()]; "
        "r[2]['tokens'][0] = 10**9; p.write_text(''.join(json.dumps(x) + '\\n' for x in r))",
        [],
    ),
]
IMAGES_CASES = [
    (
        "broken symlink in a class folder",
        "train/3/broken.png",
        "(D / 'train/3/broken.png').symlink_to(D / 'nowhere.png')",
        [],
    ),
    ("0-byte PNG", "train/3", "next((D / 'train/3').iterdir()).write_bytes(b'')", []),
    (
        "half a PNG",
        "val/5",
        "p = next((D / 'val/5').iterdir()); p.write_bytes(p.read_bytes()[:40])",
        [],
    ),
    (
        "text file named .png",
        "train/0",
        "next((D / 'train/0').iterdir()).write_text('not an image')",
        [],
    ),
]
LABELS_CSV_CASES = [
    (
        "labels.csv value 1e39 (inf as float32)",
        "train/labels.csv",
        "p = D / 'train/labels.csv'; lines = p.read_text().splitlines(); "
        "cells = lines[9].split(','); cells[1] = '1e39'; lines[9] = ','.join(cells); "
        "p.write_text('\\n'.join(lines) + '\\n')",
        [],
    ),
    (
        "labels.csv in Latin-1",
        "train/labels.csv",
        "p = D / 'train/labels.csv'; "
        "p.write_bytes(p.read_bytes() + 'caf\u00e9.png,1\\n'.encode('latin-1'))",
        [],
    ),
    (
        "labels.csv in UTF-16",
        "val/labels.csv",
        "p = D / 'val/labels.csv'; p.write_text(p.read_text(), encoding='utf-16')",
        [],
    ),
]
OPTION_CASES = [
    ("--workers 0", None, "", ["--workers", "0"]),
    ("--workers -3", None, "", ["--workers", "-3"]),
    ("--batch-size 0", None, "", ["--batch-size", "0"]),
    ("missing data folder", "", "import shutil; shutil.rmtree(D)", []),
]
CASES = {
    "array": ARRAY_CASES + OPTION_CASES,
    "array:label_format=regression": REGRESSION_ARRAY_CASES,
    "images": IMAGES_CASES,
    "images:label_format=regression": LABELS_CSV_CASES,
    "sequences": SEQUENCES_CASES,
}

# Runs in the rendered project: each case on a fresh copy of the demo dataset.
CHILD = """
import contextlib, io, json, os, shutil, sys
from pathlib import Path
import numpy as np
from {package}.train import cli
base, cases = Path(sys.argv[1]), json.loads(sys.argv[2])
for number, (name, names, code, extra) in enumerate(cases):
    D = base.parent / f"case{{number}}" / "data"
    shutil.copytree(base, D, symlinks=True)
    exec(code, {{"np": np, "Path": Path, "os": os, "json": json, "D": D}})
    run_dir = D.parent / "run"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = cli(["--data", str(D), "--output", str(run_dir), "--epochs", "1", *extra])
        except SystemExit as exit:
            status = exit.code
    print(json.dumps({{"name": name, "names": None if names is None else str(D / names),
                      "status": status, "stderr": err.getvalue(),
                      "run_folder": sorted(p.name for p in run_dir.iterdir())
                      if run_dir.exists() else None}}), flush=True)
"""


def tour(spec: str, work: Path) -> list[dict]:
    data_type, _, rest = spec.partition(":")
    answers = {"data_type": data_type}
    answers |= {k: yaml.safe_load(v) for k, v in (a.split("=", 1) for a in rest.split(",") if a)}
    project = render(work / spec.replace(":", "-").replace("=", "-"), **answers)
    package = yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"]
    env = {"PYTHONPATH": str(project / "src"), "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin"}
    python = sys.executable
    subprocess.run(
        [python, "-m", f"{package}.demo_data", "data"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    cases = [list(case) for case in CASES[spec]]
    done = subprocess.run(
        [python, "-c", CHILD.format(package=package), str(project / "data"), json.dumps(cases)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        sys.exit(f"{spec}: the tour failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def verdict(result: dict) -> str:
    lines = result["stderr"].splitlines()
    if result["names"] is None:  # an option argparse refuses: its usage, then one error line
        ok = result["status"] == 2 and "error: argument" in lines[-1]
    else:
        ok = result["status"] not in (0, None) and len(lines) == 1 and result["names"] in lines[0]
    return "ok  " if ok and not result["run_folder"] else "FAIL"


def main() -> None:
    specs = sys.argv[1:] or list(CASES)
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for spec in specs:
            print(f"## {spec}")
            for result in tour(spec, Path(folder)):
                mark = verdict(result)
                failed += mark == "FAIL"
                line = result["stderr"].strip().splitlines()[-1:] or [""]
                line = line[0].replace(folder, "$TMP")
                print(
                    f"{mark} {result['name']} (exit {result['status']}): "
                    f"{textwrap.shorten(line, 400)}"
                )
                if result["run_folder"]:
                    print(f"     run folder written: {result['run_folder']}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
