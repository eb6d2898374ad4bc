"""Turning image embeddings into tags: each tag decided on its own evidence (docs/tagging.md).

For an image and a tag, with `c` the image's cosine with the tag's text embedding:

1. **It must beat the neutral prompt**: `c` above the image's cosine with "a photo."
   (background.NEUTRAL_PROMPTS) — the image looks more like the tag than like any photo.
2. **It must stand out from the library**: `z = (c - location) / spread`, against the library's
   background for this tag (background.estimate over a sample of stored embeddings:
   `Calibration`). The tag's confidence is `sigmoid(z - STANDS_OUT)`: 0.5 at three background
   spreads above what the library's photos typically score, 0.88 at five. A tag is chosen at
   `min_confidence` (default 0.5) or at the tag's own threshold.
   Until the library has background.MIN_LIBRARY images there is no background to stand out
   from; the confidence is then CLIP's own two-way zero-shot probability of the tag against the
   neutral prompt, `sigmoid(logit_scale * (c - neutral))`.
3. **Facets** are groups of mutually exclusive tags (seasons; colours in a user's own
   vocabulary): within a facet, CLIP's softmax over its members decides, only the winner can be
   chosen, and its confidence is its softmax probability (it must still beat the neutral prompt, and
   once calibrated score at least the library's background location: z ≥ 0).
4. **Explained away, and the cap**: tags are taken best first, at most `max_tags`. A tag whose
   scores move with an already taken one's across the library (correlation ρ) keeps only the
   evidence that one does not explain, `(z - ρ z_taken) / sqrt(1 - ρ²)`: "puppy" after "dog", or
   "ocean" after "sea", must stand out on its own to be kept, so five tags are five things about
   the photo rather than five words for one.

Each tag's text embedding is the normalised mean of its prompts' embeddings (prompt ensembling, as
in the CLIP paper), cached on disk per model and vocabulary fingerprint: computing them costs a text-
tower pass per prompt, seconds for the default vocabulary on a CPU.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .. import background
from ..config import TagSettings
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)

PROMPT_BATCH = 64
# a tag explained by another this well (correlation) has nothing left of its own: keeps the division sane
MAX_CORRELATION = 0.999
# images decided at once: bounds the (images × tags) arrays (4,096 × 355 floats: 6 MB each)
CHUNK = 4096


class TextEncoder(Protocol):
    """What embedding a vocabulary needs from a model (model.py's ClipModel)."""

    logit_scale: float

    @property
    def model_id(self) -> str: ...

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Calibration:
    """The library's background for every tag, measured on a sample of its stored embeddings.

    `library` is how many images the library had then; 0 with empty arrays is the prior (too few
    images to measure: confidences are zero-shot probabilities against the neutral prompt).
    """

    library: int
    location: np.ndarray  # (tags,)
    spread: np.ndarray  # (tags,)
    correlation: np.ndarray  # (tags, tags) of the tags' scores across the library; 0 on the diagonal

    @property
    def measured(self) -> bool:
        return self.location.size > 0

    @classmethod
    def prior(cls, library: int = 0) -> Calibration:
        empty = np.zeros(0, dtype=np.float32)
        return cls(library, empty, empty, np.zeros((0, 0), dtype=np.float16))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, library=np.array(self.library), location=self.location, spread=self.spread,
                 correlation=self.correlation)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Calibration:
        with np.load(io.BytesIO(data)) as saved:
            return cls(int(saved["library"]), saved["location"], saved["spread"], saved["correlation"])


@dataclass(frozen=True)
class Verdict:
    """One tag's evidence for one image, and what the rule made of it."""

    tag: str
    cosine: float
    neutral: float  # the image's cosine with the neutral prompt
    z: float | None  # spreads above the library's background (None: not measured yet)
    confidence: float
    threshold: float
    facet: str | None
    chosen: bool
    why: str


class Tagger:
    """Decides the tags of image embeddings against a vocabulary."""

    def __init__(self, vocabulary: Vocabulary, settings: TagSettings, tag_embeddings: np.ndarray,
                 neutral: np.ndarray, logit_scale: float) -> None:
        self.vocabulary = vocabulary
        self.settings = settings
        self.names = vocabulary.names
        self.matrix = tag_embeddings.astype(np.float32)  # (tags, dim), rows normalised
        self.neutral = neutral.astype(np.float32)
        self.logit_scale = logit_scale
        index = {name: i for i, name in enumerate(self.names)}
        self.facets = {name: np.array([index[m] for m in members]) for name, members in vocabulary.facets}
        self.facet_of: dict[int, str] = {int(i): name for name, members in self.facets.items() for i in members}
        own = dict(settings.thresholds)
        self.thresholds = np.array([own.get(n, settings.min_confidence) for n in self.names], dtype=np.float32)
        self.calibration = Calibration.prior()  # until `calibrate` is given the library's

    @classmethod
    def build(cls, model: TextEncoder, vocabulary: Vocabulary, settings: TagSettings,
              cache_dir: Path | None = None) -> Tagger:
        """Embed the vocabulary with `model` (or load the cached embeddings of this exact vocabulary)."""
        # the cache holds the tag rows and, last, the neutral prompt's: the rule needs both
        key = hashlib.sha256("\0".join(background.NEUTRAL_PROMPTS).encode()).hexdigest()[:6]
        cache = cache_dir / f"tags-{model.model_id}-{vocabulary.fingerprint()}-{key}.npy" if cache_dir else None
        if cache is not None and cache.exists():
            rows = np.load(cache)
            if rows.shape[0] == len(vocabulary.tags) + 1:
                return cls(vocabulary, settings, rows[:-1], rows[-1], model.logit_scale)
        matrix = embed_vocabulary(model, vocabulary)
        neutral = background.neutral(model.encode_texts)
        if cache is not None and len(matrix):
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npy")
            np.save(tmp, np.concatenate([matrix, neutral[None]]))
            tmp.replace(cache)
        return cls(vocabulary, settings, matrix, neutral, model.logit_scale)

    def measure(self, sample: np.ndarray, library: int) -> Calibration:
        """The background of every tag over `sample` (stored embeddings standing for a library of
        `library` images); the prior when the library is too small to say."""
        if library < background.MIN_LIBRARY or len(sample) < background.MIN_LIBRARY or not self.names:
            return Calibration.prior(library)
        cosines = sample.astype(np.float32) @ self.matrix.T
        location, spread = background.estimate(cosines)
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = np.nan_to_num(np.corrcoef(cosines.T), nan=0.0).reshape(len(self.names), len(self.names))
        np.fill_diagonal(correlation, 0.0)
        # a correlation that chance gives a sample this small (about three standard errors) explains nothing
        correlation[np.abs(correlation) < 3.0 / np.sqrt(len(sample))] = 0.0
        return Calibration(library, location, spread, correlation.astype(np.float16))

    def calibrate(self, calibration: Calibration) -> None:
        """Decide from now on against `calibration` (one measured for another vocabulary is refused)."""
        if calibration.measured and calibration.location.shape != (len(self.names),):
            raise ValueError("the calibration was measured for another vocabulary")
        self.calibration = calibration

    def _evidence(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(cosines, neutral cosines, confidences, z or None), for images × tags."""
        embeddings = embeddings.astype(np.float32)
        cosines = embeddings @ self.matrix.T
        neutral = embeddings @ self.neutral
        z = None
        cal = self.calibration
        if cal.measured:
            z = (cosines - cal.location) / cal.spread
            confidence = _sigmoid(z - background.STANDS_OUT)
        else:
            confidence = _sigmoid(self.logit_scale * (cosines - neutral[:, None]))
        for members in self.facets.values():  # within a facet CLIP's softmax decides, and only its winner counts
            logits = self.logit_scale * cosines[:, members]
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            losers = probs < probs.max(axis=1, keepdims=True)
            if z is not None:  # a winner must also score at least what the library's photos typically do
                losers |= z[:, members] < 0.0
            confidence[:, members] = np.where(losers, 0.0, probs)
        return cosines, neutral, confidence, z

    def decide(self, embeddings: np.ndarray) -> list[list[tuple[str, float]]]:
        """Each image's tags with their confidences, best first."""
        if not len(self.names) or not len(embeddings):
            return [[] for _ in range(len(embeddings))]
        chosen = []
        for start in range(0, len(embeddings), CHUNK):  # (images × tags) arrays a chunk at a time
            cosines, neutral, confidence, z = self._evidence(embeddings[start : start + CHUNK])
            eligible = (confidence >= self.thresholds) & (cosines > neutral[:, None])
            for i, row in enumerate(eligible):
                candidates = np.flatnonzero(row)  # a handful per image, or none
                if len(candidates) <= 1:  # most images: nothing to order or explain away
                    chosen.append([(self.names[j], float(confidence[i, j])) for j in candidates])
                    continue
                taken = self._take(candidates, confidence[i], None if z is None else z[i])[0]
                chosen.append([(self.names[j], c) for j, c in taken])
        return chosen

    def _take(self, candidates: np.ndarray, confidence: np.ndarray,
              z: np.ndarray | None) -> tuple[list[tuple[int, float]], dict[int, str]]:
        """The tags taken from one image's eligible `candidates`, with their confidences, and why each
        other candidate was not taken. Plain floats over the few candidates: this runs per image."""
        waiting = [int(j) for j in candidates]
        given = {j: float(confidence[j]) for j in waiting}
        own_z = {j: float(z[j]) for j in waiting} if z is not None else None
        left_z = dict(own_z) if own_z is not None else None  # each tag's evidence not yet explained
        facet_of = self.facet_of
        taken: list[tuple[int, float]] = []
        left: dict[int, str] = {}

        def score(j: int) -> float:  # facet winners keep their softmax probability
            return given[j] if left_z is None or j in facet_of else _confidence(left_z[j])

        # best first, by a heap whose entries go stale when a taken tag explains some evidence away:
        # a stale entry is pushed back with its lower score (scores only ever go down)
        heap = [(-score(j), j) for j in waiting]
        heapq.heapify(heap)
        while heap:
            negative, j = heapq.heappop(heap)
            kept = score(j)
            if kept < -negative:
                heapq.heappush(heap, (-kept, j))
                continue
            if kept < self.thresholds[j]:
                continue  # explained away (said in `left`) by a tag taken before
            if len(taken) >= self.settings.max_tags:
                left[j] = f"max_tags ({self.settings.max_tags}) reached"
                continue
            taken.append((j, kept))
            if own_z is None or left_z is None:
                continue
            correlation = self.calibration.correlation
            for _, r in heap:
                rho = min(float(correlation[j, r]), MAX_CORRELATION)
                if r in facet_of or rho <= 0.0:
                    continue
                value = (own_z[r] - rho * own_z[j]) / math.sqrt(1.0 - rho * rho)
                if value < left_z[r]:
                    left_z[r] = value
                    if _confidence(value) < self.thresholds[r]:
                        left[r] = (f'explained by "{self.names[j]}" '
                                   f"(what is left of its evidence: {value:.1f} spreads)")
        return taken, left

    def explain(self, embedding: np.ndarray, limit: int = 20) -> list[Verdict]:
        """The rule's view of one image: the chosen tags, then the best of the rest, each with its
        evidence and why it was or was not chosen."""
        all_cosines, neutrals, confidences, zs = self._evidence(embedding[None])
        cosines, neutral, confidence = all_cosines[0], float(neutrals[0]), confidences[0]
        z = None if zs is None else zs[0]
        eligible = np.flatnonzero((confidence >= self.thresholds) & (cosines > neutral))
        taken, left = self._take(eligible, confidence, z)
        kept = dict(taken)
        order = [int(i) for i in np.argsort(-confidence) if int(i) not in kept]
        verdicts = []
        for i in [j for j, _ in taken] + order[: max(0, limit - len(taken))]:
            facet = self.facet_of.get(i)
            if i in kept:
                why = "chosen"
            elif i in left:
                why = left[i]
            elif facet is not None and confidence[i] == 0.0:
                winner = max(self.facets[facet], key=lambda j: cosines[j])
                why = (f'facet "{facet}" went to "{self.names[winner]}"' if winner != i else
                       f'won facet "{facet}" but scores below what the library typically does')
            elif cosines[i] <= neutral:
                why = "scores no higher than the neutral prompt"
            else:
                why = f"confidence under its threshold {self.thresholds[i]:.2f}"
            verdicts.append(Verdict(self.names[i], float(cosines[i]), neutral, None if z is None else float(z[i]),
                                    kept.get(i, float(confidence[i])), float(self.thresholds[i]), facet,
                                    i in kept, why))
        return verdicts


def _confidence(z: float) -> float:
    """The confidence of a tag standing `z` spreads above its background (one value of `_sigmoid`)."""
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z - background.STANDS_OUT))))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))).astype(np.float32)


def embed_vocabulary(model: TextEncoder, vocabulary: Vocabulary) -> np.ndarray:
    """Each tag's normalised mean prompt embedding, (tags, dim)."""
    prompts = [p for tag in vocabulary.tags for p in tag.prompts]
    if not prompts:
        return np.zeros((0, 0), dtype=np.float32)
    log.info("embedding %d tags (%d prompts)", len(vocabulary.tags), len(prompts))
    vectors = np.concatenate([model.encode_texts(prompts[i : i + PROMPT_BATCH])
                              for i in range(0, len(prompts), PROMPT_BATCH)])
    rows, start = [], 0
    for tag in vocabulary.tags:
        mean = vectors[start : start + len(tag.prompts)].mean(axis=0)
        rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        start += len(tag.prompts)
    return np.stack(rows).astype(np.float32)
