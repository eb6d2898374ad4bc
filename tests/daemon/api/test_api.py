"""The local API over the real Unix socket: a real engine, real HTTP, the tiny CLIP model."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpers import wait_for

from photosift.daemon.api.app import create_app
from photosift.daemon.api.openapi import document
from photosift.daemon.api.server import ApiServer
from photosift.daemon.api.transport import bind_unix_socket
from photosift.daemon.client import Client
from photosift.daemon.engine import Engine
from photosift.daemon.errors import ApiError, DaemonNotRunning, SocketError


def names(hits: list[dict]) -> list[str]:
    return [Path(h["path"]).name for h in hits]


def test_socket_is_owner_only(env: dict[str, Path], daemon: Engine) -> None:
    sock = env["run"] / "api.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700


def test_status(client: Client) -> None:
    status = client.status()
    assert status["indexed"] == 16 and status["queued"] == 0 and status["paused"] is False
    assert status["model"] == "shapes-clip.pt" and status["device"] == "cpu"
    assert status["encoder"] == {"device": "cpu", "backend": "torch", "precision": "fp32", "why": "as configured"}
    assert status["roots"][0]["state"] == "online"


def test_search_text_negative_and_filters(client: Client, library: Path) -> None:
    assert names(client.search("a blue star", k=3))[0] == "blue-star.png"
    top = names(client.search(["a star", "-blue"], k=3))
    assert all(n.endswith("-star.png") for n in top) and "blue-star.png" not in top
    inside = client.search("a star", k=5, folder=str(library / "green"))
    assert names(inside)[0] == "green-star.png" and all("/green/" in h["path"] for h in inside)
    assert client.search("a star", taken_after="2100-01-01T00:00:00Z") == []
    assert client.search("a star", taken_after="2100") == []  # the year, not 2,100 s after 1970
    assert len(client.search("a star", k=4, taken_before="2100")) == 4
    assert client.search("a star", taken_before="1971") == []
    hit = client.search("a red circle", k=1)[0]
    assert set(hit) == {"path", "score", "relevant", "taken_at", "width", "height"} and hit["width"] == 128


def test_search_mixing_an_image_and_text(client: Client, library: Path) -> None:
    hits = client.search([{"image": str(library / "red" / "red-square.png")}, {"text": "green", "weight": 1.5}], k=4)
    assert "green-square.png" in names(hits)[:2]


def test_similar_excludes_inputs_and_encodes_new_files(client: Client, library: Path, tmp_path: Path,
                                                       make_shape: Callable[..., Path]) -> None:
    hits = client.similar([str(library / "yellow" / "yellow-circle.png")], k=3)
    assert "yellow-circle.png" not in names(hits)
    assert names(hits)[0].startswith("yellow-") or names(hits)[0].endswith("-circle.png")
    outside = make_shape(tmp_path / "elsewhere", "blue", "triangle", "new.png")
    assert names(client.similar([str(outside)], k=1)) == ["blue-triangle.png"]


def test_classify_files_and_errors(client: Client, library: Path) -> None:
    probs = client.classify(["a red circle", "a green star"], path=str(library / "green" / "green-star.png"))
    assert max(probs, key=lambda p: p["probability"])["label"] == "a green star"
    info = client.file(str(library / "red" / "red-star.png"))
    assert info["indexed"] is True and info["width"] == 128 and info["error"] is None
    (library / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    wait_for(lambda: client.errors())
    assert client.errors()[0]["path"] == str(library / "broken.png")
    assert "not a supported image" in client.file(str(library / "broken.png"))["error"]


def test_pause_resume_rescan(client: Client, daemon: Engine, library: Path, make_shape: Callable[..., Path]) -> None:
    assert client.pause() == {"paused": True}
    assert client.status()["paused"] is True
    make_shape(library, "red", "star", "while-paused.png")
    wait_for(lambda: client.status()["queued"] >= 1)
    assert client.status()["indexed"] == 16
    client.resume()
    wait_for(lambda: client.status()["indexed"] == 17)
    assert client.rescan(str(library / "red"))["scanning"] == [str(library / "red")]
    with pytest.raises(ApiError) as info:
        client.rescan("/definitely/not/watched")
    assert info.value.status == 400 and info.value.code == "not_in_roots"


def test_reads_hold_background_work_back_from_their_arrival(client: Client, daemon: Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # a read counts as a query for its whole handling (the writer's store pages wait for it, store.py),
    # not only while it encodes; a request that waits for the writer itself never does (it would wait
    # for a writer waiting for it)
    seen: dict[str, int] = {}
    priority = daemon.searcher.model.priority

    def spy(name: str, answer: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            seen[name] = priority.running
            return answer(*args, **kwargs)
        return call

    monkeypatch.setattr(daemon, "status", spy("status", daemon.status))
    monkeypatch.setattr(daemon, "failures", spy("errors", daemon.failures))
    monkeypatch.setattr(daemon, "store_task", spy("store check", daemon.store_task))
    monkeypatch.setattr(daemon.tag_queries, "tagged", spy("tagged", daemon.tag_queries.tagged))
    tag = client.vocabulary()[0]["tag"]
    client.status()
    client.errors()
    client.tagged([tag])
    client.check_store()
    assert seen == {"status": 1, "errors": 1, "tagged": 1, "store check": 0}
    assert priority.running == 0


@pytest.mark.parametrize("body,field", [
    ({"query": "x", "k": 0}, "k"),
    ({"query": "x", "k": 1001}, "k"),
    ({"query": "x", "colour": "red"}, "colour"),
    ({"query": ""}, "query"),
    ({"query": "x" * 1001}, "query"),
    ({}, "query"),
    ({"query": "x", "taken_after": "1700000000"}, "taken_after"),  # a timestamp is never guessed at
    ({"query": "x", "taken_before": "June"}, "taken_before"),
])
def test_bad_search_requests_get_4xx_json_naming_the_problem(client: Client, body: dict, field: str) -> None:
    response = client._http.post("/v1/search", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"]


def test_other_bad_requests(client: Client, library: Path) -> None:
    http = client._http
    assert http.post("/v1/search", content=b"{not json", headers={"content-type": "application/json"}
                     ).status_code == 422
    too_big = http.post("/v1/search", json={"query": "x" * 70_000})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "body_too_large"
    missing = http.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    gone = http.post("/v1/similar", json={"paths": [str(library / "nope.png")]})
    assert gone.status_code == 404 and "no such file" in gone.json()["error"]["message"]
    not_image = library / "notes.txt"
    not_image.write_text("hello")
    bad = http.post("/v1/similar", json={"paths": [str(not_image)]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_image"
    both = http.post("/v1/classify", json={"labels": ["a"], "path": "/x", "url": "http://x/y"})
    assert both.status_code == 422
    assert client.status()["indexed"] >= 16  # and the daemon is still there


def test_similar_to_an_uploaded_image(client: Client, env: dict[str, Path], library: Path) -> None:
    # a pasted screenshot or a picture copied from a browser: bytes, not a path
    hits = client.similar_to_image((library / "red" / "red-square.png").read_bytes(), k=3)
    assert names(hits)[0] == "red-square.png" and hits[0]["score"] > 0.999  # the same picture, indexed
    uploaded = client.similar_to_image((library / "blue" / "blue-star.png").read_bytes(), k=2,
                                       folder=str(library / "green"))
    by_path = client.similar([str(library / "blue" / "blue-star.png")], k=2, folder=str(library / "green"))
    # the filters apply alike; scores differ a little (the stored embedding is kept in fp16)
    assert names(uploaded) == names(by_path)
    assert [h["score"] for h in uploaded] == pytest.approx([h["score"] for h in by_path], abs=1e-3)
    with pytest.raises(ApiError) as garbage:
        client.similar_to_image(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert garbage.value.status == 422 and garbage.value.code == "bad_image"
    assert str(garbage.value).startswith("the uploaded image: ")
    http = client._http
    for body in ({"k": 3}, {"paths": [str(library / "red" / "red-square.png")], "image": "AAAA"},
                 {"image": "not base64!"}):
        wrong = http.post("/v1/similar", json=body)
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_request", body
    # the larger limit of an upload holds against the declared length, before a byte of the body is read;
    # a body of undeclared length is refused, whatever the route
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(str(env["run"] / "api.sock"))
        raw.sendall(b"POST /v1/similar HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 999999999\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 413")
    chunked = http.post("/v1/search", content=iter([b'{"query": "x"}']), headers={"content-type": "application/json"})
    assert chunked.status_code == 411 and chunked.json()["error"]["code"] == "length_required"
    assert client.status()["indexed"] >= 16


def test_openapi_document_is_served(client: Client) -> None:
    doc = client._http.get("/openapi.json").json()
    assert {"/v1/status", "/v1/search", "/v1/similar", "/v1/classify", "/v1/files", "/v1/errors"} <= set(doc["paths"])


def test_curl_works_over_the_socket(env: dict[str, Path], daemon: Engine) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed on this machine")
    out = subprocess.run([curl, "-s", "--unix-socket", str(env["run"] / "api.sock"), "http://localhost/v1/status"],
                         capture_output=True, text=True, timeout=30)
    assert '"indexed":16' in out.stdout.replace(" ", "")


def test_no_daemon_means_a_clear_error(tmp_path: Path) -> None:
    with Client(tmp_path / "absent.sock") as client, pytest.raises(DaemonNotRunning, match="photosift daemon"):
        client.status()


def test_a_daemon_that_goes_away_mid_answer_is_not_running(tmp_path: Path) -> None:
    # a real socket that accepts and resets the connection under the request, as a daemon exiting does
    listener = bind_unix_socket(tmp_path / "r" / "api.sock")
    listener.setblocking(True)  # the server's is non-blocking, for its event loop

    def reset_one() -> None:
        conn, _ = listener.accept()
        conn.recv(1, socket.MSG_PEEK)  # the request has arrived; closing with it unread resets the connection
        conn.close()

    worker = threading.Thread(target=reset_one)
    worker.start()
    try:
        with Client(tmp_path / "r" / "api.sock", timeout=10) as client, \
                pytest.raises(DaemonNotRunning, match="closed the connection"):
            client.status()
    finally:
        worker.join(10)
        listener.close()


def test_stale_live_and_bad_socket_paths(tmp_path: Path) -> None:
    run = tmp_path / "r"
    first = bind_unix_socket(run / "api.sock")
    with pytest.raises(SocketError, match="already serving") as in_use:
        bind_unix_socket(run / "api.sock")
    assert in_use.value.exit_code == 3  # like a locked data dir: systemd must not restart it in a loop
    first.close()  # what a crash leaves: the file, and nobody listening
    again = bind_unix_socket(run / "api.sock")
    again.close()
    (run / "api.sock").unlink()
    (run / "api.sock").write_text("not a socket")
    with pytest.raises(SocketError, match="is not a socket"):
        bind_unix_socket(run / "api.sock")
    with pytest.raises(SocketError, match="over the OS limit"):
        bind_unix_socket(tmp_path / ("x" * 120) / "api.sock")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_peers_of_another_uid_are_refused(daemon: Engine) -> None:
    # The socket's 0700 folder (inside 0700 temp dirs) already keeps other users out; serve the
    # same app on a socket that they could reach, to show that the per-connection SO_PEERCRED
    # check refuses them on its own.
    folder = Path(tempfile.mkdtemp(prefix="photosift-uid-test-", dir="/tmp"))
    server = ApiServer(create_app(daemon), folder / "api.sock")
    server.start()
    try:
        os.chmod(folder, 0o755)
        os.chmod(folder / "api.sock", 0o666)
        probe = (
            "import os, socket, sys\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])\n"
            "try:\n"
            "    s.sendall(b'GET /v1/status HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n')\n"
            "    print(repr(s.recv(100)))\n"
            "except (ConnectionResetError, BrokenPipeError):\n"
            "    print('reset')\n"
        )
        out = subprocess.run([sys.executable, "-c", probe, str(folder / "api.sock")], capture_output=True,
                             text=True, timeout=30)
        assert out.stdout.strip() in ("b''", "reset"), out  # hung up on, not a byte of HTTP
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(folder / "api.sock"))) as own:
            assert own.get("http://localhost/v1/status").is_success  # the owner still gets answers
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_committed_openapi_document_is_current() -> None:
    committed = json.loads((Path(__file__).parents[3] / "docs" / "openapi.json").read_text())
    assert committed == document(), "regenerate: python -m photosift.daemon.api.openapi > docs/openapi.json"


def test_fifty_concurrent_searches_all_succeed(env: dict[str, Path], client: Client) -> None:
    def one(i: int) -> str:
        with Client(env["run"] / "api.sock") as own:
            return names(own.search("a blue star" if i % 2 else "a red circle", k=1))[0]

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(one, range(50)))
    assert answers.count("blue-star.png") == 25 and answers.count("red-circle.png") == 25


def test_search_answers_correctly_while_indexing(env: dict[str, Path], client: Client, daemon: Engine,
                                                 library: Path, make_shape: Callable[..., Path]) -> None:
    client.pause()  # hold a backlog in the queue, then search while it is worked through
    for i in range(40):
        make_shape(library / "incoming", "green", "circle", f"new-{i}.png", size=512)
    wait_for(lambda: client.status()["queued"] >= 40)
    client.resume()
    seen_busy = False
    for _ in range(200):
        busy = client.status()["queued"] > 0
        assert names(client.search("a blue star", k=1)) == ["blue-star.png"]
        seen_busy |= busy
        if not busy:
            break
    assert seen_busy, "the searches should have overlapped with indexing"
    wait_for(lambda: client.status()["indexed"] == 56, 120)


def test_the_clients_hits_and_labels_have_the_apis_shape() -> None:
    # every other answer is one TypedDict (daemon/answers.py) for both sides; these two are defined twice
    # because the API sends `taken_at` from a datetime, so this holds the two definitions together
    from photosift.daemon import answers
    from photosift.daemon.api import schemas

    for client_side, api_side in ((answers.Hit, schemas.Hit), (answers.Label, schemas.Label)):
        assert set(client_side.__annotations__) == set(api_side.model_fields)
