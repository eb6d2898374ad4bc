"""The debounce stage: a path is emitted once, after it has stopped changing.

Every event for a path pushes its deadline `quiet` seconds into the future;
when the deadline passes the file's stat is compared with the one taken at
the last event, and a file still growing is given more time. A camera import
or a slow network copy therefore yields one encode per file, at the end.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:
        return None


class Debouncer:
    """Collects touched paths and hands each to `emit` once it has been quiet for `quiet` seconds."""

    def __init__(
        self,
        quiet: float,
        emit: Callable[[str], object],
        on_overflow: Callable[[], None],
        max_pending: int = 100_000,
    ) -> None:
        self.quiet = quiet
        self._emit = emit
        self._on_overflow = on_overflow
        self._max_pending = max_pending
        self._cond = threading.Condition()
        self._due: dict[str, tuple[float, tuple[int, int] | None]] = {}
        self._heap: list[tuple[float, str]] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="photosift-debounce", daemon=True)

    def touch(self, path: str) -> None:
        """Note that `path` changed just now."""
        key = _stat_key(path)
        overflow = False
        with self._cond:
            if path not in self._due and len(self._due) >= self._max_pending:
                # more changes than we can track one by one: forget them all and rescan instead
                self._due.clear()
                self._heap.clear()
                overflow = True
            else:
                due = time.monotonic() + self.quiet
                self._due[path] = (due, key)
                heapq.heappush(self._heap, (due, path))
                self._cond.notify()
        if overflow:
            log.warning("more than %d files changing at once: falling back to a rescan", self._max_pending)
            self._on_overflow()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._due)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def _take_due(self) -> list[tuple[str, tuple[int, int] | None]]:
        """Wait for the next deadline; return the paths whose deadline has passed."""
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                ready = []
                while self._heap and self._heap[0][0] <= now:
                    due, path = heapq.heappop(self._heap)
                    entry = self._due.get(path)
                    if entry is not None and entry[0] == due:  # else superseded by a later touch
                        del self._due[path]
                        ready.append((path, entry[1]))
                if ready:
                    return ready
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(timeout)
            return []

    def _run(self) -> None:
        while True:
            ready = self._take_due()
            if not ready:
                return
            for path, key in ready:
                if _stat_key(path) != key:
                    self.touch(path)  # still being written: wait for it to settle
                    continue
                self._emit(path)
