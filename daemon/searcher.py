"""Queries against the warm model and the index: text/image search, find-similar, classify.

Text terms starting with "-" are subtracted, as are terms with negative
weights; images mix with text in one query. An image that is not indexed (a
brand-new file, or one outside the roots) is encoded on the fly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .catalog import Catalog
from .decode import FileStat, Limits, decode_file
from .errors import DecodeError, RequestError
from .model import ClipModel
from .query import Label, classify, image_pixels
from .store import Hit, Store, record_id


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


class Searcher:
    """Answers queries from the warm model and the store, never re-encoding indexed images."""

    def __init__(self, model: ClipModel, store: Store, catalog: Catalog, limits: Limits) -> None:
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

    def search(
        self,
        terms: list[Term],
        k: int,
        folder: str | None = None,
        taken_after: int | None = None,
        taken_before: int | None = None,
    ) -> list[Hit]:
        """The k best matches, optionally inside a folder and a date range (unix seconds)."""
        with self.model.priority.query():
            return self._search(terms, k, folder, taken_after, taken_before)

    def _search(self, terms: list[Term], k: int, folder: str | None, taken_after: int | None,
                taken_before: int | None) -> list[Hit]:
        query = self.compose(terms)
        where: dict[str, Any] | None = None
        clauses = []
        if taken_after is not None:
            clauses.append({"taken_at": {"$gte": taken_after}})
        if taken_before is not None:
            clauses.append({"taken_at": {"$lte": taken_before}})
        if len(clauses) == 1:
            where = clauses[0]
        elif clauses:
            where = {"$and": clauses}
        ids = None
        if folder is not None:
            inside = self.catalog.under(os.path.realpath(folder))
            if not inside:
                return []
            ids = [record_id(p) for p in inside]
        return self.store.query(query, k, where=where, ids=ids)

    def similar(self, paths: list[str], k: int) -> list[Hit]:
        """Images most like the mean of `paths`' embeddings, excluding `paths` themselves."""
        real = [os.path.realpath(p) for p in paths]
        with self.model.priority.query():
            mean = np.mean([self.image_embedding(p) for p in real], axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            hits = self.store.query(mean.astype(np.float32), k + len(real))
        excluded = set(real)
        return [h for h in hits if h.record.path not in excluded][:k]

    def classify(self, source: str, labels: list[str]) -> list[Label]:
        try:
            pixels = image_pixels(source, self.model.input_resolution, self.limits)
        except DecodeError as exc:
            raise RequestError("bad_image", exc.reason, 422) from exc
        with self.model.priority.query():
            return classify(self.model, pixels, labels)
