"""`photosift start | stop | restart | logs` as a user runs them, on a machine without a user service manager
(as here: no systemd --user), where the daemon runs as a background process logging to daemon.log."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import photosift_cmd, wait_for, write_config

from photosift.daemon.client import answering_pid


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(photosift_cmd(*args), capture_output=True, text=True, timeout=300)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home without photosift's user service, so `start` takes the background path whatever this machine has."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def cleanup(env: dict[str, Path]) -> Iterator[list[int]]:
    """Pids of daemons a test started in the background; any still alive at the end are killed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def lines_of(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stdout lines as they come (read on a thread, so a test can wait with a timeout)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, name="test-logs-reader", daemon=True).start()
    return lines


def test_start_stop_restart_and_logs(env: dict[str, Path], home: Path, make_shape: Callable[..., Path],
                                     cleanup: list[int]) -> None:
    make_shape(env["photos"], "blue", "star")
    write_config(env["config"], folders=[str(env["photos"])], debounce_seconds=0.3)
    sock = env["run"] / "api.sock"

    started = run("start")
    assert started.returncode == 0, started.stdout + started.stderr
    first = answering_pid(sock)
    assert first is not None
    cleanup.append(first)
    log = env["cache"] / "daemon.log"
    assert f"starting the daemon (pid {first}, logging to {log})" in started.stdout
    assert f"daemon:  running (pid {first}" in started.stdout  # it waited for the first answer
    again = run("start")
    assert again.returncode == 0 and again.stdout.strip() == f"the daemon is already running (pid {first})"
    logs = run("logs", "-n", "5")
    assert logs.returncode == 0 and f"daemon running (pid {first})" in logs.stdout

    follow = subprocess.Popen(photosift_cmd("logs", "--follow", "-n", "0"), stdout=subprocess.PIPE, text=True)
    try:
        followed = lines_of(follow)
        restarted = run("restart")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        second = answering_pid(sock)
        assert second is not None and second != first
        cleanup.append(second)
        assert f"stopped the daemon (pid {first})" in restarted.stdout and "daemon:  running" in restarted.stdout
        seen: list[str] = []

        def the_second_one_logged() -> bool:
            while not followed.empty():
                seen.append(followed.get_nowait())
            return any(f"daemon running (pid {second})" in line for line in seen)

        wait_for(the_second_one_logged, 60)
        assert any("SIGTERM received" in s for s in seen)  # the first one's last lines, as they were written
    finally:
        follow.send_signal(signal.SIGINT)
        follow.wait(30)

    stopped = run("stop")
    assert stopped.returncode == 0 and stopped.stdout.strip() == f"stopped the daemon (pid {second})"
    assert answering_pid(sock) is None
    down = run("status")
    assert down.returncode == 3 and "it stopped at" in down.stderr and "SIGTERM received" in down.stderr
    assert run("stop").stdout.strip() == "the daemon was not running"


def test_start_says_why_the_daemon_could_not_start(env: dict[str, Path], home: Path, cleanup: list[int]) -> None:
    missing = env["photos"].parent / "no-such-model.pt"
    write_config(env["config"], folders=[str(env["photos"])], model=str(missing))
    failed = run("start", "--wait", "120")
    assert failed.returncode == 1
    assert "it failed to start at" in failed.stderr and str(missing) in failed.stderr
    logs = run("logs")
    assert str(missing) in logs.stdout  # the whole story is in its log


def test_logs_before_any_background_start_says_where_they_will_be(env: dict[str, Path], home: Path) -> None:
    none = run("logs")
    assert none.returncode == 1 and f"no daemon log yet at {env['cache'] / 'daemon.log'}" in none.stderr


def test_a_daemon_that_crashes_at_start_leaves_a_last_word_that_ends_the_wait(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # as an install missing one of photosift's modules did: the import failed before any word was said, and
    # `status --wait 900` waited the whole 900 s for a daemon that was gone
    from photosift.daemon.cli import main
    from photosift.daemon.cli import run as run_commands

    write_config(env["config"], folders=[str(env["photos"])])

    def broken(_args: object, _config: object) -> int:
        raise ModuleNotFoundError("No module named 'photosift.daemon.duplicates'")

    monkeypatch.setattr(run_commands, "cmd_daemon", broken)
    with pytest.raises(ModuleNotFoundError):
        main.main(["daemon"])
    waited = subprocess.run(photosift_cmd("status", "--wait", "300", "--since", "0"), capture_output=True,
                            text=True, timeout=120)
    assert waited.returncode == 1
    assert "the daemon crashed: ModuleNotFoundError" in waited.stderr, waited.stderr
