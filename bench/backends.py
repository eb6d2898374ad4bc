"""The image tower's speed and accuracy by backend and precision, side by side in one run on this machine.

torch fp32, torch bf16 (photosift's mixed precision: layer norms fp32), torch
bf16 autocast, and, when the `openvino` package is importable, OpenVINO f32 and
its bf16 (converted from the same weights; nothing is downloaded). ViT-B/32's
architecture with random weights (speed does not depend on weight values),
batch 16, real photos; each figure the best of several runs, each with its
minimum cosine to torch fp32.

    python bench/backends.py
    PYTHONPATH=/path/to/openvino/site-packages python bench/backends.py   # OpenVINO too
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from machine import describe

from photosift.daemon.calibrate import calibration_images
from photosift.daemon.precision import convert

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from clip.model import CLIP

BATCH = 16


def rate(encode: Callable[[], object], runs: int = 4) -> float:
    encode()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        encode()
        best = min(best, time.perf_counter() - start)
    return BATCH / best


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(1).min())


def main() -> None:
    print(describe())
    torch.manual_seed(0)
    network = convert(CLIP(512, 224, 12, 768, 32, 77, 49408, 512, 8, 12).eval(), "fp32")
    x = torch.from_numpy(calibration_images(224)[:BATCH])
    rows: list[tuple[str, float, float]] = []
    with torch.inference_mode():
        reference = network.encode_image(x).numpy()
        rows.append(("torch fp32", rate(lambda: network.encode_image(x)), 1.0))
        bf16 = convert(copy.deepcopy(network), "bf16")
        rows.append(("torch bf16 (photosift)", rate(lambda: bf16.encode_image(x.bfloat16())),
                     min_cosine(bf16.encode_image(x.bfloat16()).float().numpy(), reference)))

        def autocast() -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return network.encode_image(x)

        rows.append(("torch bf16 autocast", rate(autocast), min_cosine(autocast().float().numpy(), reference)))
    try:
        import openvino as ov
    except ImportError:
        print("openvino is not importable: its rows are left out")
    else:
        core = ov.Core()
        converted = ov.convert_model(network.visual, example_input=x)
        for hint in ("f32", "bf16"):
            compiled = core.compile_model(converted, "CPU", {"INFERENCE_PRECISION_HINT": hint})
            out = compiled(x.numpy())[0]
            rows.append((f"OpenVINO {ov.__version__.split('-')[0]} {hint}", rate(lambda c=compiled: c(x.numpy())),
                         min_cosine(out, reference)))
    base = rows[0][1]
    print(f"{'backend':34s} {'images/s':>9s} {'vs fp32':>8s} {'min cosine':>11s}")
    for name, images_per_second, cosine in rows:
        print(f"{name:34s} {images_per_second:9.1f} {images_per_second / base:8.2f} {cosine:11.5f}")


if __name__ == "__main__":
    main()
