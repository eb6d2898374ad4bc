"""Wiring: config → lock → model → store → pipeline → watcher → roots → API, started in order, stopped in reverse.

`Engine` is the daemon minus its front ends. It builds each component with what
it needs, starts them in dependency order, stops them in reverse, and answers
`status`. `photosift daemon` runs one until a signal arrives; `photosift index
--once` runs one without watching and stops it when the given folders are indexed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from . import __version__, paths
from .answers import DuplicateGroup, Failure, FileInfo, Status, Trashed
from .api.app import create_app
from .api.server import ApiServer
from .config import Config, decode_threads
from .dates import iso, unix_start
from .decode import Decoded, Limits
from .duplicates.groups import find as duplicate_groups
from .errors import StoreUnavailable
from .index.catalog import Catalog
from .index.decoders import Budget, QueryDecoders
from .index.doctor import Doctor, Place
from .index.health import StoreHealth
from .index.ledger import Ledger
from .index.messages import Remove, Retag, StoreTask
from .index.pipeline import Pipeline, Stages
from .index.probe import ChildProbe
from .index.roots import Roots, ScanQueue
from .index.scan import Rules
from .index.store import FileRecord, location
from .index.watcher import Watcher
from .index.writer import Writer
from .lock import DataDirLock
from .model import ClipModel, load, model_id_for
from .saved.live import SavedFolders
from .saved.spec import SavedSearch
from .searcher import Embedder, Filters, Searcher, Term
from .tags.queries import TagQueries
from .tags.sync import TagSync
from .trash import to_trash

log = logging.getLogger(__name__)

SAVED_MAX = 10_000  # links in one saved search's folder, at most (its best results)


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
        on_owned: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.config_path = config_path or paths.config_file()
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        folders = tuple(Path(r) for r in (roots if roots is not None else config.folders))
        self.config_roots = roots is None  # the config's folders (the daemon), not `index DIR`'s own
        # the one list of roots; `Roots` replaces it when the user adds or removes a folder
        self.rules = Rules.build(folders, config.exclude, config.extensions, skip=(config.saved_folder,))
        self.watch = watch
        self.serve_api = serve_api
        self.lock = DataDirLock(data_dir)
        self.on_owned = on_owned  # called once the data dir is this engine's (its lock taken)
        self.model = model
        self.started_at = time.time()
        self._stopping = threading.Event()
        self._stops: list[tuple[str, Callable[[], None]]] = []  # in start order; stopped in reverse

    # -- life cycle --------------------------------------------------------------------------------

    def start(self, initial_scan: bool = True) -> None:
        """Start every component in dependency order; on failure, stop what had started."""
        try:
            self._start(initial_scan)
        except BaseException:
            self.stop()
            raise

    def _started(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    def _start(self, initial_scan: bool) -> None:
        config = self.config
        self.lock.acquire("daemon" if self.watch else "index")
        self._started("lock", self.lock.release)
        self.on_owned()
        # the embedded store is probed in a child process (a damaged one can crash its reader) while
        # the model loads: the two take seconds each
        model_id = self.model.model_id if self.model is not None else model_id_for(config.model)
        probe = ChildProbe(self.data_dir / "chroma", model_id) if not config.store else None
        if probe is not None:
            self._started("store probe", probe.cancel)
        if self.model is None:
            self.model = load(config.model, config.device, self.cache_dir, config.precision)
        model = self.model

        self.health = StoreHealth(location(config.store, self.data_dir), str(self.data_dir), self._damaged)
        # embedded: every record is this daemon's; on a shared Chroma server, those under its roots
        place = Place(config.store, self.data_dir, model.model_id, model.embed_dim, config.forget_after_days * 86400)
        self.doctor = Doctor(place, self.health,
                             in_scope=lambda path: not config.store or self.rules.root_of(path) is not None,
                             pause=model.priority.checkpoint)
        records = self.doctor.open(probe)
        self.store, self.archive = self.doctor.store, self.doctor.archive
        self._started("store", self.store.close)
        self._started("copy", self.archive.close)
        self.catalog = Catalog(records)
        self.ledger = Ledger(self.data_dir / "failures.sqlite")
        self._started("ledger", self.ledger.close)
        self.tags = TagSync.open(model, config.tagging, self.data_dir)
        self._started("tags", self.tags.close)

        limits = Limits(config.max_pixels, config.max_file_mb << 20)
        self.scans = ScanQueue(self.rules)
        self.pipeline = Pipeline(
            Stages(model, self.archive, self.catalog, self.ledger, self.rules, limits,
                   gpu=model.device if model.device.startswith("cuda") else None),
            Writer(self.store, self.archive, self.catalog, self.ledger, self.rules, self.tags, self.doctor),
            config.batch_size,
            decode_threads(config.decode_workers, model.device),
            exclusive_encode=model.device == "cpu",
            quiet=config.debounce_seconds,
            on_overflow=self.scans.every_root,
            health=self.health,
            heartbeat=bool(config.store),
            budget=Budget(config.decode_timeout, config.decode_memory_mb),
        )
        self.pipeline.start()
        self._started("pipeline", self.pipeline.stop)
        if not self.tags.current:  # a new vocabulary, rule or model: re-tag from stored embeddings
            self.pipeline.send(Retag())
        if self.watch and self.config_roots and not config.store:
            # folders taken out of the config file while no daemon ran: their images leave the index as with
            # `folders remove` (kept for the grace period). Not on a shared server: other machines' are there.
            unrooted = tuple(p for p in self.catalog.paths() if self.rules.root_of(p) is None)
            if unrooted:
                self.pipeline.send(Remove(unrooted, unwatched=True))

        self.watcher = Watcher(self.rules, changes=self.pipeline, scans=self.scans)
        if self.watch:
            self.watcher.start()
            self._started("watcher", self.watcher.stop)
        self.roots = Roots(self.rules, self.scans, self.catalog, self.ledger, self.pipeline, self.watcher,
                           self.config_path, config.rescan_interval, self.watch)
        self.roots.start(initial_scan)
        self._started("roots", self.roots.stop)

        budget = Budget(config.decode_timeout, config.decode_memory_mb)
        self.decoders = QueryDecoders(budget)  # stopped after the API: no query holds one then
        self._started("query decoders", self.decoders.stop)
        self.limits = limits
        embedder = Embedder(model, self.store, self.archive, self.catalog, limits, self.decoders)
        self.tag_queries = TagQueries(self.tags, self.catalog, model.priority, embed_image=embedder.image)
        self.searcher = Searcher(embedder, tagged=self.tag_queries.tagged, neutral=self.tags.tagger.neutral)
        self.saved = SavedFolders(self.data_dir / "saved.json", config.saved_folder, self._saved_results,
                                  lambda: self.catalog.generation, model.priority)
        if self.watch:  # `index --once` leaves the folders to the daemon
            self.saved.start()
            self._started("saved searches", self.saved.stop)
        if self.serve_api:
            app = create_app(self)
            self.api = ApiServer(app, config.socket_path)
            self._started("api routes", app.state.release)  # once the server below has stopped
            self.api.start()
            self._started("api", self.api.stop)
            log.info("API on %s", config.socket_path)
        log.info("indexing %s (%d files indexed)", ", ".join(self.roots.folders), len(self.catalog))

    def stop(self) -> None:
        """Stop what was started, in reverse order. Safe to call more than once."""
        self._stopping.set()
        while self._stops:
            name, stop = self._stops.pop()
            try:
                stop()
            except Exception:
                log.exception("error while stopping the %s", name)

    def _damaged(self, part: str, reason: str) -> None:
        """A search or a write found the store (or the copy) damaged: the writer repairs it. During
        start-up the doctor repairs what it finds itself."""
        pipeline = getattr(self, "pipeline", None)
        if part in ("store", "copy") and pipeline is not None:
            pipeline.send(StoreTask("repair", part, reason))

    def store_task(self, action: str, reason: str = "", timeout: float | None = None) -> object:
        """Have the writer check or rebuild the store now, and wait for its answer."""
        task = StoreTask(action, "store", reason)
        if not self.pipeline.send(task):
            raise StoreUnavailable("failing", "the daemon is stopping")
        return task.result.result(timeout)

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopping.wait(timeout)

    # -- answers -----------------------------------------------------------------------------------

    def status(self) -> Status:
        """Counts and per-root state, as `photosift status` shows them."""
        assert self.model is not None
        failures = self.ledger.all()
        roots = self.roots.states()
        done, total = self.pipeline.progress()
        settling = self.pipeline.settling
        return {
            "version": __version__,
            "pid": os.getpid(),
            "model": self.model.source.display_name,
            "model_id": self.model.model_id,
            "device": self.model.device,
            "encoder": {"device": self.model.choice.device, "backend": self.model.choice.backend,
                        "precision": self.model.choice.precision, "why": self.model.choice.why},
            "uptime": round(time.time() - self.started_at, 1),
            "paused": self.pipeline.paused,
            "indexed": len(self.catalog),
            "queued": self.pipeline.pending + settling,
            "progress": {"done": done, "total": total + settling},
            "scans_pending": self.scans.pending,
            "overflows": self.watcher.overflows,
            "scanning": self.scans.scanning,
            "failed": len(failures),
            "failures": [{"path": f.path, "reason": f.reason} for f in failures[:100]],
            "offline": sum(1 for r in roots if r["state"] != "online"),
            "roots": roots,
            "tagging": {"vocabulary": len(self.tags.tagger.names), "current": self.tags.current},
            "store": self.health.answer(),
        }

    def duplicates(self, folder: str | None = None) -> list[DuplicateGroup]:
        """The groups of near-identical photos among those indexed (under `folder`), the copy to keep first
        in each (duplicates/groups.py). Nothing is encoded; pictures indexed before photosift kept their
        perceptual hashes are decoded once, in the query decoders."""
        assert self.model is not None
        # the encoder's bf16 where this CPU runs it natively (the products are most of the time), else fp32
        dtype = torch.bfloat16 if self.model.choice.precision == "bf16" else torch.float32
        groups = duplicate_groups(self.archive, self.catalog.paths(), self._phash_now, folder, dtype)
        return [{"kind": "identical" if g.kind == "identical" else "near",
                 "files": [{"path": r.path, "folder": os.path.dirname(r.path), "size": r.size, "width": r.width,
                            "height": r.height, "taken_at": iso(r.taken_at), "keep": i == 0}
                           for i, r in enumerate(g.files)]}
                for g in groups]

    def _saved_results(self, search: SavedSearch, expected: int) -> list[str]:
        """A saved search's photos: the relevant results of its words (about `expected` of them last time),
        or the files carrying its tags."""
        filters = Filters(search.folder, unix_start(search.taken_after), unix_start(search.taken_before),
                          list(search.tags) or None)
        if not search.query:
            return self.searcher.passing(filters)
        terms = [Term(text=search.query), *(Term(text=t, weight=-1.0) for t in search.exclude)]
        return [h.record.path for h in self.searcher.relevant(terms, filters, SAVED_MAX, expected)]

    def trash(self, paths: list[str]) -> Trashed:
        """Move photos inside the watched folders to the desktop's trash (trash.py); the watcher sees them
        go and the index follows."""
        return to_trash(paths, self.rules.root_of)

    def _phash_now(self, record: FileRecord) -> int | None:
        """A record's perceptual hash from its file, if the file still holds the bytes that were indexed."""
        assert self.model is not None
        got = self.decoders.decode(record.path, self.model.input_resolution, self.limits)
        return got.phash if isinstance(got, Decoded) and got.content_hash == record.content_hash else None

    def file_info(self, path: str) -> FileInfo:
        """What the index knows about one file: its record, or why it is not indexed."""
        record = self.catalog.get(path)
        failure = next((f for f in self.ledger.all() if f.path == path), None)
        info: FileInfo = {"path": path, "indexed": record is not None, "root": self.rules.root_of(path),
                          "error": failure.reason if failure else None}
        if record is not None:
            info.update({"size": record.size, "mtime_ns": record.mtime_ns, "content_hash": record.content_hash,
                         "width": record.width, "height": record.height, "taken_at": iso(record.taken_at),
                         "model": record.model})
        return info

    def failures(self) -> list[Failure]:
        return [{"path": f.path, "reason": f.reason, "size": f.stat.size, "at": iso(f.at)} for f in self.ledger.all()]

    def pause(self) -> None:
        self.pipeline.pause()
        log.info("indexing paused")

    def resume(self) -> None:
        self.pipeline.resume()
        log.info("indexing resumed")
