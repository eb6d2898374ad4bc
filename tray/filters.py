"""The search window's filters: one watched folder, a date range, tags as chips.

Dates are typed as 2024, 2024-06 or 2024-06-30 (read by daemon/dates.py, as the
CLI and the API read them); "from" means the start of that period and "to" its
end, so "to 2024-06" includes the 30th. Tag chips are the
vocabulary's most used tags (the daemon counts them), plus any tag chosen from
a result's context menu.
"""

from __future__ import annotations

import functools
import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any

from photosift.daemon.dates import period_end, period_start
from photosift.daemon.errors import DateError

ALL_FOLDERS = "All folders"
CHIPS = 14
CHIP_ON, CHIP_OFF = ("#2a6edb", "white"), ("#e8e8e8", "black")
INVALID_BG = "#ffd6d6"


def parse_date(text: str, end: bool) -> str | None:
    """An ISO timestamp (local time) for the start of a typed period, or with `end` for the first moment
    after it (the daemon's "before" is exclusive: "To 2024-06" takes in the 30th); None when empty."""
    if not text.strip():
        return None
    return (period_end(text) if end else period_start(text)).isoformat()


class FilterBar(tk.Frame):
    """Folder, from, to, and tag chips; `on_change()` whenever one of them changes."""

    def __init__(self, master: tk.Misc, on_change: Callable[[], None]) -> None:
        super().__init__(master)
        self.on_change = on_change
        self.chosen_tags: list[str] = []
        self._popular: list[str] = []
        self._chip_labels: dict[str, tk.Label] = {}
        self._date_texts: list[tk.StringVar] = []
        row = tk.Frame(self)
        row.pack(fill="x")
        tk.Label(row, text="Folder").pack(side="left")
        self.folder = ttk.Combobox(row, values=[ALL_FOLDERS], state="readonly", width=36)
        self.folder.set(ALL_FOLDERS)
        self.folder.bind("<<ComboboxSelected>>", lambda _e: self.on_change())
        self.folder.pack(side="left", padx=(4, 12))
        self.after_entry = self._date_entry(row, "From")
        self.before_entry = self._date_entry(row, "To")
        tk.Button(row, text="Clear filters", command=self.clear).pack(side="right")
        self.chips = tk.Frame(self)
        self.chips.pack(fill="x", pady=(4, 0))

    def _date_entry(self, row: tk.Frame, label: str) -> tk.Entry:
        tk.Label(row, text=label).pack(side="left")
        text = tk.StringVar(self)
        text.trace_add("write", lambda *_: self.on_change())  # typed, pasted or cleared
        self._date_texts.append(text)  # a Tk variable lives only while Python holds it
        entry = tk.Entry(row, width=11, textvariable=text)
        entry.pack(side="left", padx=(4, 12))
        return entry

    # -- choices from the daemon ------------------------------------------------------------------

    def set_folders(self, folders: list[dict[str, Any]]) -> None:
        self.folder.configure(values=[ALL_FOLDERS, *(f["path"] for f in folders)])

    def set_vocabulary(self, vocabulary: list[dict[str, Any]]) -> None:
        """Chips for the most used tags (none until some file carries a tag)."""
        used = sorted((v for v in vocabulary if v["count"] > 0), key=lambda v: (-v["count"], v["tag"]))
        self._popular = [v["tag"] for v in used[:CHIPS]]
        self._draw_chips()

    def _draw_chips(self) -> None:
        for chip in self.chips.winfo_children():
            chip.destroy()
        self._chip_labels = {}
        shown = self._popular + [t for t in self.chosen_tags if t not in self._popular]
        if shown:
            tk.Label(self.chips, text="Tags").pack(side="left")
        for tag in shown:
            bg, fg = CHIP_ON if tag in self.chosen_tags else CHIP_OFF
            chip = tk.Label(self.chips, text=tag, bg=bg, fg=fg, padx=8, pady=2, cursor="hand2")
            chip.pack(side="left", padx=2)
            chip.bind("<Button-1>", functools.partial(self._chip_clicked, tag))
            self._chip_labels[tag] = chip

    def chip(self, tag: str) -> tk.Label | None:
        """The chip showing `tag`, if one does."""
        return self._chip_labels.get(tag)

    # -- the user's choices -----------------------------------------------------------------------

    def _chip_clicked(self, tag: str, _event: tk.Event[tk.Misc]) -> None:
        self.toggle(tag)

    def toggle(self, tag: str) -> None:
        if tag in self.chosen_tags:
            self.chosen_tags.remove(tag)
        else:
            self.chosen_tags.append(tag)
        self._draw_chips()
        self.on_change()

    def clear(self) -> None:
        self.folder.set(ALL_FOLDERS)
        for entry in (self.after_entry, self.before_entry):
            entry.delete(0, "end")
        self.chosen_tags = []
        self._draw_chips()
        self.on_change()

    def describe(self) -> str:
        """The filters that are set, in words ("in /photos/2023, from 2023, tagged beach"); "" for none."""
        parts = []
        folder = self.folder.get()
        if folder != ALL_FOLDERS:
            parts.append(f"in {folder}")
        for word, entry in (("from", self.after_entry), ("to", self.before_entry)):
            if entry.get().strip():
                parts.append(f"{word} {entry.get().strip()}")
        if self.chosen_tags:
            parts.append("tagged " + ", ".join(self.chosen_tags))
        return ", ".join(parts)

    def values(self) -> dict[str, Any]:
        """The filters as the client's keyword arguments; DateError (and a red entry) for a bad date."""
        dates: dict[str, str | None] = {}
        for key, entry, end in (("taken_after", self.after_entry, False), ("taken_before", self.before_entry, True)):
            try:
                dates[key] = parse_date(entry.get(), end)
            except DateError:
                entry.config(bg=INVALID_BG)
                raise
            entry.config(bg="white")
        folder = self.folder.get()
        return {"folder": None if folder == ALL_FOLDERS else folder, **dates,
                "tags": list(self.chosen_tags) or None}
