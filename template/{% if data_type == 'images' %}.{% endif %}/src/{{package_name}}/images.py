"""Image files to arrays: files decoded and resized on load, and what is wrong with a bad one.

image_checks.py checks every file before training, with the functions here.

Pillow does the pixel work in C and releases the GIL while it decodes, converts and
resizes, so Keras thread workers (`workers=2`) really decode two batches at once. It
parses each file's header in Python, though, holding the GIL: for small files (under
about 100 x 100 pixels) that part dominates and threads gain little; process workers
(`use_multiprocessing=True`) scale there.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

from .data_errors import DataError
from .settings import COLOR_MODE, IMAGE_BACKGROUND, IMAGE_HEIGHT, IMAGE_WIDTH

# Every image is resized to this shape.
CHANNELS = 1 if COLOR_MODE == "grayscale" else 3
IMAGE_SHAPE = (IMAGE_HEIGHT, IMAGE_WIDTH, CHANNELS)
# Formats Pillow opens that are no still raster image: vector (EPS: Ghostscript renders it),
# video (MPEG: Pillow identifies it but cannot decode it), animation only (FLI, FLC).
NOT_STILL_IMAGES = frozenset({"EPS", "MPEG", "FLI"})


def _still_image_suffixes() -> tuple[str, ...]:
    """The file suffixes of every still-image format this Pillow reads, sorted.

    From Pillow's registry, so that a Pillow built with more formats (AVIF, JPEG 2000) reads
    them too. Left out: formats Pillow only writes (PDF), stubs that need a decoder
    registered first (HDF5, GRIB, BUFR, WMF), and NOT_STILL_IMAGES. MPO, a camera's
    multi-picture JPEG, has no opener of its own: the JPEG plugin reads it.
    """
    extensions = Image.registered_extensions()  # first: it registers every plugin
    readable = {
        name
        for name, (opener, _) in Image.OPEN.items()
        if not (isinstance(opener, type) and issubclass(opener, ImageFile.StubImageFile))
    }
    readable = (readable | {"MPO"}) - NOT_STILL_IMAGES
    return tuple(sorted(suffix for suffix, name in extensions.items() if name in readable))


# File types a data folder may hold (lowercase; matched in any case).
IMAGE_SUFFIXES = _still_image_suffixes()

# The Pillow mode every image is converted to before resizing.
PIL_MODE = "L" if COLOR_MODE == "grayscale" else "RGB"
# Transparent pixels show this grey level (255 white, 0 black: the image_background
# answer), never the colour hidden under them, which image editors fill in arbitrarily.
BACKGROUND = {"white": 255, "black": 0}[IMAGE_BACKGROUND]
# Bilinear, not nearest: Pillow widens the filter by the reduction factor, so a large
# image is averaged down without aliasing, and upscaling stays smooth.
RESAMPLE = Image.Resampling.BILINEAR
# A JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg skips the fine detail: much faster)
# when that leaves at least this many times the target size for the antialiased resize.
REDUCING_GAP = 2.0
_DRAFT_SIZE = (round(IMAGE_WIDTH * REDUCING_GAP), round(IMAGE_HEIGHT * REDUCING_GAP))
# How many bad files an error message names before it only counts the rest.
NAMED = 5

_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# EXIF orientations that turn the stored image by 90 degrees: its width becomes its height.
_TURNED = frozenset({5, 6, 7, 8})


class MissingImagesError(FileNotFoundError, DataError):
    """Some input paths name no regular file: raised at construction, before any training.

    Both a FileNotFoundError (what Python raises for a missing file) and a DataError (a
    ValueError, what the loader raises for every other bad input), so either `except`
    catches it.
    """


class UnreadableImageError(DataError):
    """A file exists but cannot be read or decoded as an image; the message names the file."""


def image_paths(inputs: Sequence[str | os.PathLike[str]]) -> tuple[str, ...]:
    """The input paths as strings; ValueError unless `inputs` is a sequence of paths."""
    if isinstance(inputs, (str, bytes, os.PathLike)):
        # len() of a path string would count its characters as samples.
        raise ValueError(
            f"inputs must be a sequence of image file paths, got the single path {inputs!r}; "
            "list a folder's files with sorted(Path(folder).iterdir()), for example"
        )
    paths = []
    for position, path in enumerate(inputs):
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(
                "inputs must be image file paths (str or Path), "
                f"got {type(path).__name__} at position {position}: {path!r}"
            )
        paths.append(os.fspath(path))
    return tuple(paths)


def file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why `path` is not a regular file (a missing file, a broken link, a folder), or None."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            with contextlib.suppress(OSError):
                return f"a broken symbolic link (to {os.readlink(path)}, which does not exist)"
        return "no such file"
    except OSError as error:  # a folder on the way that cannot be searched, a link loop
        return f"cannot be looked up: {error.strerror or error}"
    except ValueError:  # what the system refuses to look up at all
        return "not a path: it holds a NUL character"
    if stat.S_ISDIR(status.st_mode):
        return "a folder, not a file"
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file"
    return None


def problem_list(problems: Sequence[tuple[object, str]], summary: str) -> str:
    """One line: `where: problem` for the first NAMED problems, how many more, then `summary`.

    It starts with the first file named, as every message about bad input does.
    """
    named = "; ".join(f"{where}: {problem}" for where, problem in problems[:NAMED])
    more = f"; and {len(problems) - NAMED:,} more" if len(problems) > NAMED else ""
    return f"{named}{more} ({summary})"


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode one image file to uint8 of shape IMAGE_SHAPE.

    Any size and any mode Pillow reads (palette, RGBA, LA, 16-bit, CMYK) is turned upright
    by its EXIF orientation (a phone's rotated photo), converted to PIL_MODE with
    transparency flattened onto BACKGROUND, and resized to IMAGE_WIDTH x IMAGE_HEIGHT (the
    aspect ratio is not kept). A file of several frames (an animated GIF or WebP, a
    camera's MPO, a multi-page TIFF) gives its first. Raises UnreadableImageError naming
    `path`.
    """
    try:
        return decode_image(path)
    except Exception as error:
        # Pillow raises OSError, SyntaxError, ValueError, EOFError, ... for broken files;
        # whichever it is, say which file, in one line: a worker's error reaches train as
        # its text alone (data_errors.loader_error).
        raise UnreadableImageError(f"{os.fspath(path)}: {decode_problem(path, error)}") from error


def decode_image(path: str | os.PathLike[str]) -> np.ndarray:
    """load_image, raising Pillow's own error for a file it cannot decode."""
    with Image.open(path) as file:
        # Read from the header, before decoding: a turned image's sides swap.
        turned = file.getexif().get(ExifTags.Base.Orientation, 1) in _TURNED
        # A no-op unless JPEG: then libjpeg decodes straight to PIL_MODE where it can,
        # and at reduced scale when the target is much smaller than the file.
        file.draft(PIL_MODE, _DRAFT_SIZE[::-1] if turned else _DRAFT_SIZE)
        file.load()
        # In place: no copy of the pixels when there is nothing to turn.
        ImageOps.exif_transpose(file, in_place=True)
        image = _convert(file)
        if image.size != (IMAGE_WIDTH, IMAGE_HEIGHT):
            image = image.resize((IMAGE_WIDTH, IMAGE_HEIGHT), RESAMPLE)
        return np.asarray(image, dtype=np.uint8).reshape(IMAGE_SHAPE)


def decode_problem(path: str | os.PathLike[str], error: Exception) -> str:
    """What `error`, raised opening or decoding `path`, says is wrong with the file: one line."""
    if isinstance(error, Image.DecompressionBombError):
        return f"too large for Pillow: {error} Raise PIL.Image.MAX_IMAGE_PIXELS if it is genuine"
    if isinstance(error, UnidentifiedImageError):
        # Pillow's own message repeats the path.
        with contextlib.suppress(OSError):
            if os.path.getsize(path) == 0:
                return "an empty file (0 bytes)"
        return "not an image file that Pillow can identify"
    if isinstance(error, OSError) and error.strerror:  # no such file, permission denied, ...
        return f"cannot be read: {error.strerror}"
    detail = " ".join(str(error).split())  # one line, whatever Pillow wrote
    if not isinstance(error, OSError):
        detail = f"{type(error).__name__}: {detail}"
    return f"cannot be decoded: {detail}"


def _convert(image: Image.Image) -> Image.Image:
    """The image in PIL_MODE, 8 bits per channel, transparency flattened onto BACKGROUND."""
    if image.mode in _SIXTEEN_BIT:
        # Pillow's own conversion clips 16-bit values at 255; scale the range down instead.
        levels = np.asarray(image).astype(np.int64).clip(0, 65535)
        image = Image.fromarray(((levels * 255 + 32767) // 65535).astype(np.uint8))
    elif image.mode in _ALPHA or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (BACKGROUND, BACKGROUND, BACKGROUND, 255))
        image = Image.alpha_composite(background, rgba)
    return image if image.mode == PIL_MODE else image.convert(PIL_MODE)
