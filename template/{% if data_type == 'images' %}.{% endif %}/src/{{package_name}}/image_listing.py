"""Image files in dataset folders and in CSV files: found, type-checked, and named in errors.

Image files are PNG, JPEG, BMP or GIF (IMAGE_SUFFIXES, in any letter case). Names starting
with "." (.DS_Store, .ipynb_checkpoints) are passed over; any other file is an error, and so
is an entry that cannot be read (a broken symbolic link, a folder that cannot be listed):
nothing is left out without a word. Symbolic links to files and folders are followed.

CSV files (labels.csv, predict's lists) are UTF-8 text, with or without the byte-order mark
spreadsheets write; an error in one names the file and line.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeAlias

from .data_errors import DataError
from .images import IMAGE_SUFFIXES, NAMED, MissingImagesError, file_problem, problem_list

# What the loader takes as inputs: image file paths.
Inputs: TypeAlias = list[Path]
# The first column of predict's CSV, and the column of labels.csv that names the images.
ID_COLUMN = "file"
# The file that lists a split's images in the labels.csv layout; never an image itself.
LABELS_FILE = "labels.csv"
# How much of a CSV file is searched for the marks of UTF-16 before it is read as UTF-8.
_HEAD = 4096


def listing(items: Iterable[object]) -> str:
    """The first NAMED items, and how many more there are."""
    items = [str(item) for item in items]
    more = f" and {len(items) - NAMED} more" if len(items) > NAMED else ""
    return ", ".join(items[:NAMED]) + more


def check_image_types(paths: Iterable[Path], where: object) -> None:
    """DataError naming the paths (found in `where`) whose suffix is not an image type."""
    unknown = [path for path in paths if path.suffix.lower() not in IMAGE_SUFFIXES]
    if unknown:
        raise DataError(
            f"{where}: {len(unknown)} files of unknown type ({listing(unknown)}); "
            f"image files end in {', '.join(IMAGE_SUFFIXES)}"
        )


def image_files(folder: Path, *, skip: str | None = None) -> list[Path]:
    """The image files in `folder` and its subfolders, sorted by path.

    Hidden files and folders are passed over, and so are files named `skip`; any other
    file must be an image, and every entry must be readable.
    """
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    _walk(folder, files, problems, above={})
    if problems:
        entries = len(files) + len(problems)
        summary = f"{len(problems):,} of {entries:,} entries under {folder} cannot be read"
        raise DataError(problem_list(problems, summary))
    files = sorted(path for path in files if path.name != skip)
    check_image_types(files, folder)
    return files


def _walk(
    folder: Path,
    files: list[Path],
    problems: list[tuple[Path, str]],
    above: dict[tuple[int, int], Path],
) -> None:
    """Add the files under `folder` to `files`, and the entries that cannot be read to
    `problems`; `above` holds the folders it is in, by (device, inode)."""
    try:
        status = folder.stat()
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as error:
        problems.append((folder, f"a folder that cannot be listed: {error.strerror or error}"))
        return
    here = (status.st_dev, status.st_ino)
    if here in above:  # a link back up: following it would never end
        problems.append((folder, f"{above[here]} again, through a symbolic link"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()  # both follow links
        except OSError as error:
            problems.append((path, f"cannot be looked up: {error.strerror or error}"))
            continue
        if is_file:
            files.append(path)
        elif is_dir:
            _walk(path, files, problems, {**above, here: folder})
        else:
            problems.append((path, file_problem(path) or "gone while its folder was listed"))


def check_listed_files(path: Path, listed: list[tuple[int, str]]) -> None:
    """MissingImagesError naming the lines of the CSV file `path` whose file is not a file.

    `listed` holds (line, the file as written there, relative to the CSV's folder). The
    loader would report these too, but by path alone.
    """
    missing = [
        (f"line {line}", f"{name}: {problem}")
        for line, name in listed
        if (problem := file_problem(path.parent / name)) is not None
    ]
    if missing:
        # The first with the file's name, the others by line: all are in the same file.
        missing[0] = (f"{path}, {missing[0][0]}", missing[0][1])
        summary = f"{len(missing):,} of the {len(listed):,} files it lists cannot be used"
        raise MissingImagesError(problem_list(missing, summary))


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file, each with the number of the line it ends on.

    DataError, naming the file and line, for text that is not UTF-8 or a row the csv
    module cannot parse.
    """
    with path.open("rb") as raw:
        start = raw.read(_HEAD)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise DataError(f"{path} is UTF-16: save it as UTF-8")
        if b"\0" in start:  # UTF-16 without its mark: before any other byte trips the decoder
            raise _nul_error(path, start.count(b"\n", 0, start.index(b"\0")) + 1)
        raw.seek(0)
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        try:
            for row in reader:
                if any("\0" in cell for cell in row):
                    raise _nul_error(path, reader.line_num)
                yield reader.line_num, row
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
        except csv.Error as error:
            raise DataError(f"{path}, line {reader.line_num}: {error}") from None


def _nul_error(path: Path, line: int) -> DataError:
    return DataError(
        f"{path}, line {line}: a NUL character (is the file UTF-16 without a byte-order "
        "mark?): save it as UTF-8"
    )


def _not_utf8(path: Path) -> DataError:
    """The error for a file that is not UTF-8, naming the line and column of its first bad byte."""
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        byte = f"byte 0x{data[error.start]:02x} at column {error.start - line_start + 1}"
        return DataError(f"{path}, line {line}: not UTF-8 text ({byte}): save it as UTF-8")
    return DataError(f"{path}: not UTF-8 text: save it as UTF-8")  # changed since it was read
