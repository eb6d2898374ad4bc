"""Opening a file the desktop's way: through GIO where PyGObject is installed, so a failure says what really
went wrong (no application for the type), not "No such file or directory" for a file that exists."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def open_in_child(path: Path, env: dict[str, str], action: str = "open_with_default_app"
                  ) -> subprocess.CompletedProcess[str]:
    """`open_with_default_app` (or another of desktop.py's actions) in a fresh process, whose GIO reads only
    the given XDG folders."""
    code = (f"import sys\nfrom photosift.tray.desktop import {action}\n"
            f"try:\n    {action}(sys.argv[1])\nexcept OSError as exc:\n    print(exc); sys.exit(1)\n")
    return subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True,
                          timeout=60)


def test_no_application_for_the_file_is_said_as_such(tmp_path: Path, make_shape: Callable[..., Path]) -> None:
    pytest.importorskip("gi", reason="PyGObject is not installed (install/test.sh builds it)")
    image = make_shape(tmp_path, "red", "circle", "photo.png")
    empty = tmp_path / "xdg"
    empty.mkdir()
    env = {**os.environ, "XDG_DATA_HOME": str(empty), "XDG_DATA_DIRS": str(empty), "XDG_CONFIG_HOME": str(empty),
           "XDG_CONFIG_DIRS": str(empty)}  # a desktop with no application registered for anything
    done = open_in_child(image, env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No such file or directory" not in done.stdout
    assert done.stdout.strip() == "No application is registered as handling this file"  # GIO's own words
    # revealing it, with no file manager on the session bus, opens its folder the same way, and says so
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    revealed = open_in_child(image, env, "reveal_in_file_manager")
    assert revealed.returncode == 1 and revealed.stdout.strip() == "No application is registered as handling this file"
