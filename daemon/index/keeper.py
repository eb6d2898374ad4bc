"""Writes kept while the store fails, and retried until it answers again.

A full disk or a Chroma server that stopped must not lose the photos that arrive
meanwhile. When a write fails, `Keeper` holds it in a `Backlog`, in order, with
every op after it (nothing overtakes held work, so a removal never lands before
the write it follows), tells `StoreHealth` (which `status`, the tray and the API
show), and retries: after 2 s, then doubling to at most 30 s, so indexing resumes
within a minute of the problem going away. Ops that carry embeddings are held up
to `HELD_IMAGES` photos (a few MB); beyond that only their paths are kept, and new
paths wait as paths without being encoded first: they are looked at (and encoded)
again once the store is back. Small ops (removals, moves, failures) are held up
to `HELD_OPS`; beyond that a rescan of every root is owed and does what they would
have done. While nothing fails, a Chroma server is asked every 30 s whether it
still answers.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable

from ..decode import FileStat
from ..errors import StoreUnavailable
from .health import StoreHealth, classify
from .messages import Done, Encoded, Failed, Reuse, StoreTask, WriterOp
from .writer import Writer

log = logging.getLogger(__name__)

HELD_IMAGES = 4096  # ~2 KB an image for ViT-B/32: 8 MB at most
HELD_OPS = 100_000
RETRY_FIRST = 2.0  # seconds until the first retry; then doubling up to RETRY_MOST
RETRY_MOST = 30.0  # a store that is back is written to within this, so "within a minute" holds
HEARTBEAT = 30.0
GIVE_UP_AFTER = 5  # retries of one op failing with an unexplained error (not a full disk, not a server away)


class Backlog:
    """Held writer ops, in order; paths to look at again; whether a full rescan is owed. Safe to use
    from any thread."""

    def __init__(self, max_images: int = HELD_IMAGES, max_ops: int = HELD_OPS) -> None:
        self.max_images = max_images
        self.max_ops = max_ops
        self._lock = threading.Lock()
        self._ops: deque[WriterOp] = deque()
        self._images = 0
        self._held: Counter[str] = Counter()  # paths of the held images (a file can be held twice)
        self._later: set[str] = set()
        self._rescan = False

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._ops or self._later or self._rescan)

    @property
    def full(self) -> bool:
        """No room for more embeddings: new paths should wait as paths, without being encoded first."""
        with self._lock:
            return self._images >= self.max_images

    @property
    def waiting(self) -> int:
        """Photos waiting for the store: held with their embeddings, or as paths to look at again."""
        with self._lock:
            return len(self._later | self._held.keys())

    def hold(self, op: WriterOp) -> None:
        """Keep `op` for later, in order (or as its paths, or as a rescan owed, beyond the bounds)."""
        if isinstance(op, Done):
            return
        images = _images(op)
        with self._lock:
            if images and self._images + images > self.max_images:
                self._later.update(_paths(op))
            elif not images and len(self._ops) >= self.max_ops:
                self._rescan = True
            else:
                self._ops.append(op)
                self._images += images
                self._held.update(_paths(op))

    def hold_rescan(self) -> None:
        """A rescan of every root is owed once the store is back."""
        with self._lock:
            self._rescan = True

    def look_later(self, path: str) -> None:
        """A path that arrived while the backlog was full: examined once the store is back."""
        with self._lock:
            self._later.add(path)

    def first(self) -> WriterOp | None:
        with self._lock:
            return self._ops[0] if self._ops else None

    def done_first(self) -> None:
        """The first held op was applied (or given up on)."""
        with self._lock:
            op = self._ops.popleft()
            self._images -= _images(op)
            self._held.subtract(_paths(op))
            self._held += Counter()  # drops the paths that reached zero

    def release(self) -> tuple[set[str], bool]:
        """Once every held op is applied: the paths to look at again, and whether a rescan is owed."""
        with self._lock:
            later, rescan = self._later, self._rescan
            self._later, self._rescan = set(), False
            return later, rescan


class Keeper:
    """Applies writer ops on the writer's thread, holding them while the store fails (see the module).

    `look_again` takes paths to examine once the store is back (the debouncer's
    touch); `rescan` queues a reconcile of every root; `heartbeat` says whether to
    ask the store now and then if it still answers (a Chroma server).
    """

    def __init__(self, writer: Writer, health: StoreHealth, look_again: Callable[[str], None],
                 rescan: Callable[[], None], heartbeat: bool = False, backlog: Backlog | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.writer = writer
        self._clock = clock
        self.health = health
        self.backlog = backlog or Backlog()
        self._look_again = look_again
        self._rescan = rescan
        self._heartbeat = heartbeat
        self._delay = RETRY_FIRST
        self._retry_at: float | None = None
        self._attempts = 0  # of the first held op
        self._next_heartbeat = clock() + HEARTBEAT

    def admit(self, path: str) -> bool:
        """Whether a path may be examined now; False (it is kept as a path) while the backlog is full."""
        if not self.backlog.full:
            return True
        self.backlog.look_later(path)
        self.health.waiting = self.backlog.waiting
        return False

    def apply(self, op: WriterOp) -> tuple[str, ...]:
        """Apply `op`, or hold it behind work already held; returns the paths found still changing."""
        if isinstance(op, StoreTask):  # repairs never wait behind held work: they are how it gets unstuck
            self.writer.apply(op)
            self._retry_at = self._clock()
            return ()
        if self.backlog:
            self._hold(op)
            return ()
        try:
            return self.writer.apply(op)
        except (StoreUnavailable, sqlite3.Error) as exc:
            if not _store_trouble(exc):
                raise  # a bug, not the store: the pipeline logs it and goes on
            self._failed(exc)
            self._hold(op)
            return ()

    def tick(self) -> None:
        """Called by the writer's thread between ops: retries held work when due, checks a server."""
        now = self._clock()
        if self._retry_at is None:
            if not self.health.ok:  # a search met the failure: ask the store when it answers again
                self._retry_at = now + self._delay
            elif self._heartbeat and now >= self._next_heartbeat:
                self._next_heartbeat = now + HEARTBEAT
                self._try(self.writer.store.count)
            return
        if now >= self._retry_at:
            self._try(self._flush)

    def _try(self, work: Callable[[], object]) -> None:
        try:
            work()
        except (StoreUnavailable, sqlite3.Error) as exc:
            if not _store_trouble(exc):
                raise
            self._failed(exc)
            return
        if self._retry_at is not None or not self.health.ok:
            self._retry_at, self._delay = None, RETRY_FIRST
            self.health.recovered()

    def _flush(self) -> None:
        """Apply every held op in order (raising at the first that fails), then hand back the paths to
        look at again; with nothing held, just ask whether the store answers."""
        applied = 0
        while (op := self.backlog.first()) is not None:
            try:
                again = self.writer.apply(op)
            except StoreUnavailable as failure:
                self._attempts += 1
                if failure.kind != "failing" or self._attempts < GIVE_UP_AFTER:
                    raise
                self._give_up(op, failure)  # the store takes other writes: this one it refuses
                again = ()
            self._attempts = 0
            for path in again:
                self._look_again(path)
            self.backlog.done_first()
            applied += 1
            self.health.waiting = self.backlog.waiting
        if not applied:
            self.writer.store.count()
        later, rescan = self.backlog.release()
        if applied or later or rescan:
            log.info("the index takes writes again: %d held op(s) written, %d photo(s) to look at again%s",
                     applied, len(later), ", every folder rescanned" if rescan else "")
        for path in later:
            self._look_again(path)
        if rescan:
            self._rescan()
        self.health.waiting = 0

    def _give_up(self, op: WriterOp, failure: StoreUnavailable) -> None:
        """An op the store keeps refusing with an unexplained error: its photos are recorded as failed
        (shown in `errors`, retried when they change) and other ops are owed a rescan, so that one bad
        write cannot hold every other back for ever."""
        log.error("giving up on writing %s after %d attempts: %s", type(op).__name__, self._attempts, failure)
        if isinstance(op, Encoded):
            for decoded, _root in op.items:
                self.writer.apply(Failed(decoded.path, decoded.stat, f"the index refused it: {failure}"))
        elif isinstance(op, Reuse):
            self.writer.apply(Failed(op.record.path, FileStat(op.record.size, op.record.mtime_ns),
                                     f"the index refused it: {failure}"))
        else:
            self.backlog.hold_rescan()

    def _hold(self, op: WriterOp) -> None:
        self.backlog.hold(op)
        self.health.waiting = self.backlog.waiting

    def _failed(self, exc: StoreUnavailable | sqlite3.Error) -> None:
        failure = exc if isinstance(exc, StoreUnavailable) else classify(exc, self.health.data_dir)
        self.health.report(failure, "data")  # the store's own guard reported its part already
        now = self._clock()
        if self._retry_at is not None:
            self._delay = min(self._delay * 2, RETRY_MOST)
        self._retry_at = now + self._delay

    def stop(self) -> None:
        """What is still held is lost with the process: the next start-up's reconcile finds it again."""
        if self.backlog:
            log.warning("stopping with the index unavailable: %d photo(s) wait for the next start",
                        self.backlog.waiting)


def _store_trouble(exc: BaseException) -> bool:
    """An error of the store or of the disk under it, worth holding the work for: not a bug of ours
    (SQLite's integrity and programming errors, which no retry mends)."""
    if isinstance(exc, StoreUnavailable):
        return True
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def _images(op: WriterOp) -> int:
    if isinstance(op, Encoded):
        return len(op.items)
    return 1 if isinstance(op, Reuse) else 0


def _paths(op: WriterOp) -> list[str]:
    if isinstance(op, Encoded):
        return [d.path for d, _root in op.items]
    return [op.record.path] if isinstance(op, Reuse) else []
