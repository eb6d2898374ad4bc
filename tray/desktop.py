"""What the desktop does with a file: open it with its default application, show it in the file manager.

On Linux a file is opened through GIO where PyGObject is installed (the tray's
menu needs it anyway): GIO asks the desktop's own MIME database (and the portal
in a sandbox), and its errors are the real ones ("no application is registered
for PNG images"). Without it, `xdg-open` runs, and its absence is said as such
rather than as the file not being found.
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
    """Open a file with the desktop's default application; OSError says why it cannot be."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]
    elif sys.platform == "darwin":
        _spawn(["open", path])
    elif not _open_with_gio(path):
        try:
            _spawn(["xdg-open", path])
        except FileNotFoundError:
            raise OSError("nothing here opens files: neither GIO (PyGObject) nor xdg-open is installed "
                          "(Debian: xdg-utils)") from None


def _open_with_gio(path: str) -> bool:
    """Open `path` through GIO; False where PyGObject is not installed, OSError with GIO's reason on failure."""
    try:
        import gi

        gi.require_version("Gio", "2.0")
        from gi.repository import Gio, GLib
    except (ImportError, ValueError):
        return False
    try:
        Gio.AppInfo.launch_default_for_uri(Path(path).as_uri(), None)
    except GLib.Error as exc:
        raise OSError(exc.message) from None
    return True


def reveal_in_file_manager(path: str) -> None:
    """Show the file selected in its folder: Finder and Explorer select it; on Linux the file manager's
    D-Bus interface selects it, and without one the folder opens as a file would (through GIO where
    present); OSError says why when neither can be done."""
    if sys.platform == "darwin":
        _spawn(["open", "-R", path])
    elif sys.platform == "win32":
        _spawn(["explorer", f"/select,{path}"])
    elif not _show_items_over_dbus(path):
        open_with_default_app(str(Path(path).parent))


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
