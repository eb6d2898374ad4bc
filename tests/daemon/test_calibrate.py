"""The encoder's precision: measured on real photos, kept only when it matches fp32, remembered, explained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SHAPES_MODEL

from photosift.daemon import calibrate
from photosift.daemon.errors import ModelUnavailable
from photosift.daemon.model import _state_dict_from_file, build_model, load
from photosift.daemon.precision import convert, native_bf16

needs_native_bf16 = pytest.mark.skipif(native_bf16() is None,
                                       reason="this CPU has no native bf16 (AVX512-BF16 or AMX) to measure")


def test_calibration_images_are_real_photos_in_three_views() -> None:
    images = calibrate.calibration_images(64)
    assert images.shape == (30, 3, 64, 64) and images.dtype == np.float32
    assert len({img.tobytes() for img in images}) == 30, "every view differs"


@needs_native_bf16
def test_auto_measures_once_then_remembers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load(str(SHAPES_MODEL), "cpu", tmp_path)
    assert first.choice.precision in ("bf16", "fp32")
    assert "measured" in first.choice.why
    remembered = json.loads((tmp_path / calibrate.CHOICES_FILE).read_text())
    (key, entry), = remembered.items()
    assert first.model_id in key and f"torch {torch.__version__}" in key
    assert entry == {"precision": first.choice.precision, "why": first.choice.why}
    assert first.dtype == {"bf16": torch.bfloat16, "fp32": torch.float32}[first.choice.precision]

    def measure_again(*args: object) -> None:
        raise AssertionError("a remembered choice is not measured again")

    monkeypatch.setattr(calibrate, "_measure", measure_again)
    again = load(str(SHAPES_MODEL), "cpu", tmp_path)
    assert again.choice == first.choice


@needs_native_bf16
def test_an_unreadable_memory_is_measured_again(tmp_path: Path) -> None:
    (tmp_path / calibrate.CHOICES_FILE).write_text("{not json")
    model = load(str(SHAPES_MODEL), "cpu", tmp_path)
    assert "measured" in model.choice.why
    assert json.loads((tmp_path / calibrate.CHOICES_FILE).read_text())  # rewritten whole


def test_a_cpu_without_native_bf16_runs_fp32_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the one part faked: this machine's CPU features (the decision for a CPU we may not be running on)
    monkeypatch.setattr(calibrate, "native_bf16", lambda: None)
    model = load(str(SHAPES_MODEL), "cpu", tmp_path)
    assert model.choice.precision == "fp32" and model.dtype == torch.float32
    assert "no native bf16" in model.choice.why
    assert not (tmp_path / calibrate.CHOICES_FILE).exists(), "nothing measured, nothing to remember"


def test_bf16_embeds_like_fp32(model, tmp_path: Path) -> None:
    bf16 = load(str(SHAPES_MODEL), "cpu", tmp_path, "bf16")
    assert bf16.choice.precision == "bf16" and bf16.dtype == torch.bfloat16
    assert bf16.choice.why.startswith("as configured")
    images = calibrate.calibration_images(model.input_resolution)
    texts = ["a red circle", "a blue square on a white background", "a green triangle"]
    image_cos = (bf16.encode_images(images, background=True) * model.encode_images(images)).sum(-1)
    text_cos = (bf16.encode_texts(texts) * model.encode_texts(texts)).sum(-1)
    assert image_cos.min() >= calibrate.MIN_COSINE and text_cos.min() >= calibrate.MIN_COSINE
    # layer norms, embeddings and the logit scale stay fp32, as clip keeps them for fp16
    assert bf16.network.ln_final.weight.dtype == torch.float32
    assert bf16.network.visual.conv1.weight.dtype == torch.bfloat16


def test_fp16_on_a_cpu_is_refused_with_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r'precision = "fp16" needs a GPU.*"auto", "bf16" or "fp32"'):
        load(str(SHAPES_MODEL), "cpu", tmp_path, "fp16")


def test_a_candidate_slower_than_fp32_is_not_kept() -> None:
    # fp16 on a CPU runs (torch emulates it) but slowly: a real candidate that loses, with its reason
    reference = convert(build_model(_state_dict_from_file(SHAPES_MODEL)).eval(), "fp32")
    precision, why = calibrate._measure(reference, ["fp16"], "test")
    assert precision == "fp32"
    assert "fp16" in why and ("the speed of fp32" in why or "moved" in why or "top 10" in why)


def test_same_top_allows_only_near_ties_to_swap() -> None:
    base = torch.nn.functional.normalize(torch.randn(30, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    texts = base[:3].clone()
    assert calibrate._same_top(base, texts, base, texts)
    # swap two images' embeddings far apart in every ranking: different top-10s
    moved = base.clone()
    scores = texts @ base.T
    first, last = (int(i) for i in scores[0].argsort(descending=True)[[0, -1]])
    moved[[first, last]] = base[[last, first]]
    assert not calibrate._same_top(moved, texts, base, texts)
