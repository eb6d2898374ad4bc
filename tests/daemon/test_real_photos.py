"""scikit-image's and matplotlib's bundled photographs index through the real engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.cbook
import pytest
import skimage
from engine_harness import CountingModel, indexed_paths, make_engine

SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
PHOTOS = [
    "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "retina.jpg",
    "hubble_deep_field.jpg", "page.png", "camera.png", "logo.png",  # logo.png has an alpha channel
    "no_time_for_that_tiny.gif",  # animated
    "multipage.tif", "multipage_rgb.tif",  # multipage; the second is planar RGB
]


@pytest.fixture
def counting(model) -> CountingModel:
    return CountingModel(model)


def test_real_photos_decode_and_index(env: dict[str, Path], counting: CountingModel) -> None:
    library = env["photos"]
    for name in PHOTOS:
        shutil.copy(SKIMAGE_DATA / name, library / name)
    shutil.copy(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), library / "grace_hopper.JPG")
    engine = make_engine(env, counting, watch=False)
    engine.start(initial_scan=False)
    try:
        engine.roots.scan(str(library))
        status = engine.status()
        indexed = indexed_paths(engine)
        records = {Path(r.path).name: r for r in engine.store.records()}
    finally:
        engine.stop()
    assert status["failed"] == 0, status["failures"]
    assert indexed == {str(p) for p in library.iterdir()}
    assert counting.images_encoded == len(PHOTOS) + 1
    assert (records["astronaut.png"].width, records["astronaut.png"].height) == (512, 512)
    assert (records["grace_hopper.JPG"].width, records["grace_hopper.JPG"].height) == (512, 600)
