"""The Chroma store: a real PersistentClient in a temp dir."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
from chroma_server import ChromaServer
from helpers import wait_for

from photosift.daemon.errors import StoreError
from photosift.daemon.index.store import HNSW, WRITE_PAGE, FileRecord, Store, record_id
from photosift.daemon.priority import Priority


def rec(path: str, **kw: object) -> FileRecord:
    base = dict(path=path, root="/r", size=10, mtime_ns=1_700_000_000_123_456_789, content_hash="h" + path,
                width=4000, height=3000, taken_at=1_700_000_000, model="mmm")
    base.update(kw)
    return FileRecord(**base)  # type: ignore[arg-type]


def unit(rng: np.random.Generator, n: int, d: int = 8) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open("", tmp_path, "mmm", 8)
    yield s
    s.close()


def test_upsert_query_and_metadata_roundtrip(store: Store) -> None:
    rng = np.random.default_rng(0)
    vecs = unit(rng, 3)
    records = [rec("/r/a.jpg"), rec("/r/b.jpg"), rec("/r/ü ß.jpg")]
    store.upsert(records, vecs)
    assert store.count() == 3
    hits = store.query(vecs[1], 2)
    assert hits[0].record == records[1]  # 64-bit mtime_ns and unicode paths survive
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert store.get("/r/a.jpg") == records[0]
    assert store.get("/r/none.jpg") is None


def test_ids_are_stable_so_rewrites_replace(store: Store) -> None:
    rng = np.random.default_rng(1)
    store.upsert([rec("/r/a.jpg")], unit(rng, 1))
    store.upsert([rec("/r/a.jpg", size=11)], unit(rng, 1))
    assert store.count() == 1
    assert store.get("/r/a.jpg").size == 11  # type: ignore[union-attr]
    assert record_id("/r/a.jpg") == record_id("/r/a.jpg") != record_id("/r/b.jpg")


def test_records_pages_through_everything(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("photosift.daemon.index.store.PAGE", 7)
    rng = np.random.default_rng(2)
    records = [rec(f"/r/{i:03d}.jpg") for i in range(30)]
    store.upsert(records, unit(rng, 30))
    assert sorted(r.path for r in store.records()) == sorted(r.path for r in records)


def test_delete_and_embeddings(store: Store) -> None:
    rng = np.random.default_rng(3)
    vecs = unit(rng, 2)
    store.upsert([rec("/r/a.jpg"), rec("/r/b.jpg")], vecs)
    got = store.embeddings(["/r/a.jpg", "/r/zzz.jpg"])
    assert list(got) == ["/r/a.jpg"] and np.allclose(got["/r/a.jpg"], vecs[0], atol=1e-6)
    store.delete(["/r/a.jpg"])
    assert store.count() == 1


def test_persists_and_collections_are_per_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    a = Store.open("", tmp_path, "model-a", 8)
    a.upsert([rec("/r/a.jpg", model="model-a")], unit(rng, 1))
    a.close()
    b = Store.open("", tmp_path, "model-b", 8)
    assert b.count() == 0  # another model never sees model-a's embeddings
    b.close()
    again = Store.open("", tmp_path, "model-a", 8)
    assert again.count() == 1
    again.close()
    assert Store.open_existing("", tmp_path, "model-c") is None


def test_collection_is_cosine_with_our_hnsw_settings(store: Store) -> None:
    config = store._collection.configuration
    hnsw = config.get("hnsw") or {}
    assert hnsw.get("space") == "cosine"
    assert hnsw.get("max_neighbors") == HNSW["max_neighbors"]
    assert hnsw.get("ef_search") == HNSW["ef_search"]


def test_schema_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    Store.open("", tmp_path, "mmm", 8).close()
    with pytest.raises(StoreError, match="another photosift schema"):
        Store.open("", tmp_path, "mmm", 16)


def test_record_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec("/r/a.jpg").size = 3  # type: ignore[misc]


def test_a_chroma_server_as_the_store(tmp_path: Path) -> None:
    """`store = "http://host:port"`: the same Store over Chroma's own client/server mode (`chroma run`)."""
    server = ChromaServer(tmp_path / "server")
    server.start()
    port = server.port
    try:
        def connect() -> Store | None:
            try:
                return Store.open(f"http://127.0.0.1:{port}", tmp_path / "unused", "via-server", 8)
            except StoreError:
                return None

        store = wait_for(connect, timeout=60, interval=0.2)
        assert isinstance(store, Store)
        vecs = unit(np.random.default_rng(5), 2)
        store.upsert([rec("/r/a.jpg", model="via-server"), rec("/r/b.jpg", model="via-server")], vecs)
        assert store.count() == 2
        assert store.query(vecs[0], 1)[0].record.path == "/r/a.jpg"
        assert not (tmp_path / "unused").exists()  # nothing embedded was created locally
    finally:
        server.stop()


def test_a_path_twice_in_one_write_keeps_the_last(store: Store) -> None:
    vecs = unit(np.random.default_rng(6), 2)
    store.upsert([rec("/r/a.jpg", size=1), rec("/r/a.jpg", size=2)], vecs)
    assert store.count() == 1
    assert store.get("/r/a.jpg").size == 2  # type: ignore[union-attr]
    assert np.allclose(store.embeddings(["/r/a.jpg"])["/r/a.jpg"], vecs[1], atol=1e-6)


def test_a_large_write_waits_between_pages_while_a_query_runs(tmp_path: Path) -> None:
    # Chroma's bindings hold the GIL for a whole call, so a write of 100,000 records in one call stops
    # every search for its length: writes go in pages, and background ones wait between pages
    priority = Priority()
    store = Store.open("", tmp_path, "mmm", 8, pause=priority.checkpoint)
    paths = [f"/r/{i}.jpg" for i in range(3 * WRITE_PAGE)]
    store.upsert([rec(p) for p in paths], unit(np.random.default_rng(9), len(paths)))  # not background: no pause
    assert store.count() == len(paths)

    def forget() -> None:
        with priority.background():
            store.delete(paths)

    writer = threading.Thread(target=forget, name="test-background-write")
    with priority.query():
        writer.start()
        wait_for(lambda: priority.parked == 1)  # held before a page
        assert writer.is_alive() and store.count() == len(paths)  # not one page gone
        assert store.query(unit(np.random.default_rng(10), 1)[0], 3)  # the query itself runs
    writer.join(30)
    assert not writer.is_alive() and store.count() == 0
    store.close()
