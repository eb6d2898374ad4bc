"""Tags as Linux extended attributes: `user.xdg.tags`, the freedesktop convention KDE's Dolphin reads.

The value is a comma-separated list. photosift merges its tags into what is
there and records the ones it added in `user.photosift.tags`, so it can update
or remove exactly those later; a tag the user had already is never claimed.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import XattrError

TAGS = "user.xdg.tags"
OURS = "user.photosift.tags"
SUPPORTED = hasattr(os, "setxattr")


def _read(path: Path, name: str) -> list[str]:
    try:
        raw = os.getxattr(path, name).decode("utf-8")
    except OSError as exc:
        if exc.errno == errno.ENODATA:
            return []
        raise XattrError(f"cannot read {name} of {path}: {exc.strerror}") from exc
    return [t for t in (part.strip() for part in raw.split(",")) if t]


def _write(path: Path, name: str, values: list[str]) -> None:
    try:
        if values:
            os.setxattr(path, name, ",".join(values).encode("utf-8"))
        else:
            try:
                os.removexattr(path, name)
            except OSError as exc:
                if exc.errno != errno.ENODATA:
                    raise
    except OSError as exc:
        raise XattrError(f"cannot write {name} of {path}: {exc.strerror}") from exc


def current(path: Path) -> tuple[list[str], list[str]]:
    """(every tag in user.xdg.tags, the ones photosift wrote)."""
    return _read(path, TAGS), _read(path, OURS)


def plan(path: Path, tags: list[str]) -> tuple[list[str], list[str]]:
    """(user.xdg.tags, user.photosift.tags) after setting photosift's tags of `path` to `tags`."""
    existing, ours = current(path)
    foreign = [t for t in existing if t not in ours]
    claim = [t for t in dict.fromkeys(tags) if t not in foreign and "," not in t]
    return foreign + claim, claim


def write(path: Path, tags: list[str]) -> bool:
    """Set photosift's tags of `path`; True if anything changed."""
    before = current(path)
    after = plan(path, tags)
    if after == before:
        return False
    _write(path, TAGS, after[0])
    _write(path, OURS, after[1])
    return True


def unwrite(path: Path) -> bool:
    """Remove exactly the tags photosift wrote; True if anything changed."""
    return write(path, []) if current(path)[1] else False
