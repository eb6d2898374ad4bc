"""Replacing a file atomically: a crash leaves the old version or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_text(path: Path, text: str, new_mode: int = 0o644) -> None:
    """Write `text` to a temp file beside `path`, fsync it, rename it over `path` (keeping the old
    file's mode, else `new_mode`), and fsync the folder so the rename itself survives a crash."""
    write_bytes(path, text.encode("utf-8"), new_mode)


def write_bytes(path: Path, data: bytes, new_mode: int = 0o644) -> None:
    """`write_text` for bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else new_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not possible on Windows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
