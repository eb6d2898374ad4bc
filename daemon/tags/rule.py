"""Turning image embeddings into tags: the rule, and the tag text embeddings it compares against.

The rule (documented in docs/tagging.md): for each image, CLIP's zero-shot
classifier over the whole vocabulary, i.e. a softmax of the cosine
similarities scaled by the model's logit scale, and then every tag whose
probability is at least `min_probability`, best first, at most `max_tags`.
A softmax over hundreds of concepts spreads the probability over the few that
fit (a dog on a beach: "dog", "beach", "puppy"...), so a threshold of about 0.1
keeps those and drops the long tail; an image that fits nothing well gets no
tag instead of a wrong one.

Each tag's text embedding is the normalised mean of its prompts' embeddings
(prompt ensembling, as in the CLIP paper). Computing them costs a text-tower
pass per prompt (seconds for the default vocabulary on a CPU), so they are
cached on disk per model and vocabulary fingerprint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..config import TagSettings
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)

PROMPT_BATCH = 64


class TextEncoder(Protocol):
    """What embedding a vocabulary needs from a model (model.py's ClipModel)."""

    logit_scale: float

    @property
    def model_id(self) -> str: ...

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Score:
    """One tag's evidence for one image."""

    tag: str
    cosine: float
    probability: float


class Tagger:
    """Decides the tags of image embeddings against a vocabulary."""

    def __init__(self, vocabulary: Vocabulary, settings: TagSettings, tag_embeddings: np.ndarray,
                 logit_scale: float) -> None:
        self.vocabulary = vocabulary
        self.settings = settings
        self.names = vocabulary.names
        self.matrix = tag_embeddings.astype(np.float32)  # (tags, dim), rows normalised
        self.logit_scale = logit_scale

    @classmethod
    def build(cls, model: TextEncoder, vocabulary: Vocabulary, settings: TagSettings,
              cache_dir: Path | None = None) -> Tagger:
        """Embed the vocabulary with `model` (or load the cached embeddings of this exact vocabulary)."""
        cache = cache_dir / f"tags-{model.model_id}-{vocabulary.fingerprint()}.npy" if cache_dir else None
        if cache is not None and cache.exists():
            matrix = np.load(cache)
            if matrix.shape[0] == len(vocabulary.tags):
                return cls(vocabulary, settings, matrix, model.logit_scale)
        matrix = embed_vocabulary(model, vocabulary)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npy")
            np.save(tmp, matrix)
            tmp.replace(cache)
        return cls(vocabulary, settings, matrix, model.logit_scale)

    def probabilities(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cosines, softmax probabilities), each (images, tags)."""
        cosines = embeddings.astype(np.float32) @ self.matrix.T
        logits = self.logit_scale * cosines
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return cosines, weights / weights.sum(axis=1, keepdims=True)

    def decide(self, embeddings: np.ndarray) -> list[list[tuple[str, float]]]:
        """Each image's tags with their probabilities, best first."""
        if not len(self.names) or not len(embeddings):
            return [[] for _ in range(len(embeddings))]
        _, probs = self.probabilities(embeddings)
        n = min(self.settings.max_tags, len(self.names))
        # the n best of each row without sorting whole rows (hundreds of tags × 100,000 images)
        top = np.argpartition(-probs, n - 1, axis=1)[:, :n]
        chosen = []
        for row, candidates in zip(probs, top, strict=True):
            order = candidates[np.argsort(-row[candidates])]
            chosen.append([(self.names[i], float(row[i])) for i in order if row[i] >= self.settings.min_probability])
        return chosen

    def explain(self, embedding: np.ndarray, limit: int = 20) -> list[Score]:
        """The best-scoring tags of one image, with what the rule saw."""
        cosines, probs = self.probabilities(embedding[None, :])
        order = np.argsort(-probs[0])[:limit]
        return [Score(self.names[i], float(cosines[0, i]), float(probs[0, i])) for i in order]


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
