"""What the library looks like where it is *not* what was asked for: the baseline tags and search
relevance are decided against (docs/tagging.md, docs/api.md "Relevance").

A score (a tag's or a query's cosine with an image) means little on its own:
CLIP's cosines sit at different levels for different texts, and a "dog" score
of 0.25 can be high for one prompt and ordinary for another. What does mean
something is how far an image stands out from the library's *background* for
that text: the images that do not show it, which are most of a library for
almost any concept. `estimate` reads that background from the lower part of
the score distribution over a sample of the library, where matches are not,
so it holds until a concept fills about three quarters of the library.

The second baseline is the neutral prompt: an image is only a match for a text
when it looks more like that text than like "a photo." in general; that is
what keeps a query for something the library does not have from turning up
confident-looking results.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import numpy as np

# the text every image is compared with before it counts as a match: CLIP's plainest prompt
NEUTRAL_PROMPTS = ("a photo.",)
# background spreads above the background's location where a score counts as standing out: a tag's
# confidence is 0.5 there (tags/rule.py), and a search hit can be relevant from there (relevance.py)
STANDS_OUT = 3.0
# below this many indexed images a library says too little about its background
MIN_LIBRARY = 16
# how many stored embeddings stand for the library (quantiles of 4,000 scores are within ~1 % of the
# whole library's, and fetching them by id takes a fraction of a second)
SAMPLE = 4000
# standard-normal quantiles of the 5th and 25th percentiles: the background's spread from its lower part
_Q05, _Q25 = -1.6449, -0.6745


def neutral(encode_texts: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """The neutral prompt's normalised text embedding, by a model's `encode_texts`."""
    mean = encode_texts(list(NEUTRAL_PROMPTS)).mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def estimate(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The background's location and spread for each column of `scores` (images × texts).

    Both come from the 5th and 25th percentiles, as if the background were normal: its spread is
    their distance over the normal's, its location the 25th percentile plus 0.67 spreads. Matches sit
    in the upper tail and do not move either percentile until they are most of the library.
    """
    q05, q25 = np.quantile(scores, [0.05, 0.25], axis=0)
    spread = np.maximum((q25 - q05) / (_Q25 - _Q05), 1e-4)
    return (q25 - _Q25 * spread).astype(np.float32), spread.astype(np.float32)


def drifted(now: int, then: int) -> bool:
    """True when a library of `now` images has changed enough since a baseline taken at `then`
    to be measured again: by a quarter, and by at least MIN_LIBRARY images."""
    return abs(now - then) >= max(MIN_LIBRARY, then // 4)


def sample(paths: Sequence[str], size: int = SAMPLE, seed: int = 0) -> list[str]:
    """A reproducible random sample of at most `size` paths (sorted first, so the same library
    gives the same sample whatever order its paths came in)."""
    ordered = sorted(paths)
    if len(ordered) <= size:
        return ordered
    return random.Random(seed).sample(ordered, size)
