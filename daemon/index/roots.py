"""The watched folders ("roots") at run time: their states, watching them, scanning them, changing the list.

`Roots` is the single owner of the list. It lives in the shared `Rules` (which
every stage reads to ask "is this path in?"); only `Roots` replaces it, as a
whole, when the user adds or removes a folder. Two threads work here: the
scanner reconciles the folders queued on the `ScanQueue` one at a time, and
the monitor (only while watching) checks each root's state every few seconds,
at once when the watcher reports that one went away, and queues the periodic
rescan and the poll of the folders no watch covers (watches.py): every scan
compares the folders it walked with those the OS watches.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from pathlib import Path
from typing import Protocol

from .. import folders
from ..answers import FolderState
from ..errors import ConfigError, RequestError
from ..folders import Change
from . import reconcile
from .catalog import Catalog
from .ledger import Ledger
from .messages import Remove
from .pipeline import Pipeline
from .scan import Rules, is_empty, root_state
from .watcher import Watcher
from .watches import POLL_SECONDS, Coverage, FolderId

log = logging.getLogger(__name__)

ROOT_CHECK_SECONDS = 5.0
MONITOR_SECONDS = 1.0
# roots the OS would not watch at all are rescanned this often (where watches.py cannot tell which
# folders are watched; on Linux those folders are polled every POLL_SECONDS)
UNWATCHED_RESCAN_SECONDS = 300.0


class ProgressTotal(Protocol):
    """What a progress display needs from a scan (tqdm's bar has it): how many files it will index."""

    total: float | None


class Poll(enum.Enum):
    """The scan queue's item for "look at the folders no watch covers"."""

    UNWATCHED = "the folders no watch covers"


POLL = Poll.UNWATCHED


class ScanQueue:
    """Folders waiting to be reconciled (each once, in order), and news that a root changed.

    The watcher, the debouncer's overflow and the API ask for scans here;
    `Roots`' threads take the work.
    """

    def __init__(self, rules: Rules) -> None:
        self._rules = rules
        self._cond = threading.Condition()
        self._folders: list[str | Poll] = []
        self._root_changed = threading.Event()
        self._closed = False
        self.scanning: str | None = None

    def folder(self, path: str | Poll) -> None:
        """Queue a reconcile of a root or of a folder inside one (or the poll of the unwatched folders)."""
        with self._cond:
            if path not in self._folders:
                self._folders.append(path)
            self._cond.notify()

    def every_root(self) -> None:
        """Queue a reconcile of every root (the safety net for missed events)."""
        for root in self._rules.roots:
            self.folder(root)

    def root_changed(self, root: str) -> None:
        """A root may have gone away or come back: its state is checked at once."""
        self._root_changed.set()

    @property
    def pending(self) -> int:
        """Folders queued, plus the one being scanned (a poll of unwatched folders is not shown)."""
        with self._cond:
            return sum(1 for f in self._folders if f is not POLL) + (1 if self.scanning else 0)

    def take(self) -> str | Poll | None:
        """The next folder to scan (waiting for one), marked as being scanned; None once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._folders or self._closed)
            if self._closed:
                return None
            item = self._folders.pop(0)
            self.scanning = item if isinstance(item, str) else None
            return item

    def finished(self) -> None:
        self.scanning = None

    def wait_root_change(self, timeout: float) -> bool:
        """Wait up to `timeout` for news that a root changed; True if there was some (or on close)."""
        news = self._root_changed.wait(timeout)
        self._root_changed.clear()
        return news

    def close(self) -> None:
        """Wake every waiter for good."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._root_changed.set()


class Roots:
    """The roots' list, states, watches and scans."""

    def __init__(
        self,
        rules: Rules,
        scans: ScanQueue,
        catalog: Catalog,
        ledger: Ledger,
        pipeline: Pipeline,
        watcher: Watcher,
        config_path: Path,
        rescan_interval: float,
        watch: bool,
    ) -> None:
        self.rules = rules
        self.scans = scans
        self.catalog = catalog
        self.ledger = ledger
        self.pipeline = pipeline
        self.watcher = watcher
        self.config_path = config_path
        self.rescan_interval = rescan_interval
        self.watch = watch
        self._states: dict[str, str] = {}
        self._lock = threading.Lock()  # root checks run on the monitor and on API threads
        self._stopping = threading.Event()
        self._last_rescan = 0.0
        self._last_poll = 0.0
        self.coverage = Coverage()
        self._scanner = threading.Thread(target=self._scan_loop, name="photosift-scan", daemon=True)
        self._monitor = threading.Thread(target=self._monitor_loop, name="photosift-monitor", daemon=True)

    @property
    def folders(self) -> tuple[str, ...]:
        return self.rules.roots

    # -- life cycle --------------------------------------------------------------------------------

    def start(self, initial_scan: bool = True) -> None:
        """Check every root (watching and, with `initial_scan`, reconciling the online ones), then keep
        scanning what is queued and, while watching, keep checking the roots."""
        self._scanner.start()
        self._check(schedule=initial_scan)
        self._last_rescan = self._last_poll = time.monotonic()
        if self.watch:
            self._monitor.start()

    def stop(self) -> None:
        """Stop both threads; a scan in progress is abandoned (the next start reconciles again)."""
        self._stopping.set()
        self.scans.close()
        if self._monitor.is_alive():
            self._monitor.join()
        self._scanner.join()

    # -- scanning ----------------------------------------------------------------------------------

    def _scan_loop(self) -> None:
        while (folder := self.scans.take()) is not None:
            try:
                if folder is POLL:
                    self.poll_unwatched()
                else:
                    self.scan(folder)
            except Exception:
                log.exception("scanning %s failed", folder)
            finally:
                self.scans.finished()

    def scan(self, folder: str, progress: ProgressTotal | None = None) -> reconcile.Plan | None:
        """Reconcile one folder now (blocking). Returns the plan, or None outside the roots."""
        root = self.rules.root_of(folder)
        if root is None:
            return None
        plan = reconcile.plan(folder, root, self.rules, self.catalog, self.ledger)
        if plan.offline:
            self._set_state(root, plan.offline)
            return plan
        if plan.submit or plan.gone:
            log.info("%s: %d new or changed, %d gone", folder, len(plan.submit), len(plan.gone))
        if progress is not None:
            progress.total = (progress.total or 0) + len(plan.submit)
        self._covered(root, folder, plan.folders)
        reconcile.apply(plan, self.pipeline, self.rules, self._stopping)
        return plan

    def _covered(self, root: str, folder: str, walked: tuple[tuple[str, FolderId], ...]) -> None:
        """Compare the folders a scan walked with those the OS watches (only while watching)."""
        if self.watch:
            self.coverage.update(root, folder, walked)

    def poll_unwatched(self) -> None:
        """Reconcile the files of every folder no watch covers (each folder's own files, in one plan);
        a subfolder met there for the first time is scanned whole at once."""
        self.coverage.confirm()
        submit: list[str] = []
        gone: list[str] = []
        for root in self.folders:
            unwatched = self.coverage.unwatched(root)
            if not unwatched or self._states.get(root) != "online":
                continue
            walked: list[tuple[str, FolderId]] = []
            for folder in unwatched:
                if not os.path.isdir(folder):  # removed since: its files leave, and it is polled no more
                    gone.extend(self.catalog.in_folder(folder))
                    continue
                plan = reconcile.plan(folder, root, self.rules, self.catalog, self.ledger, recursive=False)
                submit.extend(plan.submit)
                gone.extend(plan.gone)
                walked.extend(plan.folders)
            for new in self.coverage.polled(root, unwatched, walked):
                self.scans.folder(new)
        if submit or gone:
            log.info("unwatched folders: %d new or changed, %d gone", len(submit), len(gone))
            reconcile.apply(reconcile.Plan(tuple(submit), tuple(gone), None), self.pipeline, self.rules,
                            self._stopping)

    def rescan(self, path: str | None) -> list[str]:
        """Queue a reconcile of one folder inside a root, or of every root; returns what was queued."""
        if path is None:
            self.scans.every_root()
            return list(self.folders)
        real = os.path.realpath(path)
        if self.rules.root_of(real) is None:
            raise RequestError("not_in_roots", f"{path} is not inside a watched folder", 400)
        self.scans.folder(real)
        return [real]

    # -- states ------------------------------------------------------------------------------------

    def states(self) -> list[FolderState]:
        """Each watched folder: online or why not, its images, watched (all of it, part of it, or not at
        all: the rest is polled), being scanned."""
        scanning = self.scans.scanning
        states: list[FolderState] = []
        for root in self.folders:
            unwatched = len(self.coverage.unwatched(root))
            watched = "no" if not self.watcher.watching(root) else "partial" if unwatched else "yes"
            states.append({
                "path": root,
                "state": self._states.get(root, "unknown"),
                "indexed": self.catalog.count_in_root(root),
                "watched": watched,
                "unwatched": unwatched,
                "scanning": scanning is not None and self.rules.root_of(scanning) == root,
            })
        return states

    def _current_state(self, root: str) -> str:
        state = root_state(root)
        if state == "online" and self.catalog.count_in_root(root) and is_empty(root):
            return "empty (looks unmounted)"
        return state

    def _set_state(self, root: str, state: str) -> None:
        previous = self._states.get(root)
        self._states[root] = state
        if previous != state:
            if state == "online":
                log.info("root %s is online", root)
            else:
                log.warning("root %s is offline (%s): its %d entries are kept", root, state,
                            self.catalog.count_in_root(root))

    def _check(self, schedule: bool) -> None:
        """Update each root's state; watch and reconcile roots that came (back) online."""
        with self._lock:
            for root in self.folders:
                previous = self._states.get(root)
                state = self._current_state(root)
                self._set_state(root, state)
                if state != "online":
                    self.watcher.unwatch(root)
                    self.coverage.forget(root)
                    continue
                if previous != "online":
                    if self.watch:
                        self.watcher.watch(root)
                    if schedule:
                        self.scans.folder(root)

    def _monitor_loop(self) -> None:
        last_check = 0.0
        while True:
            news = self.scans.wait_root_change(MONITOR_SECONDS)
            if self._stopping.is_set():
                return
            now = time.monotonic()
            if news or now - last_check >= ROOT_CHECK_SECONDS:
                last_check = now
                self._check(schedule=True)
            interval = self.rescan_interval
            if any(not self.watcher.watching(r) for r in self.folders if self._states.get(r) == "online"):
                interval = min(interval or UNWATCHED_RESCAN_SECONDS, UNWATCHED_RESCAN_SECONDS)
            if interval and now - self._last_rescan >= interval:
                self._last_rescan = now
                self.scans.every_root()
            if now - self._last_poll >= POLL_SECONDS:
                self._last_poll = now
                self._poll()

    def _poll(self) -> None:
        """Queue the poll of the unwatched folders; watch afresh where the watch limit was raised."""
        if not self.coverage.pending():
            return
        partial = [r for r in self.folders if self.coverage.unwatched(r)]
        if partial and self.coverage.limits_raised():
            for root in partial:  # the user raised the limit: watch everything again, then look again
                log.info("the inotify watch limit was raised: watching %s afresh", root)
                with self._lock:
                    self.watcher.unwatch(root)
                    self.coverage.forget(root)
                    self.watcher.watch(root)
                self.scans.folder(root)
            return
        self.scans.folder(POLL)

    # -- changing the list -------------------------------------------------------------------------

    def add(self, folder: str) -> Change:
        """Watch one more folder from now on (saved to the config file first), and index it."""
        with self._lock:
            change = folders.plan_add(self.folders, folder)
            self._save(change)
            for root in change.removed:  # absorbed: watched through the new folder from now on
                self.watcher.unwatch(root)
                self.coverage.forget(root)
                self._states.pop(root, None)
        log.info("now watching %s", ", ".join(change.added))
        self._check(schedule=True)  # watches and scans the new folder
        return change

    def remove(self, folder: str) -> Change:
        """Stop watching a folder (saved to the config file first); its images leave the index."""
        with self._lock:
            return self._apply(folders.plan_remove(self.folders, folder))

    def set(self, wanted: list[str]) -> Change:
        """Watch exactly these folders (saved to the config file first): images still under one of them
        stay indexed, the others leave the index, and new folders are indexed."""
        with self._lock:
            change = self._apply(folders.plan_set(self.folders, wanted))
        if change.added:
            log.info("now watching %s", ", ".join(change.added))
            self._check(schedule=True)  # watches and scans the new folders
        return change

    def _apply(self, change: Change) -> Change:
        """Save a change that removes folders and stop watching them (the caller holds the lock)."""
        self._save(change)
        for root in change.removed:
            self.watcher.unwatch(root)
            self.coverage.forget(root)
            self._states.pop(root, None)
        if change.removed:
            # in order behind anything already headed for the writer, which drops late arrivals too
            self.pipeline.send(Remove((), change.removed, unwatched=True))
            log.info("stopped watching %s; its images leave the index", ", ".join(change.removed))
        return change

    def _save(self, change: Change) -> None:
        try:
            folders.save(self.config_path, change)
        except ConfigError as exc:
            raise RequestError("config_invalid", f"the folder list was not changed: {exc}", 409) from exc
        except OSError as exc:
            raise RequestError("config_unwritable", f"cannot write {self.config_path}: {exc}", 409) from exc
        self.rules.roots = change.folders
