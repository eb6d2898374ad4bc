"""What the desktop does with a file: open it with its default application, show it in the file manager.

Both run the platform's own tool and return at once or after a short wait; the
search window calls them off its UI thread.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# the freedesktop.org interface that Nautilus, Dolphin, Nemo, Caja and Thunar implement
FILE_MANAGER_BUS = "org.freedesktop.FileManager1"
DBUS_TIMEOUT_MS = 5000


def _spawn(argv: list[str]) -> None:
    subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def open_with_default_app(path: str) -> None:
    """Open a file with the desktop's default application."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]
    else:
        _spawn(["open" if sys.platform == "darwin" else "xdg-open", path])


def reveal_in_file_manager(path: str) -> None:
    """Show the file selected in its folder: Finder and Explorer select it; on Linux the file manager's
    D-Bus interface selects it, and without one the folder opens."""
    if sys.platform == "darwin":
        _spawn(["open", "-R", path])
    elif sys.platform == "win32":
        _spawn(["explorer", f"/select,{path}"])
    elif not _show_items_over_dbus(path):
        _spawn(["xdg-open", str(Path(path).parent)])


def _show_items_over_dbus(path: str) -> bool:
    """Ask the session's file manager to show the file selected; False where nothing answers."""
    dbus_send = shutil.which("dbus-send")
    if dbus_send is None or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    argv = [dbus_send, "--session", "--print-reply", f"--reply-timeout={DBUS_TIMEOUT_MS}",
            f"--dest={FILE_MANAGER_BUS}", "/org/freedesktop/FileManager1", f"{FILE_MANAGER_BUS}.ShowItems",
            f"array:string:{Path(path).as_uri()}", "string:"]
    try:
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=DBUS_TIMEOUT_MS / 1000 + 1)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0
