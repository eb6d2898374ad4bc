"""Symlinks that appear while the daemon runs are judged exactly as the start-up scan judges them.

A link to a file inside a root is indexed; a link out of the roots never is (a privacy rule), whichever
event brings it: created in place, moved in from outside, or re-pointed. Real engine, real watchdog
events, real links on a real temp folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_harness import CountingModel, indexed_paths, make_engine, settled
from helpers import wait_for

from photosift.daemon.engine import Engine


@pytest.fixture
def world(env: dict[str, Path], model, make_shape: Callable[..., Path], tmp_path: Path) -> Iterator[
        tuple[Engine, Path, Path, Path]]:
    """A running engine over a root holding one photo, and a private photo outside every root."""
    photos = env["photos"]
    inside = make_shape(photos, "red", "circle", "inside.png")
    private = make_shape(tmp_path / "private", "blue", "star", "secret.png")
    engine = make_engine(env, CountingModel(model))
    engine.start()
    try:
        wait_for(lambda: settled(engine) and len(engine.catalog) == 1, 60)
        yield engine, photos, inside, private
    finally:
        engine.stop()


def settle_on(engine: Engine, want: set[Path]) -> None:
    """Wait until the index holds exactly `want`, checked in the store itself."""
    names = {str(p) for p in want}
    wait_for(lambda: settled(engine) and engine.catalog.paths() == names, 60)
    assert indexed_paths(engine) == names


def test_a_link_created_live_is_judged_like_the_scan(world: tuple[Engine, Path, Path, Path]) -> None:
    engine, photos, inside, private = world
    (photos / "out.png").symlink_to(private)
    (photos / "alias.png").symlink_to(inside)
    # the link in is indexed; once it is, the link out (created first) has long been judged
    settle_on(engine, {inside, photos / "alias.png"})


def test_a_link_moved_in_from_outside_is_judged_like_the_scan(
    world: tuple[Engine, Path, Path, Path], tmp_path: Path
) -> None:
    engine, photos, inside, private = world
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "out.png").symlink_to(private)
    (staging / "alias.png").symlink_to(inside)
    os.rename(staging / "out.png", photos / "out.png")
    os.rename(staging / "alias.png", photos / "alias.png")
    settle_on(engine, {inside, photos / "alias.png"})


def test_a_link_re_pointed_out_of_the_roots_leaves_the_index(world: tuple[Engine, Path, Path, Path]) -> None:
    engine, photos, inside, private = world
    link = photos / "link.png"
    link.symlink_to(inside)
    settle_on(engine, {inside, link})

    # re-pointed atomically, as `ln -sfn` through a temp name or a sync tool does it
    (photos / "link.tmp.png").symlink_to(private)
    os.replace(photos / "link.tmp.png", link)
    settle_on(engine, {inside})


def test_a_photo_replaced_by_a_link_out_leaves_the_index(
    world: tuple[Engine, Path, Path, Path], make_shape: Callable[..., Path]
) -> None:
    engine, photos, inside, private = world
    photo = make_shape(photos, "green", "square", "photo.png")
    settle_on(engine, {inside, photo})
    photo.unlink()
    photo.symlink_to(private)
    settle_on(engine, {inside})


def test_a_link_out_indexed_by_an_older_daemon_is_dropped_by_the_start_up_scan(
    env: dict[str, Path], model, make_shape: Callable[..., Path], tmp_path: Path
) -> None:
    photos = env["photos"]
    inside = make_shape(photos, "red", "circle", "inside.png")
    link = photos / "link.png"
    link.symlink_to(inside)
    engine = make_engine(env, CountingModel(model), watch=False)
    engine.start()
    try:
        settle_on(engine, {inside, link})
    finally:
        engine.stop()

    # while no daemon runs the link is re-pointed out of the roots: the next start forgets it,
    # although the link itself still exists
    link.unlink()
    link.symlink_to(make_shape(tmp_path / "private", "blue", "star", "secret.png"))
    engine = make_engine(env, CountingModel(model), watch=False)
    engine.start()
    try:
        settle_on(engine, {inside})
    finally:
        engine.stop()
