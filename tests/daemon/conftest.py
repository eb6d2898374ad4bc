"""Fixtures of the API tests: a shapes library and a real engine serving it on a real socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_harness import CountingModel, running_engine

from photosift.daemon.client import Client
from photosift.daemon.engine import Engine


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
