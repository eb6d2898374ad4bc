"""Advisory file locks that die with their process, for every "only one of us" in photosift.

The data dir's owner (one daemon per index), the tray's single instance and the
search window's socket all use `FileLock`. The kernel drops the lock with the
file descriptor, so a `kill -9` never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import StoreLocked

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int, wait: bool) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

else:
    import fcntl

    def _lock(fd: int, wait: bool) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


class FileLock:
    """An exclusive lock on one file (created 0600; its folder, if missing, with `folder_mode`)."""

    def __init__(self, path: Path, folder_mode: int = 0o700) -> None:
        self.path = path
        self.folder_mode = folder_mode
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self, note: str = "") -> bool:
        """Take the lock at once, writing `note` (who holds it) into the file; False if another has it."""
        return self._acquire(note, wait=False)

    def acquire(self, note: str = "") -> None:
        """Take the lock, waiting for another holder to let go."""
        self._acquire(note, wait=True)

    def _acquire(self, note: str, wait: bool) -> bool:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already locked by this object")
        self.path.parent.mkdir(mode=self.folder_mode, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _lock(fd, wait):
            os.close(fd)
            return False
        if note:
            os.ftruncate(fd, 0)
            os.write(fd, note.encode())
        self._fd = fd
        return True

    def holder(self) -> str | None:
        """What the holder wrote into the file about itself."""
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @contextmanager
    def held_while(self) -> Iterator[None]:
        """Hold the lock (waiting for it) for the `with` block."""
        self.acquire()
        try:
            yield
        finally:
            self.release()


class DataDirLock:
    """Exclusive ownership of one data dir: one daemon (or `index --once`) per index."""

    def __init__(self, data_dir: Path) -> None:
        # the data dir keeps the mode the user's umask gives it
        self._lock = FileLock(data_dir / "daemon.lock", folder_mode=0o777)
        self.path = self._lock.path

    def acquire(self, purpose: str = "daemon") -> None:
        """Take the lock at once or raise StoreLocked naming the holder; never waits."""
        if not self._lock.try_acquire(f"pid {os.getpid()} ({purpose})"):
            raise StoreLocked(
                f"another photosift process ({self._lock.holder() or 'unknown'}) is using {self.path.parent}; "
                "only one may own an index at a time"
            )

    def holder(self) -> str | None:
        return self._lock.holder()

    def is_held_elsewhere(self) -> bool:
        """True while another process owns the data dir (checks without keeping the lock)."""
        if not self._lock.try_acquire():
            return True
        self._lock.release()
        return False

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
