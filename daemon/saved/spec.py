"""What a saved search asks, and the rules for its name: the name is a folder's name on the user's disk."""

from __future__ import annotations

import sys
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import RequestError

MAX_NAME_BYTES = 255  # a file name's limit on Linux, macOS and Windows file systems
WINDOWS_FORBIDDEN = '<>:"|?*'


@dataclass(frozen=True)
class SavedSearch:
    """A search kept live: its words (one description), what to push away, and the usual filters. With
    no words it is the files carrying `tags` (a tag kept as a folder)."""

    name: str
    query: str = ""
    exclude: tuple[str, ...] = ()
    folder: str | None = None
    taken_after: str | None = None
    taken_before: str | None = None
    tags: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exclude"], data["tags"] = list(self.exclude), list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SavedSearch:
        return cls(name=data["name"], query=data.get("query", ""), exclude=tuple(data.get("exclude", ())),
                   folder=data.get("folder"), taken_after=data.get("taken_after"),
                   taken_before=data.get("taken_before"), tags=tuple(data.get("tags", ())))


def check(search: SavedSearch) -> None:
    """Refuse a saved search that could not be kept: a bad name, or nothing to search for."""
    check_name(search.name)
    if not search.query.strip() and not search.tags:
        raise RequestError("empty_query", "give words to search for, or a tag (--tag) to keep as a folder", 422)


def check_name(name: str) -> None:
    """A saved search's name becomes a folder's name: refuse what could not be one, or would be another
    folder than the one asked for (a `RequestError` that says why)."""
    def refuse(why: str) -> None:
        raise RequestError("bad_name", f"{name!r} cannot name a saved search: {why}", 422)

    if not name:
        refuse("give it a name")
    if name in (".", ".."):
        refuse("it would name the folder itself or the one above it")
    if "/" in name or "\\" in name:
        refuse("it becomes a folder's name, which cannot hold / or \\")
    if any(unicodedata.category(c) == "Cc" for c in name):  # NUL, newlines, tabs, escapes
        refuse("it holds a control character (NUL, a newline, a tab...)")
    if name != name.strip():
        refuse("it begins or ends with a space")
    if name.startswith("."):
        refuse("a name that begins with . would be a hidden folder")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        refuse(f"a folder's name is at most {MAX_NAME_BYTES} bytes")
    if sys.platform == "win32" and (set(name) & set(WINDOWS_FORBIDDEN) or name.endswith(".")):
        refuse(f"Windows folder names cannot hold {WINDOWS_FORBIDDEN} or end with .")
