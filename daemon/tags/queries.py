"""Questions about tags, as the API asks them: a file's tags and why, files carrying tags, the
vocabulary with counts, and writing or unwriting tags in sidecars and extended attributes."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable

import numpy as np

from .. import background
from ..answers import Explanation, ExportResult, FileTags, VocabularyEntry
from ..errors import RequestError
from ..index.catalog import Catalog
from ..priority import Priority
from .sync import TagSync


class TagQueries:
    """Answers tag questions from the tag table, and from a fresh embedding for a file not indexed.

    `embed_image` is the query side's image embedding (the stored one, else encoded now).
    """

    def __init__(self, sync: TagSync, catalog: Catalog, priority: Priority,
                 embed_image: Callable[[str], np.ndarray]) -> None:
        self.sync = sync
        self.catalog = catalog
        self.priority = priority
        self.embed_image = embed_image

    def check(self, tags: list[str]) -> None:
        """Refuse names that are not in the vocabulary, with a did-you-mean."""
        names = self.sync.tagger.names
        unknown = [t for t in tags if t not in names]
        if unknown:
            hint = difflib.get_close_matches(unknown[0], names, n=1)
            suggestion = f' (did you mean "{hint[0]}"?)' if hint else " (`photosift tags list` lists them)"
            raise RequestError("unknown_tag", f'"{unknown[0]}" is not a tag{suggestion}', 400)

    def tagged(self, tags: list[str], every: bool = True) -> list[str]:
        """Indexed files carrying all (or any) of `tags`."""
        self.check(tags)
        return self.sync.index.tagged(tags, every)

    def tags_of(self, path: str) -> FileTags:
        """A file's tags: stored ones if it is indexed, else decided now from a fresh embedding."""
        real = os.path.realpath(path)
        if self.catalog.get(real) is not None:
            return {"path": real, "indexed": True,
                    "tags": [{"tag": t, "confidence": round(c, 6)} for t, c in self.sync.index.tags_of(real)]}
        with self.priority.query():
            decided = self.sync.tagger.decide(self.embed_image(real)[None, :])[0]
        return {"path": real, "indexed": False, "tags": [{"tag": t, "confidence": round(c, 6)} for t, c in decided]}

    def explain(self, path: str, limit: int = 20) -> Explanation:
        """The evidence behind a file's tags: the chosen tags, then the best of the rest, `limit` in all."""
        tagger = self.sync.tagger
        with self.priority.query():
            embedding = self.embed_image(path)
        verdicts = tagger.explain(embedding, limit)
        settings = tagger.settings
        calibration = tagger.calibration
        return {
            "path": os.path.realpath(path),
            "rule": {"min_confidence": settings.min_confidence, "max_tags": settings.max_tags,
                     "stands_out": background.STANDS_OUT, "logit_scale": round(tagger.logit_scale, 4),
                     "vocabulary": len(tagger.names), "calibrated": calibration.measured,
                     "library": calibration.library,
                     "neutral": round(verdicts[0].neutral, 6) if verdicts else 0.0},
            "scores": [{"tag": v.tag, "cosine": round(v.cosine, 6), "z": None if v.z is None else round(v.z, 3),
                        "confidence": round(v.confidence, 6), "threshold": round(v.threshold, 6),
                        "facet": v.facet, "chosen": v.chosen, "why": v.why} for v in verdicts],
        }

    def vocabulary(self) -> list[VocabularyEntry]:
        """Every tag with how many indexed files carry it."""
        counts = self.sync.index.counts()
        return [{"tag": name, "count": counts.get(name, 0)} for name in self.sync.tagger.names]

    def export(self, path: str | None, unwrite: bool, dry_run: bool) -> ExportResult:
        """Write the tags of the indexed files at `path` (a file or folder; None: all) into their
        sidecars and attributes, or remove exactly what photosift wrote there."""
        if not unwrite and not self.sync.exporter.enabled:
            raise RequestError("export_disabled", "nothing to write: set write_xmp = true and/or "
                               "write_xattr = true in the config's [tagging] table", 409)
        if path is None:
            files = sorted(self.catalog.paths())
        else:
            real = os.path.realpath(path)
            files = [real] if self.catalog.get(real) is not None else sorted(self.catalog.under(real))
            if not files:
                raise RequestError("not_found", f"no indexed images at {path}", 404)
        return {"files": len(files), "dry_run": dry_run, "changes": self.sync.export(files, unwrite, dry_run)}
