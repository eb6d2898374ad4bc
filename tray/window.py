"""The search window (Tk): a query box and filters, results as you type, a grid of thumbnails.

Tk is single-threaded, so nothing slow happens on its thread: API calls run on
a worker thread through the daemon's client and thumbnails on the thumbnail
pool, and both hand their results back through the UI queue. Typing is
debounced, and an answer to an older query than the one on screen is dropped.
The same window shows "find similar" results (from its context menu, or from
`photosift similar FILE --gui` through the single-instance channel), and searches
with the clipboard (Ctrl+V, Paste image: clipboard.py). Errors
(a timeout, a bad date) appear in the window's status line. When the daemon is
not running the window says why (its last word), clears the results, offers a
Start button, and asks again every few seconds: once the daemon answers, the
filters' choices load and the query on screen is searched again.
"""

from __future__ import annotations

import base64
import logging
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from typing import Any

from photosift.daemon.client import Client
from photosift.daemon.errors import DateError

from . import icons
from .calls import Caller, CallError
from .clipboard import ClipboardImage, files_in, offers_image, read_image
from .desktop import open_with_default_app, reveal_in_file_manager
from .filters import FilterBar
from .grid import ResultGrid
from .instance import Request
from .menu import MenuActions, ResultMenu
from .thumbnails import Thumbnails
from .uiqueue import UiQueue

log = logging.getLogger(__name__)

DEBOUNCE_MS = 250
RESULTS = 40
RETRY_MS = 2000  # how often a window whose daemon is down asks again
ERROR_FG, NORMAL_FG = "#a00", "#555"


class SearchWindow:
    """One search window (a Toplevel of `master`); `connect` makes a client of the daemon per call."""

    def __init__(self, master: tk.Misc, ui: UiQueue, connect: Callable[[], Client], thumbs: Thumbnails,
                 opener: Callable[[str], None] = open_with_default_app,
                 revealer: Callable[[str], None] = reveal_in_file_manager,
                 debounce_ms: int = DEBOUNCE_MS, on_close: Callable[[], None] | None = None,
                 starter: Callable[[], None] | None = None,
                 show_errors: Callable[[], None] | None = None,
                 show_duplicates: Callable[[], object] | None = None) -> None:
        self.ui = ui
        self.calls = Caller(ui, connect)
        self.opener = opener
        self.revealer = revealer
        self.starter = starter  # starts the daemon as `photosift start` does (None: no Start button)
        self.show_errors = show_errors  # opens the list of files that could not be indexed
        self.show_duplicates = show_duplicates  # opens the Duplicates view
        self.down = False  # the daemon did not answer the last call
        self._retry: str | None = None
        self.debounce_ms = debounce_ms
        self.on_close = on_close
        self.similar_to: tuple[str, ...] = ()
        self.pasted: bytes | None = None  # an image from the clipboard that the results are like
        self.closed = False
        self._generation = 0
        self._pending: str | None = None
        self._quiet = False  # set while the program, not the user, changes the query text
        # WM_CLASS ("photosift", "photosift"), as the launcher's StartupWMClass says
        self.top = tk.Toplevel(master, class_="photosift", name="photosift")
        self._build(thumbs)
        self.refresh_choices()

    # -- layout ---------------------------------------------------------------------------------

    def _build(self, thumbs: Thumbnails) -> None:
        top = self.top
        top.title("photosift")
        top.geometry("1000x760")
        # the window manager's icon and task-bar entry (the class, WM_CLASS, is set where the Toplevel is made)
        self._icons = [tk.PhotoImage(master=top, data=base64.b64encode(icons.png(size)), format="png")
                       for size in (64, 32, 16)]
        top.iconphoto(False, *self._icons)
        self.query = tk.StringVar()
        line = ttk.Frame(top)
        line.pack(fill="x", padx=10, pady=(10, 4))
        self.tools = ttk.Frame(line)
        self.tools.pack(side="right", padx=(8, 0))
        self.duplicates_button = ttk.Button(self.tools, text="Duplicates…",
                                            command=self.show_duplicates or (lambda: None))
        if self.show_duplicates is not None:
            self.duplicates_button.pack(side="right")
        self.paste_button = ttk.Button(self.tools, text="Paste image", command=self.paste)
        self.paste_button.pack(side="right", padx=(0, 6))
        self.entry = ttk.Entry(line, textvariable=self.query, font=("TkDefaultFont", 16))
        self.entry.pack(side="left", fill="x", expand=True)
        self.filters = FilterBar(top, on_change=self._schedule)
        self.filters.pack(fill="x", padx=10, pady=(0, 4))
        self.banner = ttk.Frame(top)
        self.banner_text = ttk.Label(self.banner, anchor="w", font=("TkDefaultFont", 11, "bold"))
        self.banner_text.pack(side="left")
        ttk.Button(self.banner, text="Back to text search", command=self.leave_similar).pack(side="left", padx=8)
        self.status = ttk.Label(top, text="Type to search your photos", anchor="w", foreground=NORMAL_FG)
        self.status.pack(fill="x", padx=12)
        # shown while the daemon is not running: why, and a way to start it that is not a shell command
        self.down_panel = ttk.Frame(top)
        self.down_text = ttk.Label(self.down_panel, anchor="w", justify="left", wraplength=760)
        self.down_text.pack(side="left", fill="x", expand=True)
        self.start_button = ttk.Button(self.down_panel, text="Start photosift", command=self.start_daemon)
        if self.starter is not None:
            self.start_button.pack(side="right", padx=(8, 0))
        # files that could not be indexed: said here too, so a tray without a menu still shows them
        self.notice = ttk.Frame(top)
        self.notice_text = ttk.Label(self.notice, anchor="w", foreground=ERROR_FG)
        self.notice_text.pack(side="left")
        self.details_button = ttk.Button(self.notice, text="Details…", command=self.show_errors or (lambda: None))
        if self.show_errors is not None:
            self.details_button.pack(side="left", padx=8)
        self.grid = ResultGrid(top, self.ui, thumbs, on_open=lambda _i: self.open_selected(),
                               on_menu=self._menu_at)
        self.grid.pack(fill="both", expand=True, padx=10, pady=10)
        self.menu = ResultMenu(top, MenuActions(open=self._open, reveal=self._reveal, similar=self.show_similar_to,
                                                copy=self.copy_path, filter_by_tag=self.filters.toggle))
        for wheel in ("<Button-4>", "<Button-5>", "<MouseWheel>"):  # X11 buttons; Windows and macOS delta
            top.bind(wheel, self.grid.wheel)
        self.query.trace_add("write", lambda *_: self._typed())
        for key in ("<Down>", "<Up>", "<Left>", "<Right>"):
            top.bind(key, self._move)
        top.bind("<Return>", lambda _e: self.open_selected())
        # Ctrl+V searches with a copied image or file; copied text is pasted into the query as usual
        self.entry.bind("<<Paste>>", lambda _e: self.paste(typed=True))
        top.bind("<Control-v>", lambda _e: None if self.top.focus_get() is self.entry else self.paste())
        top.bind("<Escape>", lambda _e: self.close())
        for key in ("<Menu>", "<Shift-F10>"):  # the keyboard's ways to a context menu
            top.bind(key, lambda _e: self._menu_for_selected())
        top.protocol("WM_DELETE_WINDOW", self.close)
        self.entry.focus_set()

    @property
    def results(self) -> list[dict[str, Any]]:
        return self.grid.results

    @property
    def selected(self) -> int:
        return self.grid.selected

    def raise_(self) -> None:
        """Bring the window to the front with the query box focused."""
        self.top.deiconify()
        self.top.lift()
        self.top.focus_force()
        self.entry.focus_set()

    def apply(self, request: Request) -> None:
        """Show what another invocation asked for (see instance.py)."""
        self.raise_()
        self.refresh_choices()
        if request.mode == "similar":
            self.show_similar(list(request.paths))
        elif request.mode == "search":
            self.query.set(request.text)
            self.entry.icursor("end")

    # -- talking to the daemon ------------------------------------------------------------------

    def refresh_choices(self) -> None:
        """Ask for the watched folders and the tag vocabulary, for the filters, and for the failures."""

        def done(choices: Any, error: CallError | None) -> None:
            if error is not None:
                if error.down:
                    self._daemon_down(error)
                return
            self.filters.set_folders(choices[0])
            self.filters.set_vocabulary(choices[1])
            failed = choices[2]["failed"]
            if failed:
                self.notice_text.config(text=f"{failed:,} file{'s' if failed != 1 else ''} could not be indexed")
                self.notice.pack(fill="x", padx=12, before=self.status)
            else:
                self.notice.pack_forget()

        self.calls.call(lambda c: (c.folders(), c.vocabulary(), c.status()), done)

    # -- the daemon down, and back ----------------------------------------------------------------

    def _daemon_down(self, why: str) -> None:
        """Say why the daemon does not answer, drop results that can no longer be acted on, and ask again
        in a moment."""
        self.down = True
        self.grid.show([])
        self._say("photosift is not running", error=True)
        self.down_text.config(text=why)
        self.down_panel.pack(fill="x", padx=12, pady=(4, 0), after=self.status)
        if self._retry is None:
            self._retry = self.top.after(RETRY_MS, self._ask_again)

    def _ask_again(self) -> None:
        self._retry = None

        def done(_status: Any, error: CallError | None) -> None:
            if error is None:
                self._daemon_back()
            elif error.down:
                self._daemon_down(error)  # its last word may have changed: starting, failed, …
            else:
                self._retry = self.top.after(RETRY_MS, self._ask_again)

        self.calls.call(lambda c: c.status(), done)

    def _daemon_back(self) -> None:
        self.down = False
        self.down_panel.pack_forget()
        self.start_button.state(["!disabled"])
        self.start_button.config(text="Start photosift")
        self.refresh_choices()
        self._schedule()  # the query on screen, searched again

    def start_daemon(self) -> None:
        """The Start button: the daemon started as `photosift start` does; the retries see it answer."""
        if self.starter is None:
            return
        starter = self.starter
        self.start_button.state(["disabled"])
        self.start_button.config(text="Starting…")

        def start() -> None:
            try:
                starter()
            except OSError as exc:
                log.warning("cannot start the daemon: %s", exc)
                why = str(exc)
                self.ui.post(lambda: self._start_failed(why))

        self.calls.run(start)

    def _start_failed(self, why: str) -> None:
        self.start_button.state(["!disabled"])
        self.start_button.config(text="Start photosift")
        self.down_text.config(text=f"could not start photosift: {why}")

    # -- searching ------------------------------------------------------------------------------

    def _typed(self) -> None:
        if self._quiet:
            return
        if self.similar_to or self.pasted is not None:
            self.leave_similar(search=False)  # typing starts a text search again
        self._schedule()

    def _schedule(self) -> None:
        if self._pending is not None:
            self.top.after_cancel(self._pending)
        self._pending = self.top.after(self.debounce_ms, self._search)

    def _search(self) -> None:
        self._pending = None
        self._generation += 1
        generation = self._generation
        try:
            filters = self.filters.values()
        except DateError as exc:
            self._say(str(exc), error=True)
            return
        text = self.query.get().strip()
        if self.pasted is not None:
            self._say("Looking for images like the pasted image…")
            data = self.pasted
            self.calls.call(lambda c: c.similar_to_image(data, RESULTS, **filters),
                            lambda r, e: self._answer(generation, r, e))
        elif self.similar_to:
            names = ", ".join(Path(p).name for p in self.similar_to)
            self._say(f"Looking for images like {names}…")
            paths = list(self.similar_to)
            self.calls.call(lambda c: c.similar(paths, RESULTS, **filters), lambda r, e: self._answer(generation, r, e))
        elif text:
            self._say(f"Searching for “{text}”…")
            self.calls.call(lambda c: c.search(text, RESULTS, **filters), lambda r, e: self._answer(generation, r, e))
        else:
            self.grid.show([])
            self._say("Type to search your photos")

    def _answer(self, generation: int, results: list[dict[str, Any]] | None, error: CallError | None) -> None:
        if generation != self._generation:
            return  # an answer to an older query: the user has typed on
        if error is not None:
            if error.down:
                self._daemon_down(error)
            else:
                self._say(error, error=True)
            return
        assert results is not None
        if self.down:
            self._daemon_back()  # answered again before the next retry noticed
        self.grid.show(results)
        likely = self.grid.relevant
        if not results:
            active = self.filters.describe()
            self._say(f"No results {active}: Clear filters searches everything" if active else "No results")
        elif likely == len(results):
            self._say(f"{len(results)} results")
        else:  # the grid's divider shows where; this says how many are worth a look
            self._say(f"{likely or 'no'} likely match{'' if likely == 1 else 'es'} of {len(results)} results")

    def _say(self, text: str, error: bool = False) -> None:
        self.status.config(text=text, foreground=ERROR_FG if error else NORMAL_FG)

    # -- find similar ---------------------------------------------------------------------------

    def show_similar(self, paths: list[str]) -> None:
        """Switch to the images like all of `paths`; the query box empties, the filters stay."""
        self.similar_to, self.pasted = tuple(paths), None
        names = ", ".join(Path(p).name for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        self._like(f"Images like {names}")

    def show_pasted(self, png: bytes) -> None:
        """Switch to the images like a pasted image (its PNG bytes, decoded by the daemon)."""
        self.similar_to, self.pasted = (), png
        self._like("Images like the pasted image")

    def _like(self, title: str) -> None:
        self.banner_text.config(text=title)
        self.banner.pack(fill="x", padx=10, before=self.status)
        self._quiet = True
        self.query.set("")
        self._quiet = False
        self._schedule()

    # -- the clipboard --------------------------------------------------------------------------

    def paste(self, typed: bool = False) -> str | None:
        """Search with what the clipboard holds: an image finds similar photos, copied files (paths or
        file:// URIs) the photos like them, text becomes the query. `typed`: Ctrl+V in the query box, where
        text is pasted at the cursor as usual (returns None to let Tk do it; "break" when handled here)."""
        try:
            targets = str(self.top.clipboard_get(type="TARGETS"))
        except tk.TclError:
            targets = ""  # no owner, or a platform whose Tk lists no targets: Pillow is asked below
        try:
            text = "" if offers_image(targets) else str(self.top.clipboard_get())
        except tk.TclError:
            text = ""
        files = files_in(text)
        if files:
            self.show_similar(list(files))
        elif text.strip() and typed:
            return None
        elif text.strip():
            self.query.set(" ".join(text.split()))
            self.entry.icursor("end")
        else:
            self._say("Reading the clipboard…")
            self.calls.run(lambda: self._pasted_image(read_image()))
        return "break"

    def _pasted_image(self, got: ClipboardImage) -> None:
        # on the worker: the window is the Tk thread's
        def show() -> None:
            if got.png is not None:
                self.show_pasted(got.png)
            elif got.paths:
                self.show_similar(list(got.paths))
            else:
                self._say(got.problem or "The clipboard holds no image, file or text to search with", error=True)

        self.ui.post(lambda: None if self.closed else show())

    def show_similar_to(self, path: str) -> None:
        self.show_similar([path])

    def leave_similar(self, search: bool = True) -> None:
        self.similar_to, self.pasted = (), None
        self.banner.pack_forget()
        if search:
            self._schedule()
        self.entry.focus_set()

    # -- the selected result ----------------------------------------------------------------------

    def _move(self, event: tk.Event) -> str | None:
        if not self.results:
            return None
        if event.keysym in ("Left", "Right") and isinstance(self.top.focus_get(), (tk.Entry, ttk.Entry)):
            return None  # the arrows move the cursor in the query box
        self.grid.move(event.keysym)
        return "break"

    def open_selected(self) -> None:
        if 0 <= self.selected < len(self.results):
            self._open(self.results[self.selected]["path"])

    def _open(self, path: str) -> None:
        try:
            self.opener(path)
        except OSError as exc:
            self._say(f"cannot open {path}: {exc.strerror or exc}", error=True)

    def _reveal(self, path: str) -> None:
        # the file manager may take a moment to answer over D-Bus: not on the Tk thread
        def reveal() -> None:
            try:
                self.revealer(path)
            except OSError as exc:
                why = exc.strerror or str(exc)
                self.ui.post(lambda: self._say(f"cannot show {path} in a file manager: {why}", error=True))

        self.calls.run(reveal)

    def copy_path(self, path: str) -> None:
        self.top.clipboard_clear()
        self.top.clipboard_append(path)
        self._say(f"Copied {path}")

    def _menu_at(self, index: int, x: int, y: int) -> None:
        path = self.results[index]["path"]
        self.menu.post(path, x, y)
        self.calls.call(lambda c: c.tags(path), lambda answer, error: self.menu.fill_tags(path, answer, error))

    def _menu_for_selected(self) -> None:
        if 0 <= self.selected < len(self.results):
            self._menu_at(self.selected, *self.grid.selected_cell_position())

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._retry is not None:
            self.top.after_cancel(self._retry)
        self.menu.unpost()
        self.calls.close()
        self.top.destroy()
        if self.on_close is not None:
            self.on_close()
