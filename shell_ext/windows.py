"""Explorer: "Find similar images" on image files, for the current user only (HKCU, no administrator).

The verb goes under `Software\\Classes\\SystemFileAssociations\\image\\shell`, which Explorer
applies to every file whose perceived type is image. With several files selected
Explorer runs the command once per file (`MultiSelectModel=Player` lets it do so
for any number), and without a single-window channel on Windows (see
photosift.tray.instance) each opens its own window.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys

from photosift.daemon.errors import ShellExtError

from .common import ACTION, ACTION_ID, similar_argv

KEY = rf"Software\Classes\SystemFileAssociations\image\shell\{ACTION_ID}"


def command_line(photosift: list[str]) -> str:
    """The verb's command: Windows quoting of our argv, then "%1" (Explorer's file)."""
    return subprocess.list2cmdline(similar_argv(photosift)) + ' "%1"'


def values(photosift: list[str]) -> dict[str, dict[str, str]]:
    """Registry keys (under HKCU) and their string values; "" is a key's default value."""
    return {
        KEY: {"": ACTION, "Icon": photosift[0], "MultiSelectModel": "Player"},
        KEY + r"\command": {"": command_line(photosift)},
    }


def reg_file(photosift: list[str]) -> str:
    """The same as a .reg file, for installing by hand (double-click it, or `reg import`)."""

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["Windows Registry Editor Version 5.00", ""]
    for key, entries in values(photosift).items():
        lines.append(f"[HKEY_CURRENT_USER\\{key}]")
        lines += [f"{'@' if name == '' else quoted(name)}={quoted(value)}" for name, value in entries.items()]
        lines.append("")
    return "\r\n".join(lines) + "\r\n"


def uninstall_reg_file() -> str:
    return f"Windows Registry Editor Version 5.00\r\n\r\n[-HKEY_CURRENT_USER\\{KEY}]\r\n"


def install(photosift: list[str]) -> None:  # pragma: no cover - Windows only; reg_file is tested everywhere
    if sys.platform != "win32":
        raise ShellExtError("the Explorer verb is written into the Windows registry; use `export windows` here")
    import winreg

    for key, entries in values(photosift).items():
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
            for name, value in entries.items():
                winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)


def uninstall() -> None:  # pragma: no cover - Windows only
    if sys.platform != "win32":
        raise ShellExtError("the Explorer verb lives in the Windows registry; there is none to remove here")
    import winreg

    for key in reversed(list(values(["photosift"]))):
        with contextlib.suppress(FileNotFoundError):
            winreg.DeleteKey(winreg.HKEY_CURRENT_USER, key)
