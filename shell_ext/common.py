"""What every file-manager action shares: its name, which files it shows for, and the command it runs.

Each action runs `photosift similar --gui FILE...`, which hands the files to the
open search window or opens one (see photosift.tray.instance). The command is
the absolute path of this installation's `photosift`, so actions keep working
when the virtualenv is not on the file manager's PATH.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from photosift.daemon.config import DEFAULT_EXTENSIONS

ACTION = "Find similar images"
TOOLTIP = "Show images like the selected ones in photosift's search window"
ACTION_ID = "photosift-find-similar"
MARKER = "installed by `photosift shell-ext install`"

IMAGE_MIME_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff",
                    "image/heic", "image/heif")
IMAGE_EXTENSIONS = DEFAULT_EXTENSIONS


@dataclass(frozen=True)
class Generated:
    """One file to write: where (relative to the home folder), what (text, or `data` for a binary file such
    as an icon), and its mode."""

    path: Path
    text: str
    mode: int = 0o644
    data: bytes | None = None

    @property
    def content(self) -> bytes:
        return self.data if self.data is not None else self.text.encode()


def photosift_argv() -> list[str]:
    """How to run this installation's photosift: its console script beside the interpreter, else the one
    on PATH, else the interpreter with `-m`."""
    beside = Path(sys.executable).with_name("photosift.exe" if sys.platform == "win32" else "photosift")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("photosift")
    return [found] if found else [sys.executable, "-m", "photosift.daemon"]


def similar_argv(photosift: list[str]) -> list[str]:
    """The action's command line, without the files (each target appends them its own way)."""
    return [*photosift, "similar", "--gui", "--"]


def shell_command(argv: list[str]) -> str:
    return shlex.join(argv)


def desktop_exec(argv: list[str], field_code: str = "") -> str:
    """An Exec value per the Desktop Entry spec: a literal `%` doubled; arguments with reserved characters
    double-quoted, with `"`, `` ` ``, `$` and `\\` escaped inside the quotes; then, as for every string value,
    each backslash doubled. `field_code` (%F, %U…) comes last, unquoted."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    out = []
    for arg in argv:
        arg = arg.replace("%", "%%")
        if arg and not (set(arg) & reserved):
            out.append(arg)
            continue
        quoted = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        out.append(f'"{quoted}"')
    line = " ".join(out).replace("\\", "\\\\")
    return f"{line} {field_code}" if field_code else line
