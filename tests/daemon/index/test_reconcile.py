"""Start-up reconcile: only new or changed files are encoded; moves, copies and offline roots cost nothing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_harness import CountingModel, indexed_paths, make_engine

from photosift.daemon.engine import Engine
from photosift.daemon.index.ledger import Ledger


def run_once(env: dict[str, Path], counting: CountingModel, **overrides: object) -> Engine:
    """Start an engine without watching, reconcile its roots, stop it; returns it for inspection."""
    engine = make_engine(env, counting, watch=False, **overrides)
    engine.start(initial_scan=False)
    try:
        for root in engine.roots.folders:
            engine.roots.scan(root)
        engine.final_paths = indexed_paths(engine)  # type: ignore[attr-defined]
        engine.final_status = engine.status()  # type: ignore[attr-defined]
    finally:
        engine.stop()
    return engine


def failure_times(env: dict[str, Path]) -> dict[str, float]:
    ledger = Ledger(env["data"] / "failures.sqlite")
    try:
        return {f.path: f.at for f in ledger.all()}
    finally:
        ledger.close()


@pytest.fixture
def counting(model) -> CountingModel:
    return CountingModel(model)


@pytest.fixture
def library(env: dict[str, Path], make_shape: Callable[..., Path]) -> set[Path]:
    photos = env["photos"]
    return {
        make_shape(photos, "red", "circle"),
        make_shape(photos, "blue", "star", fmt="JPEG"),
        make_shape(photos / "a" / "b", "green", "square"),
        make_shape(photos / "a", "yellow", "triangle"),
    }


def test_restart_encodes_nothing_new(env: dict[str, Path], counting: CountingModel, library: set[Path]) -> None:
    first = run_once(env, counting)
    assert first.final_paths == {str(p) for p in library}
    assert counting.images_encoded == 4
    run_once(env, counting)
    assert counting.images_encoded == 4


def test_changed_and_new_files_only(env: dict[str, Path], counting: CountingModel, library: set[Path],
                                    make_shape: Callable[..., Path]) -> None:
    run_once(env, counting)
    changed = sorted(library)[0]
    make_shape(changed.parent, "yellow", "star", changed.name)
    new = make_shape(env["photos"], "green", "star")
    second = run_once(env, counting)
    assert counting.images_encoded == 6
    assert second.final_paths == {str(p) for p in library | {new}}


def test_moves_and_copies_while_stopped_reuse_embeddings(
    env: dict[str, Path], counting: CountingModel, library: set[Path]
) -> None:
    run_once(env, counting)
    photos = env["photos"]
    os.rename(photos / "a", photos / "renamed")
    shutil.copytree(photos / "renamed", photos / "copy")
    after = run_once(env, counting)
    assert counting.images_encoded == 4  # content hashes matched: nothing re-encoded
    on_disk = {str(p) for p in photos.rglob("*") if p.is_file()}
    assert len(on_disk) == 6
    assert after.final_paths == on_disk


def test_deleted_files_are_removed(env: dict[str, Path], counting: CountingModel, library: set[Path]) -> None:
    run_once(env, counting)
    victim = sorted(library)[1]
    victim.unlink()
    after = run_once(env, counting)
    assert after.final_paths == {str(p) for p in library - {victim}}


def test_failures_are_retried_only_when_the_file_changes(
    env: dict[str, Path], counting: CountingModel, make_shape: Callable[..., Path]
) -> None:
    broken = env["photos"] / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    first = run_once(env, counting)
    [failure] = first.final_status["failures"]
    assert failure["path"] == str(broken) and "corrupt or truncated" in failure["reason"]
    first_attempt = failure_times(env)
    second = run_once(env, counting)
    assert second.final_status["failed"] == 1
    assert failure_times(env) == first_attempt  # unchanged file: not tried again
    os.utime(broken, ns=(1_000_000_000, 1_000_000_000))
    run_once(env, counting)
    assert failure_times(env) != first_attempt  # changed (mtime): tried again, failed again
    # fixed by the user: replaced with a real picture -> indexed, failure cleared
    make_shape(env["photos"], "red", "square", "broken.png")
    third = run_once(env, counting)
    assert third.final_status["failed"] == 0
    assert third.final_paths == {str(broken)}


def test_missing_or_empty_root_keeps_entries(
    env: dict[str, Path], counting: CountingModel, library: set[Path]
) -> None:
    run_once(env, counting)
    photos = env["photos"]
    parked = photos.with_name("parked")
    os.rename(photos, parked)
    missing = run_once(env, counting)
    assert missing.final_status["roots"][0]["state"] == "missing"
    assert missing.final_paths == {str(p) for p in library}
    photos.mkdir()  # an empty mount point: the drive is not mounted
    empty = run_once(env, counting)
    assert empty.final_status["roots"][0]["state"] == "empty (looks unmounted)"
    assert empty.final_paths == {str(p) for p in library}
    photos.rmdir()
    os.rename(parked, photos)
    back = run_once(env, counting)
    assert back.final_paths == {str(p) for p in library}
    assert counting.images_encoded == 4
