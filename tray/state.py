"""What the tray icon says: one of five states and a line of words, from the daemon's `/v1/status`.

idle: everything indexed. indexing: a burst of work under way ("Indexing 1,240 / 8,000",
with the rate and time left once two polls have measured it). paused. down: nothing
answers on the socket. error: the index cannot be used (a full disk, a server away, a
rebuild), the daemon answered badly or not in time, a folder is offline or past the
watch limit, or files failed since the user last looked at the errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from photosift.daemon.answers import Status
from photosift.daemon.progress import Progress, duration

State = Literal["idle", "indexing", "paused", "down", "error"]


@dataclass(frozen=True)
class Look:
    """The icon's state, its title (the tooltip, and the menu's first line) and the burst's progress."""

    state: State
    title: str
    fraction: float = 0.0


def down(why: str | None = None) -> Look:
    """The daemon does not answer; `why` is its last word, when it left one (last_word.py)."""
    return Look("down", "photosift: the daemon is not running" + (f"; {why}" if why else ""))


def unreachable(problem: str) -> Look:
    return Look("error", f"photosift: {problem}")


class Reader:
    """Turns successive status answers into looks; remembers how many failures the user has seen."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress or Progress()
        self.seen_failures = 0
        self.failed = 0

    def look(self, status: Status) -> Look:
        self.failed = status["failed"]
        self.seen_failures = min(self.seen_failures, self.failed)  # failures can be retried away
        done, total = status["progress"]["done"], status["progress"]["total"]
        rate = self.progress.rate(done)
        store = status.get("store")
        if store and store["message"]:  # the index itself is in trouble: nothing else matters as much
            return Look("error", f"photosift: {store['message']}")
        if status["paused"]:
            return Look("paused", f"photosift: paused, {status['queued']:,} waiting")
        if total:
            title = f"photosift: indexing {done:,} / {total:,}"
            if rate > 0:
                title += f", {duration((total - done) / rate)} left"
            return Look("indexing", title, done / total)
        problems = []
        new = self.failed - self.seen_failures
        if new:
            problems.append(f"{new:,} file{'s' if new > 1 else ''} could not be indexed")
        if status.get("offline"):
            problems.append(f"{status['offline']} folder{'s' if status['offline'] > 1 else ''} offline")
        unwatched = sum(r["unwatched"] for r in status["roots"] if r["watched"] != "yes")
        if unwatched:
            problems.append(f"{unwatched:,} folder{'s' if unwatched > 1 else ''} past the inotify watch limit "
                            "(polled; raise fs.inotify.max_user_watches)")
        if status.get("scans_pending"):
            return Look("indexing", "photosift: scanning folders")
        indexed = f"{status['indexed']:,} images indexed"
        if problems:
            return Look("error", f"photosift: {indexed}; {', '.join(problems)}")
        return Look("idle", f"photosift: {indexed}")

    def errors_seen(self) -> None:
        """The user opened the error list: the current failures no longer make the icon red."""
        self.seen_failures = self.failed
