"""Search marks where its relevant results end, per query, on a real indexed library: 16 shape classes
(5 images each) mixed with scikit-image's and matplotlib's real photographs."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib.cbook
import numpy as np
import pytest
import skimage
from engine_harness import CountingModel, make_engine
from helpers import COLOURS, SHAPES

from photosift.daemon.engine import Engine
from photosift.daemon.searcher import Term

PHOTOS = [p for p in (Path(skimage.__file__).parent / "data").iterdir() if p.suffix in (".png", ".jpg")]
PER_CLASS = 5


@pytest.fixture
def mixed(env: dict[str, Path], model, make_shape: Callable[..., Path]) -> Iterator[Engine]:
    library = env["photos"]
    for colour in COLOURS:
        for shape in SHAPES:
            for n in range(PER_CLASS):
                make_shape(library / colour, colour, shape, f"{colour}-{shape}-{n}.png")
    for photo in PHOTOS:
        shutil.copy(photo, library / photo.name)
    shutil.copy(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), library / "grace_hopper.jpg")
    engine = make_engine(env, CountingModel(model), watch=False)
    engine.start(initial_scan=False)
    try:
        engine.roots.scan(str(library))
        assert len(engine.catalog) == 16 * PER_CLASS + len(PHOTOS) + 1
        yield engine
    finally:
        engine.stop()


def relevant(engine: Engine, text: str, k: int = 40) -> tuple[list[str], list[str]]:
    """(names of the hits marked relevant, names of all k hits)."""
    hits = engine.searcher.search([Term(text=text)], k)
    return [Path(h.record.path).name for h in hits if h.relevant], [Path(h.record.path).name for h in hits]


def test_relevant_hits_are_the_class_asked_for(mixed: Engine) -> None:
    precision, recall = [], []
    for colour in COLOURS:
        for shape in SHAPES:
            marked, ranked = relevant(mixed, f"a {colour} {shape}")
            right = [n for n in marked if n.startswith(f"{colour}-{shape}-")]
            precision.append(len(right) / len(marked) if marked else 0.0)
            recall.append(len(right) / PER_CLASS)
            assert ranked[: len(marked)] == marked and len(marked) < len(ranked)  # the head, and it ends
    assert np.mean(precision) >= 0.9 and np.mean(recall) >= 0.9, (np.mean(precision), np.mean(recall))


def test_a_concept_the_library_does_not_have_gets_few_or_no_relevant_hits(mixed: Engine, env) -> None:
    for path in (env["photos"] / "blue").iterdir():
        path.unlink()
    mixed.roots.scan(str(env["photos"]))
    assert not any("blue" in p for p in mixed.catalog.paths())
    marked, ranked = relevant(mixed, "a blue star")
    assert len(ranked) == 40 and len(marked) <= 3, marked  # k results still come back; few are marked


def test_find_similar_marks_its_relevant_hits(mixed: Engine, env) -> None:
    star = env["photos"] / "red" / "red-star-0.png"
    hits = mixed.searcher.similar([str(star)], 30)
    marked = [Path(h.record.path).name for h in hits if h.relevant]
    names = [Path(h.record.path).name for h in hits]
    assert star.name not in names and names[: len(marked)] == marked and 0 < len(marked) < len(hits)
    # to the tiny model colour is most of a picture: red squares sit as close to a red star as red stars
    assert all(name.startswith("red-") for name in marked), marked
