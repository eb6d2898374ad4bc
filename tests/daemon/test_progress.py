"""The progress line of `status --watch`: states, the bar, the rate and the time left."""

from __future__ import annotations

from helpers import FakeClock

from photosift.daemon.progress import Progress, duration


def status(done: int = 0, total: int = 0, **extra: object) -> dict:
    base = {"progress": {"done": done, "total": total}, "indexed": 12_034, "failed": 3, "paused": False,
            "queued": total - done, "scans_pending": 0, "offline": 0}
    return {**base, **extra}


def test_states() -> None:
    progress = Progress(FakeClock())
    assert progress.line(status()) == "idle · 12,034 indexed, 3 failed"
    assert progress.line(status(scans_pending=1)).startswith("scanning folders · ")
    assert progress.line(status(0, 40, paused=True)) == "paused: 40 waiting · 12,034 indexed, 3 failed"
    assert progress.line(status(offline=2)).endswith("3 failed, 2 folders offline")
    full = {"state": "disk_full", "message": "the index's disk is full (/data): 150 photos waiting; free some space"}
    assert progress.line(status(0, 150, store=full)) == (
        "PROBLEM: the index's disk is full (/data): 150 photos waiting; free some space · 12,034 indexed, 3 failed")


def test_bar_rate_and_time_left() -> None:
    clock = FakeClock()
    progress = Progress(clock)
    first = progress.line(status(100, 1000))
    assert first.startswith("indexing 100 / 1,000 ") and " 10%" in first and "img/s" not in first
    clock.now += 10
    later = progress.line(status(300, 1000))  # 20 images/s, 700 to go
    assert "██████░" in later and "20.0 img/s, 35s left" in later
    clock.now += 10
    restarted = progress.line(status(5, 50))  # a new burst: the count began again
    assert "img/s" not in restarted


def test_duration() -> None:
    assert [duration(s) for s in (0.4, 59.6, 61, 3599, 3600 * 3 + 20 * 60)] == ["0s", "1m00s", "1m01s", "59m59s",
                                                                               "3h20m"]
