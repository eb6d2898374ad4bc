"""The CLI without a daemon: index --once, status, search, classify (the original exercise)."""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import photosift_cmd, write_config


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(photosift_cmd(*args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def library(env: dict[str, Path], make_shape: Callable[..., Path]) -> Path:
    photos = env["photos"]
    for colour in ("red", "green", "blue", "yellow"):
        for shape in ("circle", "square", "triangle", "star"):
            make_shape(photos, colour, shape, f"{colour}-{shape}.jpg", fmt="JPEG")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    write_config(env["config"], folders=[str(photos)])
    return photos


def test_index_once_then_status_and_search(library: Path) -> None:
    indexed = run("index", str(library), "--once")
    assert indexed.returncode == 0, indexed.stderr
    assert "16 images indexed, 1 failed" in indexed.stdout
    assert "broken.jpg" in indexed.stdout
    assert "indexing" in indexed.stderr  # the progress bar

    status = run("status")
    assert status.returncode == 0, status.stderr
    assert "indexed: 16" in status.stdout and "failed:  1" in status.stdout
    assert "daemon:  not running" in status.stdout

    found = run("search", "a blue star", "-k", "3", "--json")
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)
    assert Path(results[0]["path"]).name == "blue-star.jpg"
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]
    assert set(results[0]) == {"path", "score", "taken_at", "width", "height"}

    table = run("search", "something red", "-k", "4")
    assert table.returncode == 0
    assert sum("red-" in line for line in table.stdout.splitlines()) >= 3


def test_index_refuses_a_missing_folder(env: dict[str, Path]) -> None:
    write_config(env["config"], folders=[str(env["photos"])])
    proc = run("index", str(env["photos"] / "nope"), "--once")
    assert proc.returncode == 2 and "not a folder" in proc.stderr


def test_search_before_anything_is_indexed(env: dict[str, Path]) -> None:
    write_config(env["config"], folders=[str(env["photos"])])
    proc = run("search", "anything")
    assert proc.returncode == 1 and "nothing is indexed yet" in proc.stderr


def test_classify_prints_probabilities_scaled_by_logit_scale(
    env: dict[str, Path], make_shape: Callable[..., Path]
) -> None:
    write_config(env["config"])
    image = make_shape(env["photos"], "green", "triangle")
    proc = run("classify", str(image), "--labels", "a green triangle", "a red circle", "a blue square")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("label")
    top = next(line for line in lines if "◀" in line)
    assert top.startswith("a green triangle")
    as_json = json.loads(run("classify", str(image), "--labels", "a green triangle", "a red circle",
                             "--json").stdout)
    assert as_json[0]["probability"] > 0.9  # a softmax of raw cosines would be near 0.5
    assert sum(item["probability"] for item in as_json) == pytest.approx(1.0, abs=1e-4)


def test_classify_bad_inputs_have_clear_messages(env: dict[str, Path]) -> None:
    write_config(env["config"])
    text = env["photos"] / "note.png"
    text.write_text("hello")
    proc = run("classify", str(text), "--labels", "a", "b")
    assert proc.returncode == 1 and "not a supported image" in proc.stderr and "Traceback" not in proc.stderr
    unreachable = run("classify", "http://127.0.0.1:9/cat.jpg", "--labels", "a", "b")
    assert unreachable.returncode == 1 and "cannot fetch" in unreachable.stderr


def test_classify_an_image_over_http(env: dict[str, Path], make_shape: Callable[..., Path]) -> None:
    """The original exercise's URL input, served for real over loopback HTTP."""
    write_config(env["config"])
    image = make_shape(env["photos"], "red", "star", "star.png")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(env["photos"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{image.name}"
        proc = run("classify", url, "--labels", "a red star", "a blue circle", "--json")
    finally:
        server.shutdown()
        thread.join()
    assert proc.returncode == 0, proc.stderr
    best = max(json.loads(proc.stdout), key=lambda item: item["probability"])
    assert best["label"] == "a red star"
