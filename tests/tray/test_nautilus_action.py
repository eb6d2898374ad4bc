"""The Nautilus script, run as Nautilus runs it (the selection in NAUTILUS_SCRIPT_SELECTED_FILE_PATHS), against
a real daemon: the open search window shows images like the selected ones."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from helpers import photosift_cmd, write_config

from photosift.daemon.engine import Engine
from photosift.shell_ext import linux

from .driver import Desk, says_results


def nautilus_script(folder: Path) -> Path:
    generated = linux.nautilus_script(photosift_cmd())
    script = folder / generated.path.name
    script.write_text(generated.text)
    script.chmod(generated.mode)
    return script


def run_as_nautilus(script: Path, selected: list[Path], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "NAUTILUS_SCRIPT_SELECTED_FILE_PATHS": "".join(f"{p}\n" for p in selected)}
    return subprocess.Popen([str(script)], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_the_script_shows_images_like_the_selection(desk: Desk, daemon: Engine, env: dict[str, Path],
                                                    library: Path, tmp_path: Path) -> None:
    write_config(env["config"], folders=[str(library)])
    assert desk.gui.listen(env["run"] / "gui.sock")
    spaced = tmp_path / "holiday pics" / "Red Star.PNG"  # a space and upper-case extension, outside the library
    spaced.parent.mkdir()
    shutil.copy(library / "red" / "red-star.png", spaced)
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    script = nautilus_script(tmp_path)
    nautilus = run_as_nautilus(script, [spaced, library / "blue" / "blue-star.png", notes], library)
    desk.pump_until(lambda: nautilus.poll() is not None and desk.gui.window is not None)
    assert nautilus.returncode == 0, nautilus.stderr.read()  # type: ignore[union-attr]
    window = desk.gui.window
    assert window.similar_to == (str(spaced), str(library / "blue" / "blue-star.png"))  # the text file skipped
    desk.pump_until(lambda: says_results(window, 15))
    names = [Path(h["path"]).name for h in window.results]
    assert "blue-star.png" not in names and set(names[:2]) <= {"red-star.png", "green-star.png", "yellow-star.png",
                                                               "blue-circle.png", "blue-square.png",
                                                               "blue-triangle.png"}
    assert window.banner_text.cget("text") == "Images like Red Star.PNG, blue-star.png"


def test_a_selection_without_images_says_so(tmp_path: Path, env: dict[str, Path]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    script = nautilus_script(tmp_path)
    done = subprocess.run([str(script)], env={**os.environ, "NAUTILUS_SCRIPT_SELECTED_FILE_PATHS": f"{notes}\n"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    if shutil.which("notify-send") is None:  # else the message went to a desktop notification
        assert "photosift: choose images (jpg, jpeg" in done.stderr
