"""`photosift store migrate`: the index moved to a real Chroma server (`chroma run`) and back, by a user whose
daemon runs in the background, with no image encoded (the daemon fills the new store from photosift's copy)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chroma_server import ChromaServer
from helpers import photosift_cmd, wait_for, write_config

from photosift.daemon.client import Client, answering_pid
from photosift.daemon.errors import DaemonNotRunning


def status_of(sock: Path) -> dict | None:
    try:
        with Client(sock, timeout=10) as client:
            return dict(client.status())
    except DaemonNotRunning:
        return None


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(photosift_cmd(*args), capture_output=True, text=True, timeout=600)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    chroma = ChromaServer(tmp_path / "server")
    chroma.start()
    yield chroma
    chroma.stop()


def test_migrate_to_a_server_and_back_encodes_nothing(
    env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: ChromaServer,
    make_shape: Callable[..., Path],
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no user service: the background daemon
    for colour, shape in (("red", "circle"), ("blue", "star"), ("green", "square")):
        make_shape(env["photos"], colour, shape, f"{colour}-{shape}.png")
    write_config(env["config"], folders=[str(env["photos"])], debounce_seconds=0.3)
    sock = env["run"] / "api.sock"
    pids: list[int] = []
    try:
        assert run("start").returncode == 0
        pids.append(answering_pid(sock) or 0)
        moved = run("store", "migrate", "--to", server.url)
        assert moved.returncode == 0, moved.stdout + moved.stderr
        pids.append(answering_pid(sock) or 0)
        assert f"the index now lives at {server.url}" in moved.stdout and "indexed: 3" in moved.stdout
        assert f'store = "{server.url}"' in env["config"].read_text()
        # once the start-up scan is done: it found nothing to encode, every photo was in the new store already
        wait_for(lambda: (s := status_of(sock)) and not s["scans_pending"] and s["scanning"] is None
                 and s["queued"] == 0, 60)
        log = (env["cache"] / "daemon.log").read_text()
        assert "writing 3 record(s) from photosift's copy into the store (no image is encoded)" in log
        assert "new or changed" not in log.split("writing 3 record(s)")[1]
        found = json.loads(run("search", "a blue star", "-k", "1", "--json").stdout)
        assert Path(found[0]["path"]).name == "blue-star.png"  # answered from the server

        back = run("store", "migrate", "--to", "embedded", "--json")
        assert back.returncode == 0, back.stdout + back.stderr
        pids.append(answering_pid(sock) or 0)
        assert json.loads(back.stdout)["indexed"] == 3 and "moved the old embedded store aside" in back.stderr
        assert "store =" not in env["config"].read_text()
        assert len(list(env["data"].glob("chroma.before-migrate-*"))) == 1
        assert run("store", "migrate", "--to", "embedded").stdout.startswith("the index is already at")
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_migrate_refuses_a_server_that_does_not_answer_and_a_bad_target(env: dict[str, Path]) -> None:
    write_config(env["config"], folders=[str(env["photos"])])
    before = env["config"].read_text()
    down = run("store", "migrate", "--to", "http://127.0.0.1:9")
    assert down.returncode == 1 and "does not answer" in down.stderr and "nothing was changed" in down.stderr
    wrong = run("store", "migrate", "--to", "chroma.local")
    assert wrong.returncode == 2 and "argument --to:" in wrong.stderr
    assert env["config"].read_text() == before
