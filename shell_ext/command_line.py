"""The `photosift` command where a shell finds it: a launcher in `~/.local/bin`, shell completion (bash, fish)
and the man page, written by `photosift service install` (so install.sh) and removed by its uninstall.

`~/.local/bin` is on PATH in most distributions' default profiles (systemd's
file-hierarchy puts a user's executables there), so the README's commands work
as written without activating the virtualenv; `man` finds a page under
`~/.local/share/man` through PATH's `~/.local/bin`. zsh has no per-user folder
that every setup reads: docs/desktop.md gives the line for `~/.zshrc`.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from .common import Generated

LAUNCHER = Path(".local/bin/photosift")
BASH_COMPLETION = Path(".local/share/bash-completion/completions/photosift")
FISH_COMPLETION = Path(".config/fish/completions/photosift.fish")
MAN_PAGE = Path(".local/share/man/man1/photosift.1")


def launcher(photosift: list[str]) -> Generated:
    """A small script that runs this installation's photosift (a script rather than a link: the console
    script of a virtualenv must be run by its own path for its interpreter to be found)."""
    return Generated(LAUNCHER, f"#!/bin/sh\n# installed by `photosift service install`\nexec {shlex.join(photosift)} "
                               '"$@"\n', 0o755)


def completions_and_manual(manual: str) -> list[Generated]:
    """bash's and fish's completion scripts (argcomplete's: they ask `photosift` at each Tab) and the man
    page `manual` (the CLI generates it from its parser)."""
    import argcomplete

    return [Generated(BASH_COMPLETION, argcomplete.shellcode(["photosift"], shell="bash")),
            Generated(FISH_COMPLETION, argcomplete.shellcode(["photosift"], shell="fish")),
            Generated(MAN_PAGE, manual)]


def on_path(home: Path) -> bool:
    """Whether the launcher's folder is on this process's PATH."""
    folder = str(home / LAUNCHER.parent)
    return any(os.path.realpath(p) == os.path.realpath(folder) for p in os.environ.get("PATH", "").split(os.pathsep))
