"""The tray's small windows: the watched folders (add, remove) and the recent indexing errors."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import filedialog, messagebox, ttk
from typing import Any

from photosift.daemon.client import Client

from .calls import Caller
from .uiqueue import UiQueue

ERROR_FG, NORMAL_FG = "#a00", "#555"


def ask_yes_no(parent: tk.Misc, question: str) -> bool:
    return bool(messagebox.askyesno("photosift", question, parent=parent))


def close_button(top: tk.Toplevel, close: Callable[[], None]) -> ttk.Button:
    """A dialog's Close button, bottom right (Esc does the same)."""
    button = ttk.Button(top, text="Close", command=close)
    button.pack(side="bottom", anchor="e", padx=10, pady=(0, 10))
    return button


class FoldersDialog:
    """The watched folders with their state; add one (typed or browsed), remove the selected one."""

    def __init__(self, master: tk.Misc, ui: UiQueue, connect: Callable[[], Client],
                 confirm: Callable[[tk.Misc, str], bool] = ask_yes_no) -> None:
        self.calls = Caller(ui, connect)
        self.confirm = confirm
        self.folders: list[dict[str, Any]] = []
        self.top = top = tk.Toplevel(master)
        top.title("photosift: watched folders")
        top.geometry("720x360")
        self.listbox = tk.Listbox(top, font=("TkDefaultFont", 11), activestyle="none")
        self.listbox.pack(fill="both", expand=True, padx=10, pady=(10, 4))
        row = tk.Frame(top)
        row.pack(fill="x", padx=10)
        self.path = tk.Entry(row)
        self.path.pack(side="left", fill="x", expand=True)
        self.path.bind("<Return>", lambda _e: self.add())
        tk.Button(row, text="Browse…", command=self.browse).pack(side="left", padx=4)
        tk.Button(row, text="Add", command=self.add).pack(side="left")
        self.remove_button = tk.Button(row, text="Remove selected", command=self.remove)
        self.remove_button.pack(side="left", padx=(12, 0))
        self.status = tk.Label(top, anchor="w", fg=NORMAL_FG, wraplength=680, justify="left")
        self.status.pack(fill="x", padx=10, pady=(4, 4))
        self.close_button = close_button(top, self.close)
        top.bind("<Escape>", lambda _e: self.close())
        top.protocol("WM_DELETE_WINDOW", self.close)
        self.path.focus_set()
        self.refresh()

    def refresh(self) -> None:
        self.calls.call(lambda c: c.folders(), self._show)

    def _show(self, folders: list[dict[str, Any]] | None, error: str | None) -> None:
        if error is not None:
            self._say(error, error=True)
            return
        assert folders is not None
        self.folders = folders
        self.listbox.delete(0, "end")
        for f in folders:
            state = "" if f["state"] == "online" else f", {f['state']}"
            self.listbox.insert("end", f"{f['path']}    ({f['indexed']:,} images{state})")
        self._say(f"{len(folders)} watched folder{'s' if len(folders) != 1 else ''}")

    def browse(self) -> None:
        chosen = filedialog.askdirectory(parent=self.top, mustexist=True, title="Watch a folder")
        if chosen:
            self.path.delete(0, "end")
            self.path.insert(0, chosen)
            self.add()

    def add(self) -> None:
        path = self.path.get().strip()
        if not path:
            self._say("type a folder's path, or Browse… for one", error=True)
            return
        self._say(f"Adding {path}…")
        self.calls.call(lambda c: c.add_folder(path), lambda change, error: self._changed(change, error, "added"))

    def remove(self) -> None:
        chosen = self.listbox.curselection()
        if not chosen:
            self._say("select a folder to remove", error=True)
            return
        folder = self.folders[chosen[0]]
        question = (f"Stop watching {folder['path']}? Its {folder['indexed']:,} indexed images leave the search; "
                    "adding it back within 30 days encodes nothing.\n\nThe photos themselves are not touched.")
        if not self.confirm(self.top, question):
            return
        self._say(f"Removing {folder['path']}…")
        self.calls.call(lambda c: c.remove_folder(folder["path"]),
                        lambda change, error: self._changed(change, error, "removed"))

    def _changed(self, change: dict[str, Any] | None, error: str | None, verb: str) -> None:
        if error is not None:
            self._say(error, error=True)
            return
        assert change is not None
        if verb == "added":
            self.path.delete(0, "end")
        self.refresh()
        self.top.after_idle(lambda: self._say(f"{verb.capitalize()}: {', '.join(change[verb]) or 'nothing'}"))

    def _say(self, text: str, error: bool = False) -> None:
        self.status.config(text=text, fg=ERROR_FG if error else NORMAL_FG)

    def close(self) -> None:
        self.calls.close()
        self.top.destroy()


class ErrorsDialog:
    """Files the daemon could not index, with the reasons; read-only, selectable text."""

    def __init__(self, master: tk.Misc, ui: UiQueue, connect: Callable[[], Client]) -> None:
        self.calls = Caller(ui, connect)
        self.top = top = tk.Toplevel(master)
        top.title("photosift: recent errors")
        top.geometry("820x400")
        self.text = tk.Text(top, wrap="none", font=("TkFixedFont", 10))
        self.text.pack(fill="both", expand=True, padx=10, pady=(10, 4))
        self.close_button = close_button(top, self.close)
        self.text.insert("end", "Asking the daemon…")
        self.text.config(state="disabled")
        top.bind("<Escape>", lambda _e: self.close())
        top.protocol("WM_DELETE_WINDOW", self.close)
        self.calls.call(lambda c: c.errors(), self._show)

    def _show(self, errors: list[dict[str, Any]] | None, error: str | None) -> None:
        if error is not None:
            body = error
        elif not errors:
            body = "No errors: every file found so far was indexed."
        else:
            body = "\n".join(f"{e['path']}\n    {e['reason']}" for e in errors)
        self.text.config(state="normal")
        self.text.delete("1.0", "end")
        self.text.insert("end", body)
        self.text.config(state="disabled")

    def content(self) -> str:
        return self.text.get("1.0", "end-1c")

    def close(self) -> None:
        self.calls.close()
        self.top.destroy()
