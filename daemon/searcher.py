"""Queries against the warm model and the index: text/image search, find-similar, classify.

Text terms starting with "-" are subtracted, as are terms with negative
weights; images mix with text in one query. An image that is not indexed (a
brand-new file, or one outside the roots) is encoded on the fly.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .decode import FileStat, Limits, decode_file
from .errors import DecodeError, RequestError
from .index.catalog import Catalog
from .index.store import Hit, Store, record_id
from .model import ClipModel
from .query import Label, classify, image_pixels
from .tags.sync import Tagging


@dataclass(frozen=True)
class Term:
    """One part of a query: a text or an image path, with its weight."""

    text: str | None = None
    image: str | None = None
    weight: float = 1.0

    @classmethod
    def parse(cls, raw: Any) -> Term:
        """A plain string ("-people" subtracts), or {"text"/"image": ..., "weight": w}."""
        if isinstance(raw, str):
            if raw.startswith("-") and len(raw) > 1:
                return cls(text=raw[1:].strip(), weight=-1.0)
            return cls(text=raw)
        return cls(text=raw.get("text"), image=raw.get("image"), weight=float(raw.get("weight", 1.0)))


@dataclass(frozen=True)
class Filters:
    """What a result must satisfy: inside a folder, taken within a range (unix seconds), carrying tags."""

    folder: str | None = None
    taken_after: int | None = None
    taken_before: int | None = None
    tags: list[str] | None = None


class Searcher:
    """Answers queries from the warm model and the store, never re-encoding indexed images."""

    def __init__(self, model: ClipModel, store: Store, catalog: Catalog, limits: Limits,
                 tagging: Tagging | None = None) -> None:
        self.tagging = tagging
        self.model = model
        self.store = store
        self.catalog = catalog
        self.limits = limits

    def image_embedding(self, path: str) -> np.ndarray:
        """The stored embedding of an indexed, unchanged image; else encode it now."""
        real = os.path.realpath(path)
        try:
            stat = FileStat.of(real)
        except FileNotFoundError as exc:
            raise RequestError("not_found", f"no such file: {path}", 404) from exc
        except OSError as exc:
            raise RequestError("unreadable", f"cannot read {path}: {exc.strerror}", 400) from exc
        if self.catalog.unchanged(real, stat):
            stored = self.store.embeddings([real]).get(real)
            if stored is not None:
                return stored
        try:
            decoded = decode_file(real, self.model.input_resolution, self.limits)
        except DecodeError as exc:
            raise RequestError("bad_image", f"{path}: {exc.reason}", 422) from exc
        return self.model.encode_images(decoded.pixels[None])[0]

    def compose(self, terms: list[Term]) -> np.ndarray:
        """The normalised weighted sum of the terms' embeddings."""
        texts = [t for t in terms if t.text]
        vectors, weights = [], []
        if texts:
            vectors.extend(self.model.encode_texts([t.text for t in texts if t.text]))
            weights.extend(t.weight for t in texts)
        for term in terms:
            if term.image:
                vectors.append(self.image_embedding(term.image))
                weights.append(term.weight)
        if not vectors:
            raise RequestError("empty_query", "the query has no text and no image")
        combined = np.sum([w * v for w, v in zip(weights, vectors, strict=True)], axis=0)
        norm = float(np.linalg.norm(combined))
        if norm < 1e-6:
            raise RequestError("empty_query", "the query's terms cancel each other out")
        return (combined / norm).astype(np.float32)

    def search(self, terms: list[Term], k: int, filters: Filters = Filters()) -> list[Hit]:
        """The k best matches for the terms among the images that pass the filters."""
        with self.model.priority.query():
            return self._nearest(self.compose(terms), k, filters)

    def _nearest(self, query: np.ndarray, k: int, filters: Filters) -> list[Hit]:
        clauses: list[dict[str, Any]] = []
        if filters.taken_after is not None:
            clauses.append({"taken_at": {"$gte": filters.taken_after}})
        if filters.taken_before is not None:
            clauses.append({"taken_at": {"$lte": filters.taken_before}})
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        allowed: set[str] | None = None
        if filters.folder is not None:
            allowed = set(self.catalog.under(os.path.realpath(filters.folder)))
        if filters.tags:
            carrying = set(self.tagged(filters.tags, every=True))
            allowed = carrying if allowed is None else allowed & carrying
        if allowed is not None and not allowed:
            return []
        ids = None if allowed is None else [record_id(p) for p in sorted(allowed)]
        return self.store.query(query, k, where=where, ids=ids)

    # -- tags ----------------------------------------------------------------------------------------

    def _tagging(self) -> Tagging:
        if self.tagging is None:
            raise RequestError("no_tagging", "tagging is not running in this process", 400)
        return self.tagging

    def check_tags(self, tags: list[str]) -> None:
        """Refuse names that are not in the vocabulary, with a did-you-mean."""
        names = self._tagging().tagger.names
        unknown = [t for t in tags if t not in names]
        if unknown:
            hint = difflib.get_close_matches(unknown[0], names, n=1)
            suggestion = f' (did you mean "{hint[0]}"?)' if hint else " (`photosift tags list` lists them)"
            raise RequestError("unknown_tag", f'"{unknown[0]}" is not a tag{suggestion}', 400)

    def tagged(self, tags: list[str], every: bool) -> list[str]:
        """Indexed files carrying all (or any) of `tags`."""
        self.check_tags(tags)
        return self._tagging().index.tagged(tags, every)

    def tags_of(self, path: str) -> dict[str, Any]:
        """A file's tags: stored ones if it is indexed, else decided now from a fresh embedding."""
        tagging = self._tagging()
        real = os.path.realpath(path)
        if self.catalog.get(real) is not None:
            return {"path": real, "indexed": True,
                    "tags": [{"tag": t, "probability": round(p, 6)} for t, p in tagging.index.tags_of(real)]}
        with self.model.priority.query():
            decided = tagging.tagger.decide(self.image_embedding(real)[None, :])[0]
        return {"path": real, "indexed": False, "tags": [{"tag": t, "probability": round(p, 6)} for t, p in decided]}

    def explain(self, path: str, limit: int = 20) -> dict[str, Any]:
        """The scores behind a file's tags: the best `limit` tags with cosine and probability."""
        tagger = self._tagging().tagger
        with self.model.priority.query():
            embedding = self.image_embedding(path)
        chosen = {t for t, _ in tagger.decide(embedding[None, :])[0]}
        settings = tagger.settings
        return {
            "path": os.path.realpath(path),
            "rule": {"min_probability": settings.min_probability, "max_tags": settings.max_tags,
                     "logit_scale": round(tagger.logit_scale, 4), "vocabulary": len(tagger.names)},
            "scores": [{"tag": sc.tag, "cosine": round(sc.cosine, 6), "probability": round(sc.probability, 6),
                        "chosen": sc.tag in chosen} for sc in tagger.explain(embedding, limit)],
        }

    def export(self, path: str | None, unwrite: bool, dry_run: bool) -> dict[str, Any]:
        """Write the tags of the indexed files at `path` (a file or folder; None: all) into their
        sidecars and attributes, or remove exactly what photosift wrote there."""
        tagging = self._tagging()
        if not unwrite and not tagging.exporter.enabled:
            raise RequestError("export_disabled", "nothing to write: set write_xmp = true and/or "
                               "write_xattr = true in the config's [tagging] table", 409)
        if path is None:
            files = sorted(self.catalog.paths())
        else:
            real = os.path.realpath(path)
            files = [real] if self.catalog.get(real) is not None else sorted(self.catalog.under(real))
            if not files:
                raise RequestError("not_found", f"no indexed images at {path}", 404)
        return {"files": len(files), "dry_run": dry_run, "changes": tagging.export(files, unwrite, dry_run)}

    def vocabulary(self) -> list[dict[str, Any]]:
        """Every tag with how many indexed files carry it."""
        tagging = self._tagging()
        counts = tagging.index.counts()
        return [{"tag": name, "count": counts.get(name, 0)} for name in tagging.tagger.names]

    def similar(self, paths: list[str], k: int, filters: Filters = Filters()) -> list[Hit]:
        """Images most like the mean of `paths`' embeddings that pass the filters, excluding `paths`."""
        real = [os.path.realpath(p) for p in paths]
        with self.model.priority.query():
            mean = np.mean([self.image_embedding(p) for p in real], axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            hits = self._nearest(mean.astype(np.float32), k + len(real), filters)
        excluded = set(real)
        return [h for h in hits if h.record.path not in excluded][:k]

    def classify(self, source: str, labels: list[str]) -> list[Label]:
        try:
            pixels = image_pixels(source, self.model.input_resolution, self.limits)
        except DecodeError as exc:
            raise RequestError("bad_image", exc.reason, 422) from exc
        with self.model.priority.query():
            return classify(self.model, pixels, labels)
