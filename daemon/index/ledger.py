"""The ledger of files that failed to decode, with their reasons.

A failure is remembered with the file's size and mtime, so the file is retried
only when it changes. SQLite gives crash-safe updates for free.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..decode import FileStat


@dataclass(frozen=True)
class Failure:
    """A file photosift could not index, and why."""

    path: str
    stat: FileStat
    reason: str
    at: float


class Ledger:
    """Failed files, kept in `failures.sqlite` beside the store."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS failures (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
            " reason TEXT, at REAL)"
        )
        self._lock = threading.Lock()
        rows = self._db.execute("SELECT path, size, mtime_ns, reason, at FROM failures").fetchall()
        # mirrored in memory: the pipeline asks "did this exact version fail?" for every file
        self._failures = {p: Failure(p, FileStat(s, m), r, a) for p, s, m, r, a in rows}

    def record(self, path: str, stat: FileStat, reason: str) -> None:
        failure = Failure(path, stat, reason, time.time())
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
                (path, stat.size, stat.mtime_ns, reason, failure.at),
            )
            self._failures[path] = failure

    def clear(self, paths: list[str]) -> None:
        with self._lock:
            known = [p for p in paths if p in self._failures]
            if not known:
                return
            self._db.executemany("DELETE FROM failures WHERE path = ?", [(p,) for p in known])
            for p in known:
                del self._failures[p]

    def failed_unchanged(self, path: str, stat: FileStat) -> bool:
        """True when this exact version of the file already failed: do not retry it."""
        with self._lock:
            failure = self._failures.get(path)
        return failure is not None and failure.stat == stat

    def all(self) -> list[Failure]:
        with self._lock:
            return sorted(self._failures.values(), key=lambda f: f.path)

    def __len__(self) -> int:
        with self._lock:
            return len(self._failures)

    def close(self) -> None:
        with self._lock:
            self._db.close()
