"""Start-up and periodic reconcile: make the index of one root match its disk.

Only what is new or changed (by size and mtime_ns) is submitted; what is gone
is removed only after everything new has gone through the pipeline, so a file
that moved while the daemon was down is matched by its content hash and keeps
its embedding. An offline root (missing, or empty where the index has files:
an unmounted drive) is left alone.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from ..decode import FileStat
from .catalog import Catalog
from .ledger import Ledger
from .messages import Remove
from .pipeline import Pipeline
from .scan import Rules, is_empty, root_state, walk
from .watches import FolderId

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What a reconcile of one folder will do, and the folders its walk met (with their identities)."""

    submit: tuple[str, ...]
    gone: tuple[str, ...]
    offline: str | None  # why the root is offline, or None
    folders: tuple[tuple[str, FolderId], ...] = ()


def plan(folder: str, root: str, rules: Rules, catalog: Catalog, ledger: Ledger, recursive: bool = True) -> Plan:
    """Compare `folder` (a root or a folder inside one; only its own files unless `recursive`) on disk with
    the index."""
    state = root_state(root)
    indexed = catalog.under(folder) if recursive else catalog.in_folder(folder)
    if state != "online":
        return Plan((), (), state)
    if folder == root and recursive and indexed and is_empty(root):
        return Plan((), (), "empty (looks unmounted)")
    folders: list[tuple[str, FolderId]] = []
    disk: dict[str, FileStat] = dict(walk(folder, rules, folders, recursive))
    submit = tuple(
        sorted(p for p, st in disk.items() if not catalog.unchanged(p, st) and not ledger.failed_unchanged(p, st))
    )
    prefix = folder.rstrip(os.sep) + os.sep
    failed = [f.path for f in ledger.all()
              if f.path.startswith(prefix) and (recursive or os.path.dirname(f.path) == folder)]
    gone = tuple(sorted((set(indexed) | set(failed)) - disk.keys()))
    return Plan(submit, gone, None, tuple(folders))


def apply(p: Plan, pipeline: Pipeline, rules: Rules, stopping: threading.Event) -> bool:
    """Submit new and changed files, wait for them, then remove what is still gone.

    False if the pipeline or the caller stopped first (`stopping`): what was left
    undone is found again by the next reconcile.
    """
    for path in p.submit:
        if stopping.is_set() or not pipeline.submit(path):
            return False
    if not _wait(pipeline, stopping):
        return False
    # files may have reappeared meanwhile (and been indexed by live events): only drop what the scan
    # would still not admit (gone, or a link that points out of the roots)
    gone = tuple(path for path in p.gone if not rules.admits(path))
    if gone and pipeline.send(Remove(gone)):
        return _wait(pipeline, stopping)
    return True


def _wait(pipeline: Pipeline, stopping: threading.Event) -> bool:
    """Wait for the pipeline to apply everything, checking `stopping` every tenth of a second."""
    while not pipeline.wait_idle(timeout=0.1):
        if stopping.is_set():
            return False
    return not pipeline.stopping
