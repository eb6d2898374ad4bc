"""Wiring: config → lock → model → store → pipeline → watcher, started in order, stopped in reverse.

`Engine` is the daemon minus its front ends. `photosift daemon` runs one until
a signal arrives; `photosift index --once` runs one without watching and
stops it when the given folders are indexed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from . import __version__, folders, paths
from .api.app import create_app
from .api.server import ApiServer
from .config import Config, decode_threads
from .decode import Limits
from .errors import ConfigError, RequestError
from .index import reconcile
from .index.catalog import Catalog
from .index.debounce import Debouncer
from .index.ledger import Ledger
from .index.messages import Remove, Retag
from .index.pipeline import Pipeline, Stages
from .index.scan import Rules, is_empty, root_state
from .index.store import Store
from .index.watcher import Watcher
from .index.writer import Writer
from .lock import DataDirLock
from .model import ClipModel, load
from .searcher import Searcher
from .tags import vocabulary
from .tags.rule import Tagger
from .tags.sync import Tagging
from .tags.table import TagIndex

log = logging.getLogger(__name__)

ROOT_CHECK_SECONDS = 5.0
MONITOR_SECONDS = 1.0
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
        serve_api: bool = False,
        config_path: Path | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path or paths.config_file()
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.roots = tuple(os.path.abspath(r) for r in (roots if roots is not None else config.folders))
        self.watch_enabled = watch
        self.serve_api = serve_api
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
        self.tags = TagIndex(self.data_dir / "tags.sqlite")
        self._started.append("tags")
        tagger = Tagger.build(self.model, vocabulary.build(self.config.tagging), self.config.tagging, self.data_dir)
        self.tagging = Tagging(tagger, self.tags, self.model.model_id)
        self.debouncer = Debouncer(self.config.debounce_seconds, self.pipeline_submit, self.request_rescan)
        self.writer = Writer(self.store, self.catalog, self.ledger, self.rules, self.debouncer.touch, self.tagging)
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
        if not self.tagging.current:  # a new vocabulary, rule or model: re-tag from stored embeddings
            self.pipeline.send(Retag())
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
        self.searcher = Searcher(self.model, self.store, self.catalog, limits, self.tagging)
        if self.serve_api:
            self.api = ApiServer(create_app(self), self.config.socket_path)
            self.api.start()
            self._started.append("api")
            log.info("API on %s", self.config.socket_path)
        log.info("indexing %s (%d files indexed)", ", ".join(self.roots), len(self.catalog))

    def stop(self) -> None:
        """Stop what was started, front ends first. Safe to call more than once.

        The scanner is joined after the pipeline has stopped, because a scan in
        progress waits on the pipeline; everything else goes in reverse start order.
        """
        self._stopping.set()
        steps = [
            ("api", lambda: self.api.stop()),
            ("monitor", lambda: self._monitor.join()),
            ("watcher", lambda: self.watcher.stop()),
            ("pipeline", lambda: self.pipeline.stop()),
            ("debouncer", lambda: self.debouncer.stop()),
            ("scanner", self._join_scanner),
            ("tags", lambda: self.tags.close()),
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

    def add_folder(self, folder: str) -> folders.Change:
        """Watch one more folder from now on (saved to the config file first), and index it."""
        with self._roots_lock:
            change = folders.plan_add(self.roots, folder)
            self._save(change)
            for root in change.removed:  # absorbed: watched through the new folder from now on
                self.watcher.unwatch(root)
                self._root_state.pop(root, None)
        log.info("now watching %s", ", ".join(change.added))
        self._check_roots(schedule=True)  # watches and scans the new folder
        return change

    def remove_folder(self, folder: str) -> folders.Change:
        """Stop watching a folder (saved to the config file first) and forget its images."""
        with self._roots_lock:
            change = folders.plan_remove(self.roots, folder)
            self._save(change)
            for root in change.removed:
                self.watcher.unwatch(root)
                self._root_state.pop(root, None)
        # in order behind anything already headed for the writer, which drops late arrivals too
        self.pipeline.send(Remove((), change.removed))
        log.info("stopped watching %s; its images leave the index", ", ".join(change.removed))
        return change

    def _save(self, change: folders.Change) -> None:
        try:
            folders.save(self.config_path, change)
        except ConfigError as exc:
            raise RequestError("config_invalid", f"the folder list was not changed: {exc}", 409) from exc
        except OSError as exc:
            raise RequestError("config_unwritable", f"cannot write {self.config_path}: {exc}", 409) from exc
        self.roots = change.folders
        self.rules.roots = change.folders

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
        while not self._stopping.wait(MONITOR_SECONDS):
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

    # -- queries -----------------------------------------------------------------------------------

    def pipeline_submit(self, path: str) -> None:
        """Hand a settled path to the pipeline (the debouncer's output)."""
        self.pipeline.submit(path)

    def status(self) -> dict[str, Any]:
        """Counts and per-root state, as `photosift status` shows them."""
        assert self.model is not None
        failures = self.ledger.all()
        roots = self.folder_states()
        with self._scan_cond:
            scans = len(self._scan_requests) + (1 if self._scanning else 0)
            scanning = self._scanning
        done, total = self.pipeline.progress()
        queued_to_settle = self.debouncer.pending
        return {
            "version": __version__,
            "pid": os.getpid(),
            "model": self.model.source.display_name,
            "model_id": self.model.model_id,
            "device": self.model.device,
            "uptime": round(time.time() - self.started_at, 1),
            "paused": self.pipeline.paused,
            "indexed": len(self.catalog),
            "queued": self.pipeline.pending + queued_to_settle,
            "progress": {"done": done, "total": total + queued_to_settle},
            "scans_pending": scans,
            "scanning": scanning,
            "failed": len(failures),
            "failures": [{"path": f.path, "reason": f.reason} for f in failures[:100]],
            "offline": sum(1 for r in roots if r["state"] != "online"),
            "roots": roots,
            # current: false while the library is being re-tagged after a change of the tagging setup
            "tagging": {"vocabulary": len(self.tagging.tagger.names), "current": self.tagging.current},
        }

    def folder_states(self) -> list[dict[str, Any]]:
        """Each watched folder: online or why not, how many images it holds, watched or polled,
        and whether it (or a folder inside it) is being scanned right now."""
        scanning = self._scanning
        return [
            {
                "path": root,
                "state": self._root_state.get(root, "unknown"),
                "indexed": self.catalog.count_in_root(root),
                "watched": self.watcher.watching(root),
                "scanning": scanning is not None and self.rules.root_of(scanning) == root,
            }
            for root in self.roots
        ]

    def file_info(self, path: str) -> dict[str, Any]:
        """What the index knows about one file: its record, or why it is not indexed."""
        record = self.catalog.get(path)
        failure = next((f for f in self.ledger.all() if f.path == path), None)
        info: dict[str, Any] = {"path": path, "indexed": record is not None,
                                "root": self.rules.root_of(path), "error": failure.reason if failure else None}
        if record is not None:
            info.update(size=record.size, mtime_ns=record.mtime_ns, content_hash=record.content_hash,
                        width=record.width, height=record.height, taken_at=record.taken_at, model=record.model)
        return info

    def failures(self) -> list[dict[str, Any]]:
        return [{"path": f.path, "reason": f.reason, "size": f.stat.size, "at": f.at} for f in self.ledger.all()]

    def pause(self) -> None:
        self.pipeline.pause()
        log.info("indexing paused")

    def resume(self) -> None:
        self.pipeline.resume()
        log.info("indexing resumed")

    def request_scan_path(self, path: str | None) -> list[str]:
        """Queue a reconcile of one folder inside a root, or of every root; returns what was queued."""
        if path is None:
            self.request_rescan()
            return list(self.roots)
        real = os.path.realpath(path)
        if self.rules.root_of(real) is None:
            raise RequestError("not_in_roots", f"{path} is not inside a watched folder", 400)
        self.request_scan(real)
        return [real]
