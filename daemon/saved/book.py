"""The saved searches and the links made for each, kept in one JSON file in the data dir."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from .spec import SavedSearch

log = logging.getLogger(__name__)

VERSION = 1


@dataclass
class Entry:
    """A saved search, what photosift made in its folder (link name: photo), and when it was last brought
    up to date (unix seconds; 0: never)."""

    search: SavedSearch
    made: dict[str, str] = field(default_factory=dict)
    updated_at: float = 0.0


def load(path: Path) -> dict[str, Entry]:
    """The saved searches by name; none if the file is missing. A file that cannot be read is set aside
    (kept, renamed) rather than lost or overwritten."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {e["search"]["name"]: Entry(SavedSearch.from_json(e["search"]), dict(e.get("made", {})),
                                           float(e.get("updated_at", 0.0)))
                for e in data["searches"]}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        aside = path.with_name(path.name + ".unreadable")
        path.replace(aside)
        log.error("the saved searches in %s could not be read (%s): kept as %s; starting with none", path, exc,
                  aside)
        return {}


def save(path: Path, entries: dict[str, Entry]) -> None:
    data = {"version": VERSION,
            "searches": [{"search": e.search.as_json(), "made": e.made, "updated_at": e.updated_at}
                         for e in entries.values()]}
    atomic.write_text(path, json.dumps(data, indent=1, ensure_ascii=False), new_mode=0o600)
