"""Tagging as the daemon runs it: the tagger's decisions kept in the tag index, in step with the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from .store import Store
from .tagger import Tagger
from .tagindex import TagIndex

log = logging.getLogger(__name__)


class Tagging:
    """Tags new embeddings as they are written, forgets removed files, re-tags everything on a new setup."""

    def __init__(self, tagger: Tagger, index: TagIndex, model_id: str) -> None:
        self.tagger = tagger
        self.index = index
        settings = tagger.settings
        # everything the stored tags depend on; a change re-tags the library
        self.fingerprint = (f"{model_id}/{tagger.vocabulary.fingerprint()}/"
                            f"{settings.min_probability:g}/{settings.max_tags}")

    @property
    def current(self) -> bool:
        """True when the stored tags were computed with this exact setup."""
        return self.index.fingerprint == self.fingerprint

    def apply(self, paths: Sequence[str], embeddings: np.ndarray) -> None:
        self.index.set(zip(paths, self.tagger.decide(embeddings), strict=True))

    def remove(self, paths: Sequence[str]) -> None:
        self.index.remove(paths)

    def retag_all(self, store: Store) -> int:
        """Re-tag every indexed file from its stored embedding (no image is decoded or encoded)."""
        started = time.perf_counter()
        pages = (list(zip(paths, self.tagger.decide(vectors), strict=True)) for paths, vectors in store.vectors())
        files = self.index.rebuild(self.fingerprint, pages)
        log.info("tagged %d files with %d tags in %.1f s", files, len(self.tagger.names),
                 time.perf_counter() - started)
        return files
