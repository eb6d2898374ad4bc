"""Choosing the encoder's precision on this machine: measured once, then remembered.

With `precision = "auto"` on a CPU that runs bf16 natively, the first start with
a model measures each candidate on real photos (`data/calibration`, bundled):
its speed on a batch, how far its embeddings move from fp32's (the minimum
cosine over 30 images and 10 texts), and whether a probe search (each text and
each image against the 30 images) finds the same top 10. The fastest candidate
that matches fp32 wins. The choice is remembered per model, hardware and
library versions, so later starts cost nothing; any of those changing measures
again. On a GPU there is nothing to measure: CUDA runs fp16, as it always has.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from . import __version__, atomic
from .decode import to_pixels
from .errors import ModelUnavailable
from .precision import DTYPES, Choice, convert, device_name, native_bf16

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # clip imports pkg_resources
    import clip

log = logging.getLogger(__name__)

MIN_COSINE = 0.999  # a candidate's embeddings must stay this close to fp32's, every one of them
TOP_K = 10  # ... and a probe search must find the same images,
# except where fp32 itself scores two images closer than this at the edge of the top 10: such near-ties swap
# under any change of arithmetic (measured: bf16 swaps ties 0.00006-0.0013 apart, fp32's own spread of a top
# 10 being 0.02-0.2), and no user could tell the two results apart
TIE = 0.002
MIN_GAIN = 1.1  # and be clearly faster: measurement noise must not be what changes the numbers
TIMED_BATCH = 16
CALIBRATION = Path(__file__).parent / "data" / "calibration"
QUERIES = (
    "a photo of a cat", "a cup of coffee", "an astronaut", "a rocket on its launch pad", "galaxies in deep space",
    "a black and white photo of a man with a camera", "a brick wall", "cells under a microscope",
    "the back of an eye", "a stained tissue sample",
)
CHOICES_FILE = "encoder-choices.json"

Network = Any  # clip.model.CLIP (see model.py)


@dataclass(frozen=True)
class Trial:
    """One candidate's measurement against fp32."""

    precision: str
    images_per_second: float
    min_cosine: float
    same_top: bool
    error: str | None = None

    @property
    def matches(self) -> bool:
        return self.error is None and self.min_cosine >= MIN_COSINE and self.same_top


@functools.lru_cache(maxsize=2)
def calibration_images(size: int) -> np.ndarray:
    """The bundled photos, each whole, mirrored and zoomed in: (30, 3, size, size) float32."""
    tensors = []
    for path in sorted(CALIBRATION.glob("*.jpg")):
        with Image.open(path) as img:
            photo = img.convert("RGB")
        w, h = photo.size
        zoomed = photo.crop((w // 5, h // 5, w - w // 5, h - h // 5))
        for variant in (photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT), zoomed):
            tensors.append(to_pixels(variant.copy(), size))
    return np.stack(tensors)


def settle(network: Network, model_id: str, device: str, configured: str, cache_dir: Path) -> tuple[Network, Choice]:
    """Put `network` (fp32 or fp16 weights, on `device`) in the precision to run with, and say why."""
    if configured != "auto":
        return _as_configured(network, device, configured)
    if device.startswith("cuda"):
        return convert(network, "fp16"), Choice(device, "torch", "fp16", "CUDA runs fp16 natively")
    if device != "cpu":
        return convert(network, "fp32"), Choice(device, "torch", "fp32", f"{device} runs fp32")
    feature = native_bf16()
    if feature is None:
        return convert(network, "fp32"), Choice(
            device, "torch", "fp32", "this CPU has no native bf16 (neither AVX512-BF16 nor AMX)")
    key = _key(model_id, device)
    remembered = _remembered(cache_dir).get(key)
    if remembered is not None:
        return convert(network, remembered["precision"]), Choice(device, "torch", remembered["precision"],
                                                                  remembered["why"])
    precision, why = _measure(convert(network, "fp32"), ["bf16"], feature)
    _remember(cache_dir, key, {"precision": precision, "why": why})
    return convert(network, precision), Choice(device, "torch", precision, why)


def _as_configured(network: Network, device: str, precision: str) -> tuple[Network, Choice]:
    why = "as configured"
    if precision == "fp16" and device == "cpu":
        raise ModelUnavailable('precision = "fp16" needs a GPU, and this machine encodes on the CPU: '
                               'use "auto", "bf16" or "fp32"')
    if precision == "bf16" and device == "cpu" and native_bf16() is None:
        why += "; this CPU has no native bf16 (neither AVX512-BF16 nor AMX), so it likely runs slower than fp32"
    network = convert(network, precision)
    try:  # a format the device cannot run is told at start, not at the first photo
        with torch.inference_mode():
            network.encode_image(torch.zeros(1, 3, network.visual.input_resolution, network.visual.input_resolution,
                                             device=device, dtype=DTYPES[precision]))
    except RuntimeError as exc:
        raise ModelUnavailable(f'precision = "{precision}" does not run on {device}: {exc}') from exc
    return network, Choice(device, "torch", precision, why)


def _measure(reference: Network, candidates: list[str], feature: str) -> tuple[str, str]:
    """Time fp32 and each candidate on the calibration photos; the fastest that matches fp32 wins."""
    started = time.perf_counter()
    images = torch.from_numpy(calibration_images(int(reference.visual.input_resolution)))
    tokens = clip.tokenize(list(QUERIES))
    with torch.inference_mode():
        base_rate = _rate(lambda x: reference.encode_image(x), images)
        base_images, base_texts = _embed(reference, images, tokens)
    trials = [_trial(reference, p, images, tokens, base_images, base_texts) for p in candidates]
    for t in trials:
        log.info("encoder calibration: %s %.1f images/s (fp32 %.1f), min cosine %.5f, same top %d: %s",
                 t.precision, t.images_per_second, base_rate, t.min_cosine, TOP_K, t.same_top or t.error)
    winners = [t for t in trials if t.matches and t.images_per_second >= MIN_GAIN * base_rate]
    spent = time.perf_counter() - started
    today = date.today().isoformat()
    if winners:
        best = max(winners, key=lambda t: t.images_per_second)
        return best.precision, (
            f"{best.images_per_second / base_rate:.1f}x the speed of fp32 on this CPU ({feature}), embeddings "
            f"within cosine {best.min_cosine:.5f} of fp32 and the same top {TOP_K} (measured {today} in {spent:.0f} s)")
    reasons = [_rejected(t, base_rate) for t in trials]
    return "fp32", f"{'; '.join(reasons)} (measured {today} in {spent:.0f} s)"


def _rejected(trial: Trial, base_rate: float) -> str:
    if trial.error is not None:
        return f"{trial.precision} failed: {trial.error}"
    if trial.min_cosine < MIN_COSINE:
        return f"{trial.precision} moved embeddings too far (min cosine {trial.min_cosine:.5f} < {MIN_COSINE})"
    if not trial.same_top:
        return f"{trial.precision} changed a probe search's top {TOP_K}"
    return (f"{trial.precision} ran at {trial.images_per_second / base_rate:.2f}x the speed of fp32 "
            f"(less than the {MIN_GAIN}x worth changing numbers for)")


def _trial(reference: Network, precision: str, images: torch.Tensor, tokens: torch.Tensor,
           base_images: torch.Tensor, base_texts: torch.Tensor) -> Trial:
    try:
        candidate = convert(copy.deepcopy(reference), precision)
        dtype = DTYPES[precision]
        with torch.inference_mode():
            rate = _rate(lambda x: candidate.encode_image(x.to(dtype)), images)
            got_images, got_texts = _embed(candidate, images.to(dtype), tokens)
    except RuntimeError as exc:  # a kernel this build or CPU lacks
        return Trial(precision, 0.0, 0.0, False, str(exc).splitlines()[0])
    cosines = torch.cat([(got_images * base_images).sum(-1), (got_texts * base_texts).sum(-1)])
    return Trial(precision, rate, float(cosines.min()), _same_top(got_images, got_texts, base_images, base_texts))


def _rate(encode: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> float:
    """Images per second on one batch: the best of at least two runs after a warm-up, and of as many as
    a quarter of a second holds (a small model's batch takes milliseconds, and one run of it is noise)."""
    batch = images[:TIMED_BATCH]
    encode(batch)
    best, runs, deadline = float("inf"), 0, time.perf_counter() + 0.25
    while runs < 2 or time.perf_counter() < deadline:
        start = time.perf_counter()
        encode(batch)
        best = min(best, time.perf_counter() - start)
        runs += 1
    return len(batch) / best


def _embed(network: Network, images: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    feats = network.encode_image(images).float(), network.encode_text(tokens).float()
    return feats[0] / feats[0].norm(dim=-1, keepdim=True), feats[1] / feats[1].norm(dim=-1, keepdim=True)


def _same_top(images: torch.Tensor, texts: torch.Tensor, base_images: torch.Tensor, base_texts: torch.Tensor) -> bool:
    """Whether every probe search (each text, and each image for its similar ones) finds the same top k as
    fp32's, near-ties at its edge aside (see TIE)."""
    scores = torch.cat([texts, images]) @ images.T
    base = torch.cat([base_texts, base_images]) @ base_images.T
    edge = base.topk(TOP_K, dim=-1).values[:, -1:]  # fp32's k-th score of each search
    found = scores.topk(TOP_K, dim=-1).indices
    return bool((base.gather(1, found) >= edge - TIE).all())


def _key(model_id: str, device: str) -> str:
    return f"{model_id} | {device_name(device)} | torch {torch.__version__} | photosift {__version__}"


def _remembered(cache_dir: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads((cache_dir / CHOICES_FILE).read_text())
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: measure again
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items()
            if isinstance(v, dict) and v.get("precision") in DTYPES and isinstance(v.get("why"), str)}


def _remember(cache_dir: Path, key: str, choice: dict[str, str]) -> None:
    choices = _remembered(cache_dir)
    choices[key] = choice
    try:
        atomic.write_text(cache_dir / CHOICES_FILE, json.dumps(choices, indent=2) + "\n")
    except OSError as exc:  # a read-only cache: measure again next time, run now
        log.warning("cannot remember the encoder's precision in %s: %s", cache_dir, exc)

