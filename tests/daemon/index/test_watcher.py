"""Routing of real watchdog events, and the fallback when the OS refuses a watch."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import wait_for
from watchdog.events import DirDeletedEvent, FileDeletedEvent

from photosift.daemon.config import DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS
from photosift.daemon.index.messages import Move, Remove, WriterOp
from photosift.daemon.index.scan import Rules
from photosift.daemon.index.watcher import Watcher


class Sink:
    """Records what the watcher hands on: a fake of its two real interfaces (the pipeline's `Changes`,
    the scan queue's `Scans`), so each event's route can be checked alone."""

    def __init__(self) -> None:
        self.touched: list[str] = []
        self.ops: list[WriterOp] = []
        self.scans: list[str] = []
        self.roots: list[str] = []

    def touch(self, path: str) -> None:
        self.touched.append(path)

    def send(self, op: WriterOp) -> bool:
        self.ops.append(op)
        return True

    def folder(self, path: str) -> None:
        self.scans.append(path)

    def root_changed(self, root: str) -> None:
        self.roots.append(root)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Sink, Watcher]]:
    root = tmp_path / "root"
    root.mkdir()
    sink = Sink()
    rules = Rules.build((root,), DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS)
    watcher = Watcher(rules, changes=sink, scans=sink)
    watcher.start()
    assert watcher.watch(str(root))
    yield root, sink, watcher
    watcher.stop()


def test_creations_go_to_the_debouncer_and_junk_is_ignored(setup: tuple[Path, Sink, Watcher]) -> None:
    root, sink, _ = setup
    (root / "a.JPG").write_bytes(b"x")
    (root / "notes.txt").write_text("x")
    (root / ".hidden.jpg").write_bytes(b"x")
    wait_for(lambda: str(root / "a.JPG") in sink.touched)
    assert all(p == str(root / "a.JPG") for p in sink.touched)


def test_renames_and_deletes_become_writer_ops(setup: tuple[Path, Sink, Watcher]) -> None:
    root, sink, _ = setup
    (root / "d").mkdir()
    (root / "d" / "a.png").write_bytes(b"x")
    (root / "b.png").write_bytes(b"x")
    os.rename(root / "b.png", root / "c.png")
    wait_for(lambda: Move(str(root / "b.png"), str(root / "c.png"), False) in sink.ops)
    os.rename(root / "d", root / "e")
    wait_for(lambda: Move(str(root / "d"), str(root / "e"), True) in sink.ops)
    wait_for(lambda: str(root / "e") in sink.scans)
    (root / "c.png").unlink()
    wait_for(lambda: Remove((str(root / "c.png"),)) in sink.ops)
    os.rename(root / "e" / "a.png", root / "e" / "a.png.bak")  # renamed to something not indexed
    wait_for(lambda: Remove((str(root / "e" / "a.png"),)) in sink.ops)


def test_deletions_while_the_root_is_gone_are_not_removals(
    tmp_path: Path, setup: tuple[Path, Sink, Watcher]
) -> None:
    root, sink, watcher = setup
    (root / "a.png").write_bytes(b"x")
    os.rename(root, tmp_path / "unplugged")
    # the kernel reports no event for a watched root that is renamed or unmounted (the engine's
    # root check finds it); deletions that do arrive while it is gone must not empty the index
    watcher.handle(FileDeletedEvent(str(root / "a.png")))
    watcher.handle(DirDeletedEvent(str(root)))
    assert sink.roots == [str(root), str(root)]
    assert not any(isinstance(op, Remove) for op in sink.ops)


def test_watch_limit_is_reported_and_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Exhausting the kernel's real inotify limit would break every other watcher on the machine,
    # so the observer's schedule() raises here exactly what watchdog raises when the limit is hit.
    rules = Rules.build((tmp_path,), DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS)
    sink = Sink()
    watcher = Watcher(rules, changes=sink, scans=sink)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watcher._observer, "schedule", refuse)
    assert watcher.watch(str(tmp_path)) is False
    assert not watcher.watching(str(tmp_path))
    assert "inotify watch limit is reached" in caplog.text and "periodic rescans" in caplog.text
