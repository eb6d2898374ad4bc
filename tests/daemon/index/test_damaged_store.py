"""A damaged store is found, moved aside and rebuilt from photosift's own copy, with no image encoded.

Chroma's files are damaged on disk the four ways the fault-injection run found
(a truncated HNSW `data_level0.bin`, a garbage `header.bin`, a deleted
`link_lists.bin`, garbage in `chroma.sqlite3`), and photosift's own copy the
way SQLite files get damaged. Real engines, real Chroma, real files.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_harness import CountingModel, indexed_paths, make_engine, settled
from helpers import wait_for

from photosift.daemon.engine import Engine
from photosift.daemon.index.archive import Archive, archive_path
from photosift.daemon.index.store import FileRecord, Store
from photosift.daemon.searcher import Term

SHAPES = 16
# Chroma replays its own write-ahead log into a damaged HNSW segment while that log still holds every
# record, which it does for a store's first 1,000 records: past them the damage is permanent, as in a
# real library. Copies of the 16 shapes make the library that big (indexed in 20 s).
COPIES = 70
PHOTOS = SHAPES * (1 + COPIES)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, model) -> dict[str, Path]:
    """A library of 1,136 photos indexed once for the module; each test damages its own copy of the index."""
    from shapes import draw_shape

    base = tmp_path_factory.mktemp("library")
    env = {"photos": base / "photos", "data": base / "data", "cache": base / "cache"}
    rng = random.Random(7)
    for colour in ("red", "green", "blue", "yellow"):
        for shape in ("circle", "square", "triangle", "star"):
            folder = env["photos"] / colour
            folder.mkdir(parents=True, exist_ok=True)
            original = folder / f"{colour}-{shape}.png"
            draw_shape(colour, shape, 128, rng).image.save(original)
            for n in range(COPIES):
                shutil.copyfile(original, folder / f"copy-{n}-of-{colour}-{shape}.png")
    engine = make_engine(env, CountingModel(model), watch=False)
    engine.start()
    try:
        wait_for(lambda: settled(engine) and len(engine.catalog) == PHOTOS, 300)
    finally:
        engine.stop()
    return env


@pytest.fixture
def indexed(template: dict[str, Path], env: dict[str, Path]) -> Path:
    """This test's own copy of the template's index (the photos are shared); returns its data dir."""
    shutil.copytree(template["data"], env["data"])
    env["photos"] = template["photos"]
    return env["data"]


@pytest.fixture
def restart(env: dict[str, Path], model) -> Iterator[Callable[[], tuple[Engine, CountingModel]]]:
    """Start an engine on the existing index (stopped at the end), counting what it encodes."""
    engines: list[Engine] = []

    def start() -> tuple[Engine, CountingModel]:
        counting = CountingModel(model)
        engine = make_engine(env, counting)
        engines.append(engine)
        engine.start()
        wait_for(lambda: settled(engine) and len(engine.catalog) == PHOTOS, 120)
        return engine, counting

    yield start
    for engine in engines:
        engine.stop()


def hnsw_dir(data: Path) -> Path:
    (segment,) = [p for p in (data / "chroma").iterdir() if (p / "header.bin").exists()]
    return segment


def garble(path: Path, offset: int, length: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(os.urandom(length))


def truncate_level0(data: Path) -> None:
    os.truncate(hnsw_dir(data) / "data_level0.bin", 1000)  # the vectors past the first record are cut off


def garbage_header(data: Path) -> None:
    garble(hnsw_dir(data) / "header.bin", 0, 100)


def delete_link_lists(data: Path) -> None:
    (hnsw_dir(data) / "link_lists.bin").unlink()


def garbage_sqlite(data: Path) -> None:
    garble(data / "chroma" / "chroma.sqlite3", 4096 * 2, 4096 * 20)  # past the header: schema and table pages


def top_hit(engine: Engine, text: str) -> str:
    return Path(engine.searcher.search([Term(text=text)], 1)[0].record.path).name


@pytest.mark.parametrize("damage", [truncate_level0, garbage_header, delete_link_lists, garbage_sqlite])
def test_a_damaged_store_is_rebuilt_at_start_from_photosifts_copy_with_nothing_encoded(
    indexed: Path, restart: Callable[[], tuple[Engine, CountingModel]], damage: Callable[[Path], None]
) -> None:
    damage(indexed)
    engine, counting = restart()

    assert counting.images_encoded == 0
    store = engine.status()["store"]
    assert store["state"] == "ok"
    assert store["rebuilt"] is not None and store["rebuilt"]["restored"] == PHOTOS
    assert store["rebuilt"]["reason"].startswith("damaged")
    assert store["rebuilt"]["moved_to"] and Path(store["rebuilt"]["moved_to"]).is_dir()  # kept, not deleted
    assert len(indexed_paths(engine)) == PHOTOS
    assert top_hit(engine, "a blue star").endswith("blue-star.png")
    assert engine.doctor.check()["healthy"]


def test_a_damaged_copy_is_made_again_from_the_store(
    indexed: Path, env: dict[str, Path], model, restart: Callable[[], tuple[Engine, CountingModel]]
) -> None:
    copy = archive_path(indexed, model.model_id)
    garble(copy, 4096, 4096 * 8)
    engine, counting = restart()

    assert counting.images_encoded == 0
    assert engine.archive.count() == PHOTOS
    assert list(indexed.glob(f"{copy.name}.damaged-*"))  # the damaged copy is kept beside it
    rebuilt = engine.status()["store"]["rebuilt"]
    assert rebuilt is not None and rebuilt["reason"].startswith("photosift's copy was damaged")
    assert engine.doctor.check()["healthy"]


def test_damage_met_while_running_is_repaired_and_search_answers_again(
    indexed: Path, restart: Callable[[], tuple[Engine, CountingModel]]
) -> None:
    engine, counting = restart()
    assert top_hit(engine, "a red circle").endswith("red-circle.png")
    # The store's files go bad under the running daemon. A process that has them loaded keeps answering
    # from its caches, so the daemon is made to read them afresh, as it would once its caches move on:
    # the store is opened again, in place, on the damaged files (which the start-up probe never saw).
    # (A truncated data_level0.bin read in-process can crash the process outright, which is why the
    # start-up probe runs in a child; a missing link_lists.bin fails with an error.)
    engine.store.close()
    delete_link_lists(indexed)
    engine.store.replace(Store.open("", indexed, engine.store.model_id, engine.archive.embed_dim,
                                    on_failure=engine.doctor._store_failed))

    def answers() -> bool:
        try:
            return top_hit(engine, "a green triangle").endswith("green-triangle.png")
        except Exception:  # noqa: BLE001 - 503s until the rebuild is done
            return False

    wait_for(answers, 60)
    store = engine.status()["store"]
    assert store["state"] == "ok" and store["rebuilt"] is not None and store["rebuilt"]["restored"] == PHOTOS
    assert counting.images_encoded == 0


def test_after_a_crash_between_the_two_writes_start_up_makes_them_agree(
    indexed: Path, env: dict[str, Path], model, restart: Callable[[], tuple[Engine, CountingModel]]
) -> None:
    # as a kill -9 between the copy's write and Chroma's leaves them: the copy has a record Chroma lacks
    # (written first), and Chroma still has one the copy has already forgotten (deleted first)
    store = Store.open("", indexed, model.model_id, model.embed_dim)
    copy = Archive(archive_path(indexed, model.model_id), model.embed_dim)
    try:
        red = str(env["photos"] / "red" / "red-circle.png")
        blue = str(env["photos"] / "blue" / "blue-star.png")
        store.delete([red])
        copy.delete([blue])
    finally:
        store.close()
        copy.close()

    engine, counting = restart()
    assert counting.images_encoded == 0
    assert engine.doctor.check()["healthy"]
    assert red in indexed_paths(engine) and blue in indexed_paths(engine)


def test_store_check_names_what_differs_and_rebuild_restores_it(
    indexed: Path, restart: Callable[[], tuple[Engine, CountingModel]]
) -> None:
    engine, counting = restart()
    victim = sorted(engine.catalog.paths())[0]
    engine.store.delete([victim])  # behind photosift's back

    check = engine.store_task("check", timeout=60)
    assert isinstance(check, dict) and not check["healthy"]
    assert check["problems"] == ["1 record(s) of photosift's copy are missing from the store"]

    info = engine.store_task("rebuild", "asked for in a test", timeout=120)
    assert isinstance(info, dict) and info["restored"] == PHOTOS and Path(str(info["moved_to"])).is_dir()
    assert victim in indexed_paths(engine)
    assert engine.doctor.check()["healthy"]
    assert counting.images_encoded == 0


def test_records_written_before_the_copy_existed_are_copied_once(
    indexed: Path, model, restart: Callable[[], tuple[Engine, CountingModel]]
) -> None:
    """An index made by a photosift without the copy: the first start copies every embedding over."""
    archive_path(indexed, model.model_id).unlink()
    engine, counting = restart()
    assert counting.images_encoded == 0
    assert engine.archive.count() == PHOTOS
    record = engine.archive.records()[0]
    assert isinstance(record, FileRecord) and record.model == model.model_id
