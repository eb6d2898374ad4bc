"""The search window, for real: Tk on an Xvfb display, a real engine answering over its real socket."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import wait_for
from PIL import Image

from photosift.daemon.client import Client
from photosift.daemon.engine import Engine
from photosift.tray.thumbnails import Thumbnails
from photosift.tray.window import SearchWindow

from .conftest import screenshot


class Window:
    """The window with its Tk loop pumped by the test (Tk runs on the thread that made it)."""

    def __init__(self, sock: Path, cache: Path) -> None:
        self.root = tk.Tk()
        self.opened: list[str] = []
        # the desktop's default application cannot be checked under Xvfb: record what would open
        self.ui = SearchWindow(self.root, lambda: Client(sock, timeout=30), Thumbnails(cache, size=96),
                               opener=self.opened.append, debounce_ms=100)
        self.pump_until(lambda: self.root.winfo_viewable())

    def pump_until(self, condition: object, timeout: float = 30) -> None:
        def pumped() -> object:
            self.root.update()
            return condition() if callable(condition) else condition

        wait_for(pumped, timeout, interval=0.02)

    def type(self, text: str) -> None:
        """Key presses into the focused query box, as a user types them."""
        self.ui.entry.focus_force()
        for char in text:
            keysym = {" ": "space", "-": "minus"}.get(char, char)
            self.ui.entry.event_generate("<KeyPress>", keysym=keysym)
            self.root.update()

    def key(self, keysym: str) -> None:
        self.root.event_generate(f"<KeyPress-{keysym}>", when="tail")
        if not destroyed(self.root):
            self.root.update()


@pytest.fixture
def window(display: str, env: dict[str, Path], daemon: Engine) -> Iterator[Window]:
    w = Window(env["run"] / "api.sock", env["cache"] / "thumbs")
    yield w
    if not destroyed(w.root):
        w.ui.close()


def test_typing_shows_the_daemons_results_as_thumbnails(display: str, window: Window, library: Path) -> None:
    assert window.root.focus_get() is window.ui.entry  # the query box has the focus at once
    window.type("a blue star")
    window.pump_until(lambda: window.ui.results and window.ui._images)
    assert Path(window.ui.results[0]["path"]).name == "blue-star.png"
    window.pump_until(lambda: len(window.ui._images) == len(window.ui.results))  # every thumbnail arrived
    assert window.ui.status.cget("text") == "16 results"
    shot = screenshot(display, "search-window")
    assert Image.open(shot).getbbox() is not None


def test_keyboard_moves_the_selection_and_enter_opens(display: str, window: Window, library: Path) -> None:
    window.type("a red circle")
    window.pump_until(lambda: window.ui.results)
    first = window.ui.results[0]["path"]
    window.key("Down")  # the next row
    assert window.ui.selected == 5
    window.key("Up")
    window.key("Return")
    assert window.opened == [first] and Path(first).name == "red-circle.png"
    window.key("Escape")
    assert destroyed(window.root)  # Esc closes the window


def destroyed(root: tk.Tk) -> bool:
    try:
        root.winfo_exists()
    except tk.TclError:
        return True
    return False


def test_the_daemon_down_is_said_in_the_window(display: str, env: dict[str, Path]) -> None:
    w = Window(env["run"] / "nobody-here.sock", env["cache"] / "thumbs")
    try:
        w.type("anything")
        w.pump_until(lambda: "not running" in w.ui.status.cget("text"))
        assert "start it with `photosift daemon`" in w.ui.status.cget("text")
    finally:
        w.ui.close()


def test_results_beyond_the_window_scroll_into_view(display: str, window: Window, library: Path) -> None:
    window.root.geometry("700x360")  # room for about one row of thumbnails
    window.pump_until(lambda: window.root.winfo_height() == 360)
    window.type("a shape")
    window.pump_until(lambda: len(window.ui.results) == 16)
    assert window.ui.canvas.yview()[0] == 0.0
    for _ in range(3):  # to the last row
        window.key("Down")
    assert window.ui.selected == 15
    assert window.ui.canvas.yview()[0] > 0.5 and visible(window, 15)  # scrolled to the selected cell
    window.key("Up")
    window.key("Up")
    window.key("Up")
    assert window.ui.selected == 0 and window.ui.canvas.yview()[0] == 0.0 and visible(window, 0)


def visible(window: Window, index: int) -> bool:
    """Whether result `index`'s cell lies wholly inside the scrolled view."""
    cell = window.ui._cells[index][0]
    total = window.ui.grid.winfo_height()
    first, last = (f * total for f in window.ui.canvas.yview())
    return first - 0.5 <= cell.winfo_y() and cell.winfo_y() + cell.winfo_height() <= last + 0.5
