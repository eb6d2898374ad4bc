"""The real `photosift daemon` process: signals, kill -9, the single-writer lock, and the CLI around it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_harness import search_store
from helpers import photosift_cmd, wait_for, write_config

from photosift.daemon.client import Client
from photosift.daemon.errors import DaemonNotRunning
from photosift.daemon.index.store import Store
from photosift.daemon.model import ClipModel, load


def read_status(env: dict[str, Path]) -> dict | None:
    """The daemon's status over its API, or None while nothing answers."""
    try:
        with Client(env["run"] / "api.sock", timeout=10) as client:
            return client.status()
    except DaemonNotRunning:
        return None


@pytest.fixture
def daemons() -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `photosift daemon` subprocesses; any left running are killed at the end."""
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(photosift_cmd("daemon"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def open_store(env: dict[str, Path]) -> tuple[Store, ClipModel]:
    from helpers import SHAPES_MODEL

    model = load(str(SHAPES_MODEL), "cpu", env["cache"])
    return Store.open("", env["data"], model.model_id, model.embed_dim), model


def test_kill_9_mid_indexing_then_restart_yields_every_file_once(
    env: dict[str, Path], make_shape: Callable[..., Path], daemons: Callable[..., subprocess.Popen]
) -> None:
    photos = env["photos"]
    colours, shapes = ["red", "green", "blue", "yellow"], ["circle", "square", "triangle", "star"]
    files = {make_shape(photos / f"d{i % 4}", colours[i % 4], shapes[(i // 4) % 4], size=512) for i in range(120)}
    write_config(env["config"], folders=[str(photos)], batch_size=4, decode_workers=1, rescan_interval=0)

    first = daemons()
    wait_for(lambda: (s := read_status(env)) and s["indexed"] >= 8 and s["queued"] + s["scans_pending"] > 0, 120)
    partial = read_status(env)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert partial is not None and partial["indexed"] < len(files)
    assert (env["run"] / "api.sock").exists()  # left behind by kill -9

    second = daemons()
    wait_for(lambda: (s := read_status(env)) and s["pid"] == second.pid and s["indexed"] == len(files)
             and s["queued"] == 0 and s["scans_pending"] == 0, 240)
    # the store and photosift's own copy of it agree after the kill (or were brought to agree at start)
    check = subprocess.run(photosift_cmd("store", "check", "--json"), capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["copy_records"] == len(files)
    second.send_signal(signal.SIGTERM)
    assert second.wait(60) == 0  # a clean stop on SIGTERM
    assert not (env["run"] / "api.sock").exists()  # the second daemon replaced the first's stale socket

    store, model = open_store(env)
    try:
        records = list(store.records())
        assert store.count() == len(files)
        assert sorted(r.path for r in records) == sorted(str(p) for p in files)  # each exactly once
        hits = search_store(model, store, "a yellow star", 5)
        assert all("yellow-star" in Path(h.record.path).name for h in hits)
    finally:
        store.close()


def test_second_daemon_exits_at_once_and_the_cli_asks_the_first(
    env: dict[str, Path], make_shape: Callable[..., Path], daemons: Callable[..., subprocess.Popen]
) -> None:
    make_shape(env["photos"], "blue", "star")
    write_config(env["config"], folders=[str(env["photos"])])
    first = daemons()
    wait_for(lambda: (s := read_status(env)) and s["indexed"] == 1, 120)

    second = daemons()
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 3
    assert f"another photosift process (pid {first.pid} (daemon))" in err

    status = subprocess.run(photosift_cmd("status", "--json"), capture_output=True, text=True, timeout=60)
    assert status.returncode == 0
    assert json.loads(status.stdout)["indexed"] == 1
    found = subprocess.run(photosift_cmd("search", "a blue star", "--json"), capture_output=True, text=True,
                           timeout=60)
    assert found.returncode == 0, found.stderr  # answered by the running daemon over its socket
    assert Path(json.loads(found.stdout)[0]["path"]).name.startswith("blue-star")

    first.send_signal(signal.SIGINT)
    assert first.wait(60) == 0


def test_the_daemons_last_word_says_why_it_is_down(
    env: dict[str, Path], make_shape: Callable[..., Path], daemons: Callable[..., subprocess.Popen]
) -> None:
    """Why a daemon failed to start, stopped, or died shows wherever it is found down (status here; the
    tray and the window read the same words through the client)."""
    make_shape(env["photos"], "blue", "star")
    missing = env["photos"].parent / "no-such-model.pt"
    write_config(env["config"], folders=[str(env["photos"])], model=str(missing))
    since = time.time()
    failed = daemons()
    assert failed.wait(120) == 1
    down = subprocess.run(photosift_cmd("status"), capture_output=True, text=True, timeout=60)
    assert down.returncode == 3
    assert "it failed to start at" in down.stderr and str(missing) in down.stderr  # the reason, not only "down"
    waited = subprocess.run(photosift_cmd("status", "--wait", "30", "--since", str(since)), capture_output=True,
                            text=True, timeout=60)
    assert waited.returncode == 1 and "it failed to start" in waited.stderr  # what install.sh shows

    write_config(env["config"], folders=[str(env["photos"])])
    since = time.time()
    first = daemons()
    waited = subprocess.run(photosift_cmd("status", "--wait", "120", "--since", str(since)), capture_output=True,
                            text=True, timeout=180)
    assert waited.returncode == 0 and "daemon:  running" in waited.stdout
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0
    stopped = subprocess.run(photosift_cmd("status"), capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 3 and "it stopped at" in stopped.stderr and "SIGTERM received" in stopped.stderr

    second = daemons()
    wait_for(lambda: (s := read_status(env)) and s["pid"] == second.pid, 120)
    second.send_signal(signal.SIGKILL)
    second.wait()
    killed = subprocess.run(photosift_cmd("status"), capture_output=True, text=True, timeout=60)
    assert killed.returncode == 3 and f"it ended without a word (pid {second.pid}" in killed.stderr
