"""Wiring: config → lock → model → store → pipeline → watcher, started in order, stopped in reverse.

`Engine` is the daemon minus its front ends. `photosift daemon` runs one until
a signal arrives; `photosift index --once` runs one without watching and
stops it when the given folders are indexed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from . import __version__, reconcile
from .catalog import Catalog
from .config import Config, decode_threads
from .debounce import Debouncer
from .decode import Limits
from .ledger import Ledger
from .lock import DataDirLock
from .model import ClipModel, load
from .pipeline import Pipeline, Stages
from .scan import Rules, is_empty, root_state
from .store import Store
from .watcher import Watcher
from .writer import Writer

log = logging.getLogger(__name__)

ROOT_CHECK_SECONDS = 5.0
STATUS_SECONDS = 1.0
# roots the OS would not watch are rescanned this often instead
UNWATCHED_RESCAN_SECONDS = 300.0


class Engine:
    """The indexing daemon's components, owned together."""

    def __init__(
        self,
        config: Config,
        data_dir: Path,
        cache_dir: Path,
        roots: tuple[Path, ...] | None = None,
        watch: bool = True,
        model: ClipModel | None = None,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.roots = tuple(os.path.abspath(r) for r in (roots if roots is not None else config.folders))
        self.watch_enabled = watch
        self.rules = Rules.build(tuple(Path(r) for r in self.roots), config.exclude, config.extensions)
        self.lock = DataDirLock(data_dir)
        self.model = model
        self.started_at = time.time()
        self._stopping = threading.Event()
        self._scan_cond = threading.Condition()
        self._scan_requests: list[str] = []
        self._scanning: str | None = None
        self._root_state: dict[str, str] = {}
        self._roots_lock = threading.Lock()
        self._last_rescan = 0.0
        self._started: list[str] = []

    # -- life cycle --------------------------------------------------------------------------------

    def start(self, initial_scan: bool = True) -> None:
        """Start every component in dependency order; on failure, stop what had started."""
        try:
            self._start(initial_scan)
        except BaseException:
            self.stop()
            raise

    def _start(self, initial_scan: bool) -> None:
        self.lock.acquire("daemon" if self.watch_enabled else "index")
        self._started.append("lock")
        if self.model is None:
            self.model = load(self.config.model, self.config.device, self.cache_dir)
        self.store = Store.open(self.config.store, self.data_dir, self.model.model_id, self.model.embed_dim)
        self._started.append("store")
        self.catalog = Catalog(self.store.records())
        self.ledger = Ledger(self.data_dir / "failures.sqlite")
        self._started.append("ledger")
        self.debouncer = Debouncer(self.config.debounce_seconds, self.pipeline_submit, self.request_rescan)
        self.writer = Writer(self.store, self.catalog, self.ledger, self.rules, self.debouncer.touch)
        limits = Limits(self.config.max_pixels, self.config.max_file_mb << 20)
        stages = Stages(self.model, self.store, self.catalog, self.ledger, self.rules, limits, self.debouncer.touch)
        self.pipeline = Pipeline(
            stages,
            self.writer,
            self.config.batch_size,
            decode_threads(self.config.decode_workers, self.model.device),
            exclusive_encode=self.model.device == "cpu",
        )
        self.pipeline.start()
        self._started.append("pipeline")
        self.debouncer.start()
        self._started.append("debouncer")
        self.watcher = Watcher(
            self.rules, self.debouncer.touch, self.pipeline.send, self.request_scan, self._root_event
        )
        if self.watch_enabled:
            self.watcher.start()
            self._started.append("watcher")
        self._scanner = threading.Thread(target=self._scan_loop, name="photosift-scan", daemon=True)
        self._scanner.start()
        self._started.append("scanner")
        self._check_roots(schedule=initial_scan)
        self._last_rescan = time.monotonic()
        if self.watch_enabled:
            self._monitor = threading.Thread(target=self._monitor_loop, name="photosift-monitor", daemon=True)
            self._monitor.start()
            self._started.append("monitor")
        log.info("indexing %s (%d files indexed)", ", ".join(self.roots), len(self.catalog))

    def stop(self) -> None:
        """Stop what was started, front ends first. Safe to call more than once.

        The scanner is joined after the pipeline has stopped, because a scan in
        progress waits on the pipeline; everything else goes in reverse start order.
        """
        self._stopping.set()
        steps = [
            ("monitor", lambda: self._monitor.join()),
            ("watcher", lambda: self.watcher.stop()),
            ("pipeline", lambda: self.pipeline.stop()),
            ("debouncer", lambda: self.debouncer.stop()),
            ("scanner", self._join_scanner),
            ("ledger", lambda: self.ledger.close()),
            ("store", lambda: self.store.close()),
            ("lock", self.lock.release),
        ]
        for name, step in steps:
            if name in self._started:
                self._started.remove(name)
                try:
                    step()
                except Exception:
                    log.exception("error while stopping the %s", name)
        self._remove_status_file()

    def _join_scanner(self) -> None:
        with self._scan_cond:
            self._scan_cond.notify_all()
        self._scanner.join()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopping.wait(timeout)

    # -- scanning ----------------------------------------------------------------------------------

    def request_scan(self, folder: str) -> None:
        """Queue a reconcile of a root or of a folder inside one."""
        with self._scan_cond:
            if folder not in self._scan_requests:
                self._scan_requests.append(folder)
            self._scan_cond.notify()

    def request_rescan(self) -> None:
        """Queue a reconcile of every root (the safety net for missed events)."""
        for root in self.roots:
            self.request_scan(root)

    def _scan_loop(self) -> None:
        while True:
            with self._scan_cond:
                self._scan_cond.wait_for(lambda: self._scan_requests or self._stopping.is_set())
                if self._stopping.is_set():
                    return
                folder = self._scan_requests.pop(0)
                self._scanning = folder
            try:
                self.scan(folder)
            except Exception:
                log.exception("scanning %s failed", folder)
            finally:
                self._scanning = None

    def scan(self, folder: str, progress: Any = None) -> reconcile.Plan | None:
        """Reconcile one folder now (blocking). Returns the plan, or None outside the roots."""
        root = self.rules.root_of(folder)
        if root is None:
            return None
        plan = reconcile.plan(folder, root, self.rules, self.catalog, self.ledger)
        if plan.offline:
            self._set_root_state(root, plan.offline)
            return plan
        if plan.submit or plan.gone:
            log.info("%s: %d new or changed, %d gone", folder, len(plan.submit), len(plan.gone))
        if progress is not None:
            progress.total = (progress.total or 0) + len(plan.submit)
        reconcile.apply(plan, self.pipeline)
        return plan

    # -- roots -------------------------------------------------------------------------------------

    def _root_event(self, root: str) -> None:
        self._check_roots(schedule=True)

    def _current_state(self, root: str) -> str:
        state = root_state(root)
        if state == "online" and self.catalog.count_in_root(root) and is_empty(root):
            return "empty (looks unmounted)"
        return state

    def _set_root_state(self, root: str, state: str) -> None:
        previous = self._root_state.get(root)
        self._root_state[root] = state
        if previous != state:
            if state == "online":
                log.info("root %s is online", root)
            else:
                log.warning("root %s is offline (%s): its %d entries are kept", root, state,
                            self.catalog.count_in_root(root))

    def _check_roots(self, schedule: bool) -> None:
        """Update each root's state; watch and reconcile roots that came (back) online."""
        with self._roots_lock:  # called from the monitor and from the watcher's thread
            self._check_roots_locked(schedule)

    def _check_roots_locked(self, schedule: bool) -> None:
        for root in self.roots:
            previous = self._root_state.get(root)
            state = self._current_state(root)
            self._set_root_state(root, state)
            if state != "online":
                self.watcher.unwatch(root)
                continue
            if previous != "online":
                if self.watch_enabled:
                    self.watcher.watch(root)
                if schedule:
                    self.request_scan(root)

    def _monitor_loop(self) -> None:
        last_check = 0.0
        while not self._stopping.wait(STATUS_SECONDS):
            now = time.monotonic()
            if now - last_check >= ROOT_CHECK_SECONDS:
                last_check = now
                self._check_roots(schedule=True)
            interval = self.config.rescan_interval
            if any(not self.watcher.watching(r) for r in self.roots if self._root_state.get(r) == "online"):
                interval = min(interval or UNWATCHED_RESCAN_SECONDS, UNWATCHED_RESCAN_SECONDS)
            if interval and now - self._last_rescan >= interval:
                self._last_rescan = now
                self.request_rescan()
            self._write_status_file()

    # -- queries -----------------------------------------------------------------------------------

    def pipeline_submit(self, path: str) -> None:
        """Hand a settled path to the pipeline (the debouncer's output)."""
        self.pipeline.submit(path)

    def status(self) -> dict[str, Any]:
        """Counts and per-root state, as `photosift status` shows them."""
        assert self.model is not None
        failures = self.ledger.all()
        roots = [
            {
                "path": root,
                "state": self._root_state.get(root, "unknown"),
                "indexed": self.catalog.count_in_root(root),
                "watched": self.watcher.watching(root),
            }
            for root in self.roots
        ]
        with self._scan_cond:
            scans = len(self._scan_requests) + (1 if self._scanning else 0)
        return {
            "version": __version__,
            "pid": os.getpid(),
            "model": self.model.source.display_name,
            "model_id": self.model.model_id,
            "device": self.model.device,
            "uptime": round(time.time() - self.started_at, 1),
            "indexed": len(self.catalog),
            "queued": self.pipeline.pending + self.debouncer.pending,
            "scans_pending": scans,
            "failed": len(failures),
            "failures": [{"path": f.path, "reason": f.reason} for f in failures[:100]],
            "offline": sum(1 for r in roots if r["state"] != "online"),
            "roots": roots,
        }

    @property
    def status_file(self) -> Path:
        return self.data_dir / "status.json"

    def _write_status_file(self) -> None:
        tmp = self.status_file.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.status(), indent=1))
            os.replace(tmp, self.status_file)
        except OSError as exc:
            log.debug("cannot write %s: %s", self.status_file, exc)

    def _remove_status_file(self) -> None:
        with contextlib.suppress(OSError):
            self.status_file.unlink()
