"""A source folder's image files: the extensions taken, listing them, and image names read
from label files kept inside the source folder (no path traversal)."""

from __future__ import annotations

import os
from pathlib import Path

from eotdl.errors import InputError

#: Image file extensions taken by default (lower case, without the dot).
IMAGE_EXTENSIONS = "tif,tiff,png,jpg,jpeg"


def parse_extensions(text: str) -> tuple[str, ...]:
    """``"tif, .PNG"`` -> ``(".tif", ".png")``."""
    found = tuple(
        "." + part.strip().lower().lstrip(".") for part in str(text).split(",") if part.strip()
    )
    if not found:
        raise InputError(f"--extensions {text!r}: give at least one, e.g. tif,png,jpg")
    return found


def list_images(folder: Path, extensions: tuple[str, ...], recursive: bool = False) -> list[Path]:
    """Image files under ``folder`` (sorted; hidden files and folders skipped)."""
    pattern = "**/*" if recursive else "*"
    found = []
    for path in folder.glob(pattern):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.suffix.lower() in extensions and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def inside(root: Path, name: str, where: str) -> Path:
    """``root / name`` (absolute, normalised), refusing names that climb out of ``root``.

    The check is lexical, so images that are symbolic links to other disks are accepted.
    """
    if not name or os.path.isabs(name) or name.startswith(("/", "\\")) or "\0" in name:
        raise InputError(f"{where}: image name {name!r} is not a relative path in the source")
    root = Path(os.path.abspath(root))
    path = Path(os.path.normpath(root / name))
    if root not in path.parents:
        raise InputError(
            f"{where}: image name {name!r} points outside the source folder {root}",
            hint="image names must be paths relative to the source folder, without '..'",
        )
    return path
