"""Watched folders: the rules for adding and removing one, and saving the list to the config file.

The daemon (for `POST/DELETE /v1/folders`) and the CLI (when no daemon runs)
both change the list through here, so the rules are the same either way:

- a folder is added by its absolute path, and must exist and be a folder (not a whole disk);
- a folder already watched, or inside a watched folder, is not added twice;
- a folder that contains watched folders replaces them (they are watched through it);
- the last folder cannot be removed: a daemon watching nothing is a mistake.

The file is rewritten with tomlkit, which keeps the user's comments and layout,
and replaced atomically (a temp file in the same folder, fsync, rename), so a
crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.items import Array

from . import atomic
from .config import Config, from_mapping
from .errors import ConfigError, RequestError


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


def plan_add(current: tuple[str, ...], folder: str) -> Change:
    """The list with `folder` added, or a RequestError saying why it cannot be."""
    new = normalise(folder)
    if not os.path.isdir(new):
        what = "does not exist" if not os.path.exists(new) else "is not a folder"
        raise RequestError("not_a_folder", f"{new} {what}", 400)
    if os.path.dirname(new) == new:
        raise RequestError("whole_disk", f"refusing to watch {new}: that is a whole disk, not a photo folder", 400)
    if new in current:
        raise RequestError("already_watched", f"{new} is already watched", 409)
    parent = next((root for root in current if _inside(new, root)), None)
    if parent is not None:
        raise RequestError("already_watched", f"{new} is inside {parent}, which is already watched", 409)
    absorbed = tuple(root for root in current if _inside(root, new))
    kept = tuple(root for root in current if root not in absorbed)
    return Change((*kept, new), added=(new,), removed=absorbed)


def plan_remove(current: tuple[str, ...], folder: str) -> Change:
    """The list without `folder`, or a RequestError saying why it cannot be."""
    gone = normalise(folder)
    if gone not in current:
        raise RequestError("not_watched", f"{gone} is not a watched folder (watched: {', '.join(current)})", 404)
    if len(current) == 1:
        raise RequestError("last_folder", f"{gone} is the only watched folder; add another before removing it",
                           409)
    return Change(tuple(root for root in current if root != gone), removed=(gone,))


def save(config_path: Path, change: Change) -> Config:
    """Write the changed folder list into the config file (created if missing) and return the new config.

    Entries the change keeps stay exactly as the user wrote them (`~/Pictures` stays
    `~/Pictures`); removed ones are deleted in place, so comments around them survive.
    """
    try:
        text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        doc = tomlkit.parse(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(config_path), [f"cannot be read: {exc}"]) from exc
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(str(config_path), [f"not valid TOML: {exc}"]) from exc
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
    config = from_mapping(doc.unwrap(), str(config_path))  # never write a file that would not load
    atomic.write_text(config_path, tomlkit.dumps(doc), new_mode=0o600)
    return config
