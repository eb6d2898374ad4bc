"""The Tk side of photosift's desktop app: a hidden root, the UI queue, at most one search window.

The tray app keeps one `Gui` for its whole life and shows the window on demand.
A `--gui` command that finds no window open (see instance.py) makes its own
`Gui`, which listens for further requests until its window closes.
"""

from __future__ import annotations

import signal
import sys
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk

from photosift.daemon import paths
from photosift.daemon.client import Client
from photosift.daemon.config import Config
from photosift.daemon.errors import DisplayError
from photosift.shell_ext import lifecycle
from photosift.shell_ext.common import photosift_argv

from .desktop import open_with_default_app, reveal_in_file_manager
from .dialogs import ErrorsDialog, ask_yes_no
from .duplicates import DuplicatesWindow
from .instance import InstanceServer, Request, address_beside, send
from .thumbnails import Thumbnails
from .uiqueue import UiQueue
from .window import DEBOUNCE_MS, SearchWindow

CLIENT_TIMEOUT = 30.0


def connector(config: Config) -> Callable[[], Client]:
    return lambda: Client(config.socket_path, timeout=CLIENT_TIMEOUT)


def start_daemon() -> None:
    """What the window's Start button does: `photosift start`, without waiting (the window asks again)."""
    lifecycle.start(photosift_argv(), Path.home(), paths.cache_dir())


def _select_all(event: tk.Event[tk.Misc]) -> str:
    entry = event.widget
    if isinstance(entry, (tk.Entry, ttk.Entry)):
        entry.select_range(0, "end")
        entry.icursor("end")
    return "break"  # not Tk's Emacs binding, which moves to the start of the line


class Gui:
    """A withdrawn Tk root with the UI queue; `show(request)` opens or raises the search window."""

    def __init__(self, connect: Callable[[], Client], thumbs: Thumbnails,
                 opener: Callable[[str], None] = open_with_default_app,
                 revealer: Callable[[str], None] = reveal_in_file_manager,
                 debounce_ms: int = DEBOUNCE_MS, quit_with_window: bool = False,
                 starter: Callable[[], None] | None = start_daemon,
                 confirm: Callable[[tk.Misc, str], bool] = ask_yes_no) -> None:
        try:
            self.root = tk.Tk(className="photosift")
        except tk.TclError as exc:
            raise DisplayError(f"cannot open a window: {exc}") from exc
        self.root.withdraw()
        if sys.platform.startswith("linux") and "clam" in ttk.Style(self.root).theme_names():
            ttk.Style(self.root).theme_use("clam")  # Tk's own flat theme: the default one looks of the 1990s
        for entry in ("Entry", "TEntry", "TCombobox"):
            self.root.bind_class(entry, "<Control-a>", _select_all)
        self.starter = starter
        self.errors_dialog: ErrorsDialog | None = None
        # the tray sets this: the icon stops showing the current failures as news once the user has seen them
        self.errors_seen: Callable[[], None] = lambda: None
        self.ui = UiQueue(self.root)
        self.connect = connect
        self.thumbs = thumbs
        self.opener = opener
        self.revealer = revealer
        self.debounce_ms = debounce_ms
        self.quit_with_window = quit_with_window
        self.confirm = confirm
        self.window: SearchWindow | None = None
        self.duplicates: DuplicatesWindow | None = None
        self.instance: InstanceServer | None = None

    def listen(self, address: Path) -> bool:
        """Take requests from later `--gui` commands; False if another process already does."""
        server = InstanceServer(address, lambda request: self.ui.post(self._requested, request))
        if not server.start():
            return False
        self.instance = server
        return True

    def _requested(self, request: Request) -> None:
        if request.mode == "quit":
            self.root.quit()  # mainloop returns; its caller closes everything
        elif request.mode == "duplicates":
            self.show_duplicates(request.paths[0] if request.paths else None)
        else:
            self.show(request)

    def show(self, request: Request | None = None) -> SearchWindow:
        """Open the search window (or raise the open one) and apply the request (none: just show it)."""
        if self.window is None:
            self.window = SearchWindow(self.root, self.ui, self.connect, self.thumbs, self.opener, self.revealer,
                                       self.debounce_ms, on_close=self._closed, starter=self.starter,
                                       show_errors=self.show_errors,
                                       show_duplicates=self.show_duplicates)
        self.window.apply(request or Request())
        self.errors_seen()  # the window says how many files failed: opening it is seeing them
        return self.window

    def show_duplicates(self, folder: str | None = None) -> DuplicatesWindow:
        """The Duplicates view (of the whole library, or of `folder`): the open one is raised, or looks again
        if it showed another folder."""
        view = self.duplicates
        if view is not None and view.folder != folder:
            view.close()
            view = None
        if view is None:
            view = DuplicatesWindow(self.root, self.ui, self.connect, self.thumbs, folder, self.opener,
                                    self.confirm, on_close=self._duplicates_closed)
            self.duplicates = view
        view.raise_()
        return view

    def _duplicates_closed(self) -> None:
        self.duplicates = None
        self._maybe_quit()

    def show_errors(self) -> None:
        """The list of files that could not be indexed (a fresh one if it is open)."""
        if self.errors_dialog is not None and self.errors_dialog.top.winfo_exists():
            self.errors_dialog.close()
        self.errors_dialog = ErrorsDialog(self.root, self.ui, self.connect)
        self.errors_seen()

    def _closed(self) -> None:
        self.window = None
        self._maybe_quit()

    def _maybe_quit(self) -> None:
        """A `--gui` command's process ends when its last window closes."""
        if self.quit_with_window and self.window is None and self.duplicates is None:
            self.root.quit()

    def mainloop(self) -> None:
        self.root.mainloop()

    def close(self) -> None:
        """Close the window, stop listening, stop the thumbnail workers and destroy Tk."""
        self.quit_with_window = False
        if self.window is not None:
            self.window.close()
        if self.duplicates is not None:
            self.duplicates.close()
        if self.errors_dialog is not None and self.errors_dialog.top.winfo_exists():
            self.errors_dialog.close()
        if self.instance is not None:
            self.instance.close()
        self.ui.close()
        self.thumbs.close()
        self.root.destroy()


def run_window(config: Config, request: Request) -> int:
    """For `--gui` commands that found no window open (instance.send said so): open one, take later
    commands' requests, and wait until it closes."""
    address = address_beside(config.socket_path)
    gui = Gui(connector(config), Thumbnails(paths.cache_dir() / "thumbnails"), quit_with_window=True)
    if not gui.listen(address) and send(address, request):
        gui.close()  # another window started in the meantime and took the request
        return 0
    gui._requested(request)
    # Tk swallows exceptions raised in its callbacks, KeyboardInterrupt included: quit by signal instead
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: gui.ui.post(gui.root.quit))
    try:
        gui.mainloop()
    finally:
        gui.close()
    return 0
