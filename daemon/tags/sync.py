"""Tags kept in step with the store: new embeddings tagged as written, removed files forgotten, the whole
library re-tagged from stored embeddings when the tagging setup changes or the library has changed
enough to be calibrated again (background.drifted). `TagSync` is what the index's writer knows as its
`TagFollower`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .. import background
from ..config import TagSettings
from ..errors import Stopped
from ..index.store import StoredEmbeddings, record_id
from . import vocabulary
from .export import Exporter
from .rule import Calibration, Tagger, TextEncoder
from .table import TagTable

log = logging.getLogger(__name__)

# the rule's own version: a new rule re-tags libraries tagged by an older one
RULE_VERSION = 2


class TagSync:
    """Tags new embeddings as they are written, forgets removed files, re-tags everything on a new setup."""

    def __init__(self, tagger: Tagger, index: TagTable, model_id: str) -> None:
        self.tagger = tagger
        self.index = index
        self.exporter = Exporter(tagger.settings)
        settings = tagger.settings
        # everything the stored tags depend on but the calibration (saved beside them); a change re-tags
        # (and the sidecars' tag branch while they are written: a new one is written everywhere by the re-tag)
        setup = repr((settings.min_confidence, settings.max_tags, sorted(settings.thresholds),
                      tagger.vocabulary.facets, settings.parent if settings.write_xmp else None))
        self.fingerprint = f"rule{RULE_VERSION}/{model_id}/{tagger.vocabulary.fingerprint()}/{setup}"
        saved = index.calibration
        self._current = False
        if index.fingerprint == self.fingerprint and saved is not None:
            try:
                tagger.calibrate(Calibration.from_bytes(saved))
                self._current = True
            except (ValueError, KeyError, OSError) as exc:  # unreadable: measure it again
                log.warning("the saved tag calibration cannot be used (%s); re-tagging", exc)

    @classmethod
    def open(cls, model: TextEncoder, settings: TagSettings, data_dir: Path) -> TagSync:
        """The tags of the index in `data_dir` (tags.sqlite), with the vocabulary `settings` make,
        embedded by `model` (or read from the cache beside them)."""
        tagger = Tagger.build(model, vocabulary.build(settings), settings, data_dir)
        return cls(tagger, TagTable(data_dir / "tags.sqlite"), model.model_id)

    def close(self) -> None:
        self.index.close()

    @property
    def current(self) -> bool:
        """True when the stored tags were computed with this exact setup and a saved calibration."""
        return self._current

    def stale(self, library: int) -> bool:
        """True when the stored tags should be decided again for a library of `library` images: the
        setup changed, or the library has changed enough since it was calibrated."""
        return not self._current or background.drifted(library, self.tagger.calibration.library)

    def apply(self, paths: Sequence[str], embeddings: np.ndarray) -> None:
        items = list(zip(paths, self.tagger.decide(embeddings), strict=True))
        self.index.set(items)
        self._export(items)

    def _export(self, items: list[tuple[str, list[tuple[str, float]]]]) -> None:
        if self.exporter.enabled:
            for path, tags in items:
                self.exporter.write(Path(path), [t for t, _ in tags])

    def export(self, paths: Iterable[str], unwrite: bool = False, dry_run: bool = False) -> list[str]:
        """Write (or remove exactly what photosift wrote of) the tags of `paths` in their sidecars and
        attributes now; returns what changed, or would with `dry_run`."""
        changes: list[str] = []
        for path in paths:
            if unwrite:
                changes += self.exporter.unwrite(Path(path), dry_run)
            else:
                changes += self.exporter.write(Path(path), [t for t, _ in self.index.tags_of(path)], dry_run)
        return changes

    def remove(self, paths: Sequence[str]) -> None:
        """Forget files that left the index (deleted, moved away, or in a folder no longer watched),
        and take photosift's keywords back out of their sidecars and attributes."""
        self.index.remove(paths)
        if self.exporter.enabled:
            for path in paths:
                self.exporter.unwrite(Path(path))

    def retag_all(self, stored: StoredEmbeddings, paths: Iterable[str],
                  stopping: Callable[[], bool] = lambda: False) -> int:
        """Re-tag every indexed file (`paths`: the catalog's) from its stored embedding, without
        decoding or encoding an image. When `stopping()` turns true part way it raises `Stopped` and the
        tags stay as they were (one transaction), still marked as not current."""
        started = time.perf_counter()
        indexed = list(paths)
        path_of = {record_id(p): p for p in indexed}
        sample = stored.embeddings(background.sample(indexed))
        vectors = np.stack(list(sample.values())) if sample else np.zeros((0, 0), dtype=np.float32)
        calibration = self.tagger.measure(vectors, len(indexed))
        self.tagger.calibrate(calibration)

        def pages() -> Iterator[list[tuple[str, list[tuple[str, float]]]]]:
            for ids, vectors in stored.vectors():
                if stopping():
                    raise Stopped("re-tagging")
                page = [(path_of[i], tags) for i, tags in zip(ids, self.tagger.decide(vectors), strict=True)
                        if i in path_of]
                self._export(page)
                yield page

        files = self.index.rebuild(self.fingerprint, calibration.to_bytes(), pages())
        self._current = True
        log.info("tagged %d files with %d tags in %.1f s (%s)", files, len(self.tagger.names),
                 time.perf_counter() - started,
                 "calibrated on the library" if calibration.measured else "too few images to calibrate")
        return files
