"""One search window per session: `photosift similar FILE --gui` reuses the open window, or opens one that
later invocations reuse. Real Unix sockets, real CLI processes, real windows on Xvfb."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from helpers import photosift_cmd, wait_for, write_config

from photosift.daemon.engine import Engine
from photosift.tray.instance import InstanceServer, Request, send

from .driver import Desk, says_results


def test_requests_round_trip_and_bad_ones_are_refused() -> None:
    request = Request("similar", paths=("/a b/ü.jpg", "/c.png"))
    assert Request.decode(request.encode()) == request
    for bad in (b"not json", b'{"mode": "delete"}', b'{"mode": "similar", "paths": []}',
                b'{"mode": "search", "text": 3}', b"[1, 2]"):
        with pytest.raises(ValueError):
            Request.decode(bad)


def test_one_instance_answers_and_survives_garbage(tmp_path: Path) -> None:
    address = tmp_path / "run" / "gui.sock"
    got: list[Request] = []
    arrived = threading.Event()
    first = InstanceServer(address, lambda r: (got.append(r), arrived.set()))
    assert first.start()
    second = InstanceServer(address, got.append)
    try:
        assert not second.start()  # the first one is the instance
        with socket.socket(socket.AF_UNIX) as raw:  # a client speaking nonsense gets an error line
            raw.connect(str(address))
            raw.sendall(b"\x00\xffnonsense\n")
            assert raw.makefile("rb").readline().startswith(b"error ")
        assert send(address, Request("search", "a red star"))
        assert arrived.wait(10) and got == [Request("search", "a red star")]
    finally:
        second.close()
        first.close()
    assert not address.exists()  # closing removes the socket
    assert not send(address, Request())  # nobody listens now


def test_a_stale_socket_from_a_crashed_window_is_replaced(tmp_path: Path) -> None:
    address = tmp_path / "gui.sock"
    crashed = socket.socket(socket.AF_UNIX)
    crashed.bind(str(address))
    crashed.close()  # the file stays, as after a crash
    server = InstanceServer(address, lambda _r: None)
    try:
        assert server.start()
        assert send(address, Request())
    finally:
        server.close()


def test_similar_gui_reuses_the_open_window(desk: Desk, daemon: Engine, env: dict[str, Path],
                                            library: Path) -> None:
    write_config(env["config"], folders=[str(library)])  # the CLI finds the socket from the environment
    assert desk.gui.listen(env["run"] / "gui.sock")
    red_star = library / "red" / "red-star.png"
    cli = subprocess.Popen(photosift_cmd("similar", str(red_star), "--gui"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    desk.pump_until(lambda: cli.poll() is not None and desk.gui.window is not None)  # handed over, then gone
    assert cli.returncode == 0, cli.stderr.read()  # type: ignore[union-attr]
    window = desk.gui.window
    desk.pump_until(lambda: window.results and says_results(window, 15))
    assert window.similar_to == (str(red_star),) and str(red_star) not in [h["path"] for h in window.results]
    assert Path(window.results[0]["path"]).name in {"red-circle.png", "red-square.png", "red-triangle.png",
                                                     "green-star.png", "blue-star.png", "yellow-star.png"}


def test_without_a_window_the_command_opens_one_that_later_ones_reuse(display: str, daemon: Engine,
                                                                       env: dict[str, Path], library: Path) -> None:
    write_config(env["config"], folders=[str(library)])
    address = env["run"] / "gui.sock"
    first = subprocess.Popen(photosift_cmd("similar", str(library / "blue" / "blue-circle.png"), "--gui"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: address.exists() or first.poll() is not None, 60)
        assert first.poll() is None, first.stderr.read()  # type: ignore[union-attr]
        second = subprocess.run(photosift_cmd("search", "a", "green", "square", "--gui"), capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 0 and second.stderr == ""  # handed to the first window
        assert first.poll() is None  # which is still open
        assert send(address, Request("quit"))  # as `photosift service uninstall` asks
        first.wait(30)
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGTERM)
            first.wait(30)
    assert first.returncode == 0 and first.stderr.read() == ""  # type: ignore[union-attr]
    assert not address.exists()


def test_gui_commands_refuse_filters_they_cannot_pass(env: dict[str, Path]) -> None:
    done = subprocess.run(photosift_cmd("search", "beach", "--gui", "--folder", "/tmp"), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "set filters in the window" in done.stderr


def test_without_a_display_the_window_and_the_tray_say_so(env: dict[str, Path]) -> None:
    no_display = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    for command in (("search", "--gui"), ("tray",)):
        done = subprocess.run(photosift_cmd(*command), capture_output=True, text=True, timeout=60, env=no_display)
        assert done.returncode == 1
        assert done.stderr == "photosift: cannot open a window: no display name and no $DISPLAY environment variable\n"
