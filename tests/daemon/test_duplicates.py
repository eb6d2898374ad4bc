"""Near-duplicate groups on real photos (scikit-image's) and the shapes fixture: a real engine with the tiny
CLIP, its real store and copy, the real API over the socket and the real CLI."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import torch
from fixtures.shapes import draw_shape
from helpers import photosift_cmd, wait_for
from PIL import Image
from skimage import data

from photosift.daemon.client import Client
from photosift.daemon.decode import perceptual_hash
from photosift.daemon.duplicates.groups import CANDIDATE, MAX_BITS
from photosift.daemon.duplicates.near import close_pairs
from photosift.daemon.engine import Engine
from photosift.daemon.errors import ApiError
from photosift.daemon.index.archive import archive_path

from ..engine_harness import CountingModel, running_engine

YEAR = 365 * 86400
EPOCH_2020 = 1_577_836_800


def save(img: Image.Image, path: Path, when: int, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kwargs)  # type: ignore[arg-type]
    os.utime(path, (when, when))  # no EXIF date: the file's time is when it was taken
    return path


@pytest.fixture
def library(env: dict[str, Path]) -> dict[str, Path]:
    """An astronaut with five copies (re-saved, resized, cropped, stored turned, the same bytes in Downloads),
    a cat and its byte-identical WhatsApp copy, two other photos, and two different red circles."""
    photos = env["photos"]
    astronaut = Image.fromarray(data.astronaut())
    w, h = astronaut.size
    crop = int(w * 0.03)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned, "rotate 90 CW to view", as phones write it
    files = {
        "original": save(astronaut, photos / "astronaut.jpg", EPOCH_2020, quality=95),
        "resaved": save(astronaut, photos / "edits" / "astronaut-q40.jpg", EPOCH_2020 + YEAR, quality=40),
        "resized": save(astronaut.resize((w // 2, h // 2), Image.Resampling.LANCZOS),
                        photos / "edits" / "astronaut-small.jpg", EPOCH_2020 + YEAR, quality=90),
        "cropped": save(astronaut.crop((crop, crop, w - crop, h - crop)), photos / "edits" / "astronaut-crop.jpg",
                        EPOCH_2020 + YEAR, quality=90),
        "turned": save(astronaut.transpose(Image.Transpose.ROTATE_90), photos / "phone" / "IMG_0001.jpg",
                       EPOCH_2020 + 2 * YEAR, quality=95, exif=exif.tobytes()),
        "cat": save(Image.fromarray(data.chelsea()), photos / "chelsea.jpg", EPOCH_2020, quality=92),
        "coffee": save(Image.fromarray(data.coffee()), photos / "coffee.jpg", EPOCH_2020, quality=92),
        "rocket": save(Image.fromarray(data.rocket()), photos / "rocket.jpg", EPOCH_2020, quality=92),
    }
    files["downloaded"] = photos / "Downloads" / "astronaut.jpg"
    files["whatsapp"] = photos / "WhatsApp Images" / "chelsea.jpg"
    for copy, of, when in (("downloaded", "original", EPOCH_2020 + 3 * YEAR), ("whatsapp", "cat", EPOCH_2020)):
        files[copy].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files[of], files[copy])
        os.utime(files[copy], (when, when))
    # two red circles: the same class, in other places and sizes
    circles = [draw_shape("red", "circle", 128, random.Random(seed)).image for seed in (3, 11)]
    assert (perceptual_hash(circles[0]) ^ perceptual_hash(circles[1])).bit_count() > MAX_BITS
    for name, circle in zip(("circle-a", "circle-b"), circles, strict=True):
        files[name] = save(circle, photos / "shapes" / f"{name}.png", EPOCH_2020)
    return files


@pytest.fixture
def engine(env: dict[str, Path], model, library: dict[str, Path]) -> Iterator[Engine]:
    with running_engine(env, CountingModel(model), len(library), serve_api=True,
                        socket=str(env["run"] / "api.sock")) as engine:
        yield engine


def paths(group: dict) -> list[str]:
    return [f["path"] for f in group["files"]]


def test_copies_group_with_the_original_to_keep_first(engine: Engine, library: dict[str, Path]) -> None:
    groups = engine.duplicates()
    astronaut = [str(library[k]) for k in ("original", "resaved", "resized", "cropped", "turned", "downloaded")]
    near = next(g for g in groups if str(library["original"]) in paths(g))
    assert near["kind"] == "near" and sorted(paths(near)) == sorted(astronaut)
    # largest first (the four full-size copies), then the oldest of those, then outside Downloads
    assert paths(near)[0] == str(library["original"]) and near["files"][0]["keep"]
    assert [f["keep"] for f in near["files"]].count(True) == 1
    assert paths(near)[-2:] in ([str(library["cropped"]), str(library["resized"])],)
    assert near["files"][0]["width"] == 512 and near["files"][0]["folder"] == str(library["original"].parent)
    # the same bytes in WhatsApp's folder: the copy outside it is kept
    identical = next(g for g in groups if str(library["cat"]) in paths(g))
    assert identical["kind"] == "identical" and paths(identical) == [str(library["cat"]), str(library["whatsapp"])]
    assert len(groups) == 2  # the other photos and the two circles stand alone


def test_the_two_circles_are_proposed_by_their_embeddings_and_refused_by_their_pictures(
    engine: Engine, library: dict[str, Path]
) -> None:
    stored = engine.archive.embeddings([str(library["circle-a"]), str(library["circle-b"])])
    a, b = stored[str(library["circle-a"])], stored[str(library["circle-b"])]
    cosine = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert cosine >= CANDIDATE  # the tiny model sees two red circles alike: only the pHash tells them apart
    assert not any(str(library["circle-a"]) in paths(g) for g in engine.duplicates())


def test_hashes_missing_from_older_indexes_are_computed_once(engine: Engine, env: dict[str, Path],
                                                             library: dict[str, Path]) -> None:
    before = engine.duplicates()
    copy = archive_path(env["data"], engine.model.model_id)  # type: ignore[union-attr]
    with sqlite3.connect(copy) as db:  # as an index made before photosift kept them
        db.execute("DELETE FROM phashes")
    assert engine.archive.phashes([engine.catalog.get(str(library["original"])).content_hash]) == {}  # type: ignore[union-attr]
    assert engine.duplicates() == before
    digests = {r.content_hash for p in engine.catalog.paths() if (r := engine.catalog.get(p)) is not None}
    assert len(engine.archive.phashes(digests)) >= 7  # the candidates' hashes, decoded once and kept


def test_a_folder_narrows_the_search_through_the_api_and_the_cli(engine: Engine, env: dict[str, Path],
                                                                 library: dict[str, Path]) -> None:
    with Client(env["run"] / "api.sock") as client:
        inside = client.duplicates(str(library["original"].parent / "edits"))
        edits = sorted(str(library[k]) for k in ("resaved", "resized", "cropped"))
        assert [sorted(paths(g)) for g in inside] == [edits]
        with pytest.raises(ApiError) as relative:
            client.duplicates("edits")
        assert relative.value.status == 422 and relative.value.code == "relative_path"
    shown = subprocess.run(photosift_cmd("duplicates", "--json"), capture_output=True, text=True, timeout=120,
                           check=True)
    assert json.loads(shown.stdout) == engine.duplicates()
    text = subprocess.run(photosift_cmd("duplicates", str(env["photos"])), capture_output=True, text=True,
                          timeout=120, check=True).stdout
    assert f"keep  {library['original']}  512x512" in text and "2 group(s); keeping one of each would free" in text


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_close_pairs_are_every_pair_over_the_line_across_blocks(monkeypatch: pytest.MonkeyPatch,
                                                                dtype: torch.dtype) -> None:
    monkeypatch.setattr("photosift.daemon.duplicates.near.BLOCK", 7)  # pairs inside and across blocks
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 16)).astype(np.float32)
    for a, b in ((0, 1), (2, 30), (13, 14), (6, 7), (20, 39)):  # near-copies, some across a block's edge
        vectors[b] = vectors[a] + rng.normal(size=16).astype(np.float32) * 0.02
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = vectors @ vectors.T
    expected = {(i, j) for i in range(40) for j in range(i + 1, 40) if exact[i, j] >= 0.95}
    assert expected == {(0, 1), (2, 30), (13, 14), (6, 7), (20, 39)}
    got = close_pairs(vectors, 0.95, dtype)
    assert {(p.first, p.second) for p in got} == expected
    assert all(abs(p.cosine - exact[p.first, p.second]) < 0.01 for p in got)


def test_what_the_user_lets_go_goes_to_the_trash_and_leaves_the_index(
    engine: Engine, env: dict[str, Path], library: dict[str, Path], trash: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.jpg"
    shutil.copyfile(library["coffee"], outside)
    chosen = [str(library["resaved"]), str(library["whatsapp"])]
    with Client(env["run"] / "api.sock") as client:
        answer = client.trash([*chosen, str(outside), str(env["photos"] / "gone.jpg"),
                               str(library["original"].parent)])
    assert answer["trashed"] == chosen
    assert [(f["path"], f["reason"]) for f in answer["failed"]] == [
        (str(outside), "not inside a watched folder"),
        (str(env["photos"] / "gone.jpg"), "no such file"),
        (str(library["original"].parent), "a folder (only photos are sent to the trash)"),
    ]
    assert outside.exists() and library["original"].exists()  # refused ones untouched
    refused = subprocess.run(photosift_cmd("trash", str(outside)), capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and refused.stderr == f"not moved: {outside}: not inside a watched folder\n"
    for path in chosen:  # in the freedesktop trash, with what restores them
        name = Path(path).name
        assert (trash / "files" / name).exists() and not Path(path).exists()
        assert f"Path={quote(path)}" in (trash / "info" / f"{name}.trashinfo").read_text()
    wait_for(lambda: not set(chosen) & engine.catalog.paths(), 30)  # the index follows, as for any deletion
    groups = engine.duplicates()
    assert not any(set(chosen) & set(paths(g)) for g in groups)
    assert len(groups) == 1  # the cat's WhatsApp copy went: its group with it
