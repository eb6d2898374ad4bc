"""Driving Tk from a test: Tk runs on the thread that made it, so the test pumps its events itself."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path

from helpers import wait_for

from photosift.daemon.client import Client
from photosift.tray.gui import Gui
from photosift.tray.thumbnails import Thumbnails
from photosift.tray.window import SearchWindow

KEYSYMS = {" ": "space", "-": "minus", "/": "slash", ".": "period", "_": "underscore", ":": "colon"}


class Desk:
    """A real `Gui` on the test's display, with the desktop's effects recorded: a default application
    or a file manager cannot run under Xvfb, so "open" and "reveal" are noted instead of performed."""

    def __init__(self, sock: Path, cache: Path, starter: Callable[[], None] | None = None) -> None:
        self.opened: list[str] = []
        self.revealed: list[str] = []
        self.gui = Gui(lambda: Client(sock, timeout=30), Thumbnails(cache, size=96), opener=self.opened.append,
                       revealer=self.revealed.append, debounce_ms=100, starter=starter)
        self.root = self.gui.root

    def pump_until(self, condition: Callable[[], object], timeout: float = 30) -> object:
        def pumped() -> object:
            self.root.update()
            return condition()

        return wait_for(pumped, timeout, interval=0.02)

    def type(self, widget: tk.Widget, text: str) -> None:
        """Key presses into a widget, as a user types them."""
        widget.focus_force()
        for char in text:
            widget.event_generate("<KeyPress>", keysym=KEYSYMS.get(char, char))
            self.root.update()

    def key(self, widget: tk.Misc, keysym: str) -> None:
        widget.event_generate(f"<KeyPress-{keysym}>", when="tail")
        if not destroyed(widget):
            self.root.update()

    def click(self, widget: tk.Widget, button: int = 1) -> None:
        """A real press and release on the widget's middle (the events carry screen coordinates)."""
        self.root.update()
        x, y = widget.winfo_width() // 2, widget.winfo_height() // 2
        widget.event_generate(f"<ButtonPress-{button}>", x=x, y=y, rootx=widget.winfo_rootx() + x,
                              rooty=widget.winfo_rooty() + y)
        if not destroyed(widget):  # a chip redraws itself when pressed
            widget.event_generate(f"<ButtonRelease-{button}>", x=x, y=y)
        self.root.update()

    def close(self) -> None:
        if not destroyed(self.root):
            self.gui.close()


def destroyed(widget: tk.Misc) -> bool:
    try:
        return not widget.winfo_exists()
    except tk.TclError:
        return True


def says_results(window: SearchWindow, count: int) -> bool:
    """Whether the window's status reports `count` results ("16 results", or "1 likely match of 16 results"
    when a divider sets the less likely ones apart)."""
    text = window.status.cget("text")
    return bool(text == f"{count} results" or text.endswith(f" of {count} results"))
