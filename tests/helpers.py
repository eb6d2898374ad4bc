"""Helpers for tests: config files, polling, the CLI as a subprocess."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from photosift.daemon.config import TagSettings

SHAPES_MODEL = Path(__file__).parent / "fixtures" / "shapes-clip.pt"
COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle", "star")


def shape_tags(*names: str, **extra: object) -> TagSettings:
    """Tagging with only the tags the tiny model knows (its colours and shapes; by default all eight)."""
    return TagSettings(vocabulary="none", custom=tuple((n, ()) for n in names or (*COLOURS, *SHAPES)),
                       **extra)  # type: ignore[arg-type]


def write_config(path: Path, **values: object) -> None:
    """Write a TOML config with the tiny model unless told otherwise."""
    values.setdefault("model", str(SHAPES_MODEL))
    lines = []
    for key, value in values.items():
        if isinstance(value, str):
            lines.append(f"{key} = {value!r}".replace("'", '"'))
        elif isinstance(value, (list, tuple)):
            items = ", ".join(f'"{v}"' for v in value)
            lines.append(f"{key} = [{items}]")
        else:
            lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value}")
    path.write_text("\n".join(lines) + "\n")


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05) -> object:
    """Poll `predicate` until it is truthy; fail with its last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
        value = predicate()
    return value


def photosift_cmd(*args: str) -> list[str]:
    """The photosift CLI as a subprocess command line (the venv's interpreter)."""
    return [sys.executable, "-m", "photosift.daemon", *args]


class FakeClock:
    """A monotonic clock the test moves by hand (`clock.now += 10`)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now
