"""End to end: the real engine with real watchdog events on a real temp folder.

After each step of what a photo library goes through, the index must match the disk.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_harness import CountingModel, indexed_paths, make_engine, search_store, settled
from helpers import wait_for

from photosift.daemon.engine import Engine


@pytest.fixture
def counting(model) -> CountingModel:
    return CountingModel(model)


@pytest.fixture
def engine(env: dict[str, Path], counting: CountingModel) -> Iterator[Engine]:
    eng = make_engine(env, counting)
    eng.start()
    try:
        yield eng
    finally:
        eng.stop()


def wait_index(engine: Engine, expected: set[Path], timeout: float = 60) -> None:
    want = {str(p) for p in expected}
    wait_for(lambda: settled(engine) and engine.catalog.paths() == want, timeout)
    assert indexed_paths(engine) == want


def test_the_index_follows_the_library(
    env: dict[str, Path], engine: Engine, counting: CountingModel, make_shape: Callable[..., Path]
) -> None:
    photos = env["photos"]
    # create
    files = {
        make_shape(photos, "blue", "star", "star1.png"),
        make_shape(photos, "blue", "star", "star2.jpg", fmt="JPEG"),
        make_shape(photos, "red", "circle", "circle.png"),
        make_shape(photos / "2024", "green", "square", "square.webp", fmt="WEBP"),
        make_shape(photos / "2024", "yellow", "triangle", "tri.png"),
    }
    wait_index(engine, files)
    assert counting.images_encoded == 5

    # text search: blue stars first
    hits = search_store(engine.model, engine.store, "a blue star", 5)
    assert {Path(h.record.path).name for h in hits[:2]} == {"star1.png", "star2.jpg"}

    # modify in place: re-encoded once, with the new content
    circle = photos / "circle.png"
    old_hash = engine.catalog.get(str(circle)).content_hash
    make_shape(photos, "blue", "circle", "circle.png")
    wait_for(lambda: settled(engine) and engine.catalog.get(str(circle)).content_hash != old_hash)
    assert counting.images_encoded == 6

    # an editor's atomic save: write a temp file, rename it over the photo
    tri = photos / "2024" / "tri.png"
    old_hash = engine.catalog.get(str(tri)).content_hash
    tmp = make_shape(photos / "2024", "red", "triangle", "tri.png.tmp-save")
    os.replace(tmp, tri)
    wait_for(lambda: settled(engine) and engine.catalog.get(str(tri)).content_hash != old_hash)
    wait_index(engine, files)
    assert counting.images_encoded == 7

    # move a whole folder: paths follow, nothing is re-encoded
    os.rename(photos / "2024", photos / "holidays-2024")
    files = {p for p in files if "2024" not in p.parts} | {
        photos / "holidays-2024" / "square.webp", photos / "holidays-2024" / "tri.png"}
    wait_index(engine, files)
    assert counting.images_encoded == 7
    assert engine.catalog.get(str(photos / "holidays-2024" / "tri.png")).root == str(photos)

    # rename one file, and copy one: rename costs nothing, the copy reuses the embedding
    os.rename(photos / "star1.png", photos / "star-renamed.png")
    shutil.copy2(photos / "star2.jpg", photos / "star2-copy.jpg")
    files = (files - {photos / "star1.png"}) | {photos / "star-renamed.png", photos / "star2-copy.jpg"}
    wait_index(engine, files)
    assert counting.images_encoded == 7

    # delete
    (photos / "circle.png").unlink()
    files.discard(photos / "circle.png")
    wait_index(engine, files)

    # broken files: recorded with a reason, never indexed, the daemon carries on
    (photos / "notes.jpg").write_text("not a picture at all")
    good = make_shape(photos, "green", "circle", "ok.jpg", fmt="JPEG")
    truncated = photos / "half.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    files.add(good)
    wait_index(engine, files)
    wait_for(lambda: engine.status()["failed"] == 2)
    reasons = {Path(f["path"]).name: f["reason"] for f in engine.status()["failures"]}
    assert "not a supported image" in reasons["notes.jpg"]
    assert "truncated" in reasons["half.jpg"]

    # a file written slowly is encoded once, after it settles
    before = counting.images_encoded
    slow = photos / "slow.png"
    data = make_shape(env["data"].parent, "yellow", "star", "slow-src.png").read_bytes()
    with open(slow, "wb") as f:
        for i in range(0, len(data), max(1, len(data) // 5)):
            f.write(data[i : i + max(1, len(data) // 5)])
            f.flush()
            os.fsync(f.fileno())
    files.add(slow)
    wait_index(engine, files)
    assert counting.images_encoded == before + 1


def test_a_root_that_goes_offline_keeps_its_entries(
    env: dict[str, Path], engine: Engine, counting: CountingModel, make_shape: Callable[..., Path]
) -> None:
    photos = env["photos"]
    files = {make_shape(photos, "red", "star"), make_shape(photos, "blue", "square")}
    wait_index(engine, files)
    parked = env["photos"].with_name("unplugged")
    os.rename(photos, parked)  # what an unplugged drive looks like from here
    wait_for(lambda: engine.status()["offline"] == 1)
    assert engine.status()["roots"][0]["state"] == "missing"
    assert indexed_paths(engine) == {str(p) for p in files}
    os.rename(parked, photos)
    wait_for(lambda: engine.status()["offline"] == 0)
    wait_index(engine, files)
    assert counting.images_encoded == 2  # nothing re-encoded when it came back
