"""Answers to questions about images: text search over the index, zero-shot classification."""

from __future__ import annotations

import io
import urllib.request
from dataclasses import dataclass

import numpy as np

from .decode import Limits, open_image, to_pixels
from .errors import DecodeError
from .index.store import Hit, Store
from .model import ClipModel

URL_TIMEOUT = 20.0
MAX_URL_BYTES = 64 << 20


def search(model: ClipModel, store: Store, text: str, k: int) -> list[Hit]:
    """The k indexed images closest in meaning to `text`."""
    return store.query(model.encode_texts([text])[0], k)


@dataclass(frozen=True)
class Label:
    """A label and the probability the model gives it for one image."""

    text: str
    probability: float


def image_pixels(source: str, size: int, limits: Limits) -> np.ndarray:
    """Preprocess an image given as a local path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=URL_TIMEOUT) as resp:
                data = resp.read(MAX_URL_BYTES + 1)
        except OSError as exc:
            raise DecodeError(f"cannot fetch {source}: {exc}") from exc
        if len(data) > MAX_URL_BYTES:
            raise DecodeError(f"{source} is larger than {MAX_URL_BYTES >> 20} MB")
        img, width, height = open_image(io.BytesIO(data), size, limits)
    else:
        img, width, height = open_image(source, size, limits)
    return to_pixels(img, size, (width, height))


def classify(model: ClipModel, pixels: np.ndarray, labels: list[str]) -> list[Label]:
    """Zero-shot probabilities over `labels`.

    Similarities are multiplied by the model's learned logit scale before the
    softmax, as CLIP's own README does; a softmax of raw cosines (as in the
    original exercise) gives nearly uniform probabilities.
    """
    image = model.encode_images(pixels[None])[0]
    texts = model.encode_texts(labels)
    logits = model.logit_scale * (texts @ image)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    return [Label(t, float(p)) for t, p in zip(labels, probs, strict=False)]
