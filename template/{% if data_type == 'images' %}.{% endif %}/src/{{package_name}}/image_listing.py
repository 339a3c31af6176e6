"""Image files in dataset folders and in CSV files: found, type-checked, and named in errors.

Image files are those of every still-image format Pillow reads (IMAGE_SUFFIXES, in any
letter case). What operating systems and tools leave beside images (NOT_IMAGE_NAMES:
Thumbs.db, desktop.ini, __MACOSX; and every name starting with ".", such as .DS_Store or
.ipynb_checkpoints) is passed over, and a listing says how many in one line. Any other file
is an error, unless train's or predict's --skip-unknown-files asks to skip such files (then
they are counted in that line too), and so is an entry that cannot be read (a broken
symbolic link, a folder that cannot be listed): nothing is left out without a word.
Symbolic links to files and folders are followed.

CSV files (labels.csv, predict's lists) are UTF-8 text, with or without the byte-order mark
spreadsheets write; an error in one names the file and line.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
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
# Files and folders that Windows, macOS and their archivers write beside images (compared in
# lower case); with the hidden names, the only entries a listing passes over unasked.
NOT_IMAGE_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx"})
# How much of a CSV file is searched for the marks of UTF-16 before it is read as UTF-8.
_HEAD = 4096

# Whether files of unknown type are skipped rather than refused (--skip-unknown-files). A
# context, not an argument: custom/reading.py calls the layout with the data folder alone.
_skip_unknown: ContextVar[bool] = ContextVar("skip_unknown_files", default=False)


@contextlib.contextmanager
def skipping_unknown_files(skip: bool = True) -> Iterator[None]:
    """Within it, listings skip (and report) files of unknown type instead of refusing them."""
    token = _skip_unknown.set(skip)
    try:
        yield
    finally:
        _skip_unknown.reset(token)


def listing(items: Iterable[object]) -> str:
    """The first NAMED items, and how many more there are."""
    items = [str(item) for item in items]
    more = f" and {len(items) - NAMED} more" if len(items) > NAMED else ""
    return ", ".join(items[:NAMED]) + more


def not_an_image_by_name(name: str) -> bool:
    """Whether a file or folder of this name is passed over unasked: hidden, or NOT_IMAGE_NAMES."""
    return name.startswith(".") or name.lower() in NOT_IMAGE_NAMES


class PassedOver:
    """What the listing of one split (or of predict's --data) left out, told in one line.

    `where` starts the line ("train"); the entries are named relative to `root`.
    """

    def __init__(self, where: object, root: Path) -> None:
        self.where = where
        self.root = root
        self.not_images: list[Path] = []
        self.unknown: list[Path] = []

    def images(self, paths: Iterable[Path], source: object) -> list[Path]:
        """The image files among `paths` (found in `source`), in their order.

        Files of unknown type: DataError naming them, or, under skipping_unknown_files,
        kept for the report.
        """
        paths = list(paths)
        unknown = [path for path in paths if path.suffix.lower() not in IMAGE_SUFFIXES]
        if unknown and not _skip_unknown.get():
            raise DataError(
                f"{source}: {_counted(unknown)} of unknown type ({listing(unknown)}): not "
                "a still-image format Pillow reads; move them away, or pass "
                "--skip-unknown-files to skip them"
            )
        self.unknown += unknown
        return [path for path in paths if path.suffix.lower() in IMAGE_SUFFIXES]

    def report(self) -> None:
        """Print the line, if anything was passed over."""
        parts = []
        if self.not_images:
            names = listing(self._name(path) for path in self.not_images)
            parts.append(f"skipped {_counted(self.not_images)} that are not images ({names})")
        if self.unknown:
            names = listing(self._name(path) for path in self.unknown)
            parts.append(
                f"skipped {_counted(self.unknown)} of unknown type, as --skip-unknown-files "
                f"asks ({names})"
            )
        if parts:
            print(f"{self.where}: {'; '.join(parts)}")

    def _name(self, path: Path) -> str:
        # Outside root: a CSV file's absolute path, named as it is.
        name = path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else path
        return f"{name}/" if path.is_dir() else str(name)


def _counted(paths: list[Path]) -> str:
    """`3 files`, `1 folder`, `2 files and 1 folder`."""
    folders = sum(path.is_dir() for path in paths)
    counts = [(len(paths) - folders, "file"), (folders, "folder")]
    return " and ".join(f"{n:,} {noun}{'s' * (n != 1)}" for n, noun in counts if n)


def image_files(folder: Path, passed: PassedOver, *, skip: str | None = None) -> list[Path]:
    """The image files in `folder` and its subfolders, sorted by path.

    Entries not images by name are passed over and told to `passed`, as are files of unknown
    type when skipped; files named `skip` (a split's labels.csv) are left out unsaid. Every
    entry must be readable.
    """
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    _walk(folder, files, problems, passed.not_images, above={})
    if problems:
        entries = len(files) + len(problems)
        summary = f"{len(problems):,} of {entries:,} entries under {folder} cannot be read"
        raise DataError(problem_list(problems, summary))
    return passed.images(sorted(path for path in files if path.name != skip), folder)


def _walk(
    folder: Path,
    files: list[Path],
    problems: list[tuple[Path, str]],
    not_images: list[Path],
    above: dict[tuple[int, int], Path],
) -> None:
    """Add the files under `folder` to `files`, the entries that cannot be read to
    `problems`, and those not images by name to `not_images` (a folder whole, not entered);
    `above` holds the folders it is in, by (device, inode)."""
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
        path = Path(entry.path)
        if not_an_image_by_name(entry.name):
            not_images.append(path)
            continue
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()  # both follow links
        except OSError as error:
            problems.append((path, f"cannot be looked up: {error.strerror or error}"))
            continue
        if is_file:
            files.append(path)
        elif is_dir:
            _walk(path, files, problems, not_images, {**above, here: folder})
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
