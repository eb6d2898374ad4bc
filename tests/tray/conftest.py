"""A real X display for the GUI tests (Xvfb, started once per session), a tray host on it (trayer),
and the shapes library served by a real engine that tags with the tiny model's own words."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_harness import CountingModel, running_engine
from helpers import shape_tags, wait_for

from photosift.daemon.engine import Engine

from .driver import Desk
from .xclient import TrayWindow

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """DISPLAY of a fresh Xvfb server (install/test.sh installs Xvfb)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (Debian: xvfb; install/test.sh installs it)")
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: Path(f"/tmp/.X11-unix/X{number}").exists() or proc.poll() is not None, 30)
        assert proc.poll() is None, "Xvfb exited at start"
        previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = f":{number}"
        yield f":{number}"
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous
    finally:
        proc.terminate()
        proc.wait(30)


class Trayer:
    """trayer, a real XEmbed system tray, on the display; started again if it died (it is an old GTK 2
    program, and an icon vanishing abruptly can bring it down, as a desktop's tray host would restart)."""

    def __init__(self, executable: str, display: str) -> None:
        from Xlib.display import Display

        self.executable = executable
        self.x = Display(display)
        self.selection = self.x.intern_atom(f"_NET_SYSTEM_TRAY_S{self.x.get_default_screen()}")
        self.proc: subprocess.Popen[bytes] | None = None

    def owned(self) -> bool:
        from Xlib import X

        return self.x.get_selection_owner(self.selection) not in (X.NONE, None)

    def ensure(self) -> None:
        if self.proc is not None and self.proc.poll() is None and self.owned():
            return
        self.stop()
        self.proc = subprocess.Popen([self.executable, "--edge", "top", "--align", "right", "--widthtype", "request",
                                      "--height", "32", "--transparent", "false", "--tint", "0x333333",
                                      "--SetDockType", "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.owned() or self.proc.poll() is not None, 30)  # type: ignore[union-attr]
        assert self.proc.poll() is None, "trayer exited at start"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture(scope="session")
def trayer(display: str) -> Iterator[Trayer]:
    executable = shutil.which("trayer")
    if executable is None:
        pytest.skip("trayer is not installed (Debian: trayer; install/test.sh installs it)")
    host = Trayer(executable, display)
    try:
        yield host
    finally:
        host.stop()
        host.x.close()


@pytest.fixture
def tray_host(trayer: Trayer) -> None:
    """A live system tray on the display for this test."""
    trayer.ensure()


def screenshot(display: str, name: str) -> Path:
    """Save the whole X screen as test-artifacts/NAME.png, for a person to look at."""
    from PIL import ImageGrab

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    ImageGrab.grab(xdisplay=display).save(path)
    return path


@pytest.fixture(autouse=True)
def tk_freed_on_the_main_thread() -> Iterator[None]:
    """Collect each test's Tk objects here, on the thread that made them: left to the garbage collector,
    they may be finalised on a worker thread, and Tcl aborts the process then ("async handler deleted by
    the wrong thread")."""
    yield
    gc.collect()


@pytest.fixture
def daemon(env: dict[str, Path], model, library: Path) -> Iterator[Engine]:
    """The shapes library served on the real socket, tagged with colours and shapes (chips to click)."""
    with running_engine(env, CountingModel(model), 16, serve_api=True, socket=str(env["run"] / "api.sock"),
                        tagging=shape_tags()) as engine:
        yield engine


@pytest.fixture
def desk(display: str, env: dict[str, Path]) -> Iterator[Desk]:
    """A real Gui on the display, talking to whatever answers on the test's socket."""
    d = Desk(env["run"] / "api.sock", env["cache"] / "thumbs")
    yield d
    d.close()


@pytest.fixture
def tray_window(display: str) -> Iterator[TrayWindow]:
    """Our icon, looked for from a separate X connection."""
    w = TrayWindow(display)
    yield w
    w.close()
