"""What the tray icon says, from successive status answers (the daemon's /v1/status shape)."""

from __future__ import annotations

from typing import Any

from helpers import FakeClock

from photosift.daemon.progress import Progress
from photosift.tray.state import Reader


def status(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"paused": False, "indexed": 12408, "queued": 0, "failed": 0, "offline": 0,
                            "scans_pending": 0, "progress": {"done": 0, "total": 0}, "roots": [],
                            "store": {"state": "ok", "message": None}}
    return {**base, **changes}


def test_indexing_shows_counts_then_time_left() -> None:
    clock = FakeClock()
    reader = Reader(Progress(clock))
    first = reader.look(status(progress={"done": 1240, "total": 8000}))
    assert (first.state, first.title) == ("indexing", "photosift: indexing 1,240 / 8,000")
    assert first.fraction == 1240 / 8000
    clock.now += 10
    later = reader.look(status(progress={"done": 1340, "total": 8000}))  # 10 images/s: 666 s to go
    assert later.title == "photosift: indexing 1,340 / 8,000, 11m06s left"
    assert reader.look(status()).title == "photosift: 12,408 images indexed"
    assert reader.look(status(scans_pending=1)).title == "photosift: scanning folders"


def test_paused_failures_and_offline_folders() -> None:
    reader = Reader()
    assert reader.look(status(paused=True, queued=310)).title == "photosift: paused, 310 waiting"
    failing = reader.look(status(failed=3))
    assert (failing.state, failing.title) == ("error", "photosift: 12,408 images indexed; 3 files could not be indexed")
    reader.errors_seen()  # the user opened Recent errors…
    assert reader.look(status(failed=3)).state == "idle"
    assert reader.look(status(failed=4)).title.endswith("; 1 file could not be indexed")  # only the new one
    offline = reader.look(status(failed=4, offline=2))
    assert offline.title == "photosift: 12,408 images indexed; 1 file could not be indexed, 2 folders offline"
    reader.errors_seen()
    assert reader.look(status(failed=0)).state == "idle"  # failures retried away
    assert reader.look(status(failed=1)).state == "error"  # a new one after that counts again


def test_a_store_in_trouble_and_folders_past_the_watch_limit_are_told_with_the_fix() -> None:
    reader = Reader()
    full = "the index's disk is full (/home/ana/.local/share/photosift): 150 photos waiting; free some space"
    look = reader.look(status(store={"state": "disk_full", "message": full}, progress={"done": 3, "total": 9}))
    assert (look.state, look.title) == ("error", f"photosift: {full}")  # before the progress of a stuck burst
    partial = reader.look(status(roots=[{"watched": "partial", "unwatched": 183}]))
    assert partial.state == "error"
    assert partial.title.endswith(
        "183 folders past the inotify watch limit (polled; raise fs.inotify.max_user_watches)")


def test_a_daemon_that_is_down_says_why_when_it_left_a_last_word() -> None:
    from photosift.tray.state import down

    assert down().title == "photosift: the daemon is not running"
    why = "it failed to start at 2026-12-03 09:00:00: cannot download the CLIP ViT-B/32 weights"
    assert down(why).title == f"photosift: the daemon is not running; {why}"
