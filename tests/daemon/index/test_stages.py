"""The pipeline's stages and the writer run inline, one call at a time, on a real temp store with the tiny CLIP:
the cheap layer under the threaded engine tests, where a regression in one stage shows by itself."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from photosift.daemon.decode import Decoded, content_hash
from photosift.daemon.gpu_jpeg import Compressed
from photosift.daemon.index.messages import Done, Encoded, Failed, Move, Remove, Reuse

from .conftest import Parts


def test_a_new_image_is_decoded_encoded_and_written_then_left_alone(
    parts: Parts, make_shape: Callable[..., Path]
) -> None:
    image = make_shape(parts.root, "blue", "star")
    decoded = parts.stages.examine(str(image))
    assert isinstance(decoded, Decoded) and decoded.pixels.shape[0] == 3
    (encoded,) = parts.stages.encode([decoded])
    assert isinstance(encoded, Encoded) and encoded.embeddings.shape == (1, parts.embed_dim)
    assert np.isclose(np.linalg.norm(encoded.embeddings[0]), 1.0, atol=1e-4)
    assert encoded.items[0][1] == str(parts.root)  # its root travels with it
    assert parts.writer.apply(encoded) == ()
    assert parts.catalog.get(str(image)) is not None and parts.store.get(str(image)) is not None
    assert parts.tags.applied == [str(image)]
    assert parts.stages.examine(str(image)) == Done(str(image))  # unchanged: nothing to do


def test_a_copy_reuses_the_stored_embedding(parts: Parts, make_shape: Callable[..., Path]) -> None:
    original = make_shape(parts.root, "red", "circle")
    parts.index(original)
    copy = parts.root / "copy of red circle.png"
    shutil.copyfile(original, copy)
    reused = parts.stages.examine(str(copy))
    assert isinstance(reused, Reuse) and reused.record.path == str(copy)
    parts.writer.apply(reused)
    stored = parts.store.embeddings([str(original), str(copy)])
    # the copy's embedding comes from photosift's float16 copy of the original's: equal within its rounding
    assert np.allclose(stored[str(original)], stored[str(copy)], atol=1e-3)
    assert np.allclose(stored[str(copy)], parts.archive.embeddings([str(original)])[str(original)], atol=1e-6)


def test_a_broken_file_is_recorded_with_its_reason_and_not_retried(parts: Parts) -> None:
    broken = parts.root / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    failed = parts.stages.examine(str(broken))
    assert isinstance(failed, Failed) and "corrupt or truncated" in failed.reason
    parts.writer.apply(failed)
    assert [f.path for f in parts.ledger.all()] == [str(broken)]
    assert parts.stages.examine(str(broken)) == Done(str(broken))  # the same bytes fail the same way


def test_moves_and_removals_keep_the_store_the_catalog_and_the_tags_together(
    parts: Parts, make_shape: Callable[..., Path]
) -> None:
    image = make_shape(parts.root, "green", "square")
    parts.index(image)
    moved = parts.root / "sub" / "square.png"
    moved.parent.mkdir()
    image.rename(moved)
    assert parts.writer.apply(Move(str(image), str(moved), False)) == ()
    assert parts.catalog.get(str(image)) is None and parts.store.get(str(moved)) is not None
    # a file whose source was never indexed has to be looked at as a new one, once it settles
    stranger = make_shape(parts.root, "yellow", "star")
    assert parts.writer.apply(Move(str(parts.root / "elsewhere.png"), str(stranger), False)) == (str(stranger),)
    parts.writer.apply(Remove((str(moved),)))
    assert parts.catalog.get(str(moved)) is None and parts.store.get(str(moved)) is None
    assert parts.tags.removed == [str(image), str(moved)]


def test_a_removal_stopped_part_way_leaves_every_part_in_agreement(
    parts: Parts, make_shape: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a folder of 100,000 leaving the index takes a while; a daemon told to stop ends at the next page,
    # and each page went from the copy, the store, the catalog and the tags together
    monkeypatch.setattr("photosift.daemon.index.writer.PAGE", 2)
    images = [make_shape(parts.root, colour, shape, f"{colour}-{shape}.png")
              for colour in ("red", "blue") for shape in ("circle", "star", "square")]
    for image in images:
        parts.index(image)
    paths = sorted(str(p) for p in images)
    parts.writer.stopping.set()
    parts.writer.apply(Remove(tuple(paths)))
    left = sorted(parts.catalog.paths())
    assert len(left) == 4  # one page went
    assert sorted(r.path for r in parts.store.records()) == left
    assert sorted(parts.archive.embeddings(paths)) == left
    assert sorted(parts.tags.removed) == sorted(set(paths) - set(left))
    parts.writer.stopping.clear()  # the next start finds the rest
    parts.writer.apply(Remove(tuple(left)))
    assert parts.catalog.paths() == set()
    assert parts.store.count() == 0 and parts.archive.count() == 0


def test_a_path_outside_the_roots_or_gone_needs_nothing(parts: Parts, tmp_path: Path,
                                                       make_shape: Callable[..., Path]) -> None:
    outside = make_shape(tmp_path / "elsewhere", "red", "star")
    assert parts.stages.examine(str(outside)) == Done(str(outside))
    assert parts.stages.examine(str(parts.root / "gone.png")) == Done(str(parts.root / "gone.png"))


def test_beside_a_gpu_jpegs_are_read_once_and_decoded_with_their_batch(parts: Parts, tmp_path: Path) -> None:
    # the GPU's path with the CPU as its device (no CUDA here): torchvision decodes instead of nvJPEG
    parts.stages.gpu = "cpu"
    photo = Image.fromarray(data.chelsea())
    photo.save(jpeg := parts.root / "cat.jpg", quality=92)
    photo.save(png := parts.root / "cat.png")
    garbage = parts.root / "garbage.jpg"
    garbage.write_bytes(jpeg.read_bytes()[:600] + b"\x00" * 20000)  # a JPEG's header over nothing
    compressed = parts.stages.examine(str(jpeg))
    assert isinstance(compressed, Compressed) and compressed.orientation == 1
    assert (compressed.width, compressed.height) == (451, 300) and compressed.content_hash == content_hash(jpeg)
    decoded = parts.stages.examine(str(png))
    assert isinstance(decoded, Decoded), "other formats are decoded the CPU way"
    broken = parts.stages.examine(str(garbage))
    assert isinstance(broken, Compressed), "its header passes: only decoding finds it broken"
    ops = parts.stages.encode([compressed, decoded, broken])
    encoded, *failed = ops
    assert isinstance(encoded, Encoded) and [d.path for d, _ in encoded.items] == [str(jpeg), str(png)]
    assert float(encoded.embeddings[0] @ encoded.embeddings[1]) > 0.99, "the same photo, either way"
    assert [type(op) for op in failed] == [Failed] and failed[0].path == str(garbage)
    assert parts.writer.apply(encoded) == ()
    assert parts.catalog.get(str(jpeg)) is not None
