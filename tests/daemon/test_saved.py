"""Saved searches as folders of links: made, kept up to date while photos arrive, change, move and go,
and removed leaving the user's own files, on a real engine over the real socket with the tiny CLIP.

The saved searches' folder sits inside the watched folder, as the default
(~/Pictures/photosift under ~/Pictures) does: its links must never be indexed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import photosift_cmd, shape_tags, wait_for

from photosift.daemon.client import Client
from photosift.daemon.engine import Engine
from photosift.daemon.errors import ApiError
from photosift.daemon.saved.links import link_name

from ..engine_harness import CountingModel, running_engine, settled


@pytest.fixture
def saved_dir(env: dict[str, Path]) -> Path:
    return env["photos"] / "photosift"


@pytest.fixture
def engine(env: dict[str, Path], model, library: Path, saved_dir: Path) -> Iterator[Engine]:
    with running_engine(env, CountingModel(model), 16, serve_api=True, socket=str(env["run"] / "api.sock"),
                        tagging=shape_tags(), saved_folder=saved_dir) as engine:
        yield engine


@pytest.fixture
def client(env: dict[str, Path], engine: Engine) -> Iterator[Client]:
    with Client(env["run"] / "api.sock") as c:
        yield c


def links(folder: Path) -> dict[str, str]:
    """The symlinks in a folder: name → target."""
    return {p.name: os.readlink(p) for p in folder.iterdir() if p.is_symlink()} if folder.is_dir() else {}


def test_a_saved_search_follows_the_library_live(env: dict[str, Path], engine: Engine, client: Client,
                                                 saved_dir: Path, make_shape: Callable[..., Path]) -> None:
    photos = env["photos"]
    red = {str(photos / "red" / f"red-{s}.png") for s in ("circle", "square", "triangle", "star")}
    state = client.save_search("red things", "red")
    folder = saved_dir / "red things"
    assert state["path"] == str(folder) and state["links"] == 4 and state["query"] == "red"
    assert set(links(folder).values()) == red
    assert all(Path(target).name == name for name, target in links(folder).items())

    def shown() -> set[str]:
        return set(links(folder).values())

    # arrives: a new red photo gets its link; one with the same file name elsewhere gets another name
    first = make_shape(photos / "2024", "red", "circle", "IMG_0001.png")
    second = make_shape(photos / "trip", "red", "star", "IMG_0001.png")
    wait_for(lambda: shown() == red | {str(first), str(second)})
    named = {n: t for n, t in links(folder).items() if n.startswith("IMG_0001")}
    assert "IMG_0001.png" in named and len(named) == 2  # the other one named with its folder's name too
    assert all(n in ("IMG_0001.png", f"IMG_0001 ({Path(t).parent.name}).png") for n, t in named.items())

    # changes: the photo is no longer red, its link goes
    make_shape(photos / "2024", "green", "square", "IMG_0001.png")
    wait_for(lambda: shown() == red | {str(second)})

    # moves and goes: the link follows the photo, then leaves with it
    moved = photos / "moved" / "red-square.png"
    moved.parent.mkdir()
    os.rename(photos / "red" / "red-square.png", moved)
    (photos / "red" / "red-star.png").unlink()
    red = red - {str(photos / "red" / "red-square.png"), str(photos / "red" / "red-star.png")} | {str(moved)}
    wait_for(lambda: shown() == red | {str(second)})

    # the links inside the watched folder are never indexed
    wait_for(lambda: settled(engine))
    assert not any(p.startswith(str(saved_dir)) for p in engine.catalog.paths())
    assert len(engine.catalog) == 16 + 2 - 1  # the library, two arrivals, one gone
    assert client.saved()[0]["links"] == len(red) + 1


def test_a_tag_is_a_saved_search_and_removing_one_leaves_the_users_files(
    env: dict[str, Path], client: Client, saved_dir: Path
) -> None:
    stars = client.save_search("stars", tags=["star"])
    folder = saved_dir / "stars"
    assert stars["links"] == 4 and stars["query"] == "" and stars["tags"] == ["star"]
    assert set(links(folder).values()) == {str(env["photos"] / c / f"{c}-star.png")
                                           for c in ("red", "green", "blue", "yellow")}
    (folder / "my notes.txt").write_text("mine")
    mine = folder / "mine.png"
    mine.symlink_to(env["photos"] / "red" / "red-circle.png")  # a link the user made: not photosift's
    client.save_search("circles", tags=["circle"], folder=str(env["photos"] / "blue"))
    assert [s["name"] for s in client.saved()] == ["circles", "stars"]
    assert list(links(saved_dir / "circles").values()) == [str(env["photos"] / "blue" / "blue-circle.png")]

    removed = client.remove_saved("stars")
    assert removed == {"name": "stars", "path": str(folder), "removed": 4, "left": ["mine.png", "my notes.txt"]}
    assert sorted(os.listdir(folder)) == ["mine.png", "my notes.txt"]
    assert client.remove_saved("circles")["left"] == [] and not (saved_dir / "circles").exists()
    assert client.saved() == []
    with pytest.raises(ApiError) as gone:
        client.remove_saved("stars")
    assert gone.value.status == 404


@pytest.mark.parametrize(("name", "why"), [
    ("a/b", "cannot hold / or"), ("..", "the folder itself or the one above it"),
    ("nul\x00here", "control character"), (" padded", "begins or ends with a space"),
    (".hidden", "hidden folder"), ("x" * 256, "at most 255 bytes"),
])
def test_names_that_cannot_be_folder_names_are_refused(client: Client, saved_dir: Path, name: str,
                                                       why: str) -> None:
    with pytest.raises(ApiError, match=re.escape(why)) as refused:
        client.save_search(name, "red")
    assert refused.value.status == 422 and refused.value.code == "bad_name"
    assert not saved_dir.exists()


def test_a_saved_search_that_cannot_be_kept_is_refused_and_makes_nothing(client: Client, saved_dir: Path) -> None:
    client.save_search("reds", "red")
    with pytest.raises(ApiError) as twice:
        client.save_search("reds", "blue")
    assert twice.value.status == 409 and twice.value.code == "saved_exists"
    with pytest.raises(ApiError) as nothing:
        client.save_search("empty")
    assert nothing.value.status == 422 and nothing.value.code == "empty_query"
    with pytest.raises(ApiError, match='did you mean "circle"'):
        client.save_search("typo", tags=["circel"])
    assert sorted(os.listdir(saved_dir)) == ["reds"]


def test_saved_searches_survive_a_restart(env: dict[str, Path], model, library: Path, saved_dir: Path,
                                          make_shape: Callable[..., Path]) -> None:
    settings = {"serve_api": True, "socket": str(env["run"] / "api.sock"), "tagging": shape_tags(),
                "saved_folder": saved_dir}
    with running_engine(env, CountingModel(model), 16, **settings), Client(env["run"] / "api.sock") as client:
        client.save_search("squares", tags=["square"])
    # while no daemon runs, a link is deleted by hand: the next start makes it again (the folder mirrors
    # the search), though nothing in the library changed
    (saved_dir / "squares" / "blue-square.png").unlink()
    with running_engine(env, CountingModel(model), 16, **settings) as engine:
        wait_for(lambda: "blue-square.png" in links(saved_dir / "squares"))
        assert [s["name"] for s in engine.saved.states()] == ["squares"]
    # and a square that arrives while no daemon runs is linked once the next start has indexed it
    late = make_shape(env["photos"], "red", "square", "late.png")
    with running_engine(env, CountingModel(model), 17, **settings):
        wait_for(lambda: str(late) in links(saved_dir / "squares").values())


def test_the_cli_adds_lists_and_removes(env: dict[str, Path], engine: Engine, saved_dir: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(photosift_cmd("saved", *args), capture_output=True, text=True, timeout=120)

    added = run("add", "blue shapes", "blue", "--not", "a star")
    assert added.returncode == 0, added.stderr
    assert "saved 'blue shapes': " in added.stdout and str(saved_dir / "blue shapes") in added.stdout
    listed = json.loads(run("list", "--json").stdout)
    assert [(s["name"], s["query"], s["exclude"]) for s in listed] == [("blue shapes", "blue", ["a star"])]
    assert "blue shapes: 'blue' --not 'a star';" in run("list").stdout
    bare = run("add", "nothing")
    assert bare.returncode == 2 and "give words to search for, or --tag" in bare.stderr
    bad = run("add", "a/b", "blue")
    assert bad.returncode != 0 and "cannot hold / or" in bad.stderr
    removed = run("remove", "blue shapes")
    assert removed.returncode == 0 and "link(s) taken out of" in removed.stdout
    assert not (saved_dir / "blue shapes").exists()


def test_link_names_never_collide() -> None:
    taken = {"IMG_0001.jpg", "IMG_0001 (Rome).jpg"}
    assert link_name("/p/Paris/IMG_0002.jpg", taken) == "IMG_0002.jpg"
    assert link_name("/p/Paris/IMG_0001.jpg", taken) == "IMG_0001 (Paris).jpg"
    assert link_name("/p/Rome/IMG_0001.jpg", taken) == "IMG_0001 (Rome 2).jpg"
    long = "x" * 250 + ".jpg"
    named = link_name(f"/p/{'y' * 200}/{long}", {long})
    assert len(named.encode()) <= 255 and named.endswith(f"({'y' * 200}).jpg")
