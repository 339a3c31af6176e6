"""Image files in dataset folders: found, type-checked, and named in error messages.

Image files are PNG, JPEG, BMP or GIF (IMAGE_SUFFIXES, in any letter case). Names starting
with "." (.DS_Store, .ipynb_checkpoints) are passed over; any other file is an error, so
nothing is left out without a word.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TypeAlias

from .images import IMAGE_SUFFIXES

# What the loader takes as inputs: image file paths.
Inputs: TypeAlias = list[Path]
# The first column of predict's CSV, and the column of labels.csv that names the images.
ID_COLUMN = "file"
# The file that lists a split's images in the labels.csv layout; never an image itself.
LABELS_FILE = "labels.csv"
# How many paths an error message names before it only counts the rest.
NAMED = 5


def listing(items: Iterable[object]) -> str:
    """The first NAMED items, and how many more there are."""
    items = [str(item) for item in items]
    more = f" and {len(items) - NAMED} more" if len(items) > NAMED else ""
    return ", ".join(items[:NAMED]) + more


def check_image_types(paths: Iterable[Path], where: object) -> None:
    """ValueError naming the paths (found in `where`) whose suffix is not an image type."""
    unknown = [path for path in paths if path.suffix.lower() not in IMAGE_SUFFIXES]
    if unknown:
        raise ValueError(
            f"{where}: {len(unknown)} files of unknown type ({listing(unknown)}); "
            f"image files end in {', '.join(IMAGE_SUFFIXES)}"
        )


def image_files(folder: Path, *, skip: str | None = None) -> list[Path]:
    """The image files in `folder` and its subfolders, sorted by path.

    Hidden files and folders are passed over, and so are files named `skip`; any other
    file must be an image.
    """
    files = [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.name != skip
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    check_image_types(files, folder)
    return files
