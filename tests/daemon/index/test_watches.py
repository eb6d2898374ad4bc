"""Which folders the kernel really watches, read from /proc/self/fdinfo, against what a scan walked.

Real inotify watches (through watchdog) on real temp folders; the clock that
decides when a candidate has settled is moved by hand.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import FakeClock
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

from photosift.daemon.index.watches import SETTLE_SECONDS, Coverage, folder_id, watched_folders

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify watches are Linux's")


@pytest.fixture
def watching() -> Iterator[Observer]:
    observer = Observer()
    observer.start()
    yield observer
    observer.stop()
    observer.join()


def walked(*folders: Path) -> list[tuple[str, tuple[int, int, int]]]:
    return [(str(f), folder_id(os.stat(f))) for f in folders]


def test_the_kernels_list_of_watches_is_read(tmp_path: Path, watching: Observer) -> None:
    inside = tmp_path / "a" / "b"
    inside.mkdir(parents=True)
    assert folder_id(os.stat(inside)) not in (watched_folders() or set())
    watching.schedule(FileSystemEventHandler(), str(tmp_path), recursive=True)
    assert {folder_id(os.stat(f)) for f in (tmp_path, tmp_path / "a", inside)} <= (watched_folders() or set())


def test_a_folder_watched_a_moment_after_the_scan_is_never_reported(
    tmp_path: Path, watching: Observer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    coverage = Coverage(clock)
    new = tmp_path / "just-made"
    new.mkdir()
    coverage.update(str(tmp_path), str(tmp_path), walked(tmp_path, new))  # scanned before it was watched
    assert coverage.pending()
    watching.schedule(FileSystemEventHandler(), str(tmp_path), recursive=True)
    clock.now += SETTLE_SECONDS
    with caplog.at_level(logging.WARNING):
        coverage.confirm()
    assert coverage.unwatched(str(tmp_path)) == [] and not coverage.pending()
    assert "cannot be watched" not in caplog.text


def test_a_folder_still_unwatched_once_settled_is_confirmed_and_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    coverage = Coverage(clock)
    lost = tmp_path / "past-the-limit"
    lost.mkdir()
    coverage.update(str(tmp_path), str(tmp_path), walked(lost))
    with caplog.at_level(logging.WARNING):
        coverage.confirm()  # too young to tell yet
        assert coverage.unwatched(str(tmp_path)) == []
        clock.now += SETTLE_SECONDS
        coverage.confirm()
        coverage.confirm()
    assert coverage.unwatched(str(tmp_path)) == [str(lost)]
    assert caplog.text.count("cannot be watched") == 1 and "max_user_watches" in caplog.text
    # polled: it is still there and still unwatched, and a subfolder made in it is met for the first time
    (lost / "sub").mkdir()
    assert coverage.polled(str(tmp_path), [str(lost)], walked(lost, lost / "sub")) == {str(lost / "sub")}
    lost.joinpath("sub").rmdir()
    lost.rmdir()  # removed: the next poll meets nothing, and nothing is left to poll
    coverage.polled(str(tmp_path), [str(lost), str(lost / "sub")], [])
    assert not coverage.pending()
