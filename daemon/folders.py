"""Watched folders: the rules for adding and removing one, and saving the list to the config file.

The daemon (for `POST/DELETE /v1/folders`) and the CLI (when no daemon runs)
both change the list through here, so the rules are the same either way:

- a folder is added by its absolute path, and must exist and be a folder (not a whole disk);
- a folder already watched, or inside a watched folder, is not added twice;
- a folder that contains watched folders replaces them (they are watched through it);
- the last folder cannot be removed: a daemon watching nothing is a mistake;
- `set` makes the list exactly the given folders: how a watch is narrowed (`set ~/Pictures` while
  `~` is watched) or swapped in one step. Photos that stay under a watched folder stay indexed, and
  those that leave are kept in photosift's copy for the grace period, so nothing is encoded again.

The file is rewritten through config_file.py, keeping the user's comments and
layout, and replaced atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit import TOMLDocument
from tomlkit.items import Array

from . import config_file
from .config import Config
from .errors import RequestError


@dataclass(frozen=True)
class Change:
    """The watched folders after a change, and what changed."""

    folders: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def normalise(folder: str) -> str:
    """The form folders are compared and stored in: absolute, `~` and variables expanded."""
    return os.path.abspath(os.path.expanduser(os.path.expandvars(folder)))


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def _checked(folder: str) -> str:
    """`folder` normalised, or a RequestError if it cannot be watched."""
    new = normalise(folder)
    if not os.path.isdir(new):
        what = "does not exist" if not os.path.exists(new) else "is not a folder"
        raise RequestError("not_a_folder", f"{new} {what}", 400)
    if os.path.dirname(new) == new:
        raise RequestError("whole_disk", f"refusing to watch {new}: that is a whole disk, not a photo folder", 400)
    return new


def plan_add(current: tuple[str, ...], folder: str) -> Change:
    """The list with `folder` added, or a RequestError saying why it cannot be."""
    new = _checked(folder)
    if new in current:
        raise RequestError("already_watched", f"{new} is already watched", 409)
    parent = next((root for root in current if _inside(new, root)), None)
    if parent is not None:
        others = " ".join(root for root in current if root != parent)
        raise RequestError("already_watched", f"{new} is inside {parent}, which is already watched; to watch "
                           f"only it instead: photosift folders set {' '.join(filter(None, (others, new)))}", 409)
    absorbed = tuple(root for root in current if _inside(root, new))
    kept = tuple(root for root in current if root not in absorbed)
    return Change((*kept, new), added=(new,), removed=absorbed)


def plan_remove(current: tuple[str, ...], folder: str) -> Change:
    """The list without `folder`, or a RequestError saying why it cannot be."""
    gone = normalise(folder)
    if gone not in current:
        raise RequestError("not_watched", f"{gone} is not a watched folder (watched: {', '.join(current)})", 404)
    if len(current) == 1:
        raise RequestError("last_folder", f"{gone} is the only watched folder; to watch another instead: "
                           "photosift folders set FOLDER", 409)
    return Change(tuple(root for root in current if root != gone), removed=(gone,))


def plan_set(current: tuple[str, ...], wanted: list[str]) -> Change:
    """The list made exactly `wanted` (a folder inside another of them is watched through it), or a
    RequestError saying why it cannot be."""
    new = list(dict.fromkeys(_checked(folder) for folder in wanted))
    if not new:
        raise RequestError("no_folders", "name at least one folder to watch", 400)
    kept = tuple(f for f in new if not any(_inside(f, other) for other in new))
    return Change(kept, added=tuple(f for f in kept if f not in current),
                  removed=tuple(f for f in current if f not in kept))


def save(config_path: Path, change: Change) -> Config:
    """Write the changed folder list into the config file (created if missing) and return the new config.

    Entries the change keeps stay exactly as the user wrote them (`~/Pictures` stays
    `~/Pictures`); removed ones are deleted in place, so comments around them survive.
    """
    def apply(doc: TOMLDocument) -> None:
        existing = doc.get("folders")
        if isinstance(existing, Array):
            for index in reversed(range(len(existing))):
                value = existing[index]
                if not isinstance(value, str) or normalise(value) not in change.folders:
                    del existing[index]
            kept = {normalise(v) for v in existing if isinstance(v, str)}
            for folder in change.folders:
                if folder not in kept:
                    existing.append(folder)
        else:
            array = tomlkit.array()
            array.extend(change.folders)
            array.multiline(True)
            doc["folders"] = array

    return config_file.edit(config_path, apply)
