"""Queries against the warm model and the index: text/image search, find-similar, zero-shot classify.

Text terms with negative weights are subtracted ("-people" in the API); images
mix with text in one query. An image that is not indexed (a brand-new file, or
one outside the roots) is encoded on the fly; an indexed one is never encoded
again.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from .decode import Decoded, FileStat, Limits
from .errors import DecodeError, RequestError
from .index.catalog import Catalog
from .index.decoders import Picture, QueryDecoders, StillChanging, Unreadable
from .index.store import Hit, Store, StoredEmbeddings, record_id
from .model import ClipModel
from .relevance import Relevance

URL_TIMEOUT = 20.0
RELEVANT_FIRST = 100  # how far `relevant` reads the ranking first
MAX_URL_BYTES = 64 << 20


@dataclass(frozen=True)
class Term:
    """One part of a query: a text or an image path, with its weight."""

    text: str | None = None
    image: str | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Filters:
    """What a result must satisfy: inside a folder, taken within a range (unix seconds; the end excluded),
    carrying tags."""

    folder: str | None = None
    taken_after: int | None = None
    taken_before: int | None = None
    tags: list[str] | None = None


@dataclass(frozen=True)
class Label:
    """A label and the probability the model gives it for one image."""

    text: str
    probability: float


class Embedder:
    """Image embeddings for queries: the stored one of an indexed, unchanged image (from photosift's copy
    of the embeddings); else decoded now, in a decoder process under indexing's limits (decoders.py), and
    encoded."""

    def __init__(self, model: ClipModel, store: Store, stored: StoredEmbeddings, catalog: Catalog,
                 limits: Limits, decoders: QueryDecoders) -> None:
        self.model = model
        self.store = store
        self.stored = stored
        self.catalog = catalog
        self.limits = limits
        self.decoders = decoders

    def image(self, path: str) -> np.ndarray:
        real = os.path.realpath(path)
        try:
            stat = FileStat.of(real)
        except FileNotFoundError as exc:
            raise RequestError("not_found", f"no such file: {path}", 404) from exc
        except OSError as exc:
            raise RequestError("unreadable", f"cannot read {path}: {exc.strerror}", 400) from exc
        if self.catalog.unchanged(real, stat):
            stored = self.stored.embeddings([real]).get(real)
            if stored is not None:
                return stored
        return self.model.encode_images(self.pixels(real, shown=path)[None])[0]

    def encode_data(self, data: bytes) -> np.ndarray:
        """The embedding of an image given as its bytes; bytes that are no usable image are a
        `RequestError` saying why."""
        outcome = self.decoders.decode_data(data, self.model.input_resolution, self.limits)
        embedding: np.ndarray = self.model.encode_images(_usable(outcome, "the uploaded image")[None])[0]
        return embedding

    def pixels(self, source: str, shown: str | None = None) -> np.ndarray:
        """The encoder's input for a local path or an http(s) URL (fetched here, decoded in a worker);
        a file or URL that cannot be used is a `RequestError` naming it (as `shown`)."""
        size = self.model.input_resolution
        if source.startswith(("http://", "https://")):
            try:
                outcome: Decoded | Picture | Unreadable | StillChanging = self.decoders.decode_data(
                    fetch(source), size, self.limits)
            except DecodeError as exc:
                raise RequestError("bad_image", exc.reason, 422) from exc
        else:
            outcome = self.decoders.decode(source, size, self.limits)
        return _usable(outcome, shown or source)


def _usable(outcome: Decoded | Picture | Unreadable | StillChanging, shown: str) -> np.ndarray:
    """A decoder's answer as the encoder's input, or the `RequestError` that names `shown` and says why not."""
    if isinstance(outcome, Unreadable):
        raise RequestError("bad_image", f"{shown}: {outcome.reason}", 422)
    if isinstance(outcome, StillChanging):
        raise RequestError("file_changing", f"{shown}: {outcome.reason}; try again once it is written", 409)
    return outcome.pixels


class Searcher:
    """Answers queries from the warm model and the store, never re-encoding indexed images; every hit
    says whether it is relevant (relevance.py).

    `tagged` answers the tags filter: the indexed paths carrying every one of the
    tags (tagging's `TagQueries.tagged`, which refuses unknown tags).
    """

    def __init__(self, embedder: Embedder, tagged: Callable[[list[str]], list[str]], neutral: np.ndarray) -> None:
        self.embedder = embedder
        self.model = embedder.model
        self.store = embedder.store
        self.catalog = embedder.catalog
        self.tagged = tagged
        self.relevance = Relevance(embedder.stored, self.catalog, neutral)

    def compose(self, terms: list[Term]) -> np.ndarray:
        """The normalised weighted sum of the terms' embeddings."""
        texts = [t for t in terms if t.text]
        vectors: list[np.ndarray] = []
        weights: list[float] = []
        if texts:
            vectors.extend(self.model.encode_texts([t.text for t in texts if t.text]))
            weights.extend(t.weight for t in texts)
        for term in terms:
            if term.image:
                vectors.append(self.embedder.image(term.image))
                weights.append(term.weight)
        if not vectors:
            raise RequestError("empty_query", "the query has no text and no image")
        combined = np.sum([w * v for w, v in zip(weights, vectors, strict=True)], axis=0)
        norm = float(np.linalg.norm(combined))
        if norm < 1e-6:
            raise RequestError("empty_query", "the query's terms cancel each other out")
        return (combined / norm).astype(np.float32)

    def search(self, terms: list[Term], k: int, filters: Filters = Filters()) -> list[Hit]:
        """The k best matches for the terms among the images that pass the filters; the query's own images
        are not results (as with `similar`: each would come first, at a score of 1)."""
        inputs = {os.path.realpath(t.image) for t in terms if t.image}
        with self.model.priority.query():
            query = self.compose(terms)
            hits = self._nearest(query, k, filters, excluding=inputs)
            return self._marked(query, any(t.text for t in terms), hits)

    def similar(self, paths: list[str], k: int, filters: Filters = Filters()) -> list[Hit]:
        """Images most like the mean of `paths`' embeddings that pass the filters, excluding `paths`."""
        real = [os.path.realpath(p) for p in paths]
        with self.model.priority.query():
            mean = np.mean([self.embedder.image(p) for p in real], axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            query = mean.astype(np.float32)
            hits = self._nearest(query, k, filters, excluding=set(real))
            return self._marked(query, False, hits)

    def similar_to_data(self, data: bytes, k: int, filters: Filters = Filters()) -> list[Hit]:
        """Images most like an image given as its bytes (a pasted screenshot, a picture from a browser),
        decoded in a decoder process under indexing's limits; the picture itself, if indexed, comes first."""
        with self.model.priority.query():
            query = self.embedder.encode_data(data)
            hits = self._nearest(query, k, filters)
            return self._marked(query, False, hits)

    def relevant(self, terms: list[Term], filters: Filters, limit: int, expected: int = 0) -> list[Hit]:
        """Every relevant match (at most `limit`), best first, for work that wants them all (a saved search's
        folder): the ranking is read further, twice as far each time, while all of it is relevant; from a
        quarter past `expected` (how many there were last time) when that is further. Not a query: it runs
        as background work."""
        query = self.compose(terms)
        has_text = any(t.text for t in terms)
        k = min(max(RELEVANT_FIRST, expected + expected // 4 + 1), limit)
        while True:
            hits = self._marked(query, has_text, self._nearest(query, k, filters))
            relevant = [h for h in hits if h.relevant]
            if len(relevant) < k or k >= limit:
                return relevant
            k = min(2 * k, limit)

    def passing(self, filters: Filters) -> list[str]:
        """The indexed paths that pass the filters, sorted: what a saved tag (a filter with no words) holds."""
        paths = self.catalog.paths() if filters.folder is None else set(
            self.catalog.under(os.path.realpath(filters.folder)))
        if filters.tags:
            paths &= set(self.tagged(filters.tags))
        start = filters.taken_after if filters.taken_after is not None else -(1 << 62)
        end = filters.taken_before if filters.taken_before is not None else 1 << 62
        records = (self.catalog.get(p) for p in paths)
        return sorted(r.path for r in records if r is not None and start <= r.taken_at < end)

    def _marked(self, query: np.ndarray, has_text: bool, hits: list[Hit]) -> list[Hit]:
        marks = self.relevance.mark(query, has_text, hits)
        return [dataclasses.replace(h, relevant=m) for h, m in zip(hits, marks, strict=True)]

    def _nearest(self, query: np.ndarray, k: int, filters: Filters,
                 excluding: AbstractSet[str] = frozenset()) -> list[Hit]:
        """The store's k nearest records that pass the filters (dates as Chroma `where` clauses, folder and
        tags as the set of ids allowed), the paths in `excluding` left out."""
        clauses: list[dict[str, object]] = []
        if filters.taken_after is not None:
            clauses.append({"taken_at": {"$gte": filters.taken_after}})
        if filters.taken_before is not None:  # exclusive: "before 2024" ends as 2024 begins
            clauses.append({"taken_at": {"$lt": filters.taken_before}})
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        allowed: set[str] | None = None
        if filters.folder is not None:
            allowed = set(self.catalog.under(os.path.realpath(filters.folder)))
        if filters.tags:
            carrying = set(self.tagged(filters.tags))
            allowed = carrying if allowed is None else allowed & carrying
        if allowed is not None and not allowed:
            return []
        ids = None if allowed is None else [record_id(p) for p in sorted(allowed)]
        hits = self.store.query(query, k + len(excluding), where=where, ids=ids)
        return [h for h in hits if h.record.path not in excluding][:k]

    def classify(self, source: str, labels: list[str]) -> list[Label]:
        """Zero-shot probabilities over `labels` for an image given as a path or an http(s) URL.

        Similarities are multiplied by the model's learned logit scale before the
        softmax, as CLIP's own README does; a softmax of raw cosines (as in the
        original exercise) gives nearly uniform probabilities.
        """
        pixels = self.embedder.pixels(source)
        with self.model.priority.query():
            image = self.model.encode_images(pixels[None])[0]
            texts = self.model.encode_texts(labels)
        logits = self.model.logit_scale * (texts @ image)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        return [Label(t, float(p)) for t, p in zip(labels, probs, strict=True)]


def fetch(url: str) -> bytes:
    """An image's bytes from an http(s) URL, bounded in size and time; a `DecodeError` saying why not."""
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT) as resp:
            data: bytes = resp.read(MAX_URL_BYTES + 1)
    except OSError as exc:
        raise DecodeError(f"cannot fetch {url}: {_why_not_fetched(exc)}") from exc
    if len(data) > MAX_URL_BYTES:
        raise DecodeError(f"{url} is larger than {MAX_URL_BYTES >> 20} MB")
    return data


def _why_not_fetched(exc: OSError) -> str:
    """A fetch's failure in words: the server's answer, or the network's reason (urllib wraps the latter as
    "<urlopen error [Errno 111] Connection refused>")."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return reason.strerror or str(reason) if isinstance(reason, OSError) else str(reason)
    if isinstance(exc, TimeoutError):
        return f"no answer within {URL_TIMEOUT:g} s"
    return exc.strerror or str(exc)
