"""The typed, immutable messages that travel between pipeline stages."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..decode import Examined, FileStat
from .store import FileRecord


@dataclass(frozen=True)
class Encoded:
    """A batch of decoded images and their embeddings, ready to store."""

    items: tuple[tuple[Examined, str], ...]  # (an image's record, its root)
    embeddings: np.ndarray


@dataclass(frozen=True)
class Reuse:
    """A file whose bytes are already embedded elsewhere (a copy or a move): no encoding needed."""

    record: FileRecord
    embedding: np.ndarray


@dataclass(frozen=True)
class Failed:
    """A file that could not be decoded, with the reason to show the user."""

    path: str
    stat: FileStat
    reason: str


@dataclass(frozen=True)
class Remove:
    """Paths (files, or every file under folders) that are gone from disk; or, `unwatched`, folders (or
    files) the user stopped watching: their images leave the index (those still under a watched folder
    stay) and photosift's copy keeps their embeddings for the grace period (config `forget_after_days`)."""

    paths: tuple[str, ...]
    folders: tuple[str, ...] = ()
    unwatched: bool = False


@dataclass(frozen=True)
class Move:
    """A file or folder renamed from `src` to `dest`: the index follows without re-encoding."""

    src: str
    dest: str
    is_dir: bool


@dataclass(frozen=True)
class Done:
    """A submitted path that needed no write (unchanged, vanished or superseded)."""

    path: str


@dataclass(frozen=True)
class Changing:
    """A file that changed while it was read: it is looked at again once it settles (debounced)."""

    path: str


@dataclass(frozen=True)
class Retag:
    """Re-tag every indexed file from its stored embedding (the tagging setup changed)."""


@dataclass(frozen=True)
class StoreTask:
    """Work on the store itself, done by the writer (the one thread that writes): "repair" a damaged part
    ("store": Chroma, "copy": photosift's own copy), "rebuild" the store from the copy, or "check" both.
    Its answer (or error) goes to `result`. It never waits behind work held for a failing store."""

    action: str
    part: str = "store"
    reason: str = ""
    result: Future[Any] = field(default_factory=Future, compare=False)


WriterOp = Encoded | Reuse | Failed | Remove | Move | Done | Retag | StoreTask
