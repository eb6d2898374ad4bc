"""Pairs of images whose embeddings are close: the candidates of near-duplicate groups.

Every stored embedding against every other, in blocks of rows (blocked matrix
products on the CPU, in the encoder's precision where it runs natively): exact,
unlike the HNSW index's neighbours, and on 100,000 records faster than asking
the index 100,000 times (bench/duplicates.py). Each image keeps at most
`NEIGHBOURS` partners, so a library of near-identical screenshots cannot make
the answer quadratic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

BLOCK = 512  # rows per product: 512 x 100,000 scores are 200 MB in float32, 100 MB in bf16
NEIGHBOURS = 16


@dataclass(frozen=True)
class Pair:
    """Two images (indices into the embeddings given) and the cosine of their embeddings; first < second."""

    first: int
    second: int
    cosine: float


def close_pairs(vectors: np.ndarray, threshold: float, dtype: torch.dtype = torch.float32) -> list[Pair]:
    """Every pair of rows of `vectors` (unit length) whose cosine is at least `threshold`, each row with at
    most `NEIGHBOURS` partners among those after it (its closest).

    Only the upper triangle is computed: block i against rows i.. onwards, half the products."""
    n = len(vectors)
    every = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)).to(dtype)
    pairs: list[Pair] = []
    with torch.inference_mode():
        for start in range(0, n, BLOCK):
            scores = every[start : start + BLOCK] @ every[start:].T  # in `dtype`: no conversion of the block
            rows = len(scores)
            # a row against itself and the rows before it within its block: not pairs (or counted already)
            scores[:, :rows].masked_fill_(torch.ones(rows, rows, dtype=torch.bool).tril_(), -1.0)
            top = torch.topk(scores, min(NEIGHBOURS, scores.shape[1]), dim=1)
            best, where = top.values.float().numpy(), top.indices.numpy()
            for row, col in zip(*np.nonzero(best >= threshold), strict=True):
                pairs.append(Pair(start + int(row), start + int(where[row, col]), float(best[row, col])))
    return pairs
