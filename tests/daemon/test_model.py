"""The CLIP model: checkpoint formats, ids, the no-network error, and the fixture's real accuracy."""

from __future__ import annotations

import random
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SHAPES_MODEL, wait_for

from photosift.daemon.decode import normalise
from photosift.daemon.errors import ModelUnavailable
from photosift.daemon.model import load, locate, model_id_for, resolve_device

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    import clip

sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures"))
from shapes import CLASSES, draw_shape


def test_zero_shot_accuracy_on_fresh_images(model) -> None:
    """The committed fixture is a real trained model: >= 90 % zero-shot on all 16 classes."""
    rng = random.Random(2024)  # not the training seed: these images are new to the model
    images, truth = [], []
    for k, (colour, shape) in enumerate(CLASSES):
        for _ in range(12):
            img = draw_shape(colour, shape, 128, rng).image.resize((64, 64), 3)
            images.append(normalise(img))
            truth.append(k)
    img_emb = model.encode_images(np.stack(images))
    txt_emb = model.encode_texts([f"a photo of a {c} {s}" for c, s in CLASSES])
    accuracy = float(((img_emb @ txt_emb.T).argmax(1) == np.array(truth)).mean())
    assert accuracy >= 0.90, accuracy


def test_fixture_is_small_fp16_and_rebuilds_exactly() -> None:
    assert SHAPES_MODEL.stat().st_size <= 10 * 2**20
    state = torch.load(SHAPES_MODEL, weights_only=True)
    assert state["text_projection"].dtype == torch.float16
    assert state["ln_final.weight"].shape[0] % 64 == 0


def test_embeddings_are_normalised_and_fp32_on_cpu(model) -> None:
    assert model.device == "cpu" and model.dtype == torch.float32
    emb = model.encode_texts(["a red circle", "something blue"])
    assert emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert model.logit_scale > 1



def test_text_encoding_skips_the_padding_without_changing_the_embedding(model) -> None:
    """Our encoder stops at the longest text's end token; clip's runs all 77 positions."""
    texts = ["a red circle", "x", "a blue star on a dark background " * 12, "green"]  # one truncated at 77
    tokens = clip.tokenize(texts, truncate=True)
    with torch.inference_mode():
        full = model.network.encode_text(tokens).float()
    full = (full / full.norm(dim=-1, keepdim=True)).numpy()
    one_by_one = np.concatenate([model.encode_texts([t]) for t in texts])  # 2 to 77 positions each
    assert np.abs(one_by_one - full).max() < 1e-5
    assert np.abs(model.encode_texts(texts[:2]) - full[:2]).max() < 1e-5  # a batch padded to its longest
def test_torchscript_archive_loads_like_the_state_dict(tmp_path: Path, model) -> None:
    traced = torch.jit.trace(
        model.network, (torch.zeros(1, 3, model.input_resolution, model.input_resolution), clip.tokenize(["x"]))
    )
    archive = tmp_path / "shapes-traced.pt"
    traced.save(str(archive))
    loaded = load(str(archive), "cpu", tmp_path, "fp32")
    texts = ["a blue star", "a green square"]
    assert np.allclose(loaded.encode_texts(texts), model.encode_texts(texts), atol=1e-5)


def test_wrapped_state_dict_with_module_prefix(tmp_path: Path, model) -> None:
    state = {f"module.{k}": v for k, v in torch.load(SHAPES_MODEL, weights_only=True).items()}
    path = tmp_path / "wrapped.pt"
    torch.save({"state_dict": state}, path)
    loaded = load(str(path), "cpu", tmp_path, "fp32")
    assert np.allclose(loaded.encode_texts(["red"]), model.encode_texts(["red"]), atol=1e-5)


def test_model_ids_select_collections(tmp_path: Path) -> None:
    assert model_id_for("ViT-B/32") == "clip-ViT-B-32"
    assert model_id_for("RN50x4") == "clip-RN50x4"
    copy = tmp_path / "copy.pt"
    copy.write_bytes(SHAPES_MODEL.read_bytes())
    assert model_id_for(str(copy)) == model_id_for(str(SHAPES_MODEL))  # by content, not by path
    assert model_id_for(str(SHAPES_MODEL)).startswith("ckpt-")


def test_not_a_model_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"definitely not weights")
    with pytest.raises(ModelUnavailable, match="neither a TorchScript archive nor a state_dict"):
        load(str(junk), "cpu", tmp_path)
    with pytest.raises(ModelUnavailable, match="neither a CLIP model name"):
        load(str(tmp_path / "missing.pt"), "cpu", tmp_path)


def test_no_weights_and_no_network_says_where_to_put_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real download code runs against a closed port on loopback, so the test is the same
    # on a machine with network access (where the real URL would fetch 350 MB).
    url = clip.clip._MODELS["ViT-B/32"]
    closed = "http://127.0.0.1:9/" + url.split("/", 3)[3]
    monkeypatch.setitem(clip.clip._MODELS, "ViT-B/32", closed)
    with pytest.raises(ModelUnavailable) as info:
        locate("ViT-B/32", tmp_path)
    message = str(info.value)
    assert "ViT-B-32.pt" in message
    assert str(tmp_path / "clip" / "ViT-B-32.pt") in message
    assert 'model = "/path/to/checkpoint.pt"' in message


def test_device_resolution() -> None:
    assert resolve_device("cpu") == "cpu"
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto") == expected
    if not torch.cuda.is_available():
        with pytest.raises(ModelUnavailable, match="CUDA is not available"):
            resolve_device("cuda")


def test_background_encoding_steps_aside_while_a_query_runs(model) -> None:
    rng = random.Random(5)
    batch = np.stack([normalise(draw_shape(c, s, 64, rng).image) for c, s in CLASSES[:12]])
    result: dict[str, np.ndarray] = {}
    indexer = threading.Thread(target=lambda: result.update(emb=model.encode_images(batch, background=True)),
                               name="test-background-encode")
    with model.priority.query():
        indexer.start()
        wait_for(lambda: model.priority.parked == 1)  # held at a checkpoint inside the network
        assert indexer.is_alive()
        model.encode_texts(["a red circle"])  # the query's own work is not held up
        model.encode_images(batch[:2])
    indexer.join(60)
    assert not indexer.is_alive() and model.priority.parked == 0
    # chunked background encoding gives the embeddings of one whole batch
    assert np.abs(result["emb"] - model.encode_images(batch)).max() < 1e-5
