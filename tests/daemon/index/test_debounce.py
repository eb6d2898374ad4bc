"""The debounce stage, on real files."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import wait_for

from photosift.daemon.index.debounce import Debouncer


class Recorder:
    def __init__(self) -> None:
        self.emitted: list[str] = []
        self.overflows = 0
        self.lock = threading.Lock()

    def emit(self, path: str) -> None:
        with self.lock:
            self.emitted.append(path)

    def overflow(self) -> None:
        self.overflows += 1


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def debouncer(recorder: Recorder) -> Iterator[Debouncer]:
    d = Debouncer(0.3, recorder.emit, recorder.overflow, max_pending=5)
    d.start()
    yield d
    d.stop()


def test_a_file_written_in_pieces_is_emitted_once_after_it_settles(
    tmp_path: Path, debouncer: Debouncer, recorder: Recorder
) -> None:
    path = tmp_path / "import.jpg"
    with open(path, "wb") as f:
        for _ in range(8):
            f.write(os.urandom(4096))
            f.flush()
            debouncer.touch(str(path))
            # every write pushes the deadline: nothing may be emitted while writing continues
            assert recorder.emitted == []
    wait_for(lambda: recorder.emitted == [str(path)], timeout=10)
    assert debouncer.pending == 0


def test_a_file_still_growing_at_its_deadline_waits(tmp_path: Path, recorder: Recorder) -> None:
    path = tmp_path / "slow.jpg"
    path.write_bytes(b"a")
    d = Debouncer(0.2, recorder.emit, recorder.overflow)
    d.start()
    try:
        d.touch(str(path))
        path.write_bytes(b"abc")  # grows without a new event (a missed inotify event, say)
        wait_for(lambda: recorder.emitted == [str(path)], timeout=10)
    finally:
        d.stop()


def test_distinct_paths_each_once(tmp_path: Path, debouncer: Debouncer, recorder: Recorder) -> None:
    paths = [tmp_path / f"{i}.png" for i in range(4)]
    for p in paths:
        p.write_bytes(b"x")
        debouncer.touch(str(p))
        debouncer.touch(str(p))
    wait_for(lambda: sorted(recorder.emitted) == sorted(map(str, paths)), timeout=10)


def test_overflow_falls_back_to_a_rescan(tmp_path: Path, debouncer: Debouncer, recorder: Recorder) -> None:
    for i in range(7):
        debouncer.touch(str(tmp_path / f"{i}.jpg"))
    assert recorder.overflows == 1
    assert debouncer.pending < 5
