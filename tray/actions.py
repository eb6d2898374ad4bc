"""What the tray menu does. API calls run on their own worker thread (never on the tray's or Tk's
event loop); windows are opened on the Tk thread through the UI queue."""

from __future__ import annotations

import logging
import subprocess
import tkinter as tk
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from photosift.daemon import atomic, paths
from photosift.daemon.errors import PhotosiftError
from photosift.shell_ext import lifecycle
from photosift.shell_ext.common import photosift_argv

from .desktop import open_with_default_app
from .dialogs import FoldersDialog, ask_yes_no
from .gui import Gui

log = logging.getLogger(__name__)

STARTER_CONFIG = """\
# photosift's configuration: every key is optional; docs/configuration.md lists them all.
# The daemon reads this file when it starts (the folder list also changes live from the tray).

# folders = ["~/Pictures"]
# device = "auto"
"""


class Actions:
    """The tray menu's entries; `changed()` is called after anything that changes the daemon's state."""

    def __init__(self, config_path: Path, gui: Gui, changed: Callable[[], None],
                 opener: Callable[[str], None] = open_with_default_app,
                 confirm: Callable[[tk.Misc, str], bool] = ask_yes_no) -> None:
        self.config_path = config_path
        self.gui = gui
        self.changed = changed
        self.opener = opener
        self.confirm = confirm
        self.folders_dialog: FoldersDialog | None = None
        self.daemon_process: subprocess.Popen[bytes] | None = None
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="photosift-tray-action")

    def search(self) -> None:
        self.gui.ui.post(self.gui.show)

    def search_clipboard(self) -> None:
        """The search window, searching with the clipboard's image (or files, or text)."""
        self.gui.ui.post(lambda: self.gui.show().paste())

    def set_paused(self, paused: bool) -> None:
        def call() -> None:
            try:
                with self.gui.connect() as client:
                    client.pause() if paused else client.resume()
            except PhotosiftError as exc:
                log.warning("cannot %s indexing: %s", "pause" if paused else "resume", exc)
            self.changed()

        self._worker.submit(call)

    def folders(self) -> None:
        def show() -> None:
            if self.folders_dialog is not None and self.folders_dialog.top.winfo_exists():
                self.folders_dialog.top.lift()
                self.folders_dialog.refresh()
            else:
                self.folders_dialog = FoldersDialog(self.gui.root, self.gui.ui, self.gui.connect, self.confirm)

        self.gui.ui.post(show)

    def errors(self) -> None:
        self.gui.ui.post(self.gui.show_errors)

    def duplicates(self) -> None:
        self.gui.ui.post(self.gui.show_duplicates)

    def open_path(self, path: str) -> None:
        """Open a file or folder (a saved search's) with the desktop's default application."""
        try:
            self.opener(path)
        except OSError as exc:
            log.warning("cannot open %s: %s", path, exc)

    def open_config(self) -> None:
        """Open the config file in the user's editor, writing a commented starter file if there is none."""
        if not self.config_path.exists():
            atomic.write_text(self.config_path, STARTER_CONFIG)
        self.open_path(str(self.config_path))

    def start_daemon(self) -> None:
        """As `photosift start` does (its user service where installed, else in the background), without
        waiting: the status poll shows it starting, then running, or why it could not start."""
        try:
            started = lifecycle.start(photosift_argv(), Path.home(), paths.cache_dir())
        except OSError as exc:
            log.warning("cannot start the daemon: %s", exc)
            return
        self.daemon_process = started.process
        log.info("started the daemon (%s)", started.how)
        self.changed()

    def close(self) -> None:
        """Wait for an action under way and close the dialogs (on the Tk thread)."""
        self._worker.shutdown(wait=True)
        if self.folders_dialog is not None and self.folders_dialog.top.winfo_exists():
            self.folders_dialog.close()
