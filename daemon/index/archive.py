"""photosift's own copy of the index: every record and its embedding (float16) in one SQLite file per model.

Chroma's files can be damaged (a crash or a power cut in the middle of an HNSW
write; Chroma's tracker has such reports), and reading 100,000 embeddings back
from Chroma takes seconds. This copy is written by the single writer in the same
step as Chroma, always first (writer.py), so after a `kill -9` it holds at least
what Chroma holds, and at start-up the two are made to agree (doctor.py). From it
the store is rebuilt without encoding a single image; it also answers every
"what is the stored embedding of this file?" (copies, moves, re-tagging, query
images) without a round trip to Chroma.

float16 halves the file (1 KB an image for ViT-B/32) and costs nothing that
matters: the cosines it gives differ from float32's by about 1e-4.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import StoreUnavailable
from .health import classify
from .store import PAGE, FileRecord, record_id

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_COLUMNS = "path, root, size, mtime_ns, hash, width, height, taken_at, model"


def archive_path(data_dir: Path, model_id: str) -> Path:
    """Where the copy of `model_id`'s index lives."""
    return data_dir / f"embeddings-{model_id}.sqlite"


def indexed_paths(data_dir: Path) -> set[str]:
    """Every path any model's copy holds (those of removed folders kept for their grace period too), read
    without the daemon and without writing anything: what `tags unwrite` looks at when no daemon runs,
    e.g. while photosift is being uninstalled."""
    found: set[str] = set()
    for copy in sorted(data_dir.glob("embeddings-*.sqlite")):
        try:
            with contextlib.closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as db:
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                for table in ("records", "retired"):
                    if table in tables:
                        found.update(row[0] for row in db.execute(f"SELECT path FROM {table}"))
        except sqlite3.Error as exc:
            raise classify(exc, str(copy)) from exc
    return found


def _ignore(_failure: StoreUnavailable) -> None:
    pass


class Archive:
    """Records and float16 embeddings by path, crash-safe (SQLite, WAL). Safe to use from any thread.

    Besides the index's records (`records`), it keeps those of folders the user
    stopped watching (`retired`) for `keep_retired` seconds: a folder added back,
    or a narrowed watch widened again, takes its embeddings from there instead of
    encoding its photos again. Retired records are in no search and no count.
    """

    def __init__(self, path: Path, embed_dim: int,
                 on_failure: Callable[[StoreUnavailable], None] = _ignore,
                 keep_retired: float = 30 * 86400) -> None:
        self.path = path
        self.embed_dim = embed_dim
        self.keep_retired = keep_retired
        self._on_failure = on_failure
        self._lock = threading.Lock()
        self._db = self._connect()
        self.expire()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise classify(exc, str(self.path)) from exc
        self._db = db
        try:
            with self._guard():
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: a killed process loses nothing
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, {_COLUMNS}, embedding BLOB NOT NULL)"
                )
                self._db.execute(f"CREATE TABLE IF NOT EXISTS retired (id TEXT PRIMARY KEY, {_COLUMNS}, "
                                 "embedding BLOB NOT NULL, retired_at REAL NOT NULL)")
                self._db.execute("CREATE INDEX IF NOT EXISTS retired_by_hash ON retired (hash)")
                self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                # perceptual hashes by content hash: the same bytes have the same picture, wherever they lie
                self._db.execute("CREATE TABLE IF NOT EXISTS phashes (hash TEXT PRIMARY KEY, phash TEXT NOT NULL)")
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('embed_dim', ?)",
                                 (str(SCHEMA_VERSION), str(self.embed_dim)))
        except StoreUnavailable:
            db.close()
            raise
        return db

    def reopen(self) -> None:
        """Connect again to `path` (a new, empty file once the old one was moved aside)."""
        with self._lock:
            self._db = self._connect()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite's errors as the `StoreUnavailable` they mean (a full disk, a damaged file)."""
        try:
            yield
        except sqlite3.Error as exc:
            failure = classify(exc, str(self.path))
            self._on_failure(failure)
            raise failure from exc

    def check(self) -> str | None:
        """None when SQLite finds the file sound (`quick_check`), else what it found."""
        with self._lock, self._guard():
            rows = self._db.execute("PRAGMA quick_check").fetchall()
        problems = [str(r[0]) for r in rows if r[0] != "ok"]
        return "; ".join(problems[:5]) if problems else None

    # -- writing -----------------------------------------------------------------------------------

    def upsert(self, records: Sequence[FileRecord], embeddings: np.ndarray) -> None:
        """Write records with their embeddings, in one transaction."""
        if not len(records):
            return
        halves = np.asarray(embeddings, dtype="<f2")
        rows = [(record_id(r.path), r.path, r.root, r.size, r.mtime_ns, r.content_hash, r.width, r.height,
                 r.taken_at, r.model, halves[i].tobytes()) for i, r in enumerate(records)]
        with self._lock, self._guard(), self._transaction():
            self._db.executemany(f"INSERT OR REPLACE INTO records (id, {_COLUMNS}, embedding) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.executemany("DELETE FROM retired WHERE id = ?", [(row[0],) for row in rows])

    def put_phashes(self, phashes: dict[str, int]) -> None:
        """Remember the perceptual hashes of pictures (content hash -> pHash, decode.perceptual_hash)."""
        if not phashes:
            return
        with self._lock, self._guard(), self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO phashes VALUES (?, ?)",
                                 [(h, f"{p:016x}") for h, p in phashes.items()])

    def phashes(self, hashes: Iterable[str]) -> dict[str, int]:
        """The perceptual hashes known for these content hashes."""
        out: dict[str, int] = {}
        wanted = list(hashes)
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            chunk = wanted[start : start + 500]
            with self._lock, self._guard():
                rows = self._db.execute(f"SELECT hash, phash FROM phashes WHERE hash IN ({','.join('?' * len(chunk))})",
                                        chunk).fetchall()
            out.update((h, int(p, 16)) for h, p in rows)
        return out

    def delete(self, paths: Iterable[str]) -> None:
        ids = [(record_id(p),) for p in paths]
        if not ids:
            return
        with self._lock, self._guard(), self._transaction():
            self._db.executemany("DELETE FROM records WHERE id = ?", ids)

    def retire(self, paths: Iterable[str]) -> None:
        """Take records out of the index but keep them, with their embeddings, for `keep_retired` seconds."""
        paths = list(paths)
        if self.keep_retired <= 0:
            self.delete(paths)
            return
        ids = [(time.time(), record_id(p)) for p in paths]
        if not ids:
            return
        with self._lock, self._guard(), self._transaction():
            self._db.executemany(f"INSERT OR REPLACE INTO retired (id, {_COLUMNS}, embedding, retired_at) "
                                 f"SELECT id, {_COLUMNS}, embedding, ? FROM records WHERE id = ?", ids)
            self._db.executemany("DELETE FROM records WHERE id = ?", [(i,) for _, i in ids])

    def expire(self) -> int:
        """Forget retired records older than `keep_retired` seconds; how many went."""
        with self._lock, self._guard(), self._transaction():
            gone = self._db.execute("DELETE FROM retired WHERE retired_at < ?",
                                    (time.time() - self.keep_retired,)).rowcount
        if gone:
            log.info("forgot %d photo(s) of folders removed more than %g days ago", gone, self.keep_retired / 86400)
        return int(gone)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reading -----------------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock, self._guard():
            return int(self._db.execute("SELECT count(*) FROM records").fetchone()[0])

    def retired_count(self) -> int:
        with self._lock, self._guard():
            return int(self._db.execute("SELECT count(*) FROM retired").fetchone()[0])

    def retired_like(self, content_hash: str) -> tuple[FileRecord, np.ndarray] | None:
        """A retired record of a file with these bytes, and its embedding: what a photo of a folder added back
        (or a copy of one) is indexed with instead of being encoded again."""
        with self._lock, self._guard():
            row = self._db.execute(f"SELECT {_COLUMNS}, embedding FROM retired WHERE hash = ? LIMIT 1",
                                   (content_hash,)).fetchone()
        return None if row is None else (FileRecord(*row[:-1]), self._vector(row[-1]))

    def records(self) -> list[FileRecord]:
        """Every record, without embeddings (100,000 read in well under a second)."""
        with self._lock, self._guard():
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM records").fetchall()
        return [FileRecord(*row) for row in rows]

    def embeddings(self, paths: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of `paths` (those that exist), as float32."""
        out: dict[str, np.ndarray] = {}
        ids = [record_id(p) for p in paths]
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock, self._guard():
                rows = self._db.execute(f"SELECT path, embedding FROM records WHERE id IN ({marks})", chunk).fetchall()
            for path, blob in rows:
                out[path] = self._vector(blob)
        return out

    def vectors(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every record's id and embedding, a page (ids, (n, dim) float32 array) at a time."""
        for records, vectors in self.pages():
            yield [record_id(r.path) for r in records], vectors

    def pages(self, page: int = PAGE) -> Iterator[tuple[list[FileRecord], np.ndarray]]:
        """Every record with its embedding, a page at a time: what a rebuild writes into Chroma."""
        last = -1
        while True:
            with self._lock, self._guard():
                rows = self._db.execute(f"SELECT rowid, {_COLUMNS}, embedding FROM records WHERE rowid > ? "
                                        "ORDER BY rowid LIMIT ?", (last, page)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            records = [FileRecord(*row[1:-1]) for row in rows]
            yield records, np.stack([self._vector(row[-1]) for row in rows])

    def _vector(self, blob: bytes) -> np.ndarray:
        return np.frombuffer(blob, dtype="<f2").astype(np.float32)

    def close(self) -> None:
        with self._lock:
            self._db.close()
