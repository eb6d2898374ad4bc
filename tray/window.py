"""The search window (Tk): a query box, results as you type, a grid of thumbnails with names and scores.

Tk is single-threaded, so nothing slow happens on its thread: searches run on
a worker thread through the daemon's client and thumbnails on the thumbnail
pool, and both hand their results back through a queue that the Tk loop polls.
Typing is debounced, and an answer to an older query than the one on screen is
dropped. Errors (the daemon down, a timeout) appear in the window's status line.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tkinter as tk
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image, ImageTk

from photosift.daemon.client import Client
from photosift.daemon.errors import PhotosiftError

from .thumbnails import Thumbnails

DEBOUNCE_MS = 250
POLL_MS = 30
COLUMNS = 5
RESULTS = 40


def open_with_default_app(path: str) -> None:
    """Open a file with the desktop's default application."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]
    else:
        subprocess.Popen(["open" if sys.platform == "darwin" else "xdg-open", path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class SearchWindow:
    """The window over a Tk root; `connect` makes a client of the daemon for each search."""

    def __init__(self, root: tk.Tk, connect: Callable[[], Client], thumbs: Thumbnails,
                 opener: Callable[[str], None] = open_with_default_app, debounce_ms: int = DEBOUNCE_MS) -> None:
        self.root = root
        self.connect = connect
        self.thumbs = thumbs
        self.opener = opener
        self.debounce_ms = debounce_ms
        self.results: list[dict[str, Any]] = []
        self.selected = -1
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="photosift-ui")
        self._generation = 0
        self._pending: str | None = None
        self._images: dict[str, ImageTk.PhotoImage] = {}  # Tk shows an image only while Python holds it
        self._cells: list[tuple[tk.Frame, tk.Label, tk.Label]] = []
        self._build()
        self._poll = self.root.after(POLL_MS, self._drain)

    # -- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.root.title("photosift")
        self.root.geometry("960x720")
        self.query = tk.StringVar()
        self.entry = tk.Entry(self.root, textvariable=self.query, font=("TkDefaultFont", 16))
        self.entry.pack(fill="x", padx=10, pady=(10, 4))
        self.status = tk.Label(self.root, text="Type to search your photos", anchor="w", fg="#555")
        self.status.pack(fill="x", padx=12)
        # the grid scrolls: a frame inside a canvas, with a scrollbar and the mouse wheel
        area = tk.Frame(self.root)
        area.pack(fill="both", expand=True, padx=10, pady=10)
        self.canvas = tk.Canvas(area, highlightthickness=0)
        scrollbar = tk.Scrollbar(area, orient="vertical", command=self.canvas.yview)
        self.canvas.configure(yscrollcommand=scrollbar.set)
        scrollbar.pack(side="right", fill="y")
        self.canvas.pack(side="left", fill="both", expand=True)
        self.grid = tk.Frame(self.canvas)
        self.canvas.create_window((0, 0), window=self.grid, anchor="nw")
        self.grid.bind("<Configure>", lambda _e: self.canvas.configure(scrollregion=self.canvas.bbox("all")))
        for wheel in ("<Button-4>", "<Button-5>", "<MouseWheel>"):  # X11 buttons; Windows and macOS delta
            self.root.bind(wheel, self._wheel)
        self.query.trace_add("write", lambda *_: self._schedule())
        for key in ("<Down>", "<Up>", "<Left>", "<Right>"):
            self.root.bind(key, self._move)
        self.root.bind("<Return>", lambda _e: self.open_selected())
        self.root.bind("<Escape>", lambda _e: self.close())
        self.root.protocol("WM_DELETE_WINDOW", self.close)
        self.entry.focus_set()

    # -- searching ------------------------------------------------------------------------------

    def _schedule(self) -> None:
        if self._pending is not None:
            self.root.after_cancel(self._pending)
        self._pending = self.root.after(self.debounce_ms, self._search)

    def _search(self) -> None:
        self._pending = None
        text = self.query.get().strip()
        self._generation += 1
        generation = self._generation
        if not text:
            self._show_results(generation, [])
            return
        self.status.config(text=f"Searching for “{text}”…")
        self._worker.submit(self._ask, generation, text)

    def _ask(self, generation: int, text: str) -> None:
        """On the worker thread: one search through the daemon's API."""
        try:
            with self.connect() as client:
                self._inbox.put(("results", (generation, client.search(text, RESULTS))))
        except PhotosiftError as exc:
            self._inbox.put(("error", (generation, str(exc))))

    def _drain(self) -> None:
        """On the Tk thread: apply whatever the workers finished."""
        while True:
            try:
                kind, payload = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "results":
                self._show_results(*payload)
            elif kind == "error" and payload[0] == self._generation:
                self.status.config(text=payload[1], fg="#a00")
            elif kind == "thumb":
                self._show_thumb(*payload)
        self._poll = self.root.after(POLL_MS, self._drain)

    def _show_results(self, generation: int, results: list[dict[str, Any]]) -> None:
        if generation != self._generation:
            return  # an answer to an older query: the user has typed on
        for frame, _, _ in self._cells:
            frame.destroy()
        self._cells, self._images = [], {}
        self.results = results
        self.selected = 0 if results else -1
        self.status.config(text=f"{len(results)} results" if results else "No results", fg="#555")
        for i, hit in enumerate(results):
            frame = tk.Frame(self.grid, bd=2, relief="flat")
            frame.grid(row=i // COLUMNS, column=i % COLUMNS, padx=4, pady=4, sticky="n")
            picture = tk.Label(frame, width=20, height=8, text="…", bg="#eee")
            picture.pack()
            caption = tk.Label(frame, text=f"{Path(hit['path']).name}\n{hit['score']:.3f}", wraplength=170)
            caption.pack()
            for widget in (frame, picture, caption):
                widget.bind("<Button-1>", lambda _e, i=i: self.select(i))
                widget.bind("<Double-Button-1>", lambda _e, i=i: (self.select(i), self.open_selected()))
            self._cells.append((frame, picture, caption))
            self.thumbs.request(hit["path"], lambda path, thumb, error, g=generation: self._inbox.put(
                ("thumb", (g, path, thumb, error))))
        self._highlight()

    def _show_thumb(self, generation: int, path: str, thumb: Path | None, error: str | None) -> None:
        if generation != self._generation:
            return
        for hit, (_, picture, _) in zip(self.results, self._cells, strict=False):
            if hit["path"] != path:
                continue
            if thumb is None:
                picture.config(text=f"(no preview)\n{error}", wraplength=160)
            else:
                with Image.open(thumb) as img:
                    photo = ImageTk.PhotoImage(img, master=self.root)
                self._images[path] = photo
                picture.config(image=photo, width=photo.width(), height=photo.height(), text="")

    # -- selection and opening ------------------------------------------------------------------

    def select(self, index: int) -> None:
        if 0 <= index < len(self.results):
            self.selected = index
            self._highlight()

    def _move(self, event: tk.Event) -> str | None:
        if not self.results:
            return None
        step = {"Down": COLUMNS, "Up": -COLUMNS, "Left": -1, "Right": 1}[event.keysym]
        if event.keysym in ("Left", "Right") and self.root.focus_get() is self.entry:
            return None  # the arrows move the cursor in the query box
        self.select(max(0, min(len(self.results) - 1, self.selected + step)))
        return "break"

    def _highlight(self) -> None:
        for i, (frame, _, _) in enumerate(self._cells):
            frame.config(relief="solid" if i == self.selected else "flat")
        if 0 <= self.selected < len(self._cells):
            self._scroll_into_view(self._cells[self.selected][0])

    def _scroll_into_view(self, cell: tk.Frame) -> None:
        self.root.update_idletasks()  # the cell's geometry is known only once laid out
        total = self.grid.winfo_height()
        if total <= 0:
            return
        margin = 8  # the cells' padding: a row shows with its gap, the first row from the very top
        top, bottom = cell.winfo_y() - margin, cell.winfo_y() + cell.winfo_height() + margin
        first, last = (f * total for f in self.canvas.yview())
        if top < first:
            self.canvas.yview_moveto(max(0, top) / total)
        elif bottom > last:
            self.canvas.yview_moveto((bottom - (last - first)) / total)

    def _wheel(self, event: tk.Event) -> None:
        if event.num == 4 or event.delta > 0:
            self.canvas.yview_scroll(-1, "units")
        elif event.num == 5 or event.delta < 0:
            self.canvas.yview_scroll(1, "units")

    def open_selected(self) -> None:
        if 0 <= self.selected < len(self.results):
            path = self.results[self.selected]["path"]
            try:
                self.opener(path)
            except OSError as exc:
                self.status.config(text=f"cannot open {path}: {exc.strerror}", fg="#a00")

    def close(self) -> None:
        self.root.after_cancel(self._poll)
        self._worker.shutdown(wait=True, cancel_futures=True)
        self.thumbs.close()
        self.root.destroy()
