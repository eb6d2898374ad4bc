"""Live file-system events (watchdog) translated into pipeline work.

Creations and writes are touched into the pipeline (its debouncer submits them
once they settle); deletions and moves go straight to the writer, in order, as
`Remove` and `Move` ops, so a renamed folder of 10,000 photos costs 10,000
metadata updates and no encoding. A folder that appears is handed to the scan
queue, and so is a root that vanishes (see roots.py).

Lost events become a scan: when the kernel's inotify queue overflows, watchdog
drops the events, rebuilds its watches and says so only in a log record
(watchdog.observers.inotify_c, "Inotify queue overflowed"). `Watcher` listens
for that record and rescans every root at once.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from .messages import Move, Remove, WriterOp
from .scan import Rules, root_state

log = logging.getLogger(__name__)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.w = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self.w.handle(event)
        except Exception:
            log.exception("error handling %s", event)


class Changes(Protocol):
    """Where file changes go: the pipeline."""

    def touch(self, path: str) -> None:
        """A file was created or written: index it once it stops changing."""

    def send(self, op: WriterOp) -> bool:
        """A deletion or move: straight to the writer, in order."""


class Scans(Protocol):
    """Where folder-level news goes: the roots' scan queue."""

    def folder(self, path: str) -> None:
        """A folder appeared (made, or moved in): reconcile it."""

    def root_changed(self, root: str) -> None:
        """A root may have gone away or come back: check its state."""

    def every_root(self) -> None:
        """Events were lost: reconcile every root."""


# where watchdog (7.1 and later) reports that the kernel dropped events
OVERFLOW_LOGGER = "watchdog.observers.inotify_c"


class _OverflowListener(logging.Handler):
    """Turns watchdog's "queue overflowed" log record into a rescan of every root."""

    def __init__(self, watcher: Watcher) -> None:
        super().__init__(logging.WARNING)
        self.watcher = watcher

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.watcher.events_lost()


class Watcher:
    """Watches the online roots and feeds their changes to the pipeline and the scan queue."""

    def __init__(self, rules: Rules, changes: Changes, scans: Scans) -> None:
        self.rules = rules
        self.changes = changes
        self.scans = scans
        self._observer = Observer()
        self._handler = _Handler(self)
        self._watches: dict[str, ObservedWatch] = {}
        self._overflow = _OverflowListener(self)
        self.overflows = 0  # times the kernel dropped events since start

    def start(self) -> None:
        logger = logging.getLogger(OVERFLOW_LOGGER)
        if not logger.isEnabledFor(logging.WARNING):  # someone silenced watchdog: we still need the record
            logger.setLevel(logging.WARNING)
        logger.addHandler(self._overflow)
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join()
        logging.getLogger(OVERFLOW_LOGGER).removeHandler(self._overflow)

    def events_lost(self) -> None:
        """The kernel's event queue overflowed: what changed meanwhile is found by rescanning."""
        self.overflows += 1
        log.warning("file events were lost (the inotify queue overflowed, fs.inotify.max_queued_events): "
                    "rescanning every watched folder")
        self.scans.every_root()

    def watch(self, root: str) -> bool:
        """Start watching a root; False (and a logged reason) if the OS refuses."""
        if root in self._watches:
            return True
        try:
            self._watches[root] = self._observer.schedule(self._handler, root, recursive=True)
            return True
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                log.warning(
                    "cannot watch %s: the inotify watch limit is reached (raise fs.inotify.max_user_watches); "
                    "changes there are found by periodic rescans instead",
                    root,
                )
            else:
                log.warning("cannot watch %s (%s); changes there are found by periodic rescans", root, exc)
            return False

    def unwatch(self, root: str) -> None:
        watch = self._watches.pop(root, None)
        if watch is not None:
            with contextlib.suppress(KeyError, OSError):  # already gone with its unmounted file system
                self._observer.unschedule(watch)

    def watching(self, root: str) -> bool:
        return root in self._watches

    def handle(self, event: FileSystemEvent) -> None:
        """Route one watchdog event."""
        kind = event.event_type
        src = os.fsdecode(event.src_path)
        if kind in ("opened", "closed_no_write", "attrib"):
            return
        if kind in ("deleted", "moved") and src in self.rules.roots:
            # the root itself vanished (unplugged, unmounted, renamed): keep its entries, mark it offline
            self.scans.root_changed(src)
            return
        if kind == "deleted":
            self._deleted(src, event.is_directory)
        elif kind == "moved":
            self._moved(src, os.fsdecode(event.dest_path), event.is_directory)
        elif event.is_directory:
            if kind == "created":
                self.scans.folder(src)  # a folder moved in from outside, or made and filled fast
        elif self.rules.wanted(src):  # created, modified, closed
            self.changes.touch(src)

    def _deleted(self, path: str, is_dir: bool) -> None:
        root = self.rules.root_of(path)
        if root is None:
            return
        if root_state(root) != "online":
            self.scans.root_changed(root)  # a deletion seen while the drive goes away is not a deletion
            return
        if is_dir:
            if not self.rules.excluded(path):
                self.changes.send(Remove((), (path,)))
        elif self.rules.wanted(path):
            self.changes.send(Remove((path,)))

    def _moved(self, src: str, dest: str, is_dir: bool) -> None:
        src_in = self.rules.root_of(src) is not None and not self.rules.excluded(src)
        dest_in = self.rules.root_of(dest) is not None and not self.rules.excluded(dest)
        if is_dir:
            if src_in:
                self.changes.send(Move(src, dest, True) if dest_in else Remove((), (src,)))
            if dest_in:
                self.scans.folder(dest)  # picks up files that were pending or excluded before
            return
        src_wanted = src_in and self.rules.wanted(src)
        dest_wanted = dest_in and self.rules.wanted(dest)
        if src_wanted and dest_wanted:
            self.changes.send(Move(src, dest, False))
        elif src_wanted:
            self.changes.send(Remove((src,)))
        elif dest_wanted:
            self.changes.touch(dest)  # an editor's atomic save: temp file renamed over the photo
