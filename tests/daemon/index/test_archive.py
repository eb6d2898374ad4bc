"""photosift's own copy of the index: the records of folders the user stopped watching are kept, out of every
search and count, for the grace period, and forgotten after it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np

from photosift.daemon.index.archive import Archive, indexed_paths
from photosift.daemon.index.store import FileRecord

DIM = 8


def record(path: str, content_hash: str) -> FileRecord:
    return FileRecord(path=path, root="/photos", size=10, mtime_ns=1, content_hash=content_hash, width=4, height=4,
                      taken_at=0, model="m")


def vectors(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_retired_records_are_kept_out_of_sight_and_come_back_by_content(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "embeddings-m.sqlite", DIM)
    kept = vectors(2)
    archive.upsert([record("/photos/a.jpg", "ha"), record("/photos/b.jpg", "hb")], kept)
    archive.retire(["/photos/a.jpg"])
    assert archive.count() == 1 and [r.path for r in archive.records()] == ["/photos/b.jpg"]
    assert archive.embeddings(["/photos/a.jpg"]) == {} and archive.retired_count() == 1
    found = archive.retired_like("ha")
    assert found is not None and found[0].path == "/photos/a.jpg"
    assert np.allclose(found[1], kept[0], atol=1e-3)  # float16 in the copy
    assert archive.retired_like("hb") is None  # a live record is not "retired"
    assert indexed_paths(tmp_path) == {"/photos/a.jpg", "/photos/b.jpg"}  # what an offline unwrite looks at
    archive.upsert([found[0]], found[1][None, :])  # indexed again: live, and no longer kept aside
    assert archive.count() == 2 and archive.retired_count() == 0
    archive.close()


def test_the_grace_period_ends(tmp_path: Path) -> None:
    path = tmp_path / "embeddings-m.sqlite"
    archive = Archive(path, DIM, keep_retired=30 * 86400)
    archive.upsert([record("/photos/old.jpg", "ho"), record("/photos/new.jpg", "hn")], vectors(2))
    archive.retire(["/photos/old.jpg", "/photos/new.jpg"])
    archive.close()
    with sqlite3.connect(path) as db:  # as if "old" had been removed 31 days ago
        db.execute("UPDATE retired SET retired_at = ? WHERE path = '/photos/old.jpg'", (time.time() - 31 * 86400,))
    archive = Archive(path, DIM, keep_retired=30 * 86400)  # each start forgets what is past its time
    assert archive.retired_like("ho") is None and archive.retired_like("hn") is not None
    archive.close()
    at_once = Archive(tmp_path / "embeddings-n.sqlite", DIM, keep_retired=0)  # forget_after_days = 0
    at_once.upsert([record("/photos/x.jpg", "hx")], vectors(1))
    at_once.retire(["/photos/x.jpg"])
    assert at_once.count() == 0 and at_once.retired_count() == 0
    at_once.close()
