"""Shared fixtures: hermetic dirs, the tiny CLIP fixture, shape images, a served library, thread-leak check."""

from __future__ import annotations

import atexit
import gc
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The desktop's trash for the whole run, never the user's: send2trash moves files through GIO where
# PyGObject is installed (the tray's menu installs it), and GLib reads XDG_DATA_HOME once per process;
# its own fallback reads it once, when imported. So it is set before anything is imported, and the
# `trash` fixture empties it for each test.
TRASH_HOME = Path(tempfile.mkdtemp(prefix="photosift-tests-xdg-data-"))
os.environ["XDG_DATA_HOME"] = str(TRASH_HOME)
atexit.register(shutil.rmtree, TRASH_HOME, True)

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
sys.path.insert(0, str(Path(__file__).parent))

from engine_harness import CountingModel, running_engine  # noqa: E402
from helpers import SHAPES_MODEL  # noqa: E402
from shapes import draw_shape  # noqa: E402

from photosift.daemon.client import Client  # noqa: E402
from photosift.daemon.engine import Engine  # noqa: E402


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail any test that leaves one of photosift's threads running (as watchdog's suite does)."""
    yield
    deadline = time.monotonic() + 5
    while True:
        leaked = [t.name for t in threading.enumerate() if t.name.startswith("photosift-") and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"threads leaked: {leaked}"
    # A stopped engine's store keeps its files open until its objects' cycles are collected; with hundreds of
    # engines in one process the X tests' select() (python-xlib) would meet descriptors past 1024.
    if sys.platform.startswith("linux") and len(os.listdir("/proc/self/fd")) > 256:
        gc.collect()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point config, data, cache and the socket at a temp dir; returns those paths and a `photos` root."""
    dirs = {
        "config": tmp_path / "config.toml",
        "data": tmp_path / "data",
        "cache": tmp_path / "cache",
        "photos": tmp_path / "photos",
        "run": tmp_path / "run",
    }
    dirs["photos"].mkdir()
    monkeypatch.setenv("PHOTOSIFT_CONFIG", str(dirs["config"]))
    monkeypatch.setenv("PHOTOSIFT_DATA_DIR", str(dirs["data"]))
    monkeypatch.setenv("PHOTOSIFT_CACHE_DIR", str(dirs["cache"]))
    monkeypatch.setenv("PHOTOSIFT_RUNTIME_DIR", str(dirs["run"]))
    return dirs


@pytest.fixture(scope="session")
def model():
    """The trained tiny CLIP, loaded once, in fp32: the reference numbers unit tests compare against
    (daemons started by tests choose their precision as users' do; test_calibrate.py covers the choice)."""
    from photosift.daemon.model import load

    return load(str(SHAPES_MODEL), "cpu", Path("/nonexistent-cache"), "fp32")


@pytest.fixture
def make_shape() -> Callable[..., Path]:
    """Write a shape picture: make_shape(folder, "blue", "star", name=None, fmt="PNG", size=128)."""
    rng = random.Random(1234)
    counter = iter(range(10_000))

    def make(folder: Path, colour: str, shape: str, name: str | None = None, fmt: str = "PNG",
             size: int = 128) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[fmt]
        path = folder / (name or f"{colour}-{shape}-{next(counter)}.{ext}")
        draw_shape(colour, shape, size, rng).image.save(path, fmt)
        return path

    return make


# -- a shapes library served by a real engine on a real socket (the API, CLI and window tests) --------


@pytest.fixture
def library(env: dict[str, Path], make_shape: Callable[..., Path]) -> Path:
    photos = env["photos"]
    for colour in ("red", "green", "blue", "yellow"):
        for shape in ("circle", "square", "triangle", "star"):
            make_shape(photos / colour, colour, shape, f"{colour}-{shape}.png")
    return photos


@pytest.fixture
def daemon(env: dict[str, Path], model, library: Path) -> Iterator[Engine]:
    with running_engine(env, CountingModel(model), 16, serve_api=True, socket=str(env["run"] / "api.sock")) as engine:
        yield engine


@pytest.fixture
def client(env: dict[str, Path], daemon: Engine) -> Iterator[Client]:
    with Client(env["run"] / "api.sock") as c:
        yield c


@pytest.fixture
def trash() -> Path:
    """The desktop's trash, emptied: the files really move there, with their .trashinfo (see TRASH_HOME)."""
    folder = TRASH_HOME / "Trash"
    shutil.rmtree(folder, ignore_errors=True)
    return folder
