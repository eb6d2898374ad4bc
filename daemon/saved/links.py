"""One saved search's folder: a link per result, named after the photo, and only photosift's links touched.

`made` maps each link's name to the photo it points to: it is the record of
what photosift created there, kept in the saved searches' book. A link is
photosift's while it is still the link that was made (a symlink to that photo,
or on Windows, where symlinks may need rights users lack, a hard link to it);
anything else in the folder (the user's own files, a link the user replaced)
is never touched, and its name is never taken.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

MAX_NAME_BYTES = 255


def sync(folder: Path, made: dict[str, str], targets: Sequence[str]) -> dict[str, str]:
    """Make `folder` hold a link to each of `targets` and no other link of photosift's; returns the new
    record of what photosift made there. A link whose photo stays keeps its name."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = set(targets)
    kept: dict[str, str] = {}
    for name, target in made.items():
        path = folder / name
        if not _ours(path, target):
            continue  # the user deleted or replaced it: a link still wanted is made again below
        if target in wanted:
            kept[name] = target
        else:
            _unlink(path)
    linked = set(kept.values())
    taken = set(os.listdir(folder))
    for target in targets:
        if target in linked:
            continue
        name = link_name(target, taken)
        try:
            _link(target, folder / name)
        except OSError as exc:
            log.warning("cannot link %s in %s: %s", target, folder, exc.strerror or exc)
            continue
        kept[name] = target
        linked.add(target)
        taken.add(name)
    return kept


def clear(folder: Path, made: dict[str, str]) -> tuple[int, list[str]]:
    """Remove photosift's links from `folder`, then the folder if nothing else is left in it. Returns how
    many links went, and what stays (the user's own files, sorted)."""
    removed = 0
    for name, target in made.items():
        if _ours(folder / name, target):
            _unlink(folder / name)
            removed += 1
    try:
        left = sorted(os.listdir(folder))
    except FileNotFoundError:
        return removed, []
    if not left:
        with contextlib.suppress(OSError):
            folder.rmdir()
    return removed, left


def link_name(target: str, taken: set[str]) -> str:
    """A name for the link to `target` that is not in `taken`: the photo's own name, else its name with
    its folder's ("IMG_0001 (Rome).jpg"), else numbered ("IMG_0001 (Rome 2).jpg")."""
    base = os.path.basename(target)
    if base not in taken:
        return base
    stem, ext = os.path.splitext(base)
    parent = os.path.basename(os.path.dirname(target)) or "photo"
    number = 1
    while True:
        mark = parent if number == 1 else f"{parent} {number}"
        name = _fit(stem, f" ({mark}){ext}")
        if name not in taken:
            return name
        number += 1


def _fit(stem: str, tail: str) -> str:
    """stem + tail, the stem shortened so the whole stays within a file name's limit."""
    room = MAX_NAME_BYTES - len(tail.encode("utf-8"))
    while len(stem.encode("utf-8")) > room:
        stem = stem[:-1]
    return stem + tail


def _ours(path: Path, target: str) -> bool:
    """Whether `path` is still the link photosift made to `target`."""
    try:
        if path.is_symlink():
            return os.readlink(path) == target
        return sys.platform == "win32" and os.path.samefile(path, target)
    except OSError:
        return False


def _link(target: str, path: Path) -> None:
    try:
        os.symlink(target, path)
    except OSError:
        if sys.platform != "win32":
            raise
        os.link(target, path)  # no right to make symlinks (no Developer Mode): a hard link, same volume only


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
