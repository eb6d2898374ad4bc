"""A store that cannot take writes or answer keeps every photo waiting, says so, and recovers by itself.

Real failures: the data dir on a small tmpfs filled to the last byte, a real
Chroma server (`chroma run`) stopped and started again. Real engines, the real
API over its Unix socket.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from chroma_server import ChromaServer
from engine_harness import CountingModel, indexed_paths, make_engine, settled
from helpers import FakeClock, photosift_cmd, wait_for, write_config

from photosift.daemon.client import Client
from photosift.daemon.engine import Engine
from photosift.daemon.errors import ApiError
from photosift.daemon.index.archive import Archive
from photosift.daemon.index.catalog import Catalog
from photosift.daemon.index.health import StoreHealth, classify
from photosift.daemon.index.keeper import GIVE_UP_AFTER, RETRY_MOST, Backlog, Keeper
from photosift.daemon.index.ledger import Ledger
from photosift.daemon.index.messages import Done, Remove, Reuse, WriterOp
from photosift.daemon.index.scan import Rules
from photosift.daemon.index.store import FileRecord, Store
from photosift.daemon.index.writer import Writer


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root here, to fill a disk for real: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill `disk` to the last byte; returns the filler to delete."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def on_small_disk(env: dict[str, Path], model, small_disk: Path, make_shape: Callable[..., Path]
                  ) -> Iterator[Engine]:
    """An engine whose data dir is on the small disk, with two photos indexed."""
    env["data"] = small_disk / "data"
    make_shape(env["photos"], "red", "circle")
    make_shape(env["photos"], "blue", "star")
    engine = make_engine(env, CountingModel(model))
    engine.start()
    try:
        wait_for(lambda: settled(engine) and len(engine.catalog) == 2, 60)
        yield engine
    finally:
        engine.stop()


def test_a_full_disk_keeps_new_photos_waiting_says_so_and_writes_them_once_space_is_freed(
    on_small_disk: Engine, small_disk: Path, env: dict[str, Path], make_shape: Callable[..., Path]
) -> None:
    engine = on_small_disk
    filler = fill(small_disk)
    added = [make_shape(env["photos"] / "new", c, s) for c in ("green", "yellow") for s in ("square", "triangle")]

    wait_for(lambda: settled(engine) and engine.status()["store"]["waiting"] == len(added), 60)
    status = engine.status()
    assert status["store"]["state"] == "disk_full"
    assert status["store"]["message"] is not None and "disk is full" in status["store"]["message"]
    assert "4 photos waiting" in status["store"]["message"]
    assert status["failed"] == 0  # nothing is blamed on the photos
    assert len(engine.catalog) == 2

    filler.unlink()
    # the writer retries after 2 s, doubling to 30 s: within a minute of the space coming back
    wait_for(lambda: len(engine.catalog) == 6 and engine.status()["store"]["state"] == "ok", 60)
    assert indexed_paths(engine) == {str(p) for p in [*env["photos"].glob("*.png"), *added]}
    assert engine.status()["store"]["waiting"] == 0
    assert engine.doctor.check()["healthy"]


def test_beyond_the_bound_photos_wait_as_paths_and_are_looked_at_again(
    on_small_disk: Engine, small_disk: Path, env: dict[str, Path], make_shape: Callable[..., Path]
) -> None:
    engine = on_small_disk
    engine.pipeline.keeper.backlog.max_images = 2  # the real bound is 4,096 photos' embeddings
    filler = fill(small_disk)
    added = [make_shape(env["photos"] / "new", c, s) for c in ("green", "yellow") for s in ("square", "triangle")]

    wait_for(lambda: settled(engine) and engine.status()["store"]["waiting"] == len(added), 60)
    assert engine.status()["store"]["state"] == "disk_full"

    filler.unlink()
    wait_for(lambda: settled(engine) and len(engine.catalog) == 6 and engine.status()["store"]["state"] == "ok", 90)
    assert indexed_paths(engine) == {str(p) for p in [*env["photos"].glob("*.png"), *added]}


def test_index_once_on_a_full_disk_says_so_and_exits_1_then_finishes_once_space_is_freed(
    env: dict[str, Path], small_disk: Path, make_shape: Callable[..., Path]
) -> None:
    env["data"] = small_disk / "data"
    write_config(env["config"], debounce_seconds=0.3)
    make_shape(env["photos"], "red", "circle")
    run_env = {**os.environ, "PHOTOSIFT_DATA_DIR": str(env["data"])}

    def index() -> subprocess.CompletedProcess[str]:
        return subprocess.run(photosift_cmd("index", str(env["photos"]), "--once", "--quiet"), env=run_env,
                              capture_output=True, text=True, timeout=300)

    assert index().returncode == 0
    filler = fill(small_disk)
    make_shape(env["photos"], "blue", "star")
    full = index()  # SQLite cannot even open its journals: it says so at start, and nothing is lost
    assert full.returncode == 1, full.stderr
    assert "is full" in full.stderr and "free some space there" in full.stderr
    filler.unlink()
    again = index()
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("2 images indexed, 0 failed")


class RefusingWriter(Writer):
    """The real writer, but the store refuses one file's write with an unexplained error, every time.
    (A Chroma that deterministically refuses one record cannot be made to happen here.)"""

    refused = "/r/refused.png"

    def apply(self, op: WriterOp) -> tuple[str, ...]:
        if isinstance(op, Reuse) and op.record.path == self.refused:
            raise classify(RuntimeError("Error executing plan: something unexplained"), self.store.location)
        return super().apply(op)


def test_an_op_the_store_keeps_refusing_is_given_up_on_and_its_photo_recorded_as_failed(
    tmp_path: Path, model
) -> None:
    store = Store.open("", tmp_path, model.model_id, model.embed_dim)
    archive = Archive(tmp_path / "copy.sqlite", model.embed_dim)
    ledger = Ledger(tmp_path / "failures.sqlite")
    catalog = Catalog()
    rules = Rules.build((Path("/r"),), (), ("png",))
    writer = RefusingWriter(store, archive, catalog, ledger, rules)
    health, clock = StoreHealth(store.location), FakeClock()
    keeper = Keeper(writer, health, look_again=lambda path: None, rescan=lambda: None, clock=clock)
    vector = np.ones(model.embed_dim, dtype=np.float32) / np.sqrt(model.embed_dim)
    refused = FileRecord(RefusingWriter.refused, "/r", 10, 1, "a" * 32, 1, 1, 1, model.model_id)
    try:
        keeper.apply(Reuse(refused, vector))
        keeper.apply(Reuse(dataclasses.replace(refused, path="/r/fine.png", content_hash="b" * 32), vector))
        assert health.kind == "failing" and health.waiting == 2 and len(catalog) == 0
        for _ in range(GIVE_UP_AFTER + 2):  # retries at 2, 4, 8, 16, 30 s...
            clock.now += RETRY_MOST
            keeper.tick()
        assert health.ok and health.waiting == 0
        assert catalog.paths() == {"/r/fine.png"}  # the op held behind the refused one was not lost
        (failure,) = ledger.all()
        assert failure.path == RefusingWriter.refused and failure.reason.startswith("the index refused it")
    finally:
        store.close()
        archive.close()
        ledger.close()


def test_the_backlog_keeps_order_and_its_bounds() -> None:
    record = FileRecord("/r/a.png", "/r", 1, 1, "h", 1, 1, 1, "m")
    backlog = Backlog(max_images=2, max_ops=2)
    backlog.hold(Done("/r/x.png"))  # nothing to keep
    assert not backlog
    first, second = Reuse(record, np.zeros(4)), Remove(("/r/gone.png",))
    backlog.hold(first)
    backlog.hold(second)
    backlog.hold(Reuse(dataclasses.replace(record, path="/r/c.png"), np.zeros(4)))  # fits: two images
    assert backlog.full and backlog.waiting == 2
    backlog.hold(Reuse(dataclasses.replace(record, path="/r/b.png"), np.zeros(4)))  # over: kept as its path
    backlog.hold(Reuse(record, np.zeros(4)))  # a photo held already and changed since: counted once
    backlog.hold(Remove(("/r/c.png",)))  # over max_ops: a rescan is owed instead
    assert backlog.waiting == 3
    assert backlog.first() is first
    backlog.done_first()
    assert backlog.first() is second
    backlog.done_first()
    backlog.done_first()
    assert backlog.first() is None and not backlog.full
    later, rescan = backlog.release()
    assert later == {"/r/a.png", "/r/b.png"} and rescan
    assert not backlog


# -- a Chroma server that stops and comes back -------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    chroma = ChromaServer(tmp_path / "server")
    chroma.start()
    try:
        yield chroma
    finally:
        chroma.stop()


def test_a_chroma_server_that_stops_gives_503_and_status_says_so_and_all_resumes_when_it_is_back(
    env: dict[str, Path], model, server: ChromaServer, make_shape: Callable[..., Path]
) -> None:
    for colour, shape in (("red", "circle"), ("blue", "star"), ("green", "square"), ("yellow", "triangle")):
        make_shape(env["photos"], colour, shape)
    socket_path = env["run"] / "api.sock"
    engine = make_engine(env, CountingModel(model), serve_api=True, socket=str(socket_path), store=server.url)
    engine.start()
    try:
        wait_for(lambda: settled(engine) and len(engine.catalog) == 4, 60)
        with Client(socket_path) as client:
            assert client.search("a red circle", k=1)[0]["path"].endswith(".png")

            server.stop()
            with pytest.raises(ApiError) as refused:
                client.search("a red circle", k=1)
            assert refused.value.status == 503 and refused.value.code == "store_unavailable"
            assert server.url in str(refused.value)
            make_shape(env["photos"], "blue", "circle")
            make_shape(env["photos"], "red", "star")
            wait_for(lambda: client.status()["store"]["waiting"] == 2, 60)
            store = client.status()["store"]
            assert store["state"] == "unreachable" and server.url in (store["message"] or "")

            server.start()
            wait_for(lambda: client.status()["indexed"] == 6 and client.status()["store"]["state"] == "ok", 60)
            assert len(client.search("a blue circle", k=6)) == 6
    finally:
        engine.stop()
