"""Where a search's relevant results end, decided per query from that query's own scores (docs/api.md).

A fixed cosine cutoff fails because relevant and irrelevant scores sit at
different levels from one query to the next. photosift asks two questions of
each hit instead, both relative:

1. Does it stand out from this query's background? The query is scored against
   a sample of the library (background.SAMPLE stored embeddings), the
   background's location and spread are read from the lower part of those
   scores (background.estimate), and a relevant hit is at least background.STANDS_OUT
   spreads above the location.
2. For a query with text: does the image look more like the query than like "a
   photo." (background.NEUTRAL_PROMPTS), and by at least OF_THE_BEST of the
   margin the query's best hit has over it? The first part turns a query for
   a concept the library does not have into few or no relevant hits, however
   much its best hits stand out from the rest; the second ends the list where
   the evidence falls to half of what the query's best match shows, so that
   things only somewhat like the query do not ride along.
   A query of images only ("find similar") has no text to hold against a
   neutral prompt; there the relevant hits end at the first clear break in the
   ranking (a drop of at least BREAK spreads from one hit to the next).

Until the library has background.MIN_LIBRARY images there is no background:
text queries are judged by the neutral prompt alone, image queries by the break.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from . import background
from .index.catalog import Catalog
from .index.store import Hit, StoredEmbeddings

BREAK = 1.0
OF_THE_BEST = 0.5


class Relevance:
    """Marks the relevant hits of a query, against a sample of the library kept up to date."""

    def __init__(self, store: StoredEmbeddings, catalog: Catalog, neutral: np.ndarray) -> None:
        self.store = store
        self.catalog = catalog
        self.neutral = neutral.astype(np.float32)
        self._sample = np.zeros((0, len(neutral)), dtype=np.float32)
        self._sampled_at = -1  # the library's size when sampled (-1: never)
        self._lock = threading.Lock()

    def _background(self) -> np.ndarray:
        """The sample, taken again when the library has changed enough since the last one."""
        with self._lock:
            size = len(self.catalog)
            if self._sampled_at < 0 or background.drifted(size, self._sampled_at):
                chosen = background.sample(list(self.catalog.paths()))
                vectors = list(self.store.embeddings(chosen).values())
                self._sample = np.stack(vectors) if vectors else self._sample[:0]
                self._sampled_at = size
            return self._sample

    def mark(self, query: np.ndarray, has_text: bool, hits: Sequence[Hit]) -> list[bool]:
        """For each hit (ranked, with its embedding), whether it is relevant to `query`: the relevant
        ones are the ranking's head, up to the first hit that fails a test."""
        if not hits:
            return []
        scores = np.array([h.score for h in hits], dtype=np.float32)
        sample = self._background()
        z = None
        if len(sample) >= background.MIN_LIBRARY:
            location, spread = background.estimate((sample @ query)[:, None])
            z = (scores - location[0]) / spread[0]
        if has_text:
            margin = scores - np.stack([h.embedding for h in hits]) @ self.neutral
            keep = (margin > 0) & (margin >= OF_THE_BEST * margin.max())
        else:  # images only: up to the first clear break, in background spreads (cosine 0.05 without one)
            steps = -np.diff(z) if z is not None else -np.diff(scores) / 0.05
            breaks = np.flatnonzero(steps >= BREAK)
            keep = np.arange(len(hits)) <= (int(breaks[0]) if len(breaks) else len(hits))
        if z is not None:
            keep &= z >= background.STANDS_OUT
        # relevance ends once: a ranking marked relevant, not relevant, relevant again shows no line
        return [bool(k) for k in np.logical_and.accumulate(keep)]
