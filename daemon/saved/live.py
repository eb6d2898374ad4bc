"""Saved searches kept live: each one's folder follows the index as photos arrive, change, move or go.

A thread watches the index's generation (it moves with every write) and, once
the index has been quiet for `QUIET` seconds (or at the latest `LATEST` seconds
after the first change, so a long indexing run shows its results as it goes),
runs every saved search again and brings its folder up to date. It also does so
every `EVERY` seconds: re-tagging and the library's growth move results without
a write of their own. Its work is background work: queries go first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..answers import SavedRemoved, SavedState
from ..dates import iso
from ..errors import RequestError
from ..priority import Priority
from . import book, links
from .spec import SavedSearch, check

log = logging.getLogger(__name__)

TICK = 0.5  # how often the thread looks at the index's generation
QUIET = 1.0
LATEST = 10.0
EVERY = 300.0

# a saved search's relevant photos, best first, given how many it had last time (a hint: where to look)
Results = Callable[[SavedSearch, int], list[str]]


class SavedFolders:
    """The saved searches, their folders under `base`, and the thread that keeps them up to date."""

    def __init__(self, path: Path, base: Path, results: Results, generation: Callable[[], int],
                 priority: Priority, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.base = base
        self._results = results
        self._generation = generation
        self._priority = priority
        self._clock = clock
        self._lock = threading.RLock()  # one change to the searches or their folders at a time
        self._entries = book.load(path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="photosift-saved", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    # -- the API's answers --------------------------------------------------------------------------

    def add(self, search: SavedSearch) -> SavedState:
        """Keep a new saved search and fill its folder now (an unknown tag or a bad date is refused here,
        before anything is made)."""
        check(search)
        with self._lock:
            if search.name in self._entries:
                raise RequestError("saved_exists", f"a saved search named {search.name!r} exists already "
                                   "(remove it first to change it)", 409)
            targets = self._results(search, 0)
            entry = book.Entry(search)
            self._fill(entry, targets)
            self._entries[search.name] = entry
            book.save(self.path, self._entries)
            return self._state(entry)

    def states(self) -> list[SavedState]:
        with self._lock:
            return [self._state(e) for e in sorted(self._entries.values(), key=lambda e: e.search.name.lower())]

    def remove(self, name: str) -> SavedRemoved:
        """Forget a saved search and take out of its folder what photosift made there, nothing else."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                raise RequestError("not_found", f"no saved search named {name!r}", 404)
            folder = self.folder(name)
            removed, left = links.clear(folder, entry.made)
            del self._entries[name]
            book.save(self.path, self._entries)
            return {"name": name, "path": str(folder), "removed": removed, "left": left}

    def folder(self, name: str) -> Path:
        return self.base / name

    # -- keeping them up to date --------------------------------------------------------------------

    def refresh(self) -> None:
        """Run every saved search again and bring its folder up to date."""
        with self._lock:
            for entry in list(self._entries.values()):
                try:
                    targets = self._results(entry.search, len(entry.made))
                except Exception:  # the store failing, a tag gone from the vocabulary: keep the folder as is
                    log.exception("cannot bring the saved search %r up to date", entry.search.name)
                    continue
                self._fill(entry, targets)
            book.save(self.path, self._entries)

    def _fill(self, entry: book.Entry, targets: list[str]) -> None:
        entry.made = links.sync(self.folder(entry.search.name), entry.made, targets)
        entry.updated_at = time.time()

    def _run(self) -> None:
        with self._priority.background():
            seen = self._generation()
            # once at start too: photos that came or went while no daemon ran, found by the first scans
            start = self._clock()
            changed_at: float | None = start  # the last change not yet brought to the folders
            first_change = last = start
            while not self._stop.wait(TICK):
                now, generation = self._clock(), self._generation()
                if generation != seen:
                    seen = generation
                    first_change = first_change if changed_at is not None else now
                    changed_at = now
                due = changed_at is not None and (now - changed_at >= QUIET or now - first_change >= LATEST)
                if not (due or now - last >= EVERY):
                    continue
                changed_at, last = None, now
                if self._entries:
                    try:
                        self.refresh()
                    except OSError:  # the book could not be written (a full disk): next time, then
                        log.exception("cannot save the saved searches")

    def _state(self, entry: book.Entry) -> SavedState:
        s = entry.search
        return {"name": s.name, "query": s.query, "exclude": list(s.exclude), "folder": s.folder,
                "taken_after": s.taken_after, "taken_before": s.taken_before, "tags": list(s.tags),
                "path": str(self.folder(s.name)), "links": len(entry.made),
                "updated_at": iso(entry.updated_at) if entry.updated_at else None}
