"""Indexing progress in words, from successive `/v1/status` answers: for `status --watch` (and the tray).

The daemon reports `progress = {done, total}` for the current burst of work;
the rate and the time left come from how `done` moves between polls.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from .answers import Status

BAR_WIDTH = 24
RATE_WINDOW_SECONDS = 15.0


class Progress:
    """Turns a stream of status answers into one line each: state, bar, rate, time left, counts."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def rate(self, done: int) -> float:
        """Images per second over the last few polls (0 until there are two samples)."""
        now = self._clock()
        if self._samples and done < self._samples[-1][1]:
            self._samples.clear()  # a new burst of work started: its count began again
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW_SECONDS:
            self._samples.popleft()
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    def line(self, status: Status) -> str:
        done, total = status["progress"]["done"], status["progress"]["total"]
        rate = self.rate(done)
        counts = f"{status['indexed']:,} indexed, {status['failed']:,} failed"
        offline = status.get("offline", 0)
        if offline:
            counts += f", {offline} folder{'s' if offline > 1 else ''} offline"
        store = status.get("store")
        if store and store["message"]:  # a stalled bar would not say why
            return f"PROBLEM: {store['message']} · {counts}"
        if status["paused"]:
            return f"paused: {status['queued']:,} waiting · {counts}"
        if not total:
            return ("scanning folders · " if status.get("scans_pending") else "idle · ") + counts
        filled = round(BAR_WIDTH * done / total)
        line = f"indexing {done:,} / {total:,} {'█' * filled}{'░' * (BAR_WIDTH - filled)} {done / total:4.0%}"
        if rate > 0:
            line += f" {rate:.1f} img/s, {duration((total - done) / rate)} left"
        return f"{line} · {counts}"


def duration(seconds: float) -> str:
    """A short human duration: 45s, 12m05s, 3h20m."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
