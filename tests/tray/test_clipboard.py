"""Searching with the clipboard, for real: the clipboard is owned by a real X11 clipboard owner (xclip) on
Xvfb, and pasted into the real search window, which asks a real engine over its socket."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import wait_for
from PIL import Image

from photosift.daemon.engine import Engine
from photosift.tray.actions import Actions
from photosift.tray.window import SearchWindow

from .driver import Desk


@pytest.fixture
def clipboard(display: str) -> Iterator[Callable[[bytes, str], None]]:
    """Put data on the X clipboard under a target, owned by a real xclip process until the next one."""
    if shutil.which("xclip") is None:
        pytest.skip("xclip is not installed (Debian: xclip; install/test.sh installs it)")
    owners: list[subprocess.Popen[bytes]] = []

    def own(data: bytes, target: str) -> None:
        for old in owners:
            old.terminate()
            old.wait(10)
        owners.clear()
        if not data:
            wait_for(lambda: not _targets(), 10)  # the owner gone: the clipboard holds nothing
            return
        # -quiet: xclip stays in the foreground, serving the selection until it is killed or loses it
        owner = subprocess.Popen(["xclip", "-quiet", "-selection", "clipboard", "-t", target, "-i"],
                                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert owner.stdin is not None
        owner.stdin.write(data)
        owner.stdin.close()
        owners.append(owner)
        wait_for(lambda: target in _targets(), 10)

    yield own
    for owner in owners:
        owner.terminate()
        owner.wait(10)


def _targets() -> str:
    got = subprocess.run(["xclip", "-selection", "clipboard", "-o", "-t", "TARGETS"], capture_output=True,
                         timeout=10)
    return got.stdout.decode() if got.returncode == 0 else ""


def opened(desk: Desk) -> SearchWindow:
    window = desk.gui.show()
    desk.pump_until(lambda: window.top.winfo_viewable())
    return window


def test_a_copied_image_finds_its_photo_first(desk: Desk, daemon: Engine, library: Path,
                                              clipboard: Callable[[bytes, str], None]) -> None:
    png = io.BytesIO()
    with Image.open(library / "blue" / "blue-star.png") as star:
        star.convert("RGB").save(png, "PNG")  # as a browser's "Copy Image" offers it
    clipboard(png.getvalue(), "image/png")
    window = opened(desk)
    desk.click(window.paste_button)
    desk.pump_until(lambda: window.results and window.pasted is not None)
    assert window.banner_text.cget("text") == "Images like the pasted image"
    assert Path(window.results[0]["path"]).name == "blue-star.png" and window.results[0]["score"] > 0.99
    # typing leaves the pasted image for a text search
    desk.type(window.entry, "red")
    assert window.pasted is None and not window.banner.winfo_ismapped()


def test_ctrl_v_with_a_copied_file_finds_photos_like_it(desk: Desk, daemon: Engine, library: Path,
                                                        clipboard: Callable[[bytes, str], None]) -> None:
    circle = library / "red" / "red-circle.png"
    clipboard(f"file://{str(circle).replace(' ', '%20')}\n".encode(), "UTF8_STRING")  # as a file manager copies
    window = opened(desk)
    window.entry.event_generate("<<Paste>>")
    desk.pump_until(lambda: window.results and window.similar_to)
    assert window.similar_to == (str(circle),) and window.query.get() == ""
    assert str(circle) not in [hit["path"] for hit in window.results]  # the photo itself is the question


def test_ctrl_v_with_text_pastes_it_as_the_query(desk: Desk, daemon: Engine,
                                                 clipboard: Callable[[bytes, str], None]) -> None:
    clipboard(b"a blue star", "UTF8_STRING")
    window = opened(desk)
    window.entry.event_generate("<<Paste>>")
    desk.pump_until(lambda: window.results and window.status.cget("text").endswith("results"))
    assert window.query.get() == "a blue star" and Path(window.results[0]["path"]).name == "blue-star.png"


def test_an_empty_clipboard_is_said(desk: Desk, daemon: Engine, clipboard: Callable[[bytes, str], None]) -> None:
    clipboard(b"", "")
    window = opened(desk)
    desk.click(window.paste_button)
    desk.pump_until(lambda: "The clipboard holds no image" in window.status.cget("text"))
    assert window.results == [] and window.pasted is None


def test_the_tray_menus_search_clipboard_image(desk: Desk, daemon: Engine, library: Path, env: dict[str, Path],
                                               clipboard: Callable[[bytes, str], None]) -> None:
    png = io.BytesIO()
    with Image.open(library / "green" / "green-square.png") as square:
        square.save(png, "PNG")
    clipboard(png.getvalue(), "image/png")
    Actions(env["config"], desk.gui, changed=lambda: None).search_clipboard()  # what the menu entry runs
    desk.pump_until(lambda: desk.gui.window is not None and desk.gui.window.results)
    window = desk.gui.window
    assert window is not None and window.pasted == png.getvalue()
    assert Path(window.results[0]["path"]).name == "green-square.png"
