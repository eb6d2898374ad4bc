"""The data dir's single-writer lock: an OS file lock that dies with its process.

A kill -9 releases it (the kernel drops the lock with the file descriptor), so
a crashed daemon never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import StoreLocked

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


class DataDirLock:
    """Exclusive ownership of one data dir. Use as a context manager or acquire()/release()."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "daemon.lock"
        self._fd: int | None = None

    def acquire(self, purpose: str = "daemon") -> None:
        """Take the lock at once or raise StoreLocked naming the holder; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            holder = self.holder()
            os.close(fd)
            raise StoreLocked(
                f"another photosift process ({holder or 'unknown'}) is using {self.path.parent}; "
                "only one may own an index at a time"
            )
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} ({purpose})".encode())
        self._fd = fd

    def holder(self) -> str | None:
        """Who holds the lock, as it wrote itself into the file."""
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def is_held_elsewhere(self) -> bool:
        """True while another process owns the data dir (checks without keeping the lock)."""
        try:
            self.acquire("probe")
        except StoreLocked:
            return True
        self.release()
        return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
