"""The API's guards: slow clients timed out, and Windows' loopback-TCP transport with its token.

The loopback transport is what Windows uses; nothing in it is Windows-specific, so
it runs here for real (a real TCP socket on 127.0.0.1, real HTTP). What cannot be
checked here is the Windows ACL on the endpoint file's folder.
"""

from __future__ import annotations

import json
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from photosift.daemon.api.app import create_app
from photosift.daemon.api.server import ApiServer, GuardedProtocol
from photosift.daemon.client import Client
from photosift.daemon.engine import Engine
from photosift.daemon.errors import DaemonNotRunning

READ_TIMEOUT = 0.5


def raw_exchange(sock_path: Path, request: bytes) -> bytes:
    """Send `request` (possibly incomplete) and return everything until the server hangs up."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(sock_path))
        s.sendall(request)
        return read_to_end(s)


def read_to_end(s: socket.socket) -> bytes:
    received = b""
    while chunk := s.recv(4096):
        received += chunk
    return received


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GuardedProtocol, "read_timeout", READ_TIMEOUT)


@pytest.mark.parametrize("request_bytes", [
    b"",  # connects and says nothing
    b"GET /v1/status HTTP/1.1\r\nHost: loc",  # headers trickle in and stop
    b"POST /v1/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
])
def test_a_request_that_does_not_arrive_in_time_gets_a_408(
    env: dict[str, Path], short_timeout: None, daemon: Engine, request_bytes: bytes
) -> None:
    started = time.monotonic()
    answer = raw_exchange(env["run"] / "api.sock", request_bytes)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"
    assert time.monotonic() - started < 10


def test_stalled_clients_cannot_lock_others_out(env: dict[str, Path], short_timeout: None, daemon: Engine) -> None:
    stalled = []
    for _ in range(70):  # more than the connection limit
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(str(env["run"] / "api.sock"))
        stalled.append(s)
    try:
        for s in stalled:  # each is answered, then hung up on
            assert read_to_end(s).startswith(b"HTTP/1.1 408 ")
        with Client(env["run"] / "api.sock", timeout=30) as client:
            assert client.status()["indexed"] == 16
    finally:
        for s in stalled:
            s.close()


def test_the_time_limit_is_on_reading_a_request_not_on_a_kept_alive_connection(
    env: dict[str, Path], short_timeout: None, daemon: Engine
) -> None:
    with Client(env["run"] / "api.sock") as client:
        assert client.status()["indexed"] == 16
        time.sleep(READ_TIMEOUT * 2)  # the passing time is what is tested: idle, but within keep-alive
        assert client.status()["indexed"] == 16


@pytest.fixture
def loopback(tmp_path: Path, daemon: Engine) -> Iterator[Path]:
    endpoint = tmp_path / "run-tcp" / "api.endpoint"
    server = ApiServer(create_app(daemon), endpoint, loopback=True)
    server.start()
    try:
        yield endpoint
    finally:
        server.stop()


def test_loopback_transport_serves_clients_holding_the_token(loopback: Path) -> None:
    assert stat.S_IMODE(loopback.stat().st_mode) == 0o600
    published = json.loads(loopback.read_text())
    assert set(published) == {"port", "token", "pid"} and len(published["token"]) >= 40
    with Client(loopback, loopback=True) as client:
        assert client.status()["indexed"] == 16
        assert client.search("a blue star", k=1)[0]["path"].endswith("blue-star.png")


def test_loopback_transport_refuses_requests_without_the_token_or_for_another_host(loopback: Path) -> None:
    published = json.loads(loopback.read_text())
    url = f"http://127.0.0.1:{published['port']}/v1/status"
    good = {"Authorization": f"Bearer {published['token']}"}
    with httpx.Client(timeout=30) as http:
        assert http.get(url, headers=good).status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": published["token"]}):
            refused = http.get(url, headers=headers)
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        rebound = http.get(url, headers={**good, "Host": "evil.example:8080"})  # a DNS-rebinding page
        assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "bad_host"
        assert http.get(url, headers={**good, "Host": "localhost"}).status_code == 200


def test_loopback_client_without_a_daemon(tmp_path: Path) -> None:
    with pytest.raises(DaemonNotRunning, match="does not exist"):
        Client(tmp_path / "api.endpoint", loopback=True)
    (tmp_path / "api.endpoint").write_text("garbage")
    with pytest.raises(DaemonNotRunning, match="not a photosift endpoint file"):
        Client(tmp_path / "api.endpoint", loopback=True)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # a stale file from a crashed daemon: nobody listens on its port
    (tmp_path / "api.endpoint").write_text(json.dumps({"port": port, "token": "t", "pid": 1}))
    with Client(tmp_path / "api.endpoint", loopback=True) as client, pytest.raises(DaemonNotRunning):
        client.status()
