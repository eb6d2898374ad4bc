"""Thumbnails for the search window: upright, cached by file version, made off the calling thread."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from photosift.tray.thumbnails import Thumbnails

ORIENTATION = 0x0112


@pytest.fixture
def thumbs(tmp_path: Path) -> Iterator[Thumbnails]:
    cache = Thumbnails(tmp_path / "cache", size=128)
    yield cache
    cache.close()


def photo(path: Path, orientation: int = 1, size: tuple[int, int] = (600, 400)) -> Path:
    """A real photo (skimage's astronaut), landscape, with an EXIF orientation tag."""
    img = Image.fromarray(data.astronaut()).resize(size)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    img.save(path, "JPEG", exif=exif.tobytes())
    return path


def test_thumbnails_are_small_upright_and_cached(thumbs: Thumbnails, tmp_path: Path) -> None:
    upright = thumbs.make(str(photo(tmp_path / "a.jpg")))
    assert Image.open(upright).size == (128, 85)
    rotated = thumbs.make(str(photo(tmp_path / "b.jpg", orientation=6)))  # a phone held upright
    assert Image.open(rotated).size == (85, 128)
    inode = upright.stat().st_ino
    assert thumbs.cached(str(tmp_path / "a.jpg")) == upright
    assert thumbs.make(str(tmp_path / "a.jpg")) == upright
    assert upright.stat().st_ino == inode  # read back, not made again (a new one replaces the file)


def test_an_edited_photo_gets_a_new_thumbnail(thumbs: Thumbnails, tmp_path: Path) -> None:
    path = photo(tmp_path / "a.jpg")
    first = thumbs.make(str(path))
    photo(path, size=(300, 600))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert thumbs.cached(str(path)) is None
    second = thumbs.make(str(path))
    assert second != first and Image.open(second).size == (64, 128)


def test_requests_run_on_a_worker_and_report_errors(thumbs: Thumbnails, tmp_path: Path) -> None:
    results: dict[str, tuple[Path | None, str | None, str]] = {}

    def done(path: str, thumb: Path | None, error: str | None) -> None:
        results[path] = (thumb, error, threading.current_thread().name)

    good = str(photo(tmp_path / "a.jpg"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")
    for path in (good, str(broken), str(tmp_path / "gone.jpg")):
        thumbs.request(path, done).result(timeout=60)
    assert results[good][0] is not None and results[good][2].startswith("photosift-thumb")
    assert results[str(broken)][0] is None and "corrupt or truncated" in results[str(broken)][1]
    assert results[str(tmp_path / "gone.jpg")][1] == "No such file or directory"


def test_prune_keeps_the_most_recently_used_within_budget(tmp_path: Path) -> None:
    cache = Thumbnails(tmp_path / "cache", size=128, max_bytes=0)
    try:
        made = [cache.make(str(photo(tmp_path / f"{i}.jpg"))) for i in range(3)]
        for age, thumb in enumerate(made):
            os.utime(thumb, (1_000_000 + age, 1_000_000 + age))
        cache.max_bytes = made[2].stat().st_size
        assert cache.prune() == 2
        assert [t.exists() for t in made] == [False, False, True]
    finally:
        cache.close()
