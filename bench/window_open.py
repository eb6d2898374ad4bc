"""How fast the search window opens (issue 5: "well under a second"), on a real X display.

Prints, each as median and worst of --runs tries:
  (1) tray click: in the running tray app, from the click's request to the window being mapped
      (Gui.show on an idle Tk, the path a tray click and a handed-over request take)
  (2) `photosift search --gui` with no window open: a new process, from its start to its window
      being mapped (what a file-manager action pays when the tray app is not running)
  (3) `photosift similar FILE --gui` with a window open: the command hands its request over and exits
Mapped windows are seen from outside through X (python-xlib). The daemon need not run: the
window opens either way (it then says the daemon is down).
Without DISPLAY, an Xvfb server is started for the run.

    python bench/window_open.py
    python bench/window_open.py --runs 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from machine import describe
from PIL import Image

PHOTOSIFT = [sys.executable, "-m", "photosift.daemon"]


def mapped_window(display: object, title: str) -> bool:
    """Whether a mapped top-level window with this title exists."""
    from Xlib import X
    from Xlib.error import BadWindow

    for child in display.screen().root.query_tree().children:  # type: ignore[attr-defined]
        try:
            if child.get_wm_name() == title and child.get_attributes().map_state == X.IsViewable:
                return True
        except BadWindow:  # it vanished while we looked
            continue
    return False


def wait(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("timed out waiting for the window")
        time.sleep(0.002)


def summary(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print(f"{name:<58} median {statistics.median(ms):6.0f} ms   worst {ms[-1]:6.0f} ms   ({len(ms)} runs)")


def in_process(runs: int, home: Path) -> list[float]:
    """Gui.show() on an idle Tk until the window is viewable."""
    from photosift.daemon.client import Client
    from photosift.tray.gui import Gui
    from photosift.tray.thumbnails import Thumbnails

    gui = Gui(lambda: Client(home / "run" / "api.sock", timeout=5), Thumbnails(home / "thumbs"))
    times = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            window = gui.show()
            while not window.top.winfo_viewable():
                gui.root.update()
            times.append(time.perf_counter() - started)
            window.close()
            gui.root.update()
    finally:
        gui.close()
    return times


def cold_process(runs: int, x: object) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen([*PHOTOSIFT, "search", "--gui"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait(lambda p=proc: mapped_window(x, "photosift") or p.poll() is not None)
        times.append(time.perf_counter() - started)
        if proc.poll() is not None:
            raise SystemExit(f"the window process exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        wait(lambda: not mapped_window(x, "photosift"))
    return times


def handed_over(runs: int, image: Path, x: object) -> list[float]:
    window = subprocess.Popen([*PHOTOSIFT, "search", "--gui"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(lambda: mapped_window(x, "photosift"))
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([*PHOTOSIFT, "similar", str(image), "--gui"], check=True)
            times.append(time.perf_counter() - started)
        return times
    finally:
        window.send_signal(signal.SIGTERM)
        window.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    print(describe())
    home = Path(tempfile.mkdtemp(prefix="photosift-window-"))
    for name in ("CONFIG", "DATA_DIR", "CACHE_DIR", "RUNTIME_DIR"):
        os.environ[f"PHOTOSIFT_{name}"] = str(home / name.lower())
    xvfb = None
    if not os.environ.get("DISPLAY"):
        xvfb = subprocess.Popen(["Xvfb", ":77", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.environ["DISPLAY"] = ":77"
        wait(lambda: Path("/tmp/.X11-unix/X77").exists())
    from Xlib.display import Display

    x = Display()
    image = home / "photo.jpg"
    Image.new("RGB", (640, 480), "orange").save(image)
    try:
        print(f"display {os.environ['DISPLAY']}, {os.cpu_count()} CPUs")
        summary("(1) tray click → window mapped (in the tray process)", in_process(args.runs, home))
        summary("(2) `photosift search --gui`, no window open → mapped", cold_process(args.runs, x))
        summary("(3) `photosift similar FILE --gui`, window open → handed", handed_over(args.runs, image, x))
    finally:
        x.close()
        if xvfb is not None:
            xvfb.terminate()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
