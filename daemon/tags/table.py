"""The tags of indexed files, kept in SQLite beside the store (`tags.sqlite`).

Tags are derived data: a function of a file's stored embedding and of the
tagging setup (model, vocabulary, rule knobs), whose fingerprint is stored with
them, and the library calibration they were decided against (rule.py's
`Calibration`). When the fingerprint changes, or the library has changed enough
to be calibrated again, the whole library is re-tagged from the stored
embeddings, without decoding or encoding a single image. Only the store writer
changes this index, so it moves in step with the store.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path


class TagTable:
    """path → tags with confidences, and tag → paths."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS tags (path TEXT, tag TEXT, confidence REAL,"
                         " PRIMARY KEY (path, tag))")
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(tags)")]
        if "probability" in columns:  # written by the softmax rule; re-tagged at start (new fingerprint)
            self._db.execute("ALTER TABLE tags RENAME COLUMN probability TO confidence")
        self._db.execute("CREATE INDEX IF NOT EXISTS tags_by_tag ON tags (tag)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str | None:
        """The tagging setup the stored tags were computed with (None: never tagged)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        return row[0] if row else None

    @property
    def calibration(self) -> bytes | None:
        """The saved calibration the stored tags were decided against (None: none saved)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'calibration'").fetchone()
        return bytes(row[0]) if row else None

    def set(self, items: Iterable[tuple[str, list[tuple[str, float]]]]) -> None:
        """Replace the tags of each path."""
        items = list(items)
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM tags WHERE path = ?", [(p,) for p, _ in items])
            self._db.executemany("INSERT INTO tags VALUES (?, ?, ?)",
                                 [(p, tag, prob) for p, tags in items for tag, prob in tags])

    def remove(self, paths: Iterable[str]) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM tags WHERE path = ?", [(p,) for p in paths])

    def rebuild(self, fingerprint: str, calibration: bytes,
                pages: Iterable[list[tuple[str, list[tuple[str, float]]]]]) -> int:
        """Replace every tag with those of `pages`, and the setup and calibration they were decided with,
        in one transaction; returns the files tagged."""
        files = 0
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM tags")
            for page in pages:
                files += len(page)
                self._db.executemany("INSERT INTO tags VALUES (?, ?, ?)",
                                     [(p, tag, prob) for p, tags in page for tag, prob in tags])
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('calibration', ?)", (calibration,))
        return files

    def tags_of(self, path: str) -> list[tuple[str, float]]:
        with self._lock:
            rows = self._db.execute("SELECT tag, confidence FROM tags WHERE path = ? ORDER BY confidence DESC",
                                    (path,)).fetchall()
        return [(tag, float(p)) for tag, p in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT tag, COUNT(*) FROM tags GROUP BY tag").fetchall())

    def tagged(self, tags: list[str], every: bool) -> list[str]:
        """Paths carrying every one of `tags` (or any of them), sorted."""
        marks = ",".join("?" * len(tags))
        having = f" HAVING COUNT(DISTINCT tag) = {len(set(tags))}" if every else ""
        with self._lock:
            rows = self._db.execute(f"SELECT path FROM tags WHERE tag IN ({marks}) GROUP BY path{having}"
                                    " ORDER BY path", tags).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
