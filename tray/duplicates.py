"""The Duplicates view: each group of near-identical photos side by side, the copy photosift suggests keeping
marked; the user ticks what goes, and it goes to the desktop's Trash through the daemon (never deleted
outright: restorable from there). The index follows as for any deletion.

Every copy but the suggested one starts ticked, so the common case is one click
and a confirmation; untick what should stay. Finding the groups reads every
stored embedding (tens of seconds on a 100,000-photo library), so it runs on
the window's worker and the window says so meanwhile.
"""

from __future__ import annotations

import base64
import functools
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import font as tkfont
from tkinter import ttk

from PIL import Image, ImageTk

from photosift.daemon.answers import DuplicateFile, DuplicateGroup, Trashed
from photosift.daemon.client import Client
from photosift.daemon.words import DUPLICATE_KINDS, size_text

from . import icons
from .calls import Caller, CallError
from .desktop import open_with_default_app
from .dialogs import ask_yes_no
from .grid import fit, scroll, scrolling
from .thumbnails import Thumbnails
from .uiqueue import UiQueue

ERROR_FG, NORMAL_FG, KEEP_FG = "#a00", "#555", "#1a6e1a"


class DuplicatesWindow:
    """One Duplicates window (a Toplevel of `master`), for the whole library or one `folder`."""

    def __init__(self, master: tk.Misc, ui: UiQueue, connect: Callable[[], Client], thumbs: Thumbnails,
                 folder: str | None = None, opener: Callable[[str], None] = open_with_default_app,
                 confirm: Callable[[tk.Misc, str], bool] = ask_yes_no,
                 on_close: Callable[[], None] | None = None) -> None:
        self.ui = ui
        self.calls = Caller(ui, connect)
        self.thumbs = thumbs
        self.folder = folder
        self.opener = opener
        self.confirm = confirm
        self.on_close = on_close
        self.closed = False
        self.groups: list[DuplicateGroup] = []
        self.ticked: dict[str, tk.BooleanVar] = {}  # path: whether it goes to the Trash
        self.pictures: dict[str, tk.Label] = {}
        self.checks: dict[str, ttk.Checkbutton] = {}
        self.images: dict[str, ImageTk.PhotoImage] = {}  # Tk shows an image only while Python holds it
        self._version = 0  # a thumbnail for groups drawn before the last redraw is dropped
        self.top = tk.Toplevel(master, class_="photosift", name="photosift-duplicates")
        self._build()
        self.load()

    def _build(self) -> None:
        top = self.top
        top.title("photosift: duplicates" + (f" in {self.folder}" if self.folder else ""))
        top.geometry("1000x760")
        self._icons = [tk.PhotoImage(master=top, data=base64.b64encode(icons.png(size)), format="png")
                       for size in (64, 32, 16)]
        top.iconphoto(False, *self._icons)
        bar = ttk.Frame(top)
        bar.pack(side="bottom", fill="x", padx=10, pady=10)
        self.trash_button = ttk.Button(bar, text="Move to Trash", command=self.trash)
        self.trash_button.pack(side="right")
        self.again_button = ttk.Button(bar, text="Look again", command=self.load)
        self.again_button.pack(side="right", padx=8)
        self.status = ttk.Label(top, anchor="w", foreground=NORMAL_FG)
        self.status.pack(fill="x", padx=12, pady=(10, 0))
        frame = ttk.Frame(top)
        frame.pack(fill="both", expand=True, padx=10, pady=(6, 0))
        self._bg: str = ttk.Style(top).lookup("TFrame", "background") or top.cget("bg")  # Tk cells, themed ground
        self.canvas, self.inner = scrolling(frame, self._bg)
        self._blank = tk.PhotoImage(master=top, width=self.thumbs.size, height=self.thumbs.size)
        for wheel in ("<Button-4>", "<Button-5>", "<MouseWheel>"):
            top.bind(wheel, functools.partial(scroll, self.canvas))
        top.bind("<Escape>", lambda _e: self.close())
        top.protocol("WM_DELETE_WINDOW", self.close)

    def raise_(self) -> None:
        self.top.deiconify()
        self.top.lift()
        self.top.focus_force()

    # -- finding the groups -------------------------------------------------------------------------

    def load(self) -> None:
        """Ask the daemon for the groups (again)."""
        self._say("Looking for duplicates… (on a large library this takes up to a minute)")
        self.trash_button.state(["disabled"])
        self.again_button.state(["disabled"])
        folder = self.folder
        self.calls.call(lambda c: c.duplicates(folder), self._loaded)

    def _loaded(self, groups: list[DuplicateGroup] | None, error: CallError | None) -> None:
        self.again_button.state(["!disabled"])
        if error is not None:
            self._say(f"cannot look for duplicates: {error}", error=True)
            return
        self.groups = groups or []
        self._draw()

    # -- showing them -------------------------------------------------------------------------------

    def _draw(self) -> None:
        self._version += 1
        for child in self.inner.winfo_children():
            child.destroy()
        self.ticked, self.pictures, self.checks, self.images = {}, {}, {}, {}
        for number, group in enumerate(self.groups, 1):
            self._draw_group(number, group)
        self.canvas.yview_moveto(0)
        self._count()

    def _draw_group(self, number: int, group: DuplicateGroup) -> None:
        box = ttk.Frame(self.inner)
        box.pack(fill="x", anchor="w", pady=(0, 14))
        ttk.Label(box, text=f"{number}. {DUPLICATE_KINDS[group['kind']].capitalize()}: {len(group['files'])} photos",
                  font=("TkDefaultFont", 11, "bold")).pack(anchor="w")
        row = ttk.Frame(box)
        row.pack(anchor="w")
        for file in group["files"]:
            self._draw_file(row, file)

    def _draw_file(self, row: ttk.Frame, file: DuplicateFile) -> None:
        path = file["path"]
        cell = tk.Frame(row, bd=2, relief="solid" if file["keep"] else "flat", padx=4, pady=4, bg=self._bg)
        cell.pack(side="left", anchor="n", padx=(0, 8))
        picture = tk.Label(cell, image=self._blank, text="…", compound="center", bg="#eee")
        picture.pack()
        picture.bind("<Double-Button-1>", lambda _e: self._open(path))
        self.pictures[path] = picture
        width = self.thumbs.size
        font = tkfont.nametofont("TkDefaultFont")
        lines = [fit(Path(path).name, font, width), f"{file['width']}×{file['height']}, {size_text(file['size'])}",
                 file["taken_at"][:10], fit(Path(file["folder"]).name + "/", font, width)]
        tk.Label(cell, text="\n".join(lines), justify="center", bg=self._bg).pack()
        if file["keep"]:
            tk.Label(cell, text="suggested to keep", fg=KEEP_FG, bg=self._bg).pack()
        ticked = tk.BooleanVar(master=cell, value=not file["keep"])
        self.ticked[path] = ticked
        self.checks[path] = ttk.Checkbutton(cell, text="Move to Trash", variable=ticked, command=self._count)
        self.checks[path].pack()
        self.thumbs.request(path, functools.partial(self._thumb_made, self._version))

    def _thumb_made(self, version: int, path: str, thumb: Path | None, error: str | None) -> None:
        # on a thumbnail worker: the window is the Tk thread's
        self.ui.post(self._show_thumb, version, path, thumb, error)

    def _show_thumb(self, version: int, path: str, thumb: Path | None, error: str | None) -> None:
        picture = self.pictures.get(path)
        if self.closed or version != self._version or picture is None:
            return
        if thumb is None:
            picture.config(text=f"(no preview)\n{error}", wraplength=self.thumbs.size - 10)
            return
        with Image.open(thumb) as img:
            self.images[path] = ImageTk.PhotoImage(img, master=self.top)
        picture.config(image=self.images[path], text="")

    def _count(self) -> None:
        """Say what the ticks add up to, on the button and in the status line."""
        chosen = self.chosen()
        sizes = {f["path"]: f["size"] for g in self.groups for f in g["files"]}
        freed = sum(sizes[p] for p in chosen)
        self.trash_button.config(text=f"Move {len(chosen)} to Trash" if chosen else "Move to Trash")
        self.trash_button.state(["!disabled"] if chosen else ["disabled"])
        if not self.groups:
            self._say("No duplicates: every photo is one of a kind" + (f" in {self.folder}" if self.folder else ""))
            return
        copies = sum(len(g["files"]) for g in self.groups)
        self._say(f"{len(self.groups)} group{'s' if len(self.groups) != 1 else ''} of duplicates, {copies} photos; "
                  f"{len(chosen)} ticked to go to the Trash ({size_text(freed)}). Double-click a photo to open it.")

    def chosen(self) -> list[str]:
        """The ticked photos, in the order shown."""
        return [path for path, ticked in self.ticked.items() if ticked.get()]

    # -- letting copies go ----------------------------------------------------------------------------

    def trash(self) -> None:
        """Move the ticked photos to the Trash, after a confirmation that says what will happen."""
        chosen = self.chosen()
        if not chosen:
            return
        emptied = [n for n, g in enumerate(self.groups, 1) if all(f["path"] in chosen for f in g["files"])]
        question = (f"Move {len(chosen)} photo{'s' if len(chosen) != 1 else ''} to the Trash? "
                    "You can restore them from there.")
        if emptied:
            question += f"\n\nEvery copy in group {', '.join(map(str, emptied))} is ticked: none of it would stay."
        if not self.confirm(self.top, question):
            return
        self.trash_button.state(["disabled"])
        self._say(f"Moving {len(chosen)} to the Trash…")
        self.calls.call(lambda c: c.trash(chosen), self._trashed)

    def _trashed(self, answer: Trashed | None, error: CallError | None) -> None:
        if error is not None or answer is None:
            self._say(f"nothing was moved: {error}", error=True)
            self._count()
            return
        gone = set(answer["trashed"])
        remaining: list[DuplicateGroup] = []
        for group in self.groups:
            files = [f for f in group["files"] if f["path"] not in gone]
            if len(files) > 1:  # a group of one is no group
                remaining.append({"kind": group["kind"], "files": files})
        self.groups = remaining
        self._draw()
        said = f"Moved {len(gone)} to the Trash (restore them from there)."
        if answer["failed"]:
            first = answer["failed"][0]
            self._say(f"{said} {len(answer['failed'])} could not go: {first['path']}: {first['reason']}",
                      error=True)
        else:
            self._say(f"{said} {self.status.cget('text')}")

    # -- the rest -------------------------------------------------------------------------------------

    def _open(self, path: str) -> None:
        try:
            self.opener(path)
        except OSError as exc:
            self._say(f"cannot open {path}: {exc.strerror or exc}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.config(text=text, foreground=ERROR_FG if error else NORMAL_FG)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.calls.close()
        self.top.destroy()
        if self.on_close is not None:
            self.on_close()
