"""The scrolling grid of results: thumbnails with file names and scores, one of them selected, and a
divider ("less likely matches") where the search's relevant results end.

Thumbnails are made by the thumbnail pool and arrive through the UI queue;
results replaced in the meantime make a late thumbnail a no-op.
"""

from __future__ import annotations

import functools
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import font as tkfont
from typing import Any

from PIL import Image, ImageTk

from .thumbnails import Thumbnails
from .uiqueue import UiQueue

CELL_PADDING = 16  # the cell's border and the gaps between cells
SELECTED_BG = "#cfe3ff"
DIVIDER_TEXT = "less likely matches"


def fit(name: str, font: tkfont.Font, width: int) -> str:
    """The file name, shortened in the middle ("IMG_2024…0412.jpg") until it fits `width` pixels."""
    if font.measure(name) <= width:
        return name
    keep = len(name) - 1
    while keep > 2:
        head, tail = name[: (keep + 1) // 2], name[len(name) - keep // 2:]
        if font.measure(f"{head}…{tail}") <= width:
            return f"{head}…{tail}"
        keep -= 1
    return name[:1] + "…"


class ResultGrid(tk.Frame):
    """Results in as many columns as the width allows; `on_open(i)` on double-click, `on_menu(i, x, y)` on
    right-click."""

    def __init__(self, master: tk.Misc, ui: UiQueue, thumbs: Thumbnails, on_open: Callable[[int], None],
                 on_menu: Callable[[int, int, int], None]) -> None:
        super().__init__(master)
        self.ui = ui
        self.thumbs = thumbs
        self.on_open = on_open
        self.on_menu = on_menu
        self.results: list[dict[str, Any]] = []
        self.selected = -1
        self.columns = 1
        self.cells: list[tuple[tk.Frame, tk.Label, tk.Label]] = []
        self.relevant = 0  # how many results, from the first, are relevant; the divider comes after them
        self.divider: tk.Label | None = None
        self.images: dict[str, ImageTk.PhotoImage] = {}  # Tk shows an image only while Python holds it
        self._version = 0
        self._font = tkfont.nametofont("TkDefaultFont")
        self._blank = tk.PhotoImage(master=self, width=thumbs.size, height=thumbs.size)
        self.canvas, self.inner = scrolling(self)
        self.canvas.bind("<Configure>", lambda e: self._reflow(e.width))

    def show(self, results: list[dict[str, Any]]) -> None:
        """Replace the results; the first one is selected."""
        self._version += 1
        for frame, _, _ in self.cells:
            frame.destroy()
        if self.divider is not None:
            self.divider.destroy()
            self.divider = None
        self.cells, self.images = [], {}
        self.results = results
        self.selected = 0 if results else -1
        self.relevant = sum(1 for hit in results if hit.get("relevant", True))
        if self.relevant < len(results):
            self.divider = tk.Label(self.inner, text=f"── {DIVIDER_TEXT} ──", fg="#666")
        for i, hit in enumerate(results):
            frame = tk.Frame(self.inner, bd=2, relief="flat")
            row, column = self._place(i)
            frame.grid(row=row, column=column, padx=4, pady=4, sticky="n")
            # a blank image gives the placeholder the thumbnail's size in pixels, so the grid does not jump
            picture = tk.Label(frame, image=self._blank, text="…", compound="center", bg="#eee")
            picture.pack()
            caption = tk.Label(frame, text=f"{fit(Path(hit['path']).name, self._font, self.thumbs.size)}\n"
                                           f"{hit['score']:.3f}")
            caption.pack()
            for widget in (frame, picture, caption):
                self._bind_cell(widget, i)
            self.cells.append((frame, picture, caption))
            self.thumbs.request(hit["path"], functools.partial(self._thumb_made, self._version))
        self._place_divider()
        self.canvas.yview_moveto(0)
        self._highlight()

    def _place(self, index: int) -> tuple[int, int]:
        """The grid row and column of result `index`: the relevant ones first, the others from the row
        after the divider's."""
        columns = self.columns
        if index < self.relevant:
            return index // columns, index % columns
        rest = index - self.relevant
        first = -(-self.relevant // columns) + 1  # the relevant rows, then the divider's
        return first + rest // columns, rest % columns

    def _place_divider(self) -> None:
        if self.divider is not None:
            self.divider.grid(row=-(-self.relevant // self.columns), column=0, columnspan=self.columns,
                              sticky="ew", pady=(8, 2))

    def _bind_cell(self, widget: tk.Misc, index: int) -> None:
        def clicked(_event: tk.Event[tk.Misc]) -> None:
            self.select(index)

        def double_clicked(_event: tk.Event[tk.Misc]) -> None:
            self.select(index)
            self.on_open(index)

        def right_clicked(event: tk.Event[tk.Misc]) -> None:
            self.select(index)
            self.on_menu(index, event.x_root, event.y_root)

        widget.bind("<Button-1>", clicked)
        widget.bind("<Double-Button-1>", double_clicked)
        # Button-3 is the right button on X11 and Windows; macOS Tk reports it as Button-2
        for button in ("<Button-3>", "<Button-2>"):
            widget.bind(button, right_clicked)

    def _thumb_made(self, version: int, path: str, thumb: Path | None, error: str | None) -> None:
        # on a thumbnail worker: the grid is the Tk thread's
        self.ui.post(self._show_thumb, version, path, thumb, error)

    def _show_thumb(self, version: int, path: str, thumb: Path | None, error: str | None) -> None:
        if version != self._version:
            return  # these results were replaced while the thumbnail was made
        for hit, (_, picture, _) in zip(self.results, self.cells, strict=True):
            if hit["path"] != path:
                continue
            if thumb is None:
                picture.config(text=f"(no preview)\n{error}", wraplength=self.thumbs.size - 10)
            else:
                with Image.open(thumb) as img:
                    photo = ImageTk.PhotoImage(img, master=self)
                self.images[path] = photo
                picture.config(image=photo, text="")

    def _reflow(self, width: int) -> None:
        """Re-grid the cells when the window's width changes how many columns fit."""
        columns = max(1, width // (self.thumbs.size + CELL_PADDING))
        if columns == self.columns:
            return
        self.columns = columns
        for i, (frame, _, _) in enumerate(self.cells):
            row, column = self._place(i)
            frame.grid(row=row, column=column)
        self._place_divider()
        if 0 <= self.selected < len(self.cells):
            self._scroll_into_view(self.cells[self.selected][0])

    def select(self, index: int) -> None:
        if 0 <= index < len(self.results):
            self.selected = index
            self._highlight()

    def move(self, keysym: str) -> None:
        """Move the selection by an arrow key."""
        step = {"Down": self.columns, "Up": -self.columns, "Left": -1, "Right": 1}[keysym]
        self.select(max(0, min(len(self.results) - 1, self.selected + step)))

    def selected_cell_position(self) -> tuple[int, int]:
        """Screen coordinates of the selected cell's middle, where a keyboard-opened menu appears."""
        frame = self.cells[self.selected][0]
        return frame.winfo_rootx() + frame.winfo_width() // 2, frame.winfo_rooty() + frame.winfo_height() // 2

    def _highlight(self) -> None:
        for i, (frame, _, caption) in enumerate(self.cells):
            chosen = i == self.selected
            frame.config(relief="solid" if chosen else "flat")
            caption.config(bg=SELECTED_BG if chosen else frame.master.cget("bg"))
        if 0 <= self.selected < len(self.cells):
            self._scroll_into_view(self.cells[self.selected][0])

    def _scroll_into_view(self, cell: tk.Frame) -> None:
        self.update_idletasks()  # the cell's geometry is known only once laid out
        total = self.inner.winfo_height()
        if total <= 0:
            return
        margin = 8  # the cells' padding: a row shows with its gap, the first row from the very top
        top, bottom = cell.winfo_y() - margin, cell.winfo_y() + cell.winfo_height() + margin
        divider = self.divider
        if divider is not None and int(cell.grid_info()["row"]) == int(divider.grid_info()["row"]) + 1:
            top = divider.winfo_y() - margin  # the row under the divider shows with it
        first, last = (f * total for f in self.canvas.yview())
        if top < first:
            self.canvas.yview_moveto(max(0, top) / total)
        elif bottom > last:
            self.canvas.yview_moveto((bottom - (last - first)) / total)

    def wheel(self, event: tk.Event) -> None:
        scroll(self.canvas, event)


def scrolling(parent: tk.Misc, bg: str | None = None) -> tuple[tk.Canvas, tk.Frame]:
    """A canvas with a vertical scrollbar, filling `parent`, and the frame inside it that scrolls."""
    canvas = tk.Canvas(parent, highlightthickness=0)
    if bg is not None:
        canvas.configure(bg=bg)
    scrollbar = tk.Scrollbar(parent, orient="vertical", command=canvas.yview)
    canvas.configure(yscrollcommand=scrollbar.set)
    scrollbar.pack(side="right", fill="y")
    canvas.pack(side="left", fill="both", expand=True)
    inner = tk.Frame(canvas, bg=canvas.cget("bg"))
    canvas.create_window((0, 0), window=inner, anchor="nw")
    inner.bind("<Configure>", lambda _e: canvas.configure(scrollregion=canvas.bbox("all")))
    return canvas, inner


def scroll(canvas: tk.Canvas, event: tk.Event) -> None:
    """Scroll a canvas by a mouse wheel's turn (X11's buttons 4 and 5; Windows' and macOS's delta)."""
    if event.num == 4 or event.delta > 0:
        canvas.yview_scroll(-1, "units")
    elif event.num == 5 or event.delta < 0:
        canvas.yview_scroll(1, "units")
