"""A result's context menu: open, reveal in the file manager, find similar, copy the path, its tags.

The tags come from the daemon after the menu is up (they are asked for off the
UI thread); choosing one filters the results by it.
"""

from __future__ import annotations

import functools
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOADING = "Tags: asking the daemon…"


@dataclass(frozen=True)
class MenuActions:
    """What the menu's entries do with the path they were opened on."""

    open: Callable[[str], None]
    reveal: Callable[[str], None]
    similar: Callable[[str], None]
    copy: Callable[[str], None]
    filter_by_tag: Callable[[str], None]


class ResultMenu:
    """Builds and posts the menu of one result; `fill_tags` completes it when the daemon answers."""

    def __init__(self, master: tk.Misc, actions: MenuActions) -> None:
        self.master = master
        self.actions = actions
        self.menu: tk.Menu | None = None
        self.path: str | None = None

    def post(self, path: str, x: int, y: int) -> tk.Menu:
        self.unpost()
        self.path = path
        menu = tk.Menu(self.master, tearoff=False)
        menu.add_command(label="Open", command=lambda: self.actions.open(path))
        menu.add_command(label="Reveal in file manager", command=lambda: self.actions.reveal(path))
        menu.add_command(label="Find similar", command=lambda: self.actions.similar(path))
        menu.add_command(label="Copy path", command=lambda: self.actions.copy(path))
        menu.add_separator()
        menu.add_command(label=LOADING, state="disabled")
        self.menu = menu
        menu.tk_popup(x, y)
        return menu

    def fill_tags(self, path: str, answer: dict[str, Any] | None, error: str | None) -> None:
        """Replace the waiting line with the file's tags (each filters by itself), or say why there are none."""
        menu = self.menu
        if menu is None or path != self.path or not menu.winfo_exists():
            return  # the menu closed, or opened on another file, while the daemon answered
        last = menu.index("end")
        if last is not None:  # the waiting line
            menu.delete(last)
        if error is not None:
            menu.add_command(label=f"Tags: {error}", state="disabled")
            return
        tags = answer["tags"] if answer else []
        if not tags:
            menu.add_command(label="Tags: none", state="disabled")
        for tag in tags:
            menu.add_command(label=f"Tag: {tag['tag']} ({tag['confidence']:.0%}) — show only these",
                             command=functools.partial(self.actions.filter_by_tag, tag["tag"]))

    def labels(self) -> list[str]:
        """The entries' labels, as a person reads the menu (separators as "—")."""
        if self.menu is None:
            return []
        end = self.menu.index("end")
        return ["—" if self.menu.type(i) == "separator" else self.menu.entrycget(i, "label")
                for i in range(0 if end is None else end + 1)]

    def unpost(self) -> None:
        if self.menu is not None and self.menu.winfo_exists():
            self.menu.unpost()
            self.menu.destroy()
        self.menu = None
