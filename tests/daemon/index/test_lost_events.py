"""Every lost event becomes a scan: an inotify queue overflow, and folders the watch limit leaves unwatched.

The real daemon in a subprocess, with the kernel's real limits lowered for it
alone: the event queue (`fs.inotify.max_queued_events`, a system-wide setting
that each inotify instance takes when it is made, so it is lowered only until
the daemon has made its own, and restored in a `finally`), and the number of
watches (`max_inotify_watches` of a user namespace of its own, `unshare -Ur`).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import SHAPES_MODEL, photosift_cmd, wait_for, write_config

from photosift.daemon.client import Client
from photosift.daemon.errors import DaemonNotRunning

QUEUED_EVENTS = Path("/proc/sys/fs/inotify/max_queued_events")


def read_status(env: dict[str, Path]) -> dict | None:
    try:
        with Client(env["run"] / "api.sock", timeout=10) as client:
            return dict(client.status())
    except DaemonNotRunning:
        return None


@pytest.fixture
def daemon(env: dict[str, Path]) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `photosift daemon` (optionally behind a prefix such as `unshare`); stopped at the end."""
    procs: list[subprocess.Popen[str]] = []

    def start(prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
        write_config(env["config"], folders=[str(env["photos"])], model=str(SHAPES_MODEL), debounce_seconds=0.3,
                     rescan_interval=0, socket=str(env["run"] / "api.sock"))
        proc = subprocess.Popen([*prefix, *photosift_cmd("daemon")], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.communicate()


def copies(source: Path, folder: Path, n: int) -> list[Path]:
    """`n` copies of `source` in `folder`, made as fast as a separate process can (the daemon's reader
    competes with nothing of ours for the interpreter)."""
    script = ("import shutil, sys\nsrc, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
              "for i in range(n):\n    shutil.copyfile(src, f'{dst}/copy-{i}.png')\n")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", script, str(source), str(folder), str(n)], check=True, timeout=120)
    return [folder / f"copy-{i}.png" for i in range(n)]


def test_an_event_queue_overflow_starts_a_rescan_and_nothing_is_missed(
    env: dict[str, Path], make_shape: Callable[..., Path], daemon: Callable[..., subprocess.Popen[str]]
) -> None:
    try:
        original = QUEUED_EVENTS.read_text()
        QUEUED_EVENTS.write_text("64\n")
    except OSError as exc:
        pytest.skip(f"lowering fs.inotify.max_queued_events needs root here: {exc}")
    photo = make_shape(env["photos"], "red", "circle")
    try:
        proc = daemon()
        wait_for(lambda: (s := read_status(env)) and s["indexed"] == 1 and s["roots"][0]["watched"] == "yes", 120)
    finally:
        QUEUED_EVENTS.write_text(original)  # the daemon's inotify instance keeps its small queue

    made = copies(photo, env["photos"] / "burst", 2000)
    wait_for(lambda: (s := read_status(env)) and s["indexed"] == 1 + len(made) and s["queued"] == 0, 240)
    status = read_status(env)
    assert status is not None and status["overflows"] >= 1  # events were really lost, and made up for
    assert proc.poll() is None


def test_folders_past_the_watch_limit_are_shown_warned_about_once_and_polled(
    env: dict[str, Path], make_shape: Callable[..., Path], daemon: Callable[..., subprocess.Popen[str]]
) -> None:
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-Ur", "true"], capture_output=True, text=True, check=False)
    if unshare is None or probe.returncode != 0:
        pytest.skip(f"a user namespace (unshare -Ur) is needed to lower the watch limit: {probe.stderr.strip()}")
    photos = env["photos"]
    make_shape(photos, "red", "circle")
    for i in range(200):
        (photos / f"album-{i:03d}").mkdir()
    limited = ("unshare", "-Ur", "sh", "-c", 'echo 20 > /proc/sys/user/max_inotify_watches && exec "$@"', "sh")
    proc = daemon(limited)

    def partial() -> dict | None:
        status = read_status(env)
        return status if status and status["roots"][0]["watched"] == "partial" else None

    status = wait_for(partial, 120)
    assert isinstance(status, dict) and status["roots"][0]["unwatched"] >= 150

    # a photo in folders that no watch covers is found by the poll (every 30 s)
    late = [make_shape(photos / f"album-{i:03d}", "blue", "star") for i in (57, 123, 199)]
    # a folder created now is never missed, nor a photo put in it afterwards
    new_folder = make_shape(photos / "new-album", "green", "square")
    wait_for(lambda: (s := read_status(env)) and s["indexed"] == 1 + len(late) + 1, 90)
    again = make_shape(photos / "new-album", "yellow", "triangle")
    wait_for(lambda: (s := read_status(env)) and s["indexed"] == 1 + len(late) + 2, 90)
    with Client(env["run"] / "api.sock") as client:
        for path in (*late, new_folder, again):
            assert client.file(str(path))["indexed"], path

    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert err.count("cannot be watched") == 1, err  # warned once, with the fix
    assert "max_user_watches" in err
