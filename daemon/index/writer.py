"""The single store writer: every change to the index goes through `Writer.apply`.

One thread owns writes, so photosift's own copy of the embeddings, the store,
the catalog mirror, the failure ledger and the tags always change together and
in order. The copy is written first and the store second, for writes and
deletions alike: after a crash between the two the copy is ahead, and start-up
brings the store level with it (doctor.py). The writer knows tagging only as the
`TagFollower` protocol (tags/sync.py satisfies it) and the doctor as `Maintenance`:
the index never imports `tags/`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import numpy as np

from ..answers import RebuildInfo, StoreCheck
from ..decode import Decoded, FileStat
from ..errors import Stopped
from .archive import Archive
from .catalog import Catalog
from .ledger import Ledger
from .messages import Done, Encoded, Failed, Move, Remove, Retag, Reuse, StoreTask, WriterOp
from .scan import Rules
from .store import PAGE, FileRecord, Store, StoredEmbeddings

log = logging.getLogger(__name__)


class TagFollower(Protocol):
    """Tags kept in step with what the writer writes (tags/sync.py's `TagSync`)."""

    def apply(self, paths: Sequence[str], embeddings: np.ndarray) -> None:
        """Tag files just written with these embeddings."""

    def remove(self, paths: Sequence[str]) -> None:
        """Forget the tags of files that left the index."""

    def retag_all(self, stored: StoredEmbeddings, paths: Iterable[str],
                  stopping: Callable[[], bool] = lambda: False) -> int:
        """Re-tag every indexed file from its stored embedding (read from photosift's copy); raises
        `Stopped`, changing nothing, when `stopping()` turns true part way."""

    def stale(self, library: int) -> bool:
        """True when the tags of a library of `library` images should be decided again."""


class Maintenance(Protocol):
    """Repairing, rebuilding and checking the store (doctor.py's `Doctor`)."""

    def repair(self, part: str, reason: str) -> RebuildInfo:
        """Rebuild a damaged part: "store" from the copy, "copy" from the store."""

    def rebuild(self, reason: str) -> RebuildInfo:
        """Move the store aside and write a new one from the copy."""

    def check(self) -> StoreCheck:
        """Examine the store and the copy and compare them."""


class Writer:
    """Applies pipeline results to the copy, the store, the catalog, the ledger and the tags."""

    def __init__(
        self, store: Store, archive: Archive, catalog: Catalog, ledger: Ledger, rules: Rules,
        tags: TagFollower | None = None, doctor: Maintenance | None = None,
    ) -> None:
        self.tags = tags
        # set when the daemon stops: long work (a re-tag, 100,000 records leaving) ends at its next page
        self.stopping = threading.Event()
        self.store = store
        self.archive = archive
        self.catalog = catalog
        self.ledger = ledger
        self.rules = rules
        self.doctor = doctor

    def apply(self, op: WriterOp) -> tuple[str, ...]:
        """Apply one op; returns the paths it found still changing, to be looked at again once they settle."""
        if isinstance(op, Encoded):
            records = [
                FileRecord(
                    path=d.path,
                    root=root,
                    size=d.stat.size,
                    mtime_ns=d.stat.mtime_ns,
                    content_hash=d.content_hash,
                    width=d.width,
                    height=d.height,
                    taken_at=d.taken_at,
                    model=self.store.model_id,
                )
                for d, root in op.items
            ]
            self.archive.put_phashes({d.content_hash: d.phash for d, _ in op.items
                                      if isinstance(d, Decoded) and d.phash is not None})
            self._write(records, op.embeddings)
            log.debug("indexed %s", ", ".join(r.path for r in records))
        elif isinstance(op, Reuse):
            self._write([op.record], op.embedding[None, :])
        elif isinstance(op, Failed):
            log.warning("cannot index %s: %s", op.path, op.reason)
            self.ledger.record(op.path, op.stat, op.reason)
        elif isinstance(op, Remove) and op.unwatched:
            self.unwatch(op.folders, op.paths)
        elif isinstance(op, Remove):
            self.remove(list(op.paths), op.folders)
        elif isinstance(op, Move):
            return self.move(op.src, op.dest, op.is_dir)
        elif isinstance(op, Retag):
            self._retag()
        elif isinstance(op, StoreTask):
            self._maintain(op)
        elif not isinstance(op, Done):
            raise TypeError(f"unknown writer op {op!r}")
        return ()

    def _write(self, records: list[FileRecord], embeddings: np.ndarray) -> None:
        # a batch can hold two versions of one file: the last is the one on disk, and is the one kept;
        # and a file whose folder stopped being watched while it was encoded is dropped
        last = {r.path: i for i, r in enumerate(records)}
        keep = [i for i, r in enumerate(records) if last[r.path] == i and self.rules.root_of(r.path) is not None]
        if len(keep) < len(records):
            records, embeddings = [records[i] for i in keep], embeddings[keep]
            if not records:
                return
        self.archive.upsert(records, embeddings)
        self.store.upsert(records, embeddings)
        self.catalog.put(records)
        self.ledger.clear([r.path for r in records])
        if self.tags is not None:
            self.tags.apply([r.path for r in records], embeddings)
            if self.tags.stale(len(self.catalog)):  # the library grew enough to be calibrated again
                self._retag()

    def _retag(self) -> None:
        if self.tags is None:
            return
        try:
            self.tags.retag_all(self.archive, self.catalog.paths(), stopping=self.stopping.is_set)
        except Stopped:
            log.info("re-tagging stopped with the daemon; the tags are decided again at the next start")

    def _maintain(self, task: StoreTask) -> None:
        """Repair, rebuild or check the store; the answer (or the error) goes to the task's `result`."""
        try:
            if self.doctor is None:
                raise RuntimeError("no store maintenance here")
            if task.action == "check":
                task.result.set_result(self.doctor.check())
                return
            if task.action == "repair":
                info = self.doctor.repair(task.part, task.reason)
            else:
                info = self.doctor.rebuild(task.reason)
            if task.part == "store":  # the new store holds exactly the copy's records
                self.catalog.reset(self.archive.records())
            task.result.set_result(info)
        except BaseException as exc:
            task.result.set_exception(exc)
            raise

    def remove(self, paths: list[str], folders: tuple[str, ...] = ()) -> None:
        """Forget files (and every file under `folders`) that are gone from disk."""
        doomed = set(paths)
        for folder in folders:
            doomed.update(self.catalog.under(folder))
        indexed = [p for p in doomed if self.catalog.get(p) is not None]  # the rest may be failures
        if indexed:
            log.info("removed %d file(s) from the index", self._forget(indexed))
        self.ledger.clear([f.path for f in self.ledger.all() if f.path in doomed or _inside(f.path, folders)])

    def unwatch(self, folders: tuple[str, ...], paths: tuple[str, ...] = ()) -> None:
        """Take the images of folders (and `paths`) no longer watched out of the index (not those still under
        a watched folder: a narrowed watch keeps them), keeping their embeddings in the copy for the grace
        period."""
        under = [*paths, *(p for folder in folders for p in self.catalog.under(folder))]
        leaving = [p for p in under if self.rules.root_of(p) is None]
        if leaving:
            log.info("%d image(s) left the index; their embeddings are kept for %g days",
                     self._forget(leaving, retire=True), self.archive.keep_retired / 86400)
        # those that stay now belong to the narrower folder: per-folder counts and the check for an
        # unmounted root (a root whose indexed images all vanished) go by the root a record names
        moved = [(p, root) for p in under if (root := self.rules.root_of(p)) is not None]
        for start in range(0, len(moved), PAGE):
            chunk = moved[start : start + PAGE]
            stored = self.archive.embeddings([p for p, _ in chunk])
            records = [dataclasses.replace(record, root=root) for p, root in chunk
                       if (record := self.catalog.get(p)) is not None and record.root != root and p in stored]
            if records:
                self._write(records, np.stack([stored[r.path] for r in records]))
        self.ledger.clear([f.path for f in self.ledger.all()
                           if _inside(f.path, folders) and self.rules.root_of(f.path) is None])

    def _forget(self, paths: list[str], retire: bool = False) -> int:
        """Take `paths` out of the index (`retire`: keeping their embeddings for the grace period); how
        many went (fewer when the daemon stops part way)."""
        # page by page, the copy first as always: each page leaves the copy, the store, the catalog and the
        # tags in agreement, so a stop between pages loses nothing (the rest is found again at the next
        # start: records of vanished files by the reconcile, of folders out of the config by the engine)
        for start in range(0, len(paths), PAGE):
            if start and self.stopping.is_set():
                log.info("stopped forgetting with %d of %d record(s) left; they go at the next start",
                         len(paths) - start, len(paths))
                return start
            page = paths[start : start + PAGE]
            if retire:
                self.archive.retire(page)
            else:
                self.archive.delete(page)
            self.store.delete(page)
            self.catalog.remove(page)
            if self.tags is not None:
                self.tags.remove(page)
        if self.tags is not None and self.tags.stale(len(self.catalog)):
            self._retag()
        return len(paths)

    def move(self, src: str, dest: str, is_dir: bool) -> tuple[str, ...]:
        """Re-point records from src to dest, keeping their embeddings; returns the destinations that
        must be looked at again (not the bytes that were embedded, or never indexed)."""
        pairs = (
            [(p, dest + p[len(src) :]) for p in self.catalog.under(src)] if is_dir else [(src, dest)]
        )
        known = [(s, d) for s, d in pairs if self.catalog.get(s) is not None]
        if not is_dir and not known:
            return (dest,)  # the source was never indexed (still pending, or failed)
        again: list[str] = []
        embeddings = self.archive.embeddings([s for s, _ in known])
        records, vectors, stale = [], [], []
        for s, d in known:
            old = self.catalog.get(s)
            if old is None or s not in embeddings:
                continue
            stale.append(s)
            if not self.rules.admits(d):
                continue  # moved somewhere excluded (or a link that now points out): just forget it
            try:
                stat = FileStat.of(d)
            except OSError:
                continue  # moved on again already; its own events follow
            if stat.size != old.size:
                again.append(d)  # not the bytes we embedded
                continue
            root = self.rules.root_of(d) or old.root
            records.append(dataclasses.replace(old, path=d, root=root, mtime_ns=stat.mtime_ns))
            vectors.append(embeddings[s])
        if records:
            # write the new paths before dropping the old: a crash in between leaves a stale
            # record that the next reconcile removes, never a lost embedding
            self._write(records, np.stack(vectors))
        if stale:
            self._forget(stale)
        if is_dir:
            # failures are re-found by the scan of dest that follows a folder move
            self.ledger.clear([f.path for f in self.ledger.all() if _inside(f.path, (src,))])
        log.info("moved %s -> %s (%d record(s), no re-encoding)", src, dest, len(records))
        return tuple(again)


def _inside(path: str, folders: tuple[str, ...]) -> bool:
    return any(path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)
