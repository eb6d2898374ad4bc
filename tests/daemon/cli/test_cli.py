"""The CLI as a user runs it: `index --once`, then a real `photosift daemon` subprocess that every other
command (and so every API endpoint, through the client) talks to over the real socket."""

from __future__ import annotations

import functools
import http.server
import json
import os
import random
import re
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from helpers import photosift_cmd, wait_for, write_config
from shapes import draw_shape

from photosift.daemon.client import Client
from photosift.daemon.errors import DaemonNotRunning

DOWN = ["status", "search x", "similar a.png", "classify a.png --labels a b", "errors", "pause", "resume",
        "rescan", "status --watch"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(photosift_cmd(*args), capture_output=True, text=True, timeout=300, cwd=cwd)


def names(output: str) -> list[str]:
    return [Path(hit["path"]).name for hit in json.loads(output)]


def status_of(sock: Path) -> dict | None:
    try:
        with Client(sock, timeout=10) as client:
            return client.status()
    except DaemonNotRunning:
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A shapes library indexed by `index --once`, then served by a real daemon process."""
    root = tmp_path_factory.mktemp("cli")
    photos = root / "photos"
    (photos / "green").mkdir(parents=True)
    rng = random.Random(7)
    for colour in ("red", "green", "blue", "yellow"):
        for shape in ("circle", "square", "triangle", "star"):
            folder = photos / "green" if colour == "green" else photos
            draw_shape(colour, shape, 128, rng).image.save(folder / f"{colour}-{shape}.jpg", "JPEG")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    for name, year in (("yellow-star.jpg", 2022), ("yellow-circle.jpg", 2024)):  # no EXIF date: the mtime counts
        moment = datetime(year, 6, 15, 12).timestamp()
        os.utime(photos / name, (moment, moment))
    with pytest.MonkeyPatch.context() as mp:
        for name, value in (("CONFIG", root / "config.toml"), ("DATA_DIR", root / "data"),
                            ("CACHE_DIR", root / "cache"), ("RUNTIME_DIR", root / "run")):
            mp.setenv(f"PHOTOSIFT_{name}", str(value))
        write_config(root / "config.toml", folders=[str(photos)], debounce_seconds=0.3)
        with (root / "config.toml").open("a") as f:  # tags the tiny model knows: its colours and shapes
            f.write('[tagging]\nvocabulary = "none"\n[tagging.custom]\n'
                    + "".join(f"{name} = []\n" for name in ("red", "green", "blue", "yellow", "circle", "square",
                                                              "triangle", "star")))
        indexed = run("index", str(photos), "--once")
        before_daemon = {cmd: run(*cmd.split()) for cmd in DOWN}
        daemon = subprocess.Popen(photosift_cmd("daemon"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sock = root / "run" / "api.sock"
        try:
            wait_for(lambda: (s := status_of(sock)) and s["indexed"] == 16 and s["queued"] == 0, 120)
            yield {"root": root, "photos": photos, "sock": sock, "daemon": daemon, "indexed": indexed,
                   "before_daemon": before_daemon}
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.communicate(timeout=60)


def test_index_once_reports_what_it_did(world: dict) -> None:
    indexed = world["indexed"]
    assert indexed.returncode == 0, indexed.stderr
    assert "16 images indexed, 1 failed" in indexed.stdout
    assert "broken.jpg" in indexed.stdout
    assert "indexing" in indexed.stderr  # the progress bar
    assert "Warning" not in indexed.stderr  # torch's advice to the authors of TorchScript is not for our users


@pytest.mark.parametrize("command", DOWN)
def test_without_a_daemon_each_command_says_how_to_start_it(world: dict, command: str) -> None:
    down = world["before_daemon"][command]
    assert down.returncode == 3, down
    assert down.stderr.count("\n") == 1 and "start it with `photosift start`" in down.stderr
    assert down.stdout == ""


def test_index_refuses_a_missing_folder(world: dict) -> None:
    proc = run("index", str(world["photos"] / "nope"), "--once")
    assert proc.returncode == 2 and proc.stderr == f"photosift: not a folder: {world['photos'] / 'nope'}\n"


def test_index_while_the_daemon_runs_says_what_to_do_instead(world: dict) -> None:
    proc = run("index", str(world["root"]), "--once")
    assert proc.returncode == 3
    assert f"the daemon (pid {world['daemon'].pid}) owns the index" in proc.stderr
    assert "`photosift folders add FOLDER`" in proc.stderr and "`photosift rescan [FOLDER]`" in proc.stderr


def test_status(world: dict) -> None:
    text = run("status")
    assert text.returncode == 0, text.stderr
    assert f"running (pid {world['daemon'].pid}" in text.stdout
    assert "indexed: 16" in text.stdout and "failed:  1" in text.stdout
    assert f"folder:  {world['photos']} (16 indexed)" in text.stdout
    as_json = json.loads(run("status", "--json").stdout)
    assert as_json["indexed"] == 16 and as_json["model"] == "shapes-clip.pt" and as_json["paused"] is False
    # the daemon chose its precision as a user's does (bf16 only on a CPU that runs it natively, and faster)
    encoder = as_json["encoder"]
    assert encoder["device"] == "cpu" and encoder["backend"] == "torch" and encoder["precision"] in ("fp32", "bf16")
    assert f"model:   shapes-clip.pt on cpu, {encoder['precision']} (torch): {encoder['why']}" in text.stdout


def test_status_watch_streams_until_interrupted(world: dict) -> None:
    # Ctrl+C's SIGINT with its default action, whatever this test process inherited: a child started with
    # SIGINT ignored never raises KeyboardInterrupt (two fresh-clone runs hung here; alone it passes)
    proc = subprocess.Popen(photosift_cmd("status", "--watch", "--json"), stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        lines = [json.loads(proc.stdout.readline()) for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    assert all(line["indexed"] == 16 and line["progress"] == {"done": 0, "total": 0} for line in lines)


def test_search_text_negative_image_and_filters(world: dict) -> None:
    found = run("search", "a", "blue", "star", "-k", "3", "--json")  # unquoted words form one prompt
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)
    assert Path(results[0]["path"]).name == "blue-star.jpg"
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]
    assert set(results[0]) == {"path", "score", "relevant", "taken_at", "width", "height"}
    table = run("search", "something red", "-k", "4")
    assert sum("red-" in line for line in table.stdout.splitlines()) >= 3
    assert "blue-star.jpg" not in names(run("search", "a star", "--not", "blue", "-k", "3", "--json").stdout)
    mixed = names(run("search", "--image", str(world["photos"] / "red-square.jpg"), "-k", "2", "--json").stdout)
    assert len(mixed) == 2 and "red-square.jpg" not in mixed  # the query's image is not its own result
    assert names(run("search", "a red", "--image", str(world["photos"] / "red-square.jpg"), "-k", "1",
                     "--json").stdout) != ["red-square.jpg"]
    inside = names(run("search", "a star", "--folder", str(world["photos"] / "green"), "--json").stdout)
    assert inside[0] == "green-star.jpg" and len(inside) == 4
    assert run("search", "a star", "--after", "2100-01-01").stdout.strip() == "no results"
    assert len(names(run("search", "a star", "--before", "2100-01-01", "--json").stdout)) == 10
    nothing = run("search")
    assert nothing.returncode == 2 and "give some text" in nothing.stderr


def test_paths_only_prints_bare_paths_for_xargs(world: dict) -> None:
    listed = run("search", "a blue star", "-f").stdout.splitlines()
    relevant = [h["path"] for h in json.loads(run("search", "a blue star", "--json").stdout) if h["relevant"]]
    assert listed == relevant and listed[0].endswith("blue-star.jpg")
    assert len(run("similar", str(world["photos"] / "red-star.jpg"), "--paths", "--all", "-k", "5").stdout
               .splitlines()) == 5
    assert run("search", "a star", "--after", "2100", "--paths").stdout == ""  # nothing, not "no results"
    both = run("search", "x", "--json", "--paths")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_dates_are_years_months_and_days_and_a_bad_one_is_a_usage_error(world: dict) -> None:
    def found(*args: str) -> list[str]:
        answer = run("search", "something yellow", "-k", "16", "--all", "--json", *args)
        assert answer.returncode == 0, answer.stderr
        return names(answer.stdout)

    assert "yellow-star.jpg" not in found("--after", "2023") and "yellow-circle.jpg" in found("--after", "2023")
    assert found("--before", "2023") == ["yellow-star.jpg"]  # 2023 is the year, not 2,023 s after 1970
    assert found("--after", "2024-06", "--before", "2024-07") == ["yellow-circle.jpg"]
    assert found("--after", "2024-06-15T11:00", "--before", "2024-06-15 13:00") == ["yellow-circle.jpg"]
    for bad, says in (("1700000000", "not read as a timestamp"), ("2023-13", "not a date"), ("June", "not a date")):
        refused = run("search", "something yellow", "--after", bad)
        assert refused.returncode == 2, refused
        assert "argument --after:" in refused.stderr and says in refused.stderr


def test_search_prints_the_likely_matches_and_all_of_them_with_a_line(world: dict) -> None:
    marks = [hit["relevant"] for hit in json.loads(run("search", "a blue star", "--json").stdout)]
    likely = marks.index(False)
    assert len(marks) == 10 and 1 <= likely < 10 and not any(marks[likely:])  # one head of likely matches
    ranked = [line for line in run("search", "a blue star").stdout.splitlines() if line[:4].strip().endswith(".")]
    assert len(ranked) == likely and "blue-star.jpg" in ranked[0]
    assert run("search", "a blue star").stdout.splitlines()[-1] == (
        f"({10 - likely} less likely matches not shown; --all shows them)")
    every = run("search", "a blue star", "--all").stdout.splitlines()
    assert len(every) == 11 and every[likely] == f"     ---- less likely matches ({10 - likely}) ----"
    assert every[likely + 1].startswith(f"{likely + 1:3d}. ")


def test_similar(world: dict) -> None:
    similar = run("similar", str(world["photos"] / "red-star.jpg"), "-k", "2", "--json")
    assert similar.returncode == 0, similar.stderr
    top = names(similar.stdout)
    assert "red-star.jpg" not in top and len(top) == 2
    missing = run("similar", str(world["photos"] / "nope.jpg"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_classify_path_and_bad_inputs(world: dict, tmp_path: Path) -> None:
    image = world["photos"] / "green" / "green-triangle.jpg"
    proc = run("classify", str(image), "--labels", "a green triangle", "a red circle", "a blue square")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("label")
    assert next(line for line in lines if "◀" in line).startswith("a green triangle")
    probabilities = [float(re.search(r"([\d.]+)%", line)[1]) for line in lines[2:]]
    assert len(probabilities) == 3
    assert probabilities == sorted(probabilities, reverse=True)  # the most likely first, not the order asked
    as_json = json.loads(run("classify", str(image), "--labels", "a green triangle", "a red circle",
                             "--json").stdout)
    assert as_json[0]["probability"] > 0.9  # a softmax of raw cosines would be near 0.5
    assert sum(item["probability"] for item in as_json) == pytest.approx(1.0, abs=1e-4)
    text = tmp_path / "note.png"
    text.write_text("hello")
    bad = run("classify", str(text), "--labels", "a", "b")
    assert bad.returncode == 1 and "not a supported image" in bad.stderr and "Traceback" not in bad.stderr
    unreachable = run("classify", "http://127.0.0.1:9/cat.jpg", "--labels", "a", "b")
    assert unreachable.returncode == 1
    assert unreachable.stderr == "photosift: cannot fetch http://127.0.0.1:9/cat.jpg: Connection refused\n"


def test_classify_an_image_over_http(world: dict, make_shape: Callable[..., Path], tmp_path: Path) -> None:
    """The original exercise's URL input, served for real over loopback HTTP."""
    image = make_shape(tmp_path, "red", "star", "star.png")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{image.name}"
        proc = run("classify", url, "--labels", "a red star", "a blue circle", "--json")
        missing = run("classify", url + ".gone", "--labels", "a", "b")
    finally:
        server.shutdown()
        thread.join()
    assert proc.returncode == 0, proc.stderr
    assert missing.returncode == 1 and missing.stderr.endswith(": the server answered 404 File not found\n")
    best = max(json.loads(proc.stdout), key=lambda item: item["probability"])
    assert best["label"] == "a red star"


def test_errors_pause_resume_rescan(world: dict) -> None:
    errors = run("errors")
    assert errors.returncode == 0 and "broken.jpg: corrupt or truncated image" in errors.stdout
    failure = json.loads(run("errors", "--json").stdout)[0]
    assert failure["path"] == str(world["photos"] / "broken.jpg")
    assert abs(datetime.fromisoformat(failure["at"]).timestamp() - time.time()) < 3600  # ISO 8601, as taken_at
    taken = json.loads(run("search", "a star", "-k", "1", "--json").stdout)[0]["taken_at"]
    assert len(failure["at"]) == len(taken) and failure["at"][-1] == taken[-1] == "Z"
    assert run("pause").returncode == 0
    assert "PAUSED" in run("status").stdout
    assert json.loads(run("resume", "--json").stdout) == {"paused": False}
    assert json.loads(run("rescan", str(world["photos"]), "--json").stdout) == {"scanning": [str(world["photos"])]}
    outside = run("rescan", str(world["root"]))
    assert outside.returncode == 1 and "not inside a watched folder" in outside.stderr


def test_folders_through_the_daemon(world: dict, make_shape: Callable[..., Path]) -> None:
    extra = world["root"] / "extra"
    make_shape(extra, "blue", "circle", "extra.png")
    added = run("folders", "add", "extra", cwd=world["root"])  # relative to the user, not the daemon
    assert added.returncode == 0, added.stderr
    assert f"watching {extra}" in added.stdout
    assert str(extra) in (world["root"] / "config.toml").read_text()
    wait_for(lambda: (s := status_of(world["sock"])) and s["indexed"] == 17, 60)
    listing = run("folders", "list")
    assert f"{extra}  (1 indexed)" in listing.stdout and f"{world['photos']}  (16 indexed)" in listing.stdout
    again = run("folders", "add", str(extra))
    assert again.returncode == 1 and "already watched" in again.stderr
    removed = json.loads(run("folders", "remove", str(extra), "--json").stdout)
    assert removed == {"folders": [str(world["photos"])], "added": [], "removed": [str(extra)]}
    wait_for(lambda: (s := status_of(world["sock"])) and s["indexed"] == 16, 60)
    last = run("folders", "remove", str(world["photos"]))
    assert last.returncode == 1 and "only watched folder" in last.stderr


def test_folders_without_a_daemon_edit_the_config(env: dict[str, Path], tmp_path: Path) -> None:
    write_config(env["config"], folders=[str(env["photos"])])
    (tmp_path / "more").mkdir()
    added = run("folders", "add", str(tmp_path / "more"))
    assert added.returncode == 0, added.stderr
    assert "daemon is not running" in added.stdout
    assert run("folders", "list").stdout.split() == [str(env["photos"]), str(tmp_path / "more")]
    assert run("folders", "remove", str(env["photos"])).returncode == 0
    assert json.loads(run("folders", "list", "--json").stdout) == [{"path": str(tmp_path / "more")}]
    assert f'"{tmp_path / "more"}"' in env["config"].read_text()
    missing = run("folders", "add", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    (tmp_path / "more" / "inner").mkdir()
    narrowed = run("folders", "set", str(tmp_path / "more" / "inner"), "--json")
    assert json.loads(narrowed.stdout)["folders"] == [str(tmp_path / "more" / "inner")]
    assert run("folders", "list").stdout.split() == [str(tmp_path / "more" / "inner")]


def test_tags_commands(world: dict) -> None:
    star = world["photos"] / "red-star.jpg"
    mine = run("tags", str(star))
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout.startswith(f"{star}: ") and "red (" in mine.stdout and "star (" in mine.stdout
    listing = run("tags", "list").stdout.split("\n")
    assert any(line.split() == ["4", "star"] for line in listing), listing
    explained = run("tags", "explain", str(star)).stdout
    assert "rule: each of 8 tags on its own evidence" in explained and explained.count("◀ tagged") == 2
    assert "scores no higher than the neutral prompt" in explained  # each candidate says why it was left
    assert json.loads(run("tagged", "red", "star", "--json").stdout) == [str(star)]
    assert len(run("tagged", "red", "blue", "--any").stdout.split()) == 8
    only = names(run("search", "a shape", "--tag", "circle", "--json").stdout)
    assert sorted(only) == sorted(f"{c}-circle.jpg" for c in ("red", "green", "blue", "yellow"))
    unknown = run("tagged", "sqare")
    assert unknown.returncode == 1 and 'did you mean "square"' in unknown.stderr
    disabled = run("tags", "write")  # this config does not opt in to sidecars or xattrs
    assert disabled.returncode == 1 and "write_xmp" in disabled.stderr
    preview = run("tags", "unwrite", str(world["photos"]), "--dry-run")
    assert preview.returncode == 0 and preview.stdout.strip() == "0 would change (16 indexed images looked at)"
    # real subcommands: `write` is not a file, several paths are paths, options go anywhere
    two = run("tags", "unwrite", str(world["photos"] / "green"), str(star), "--dry-run")
    assert two.returncode == 0 and two.stdout.strip() == "0 would change (5 indexed images looked at)", two.stderr
    assert run("tags", "--json", "show", str(star)).returncode == 0
    wrong = run("tags", "list", str(star))
    assert wrong.returncode == 2 and "unrecognized arguments" in wrong.stderr
    usage = run("tags", "--help").stdout
    assert usage.startswith("usage: photosift tags [-h] ACTION ...") and "is short for `photosift tags show" in usage
    assert all(f"\n    {action} " in usage for action in ("show", "list", "explain", "write", "unwrite"))


def test_the_daemon_process_api_directly(world: dict) -> None:
    """Every endpoint of the subprocess daemon over its socket, good requests and bad ones."""
    sock: Path = world["sock"]
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600 and stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    photos: Path = world["photos"]
    star = photos / "red-star.jpg"
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://localhost", timeout=60) as http:
        ok = {
            ("GET", "/v1/status", None): lambda r: r["indexed"] >= 16,
            ("POST", "/v1/search", '{"query": "a red star", "k": 1}'): lambda r: r[0]["path"].endswith("red-star.jpg"),
            ("POST", "/v1/similar", json.dumps({"paths": [str(star)], "k": 2})): lambda r: len(r) == 2,
            ("POST", "/v1/classify", json.dumps({"path": str(star), "labels": ["a", "b"]})): lambda r: len(r) == 2,
            ("GET", f"/v1/files?path={photos / 'red-star.jpg'}", None): lambda r: r["indexed"] is True,
            ("GET", "/v1/errors", None): lambda r: r[0]["path"].endswith("broken.jpg"),
            ("GET", "/v1/folders", None): lambda r: r[0]["path"] == str(photos),
            ("POST", "/v1/rescan", None): lambda r: r["scanning"] == [str(photos)],
            ("POST", "/v1/pause", None): lambda r: r == {"paused": True},
            ("POST", "/v1/resume", None): lambda r: r == {"paused": False},
            ("GET", "/openapi.json", None): lambda r: "/v1/folders" in r["paths"],
        }
        for (method, url, body), check in ok.items():
            response = http.request(method, url, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 200 and check(response.json()), (method, url, response.text)
        bad = [
            ("POST", "/v1/search", '{"query": "x", "k": 5000}', 422, "invalid_request"),
            ("POST", "/v1/search", "{oops", 422, "invalid_request"),
            ("POST", "/v1/search", json.dumps({"query": "x" * 70_000}), 413, "body_too_large"),
            ("POST", "/v1/similar", json.dumps({"paths": [str(photos / "nope.jpg")]}), 404, "not_found"),
            ("POST", "/v1/similar", json.dumps({"paths": [str(photos / "broken.jpg")]}), 422, "bad_image"),
            ("POST", "/v1/classify", '{"labels": ["a"]}', 422, "invalid_request"),
            ("GET", "/v1/files", None, 422, "invalid_request"),
            ("POST", "/v1/rescan", json.dumps({"path": "/elsewhere"}), 400, "not_in_roots"),
            ("POST", "/v1/folders", json.dumps({"path": "relative"}), 422, "relative_path"),
            ("DELETE", f"/v1/folders?path={photos}", None, 409, "last_folder"),
            ("GET", "/v1/nothing", None, 404, "not_found"),
            ("PUT", "/v1/status", None, 405, "method_not_allowed"),
        ]
        for method, url, body, status, code in bad:
            response = http.request(method, url, content=body, headers={"content-type": "application/json"})
            assert (response.status_code, response.json()["error"]["code"]) == (status, code), (method, url)
            assert "Traceback" not in response.text
    assert world["daemon"].poll() is None  # still running


def test_a_reader_that_goes_away_ends_the_command_quietly(env: dict[str, Path]) -> None:
    """`photosift ... | head`: output into a pipe whose reader has gone is a quiet exit 141, no traceback."""
    write_config(env["config"], folders=[str(env["photos"])])
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(photosift_cmd("folders", "list"), stdout=write_end, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == ""
