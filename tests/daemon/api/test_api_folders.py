"""Watched folders through the API: added and removed at run time, saved to the real config file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from engine_harness import CountingModel, running_engine, settled
from helpers import wait_for

from photosift.daemon.client import Client
from photosift.daemon.engine import Engine
from photosift.daemon.errors import ApiError


def names(hits: list[dict]) -> list[str]:
    return [Path(h["path"]).name for h in hits]


def expect_error(status: int, code: str, call: Callable[[], object]) -> str:
    with pytest.raises(ApiError) as info:
        call()
    assert (info.value.status, info.value.code) == (status, code)
    return str(info.value)


def test_adding_a_folder_saves_it_watches_it_and_indexes_it(
    env: dict[str, Path], client: Client, library: Path, tmp_path: Path, make_shape: Callable[..., Path]
) -> None:
    env["config"].write_text(f'# my settings\nfolders = [\n    "{library}",  # the camera\n]\n')
    extra = tmp_path / "extra"
    make_shape(extra, "blue", "star", "extra-star.png")

    change = client.add_folder(str(extra))
    assert change == {"folders": [str(library), str(extra)], "added": [str(extra)], "removed": []}
    text = env["config"].read_text()
    assert "# my settings" in text and f'"{library}",  # the camera' in text and f'"{extra}"' in text
    wait_for(lambda: client.status()["indexed"] == 17)
    listing = {f["path"]: f for f in client.folders()}
    assert listing[str(extra)]["indexed"] == 1 and listing[str(library)]["indexed"] == 16
    wait_for(lambda: {f["path"]: f for f in client.folders()}[str(extra)]["watched"] == "yes")
    make_shape(extra, "red", "circle", "later.png")  # now a watched folder: the new file arrives by event
    wait_for(lambda: client.status()["indexed"] == 18)
    assert names(client.search("a blue star", k=1, folder=str(extra))) == ["extra-star.png"]


def test_removing_a_folder_forgets_its_images_and_stops_watching(
    env: dict[str, Path], client: Client, daemon: Engine, library: Path, tmp_path: Path,
    make_shape: Callable[..., Path],
) -> None:
    extra = tmp_path / "extra"
    make_shape(extra, "blue", "star", "extra-star.png")
    client.add_folder(str(extra))
    wait_for(lambda: client.status()["indexed"] == 17)

    change = client.remove_folder(str(extra))
    assert change == {"folders": [str(library)], "added": [], "removed": [str(extra)]}
    wait_for(lambda: client.status()["indexed"] == 16)
    assert client.search("a blue star", k=5, folder=str(extra)) == []
    assert str(extra) not in env["config"].read_text()
    assert [f["path"] for f in client.folders()] == [str(library)]
    # a file added there now is ignored: the one added to a watched folder afterwards arrives alone
    make_shape(extra, "green", "circle", "ignored.png")
    make_shape(library, "green", "circle", "seen.png")
    wait_for(lambda: client.status()["indexed"] == 17)
    client.rescan()
    wait_for(lambda: settled(daemon))
    assert client.file(str(extra / "ignored.png"))["indexed"] is False
    assert client.status()["indexed"] == 17


def test_adding_a_parent_folder_absorbs_the_watched_folder_without_re_encoding(
    client: Client, daemon: Engine, library: Path, tmp_path: Path, make_shape: Callable[..., Path]
) -> None:
    albums = tmp_path / "albums"
    make_shape(albums / "2024", "red", "star", "old.png")
    client.add_folder(str(albums / "2024"))
    wait_for(lambda: client.status()["indexed"] == 17)
    make_shape(albums, "yellow", "square", "top.png")
    encoded = daemon.model.images_encoded

    change = client.add_folder(str(albums))
    assert change["removed"] == [str(albums / "2024")] and change["folders"] == [str(library), str(albums)]
    wait_for(lambda: client.status()["indexed"] == 18)
    assert daemon.model.images_encoded == encoded + 1  # only the new top-level image
    listing = {f["path"]: f["indexed"] for f in client.folders()}
    assert listing == {str(library): 16, str(albums): 2}


def test_bad_folder_requests_are_refused_and_change_nothing(
    env: dict[str, Path], client: Client, library: Path, tmp_path: Path
) -> None:
    assert "does not exist" in expect_error(400, "not_a_folder", lambda: client.add_folder(str(tmp_path / "nope")))
    expect_error(409, "already_watched", lambda: client.add_folder(str(library)))
    inside = expect_error(409, "already_watched", lambda: client.add_folder(str(library / "red")))
    assert inside.endswith(f"to watch only it instead: photosift folders set {library / 'red'}")
    expect_error(422, "relative_path", lambda: client.add_folder("photos"))
    expect_error(404, "not_watched", lambda: client.remove_folder(str(tmp_path)))
    last = expect_error(409, "last_folder", lambda: client.remove_folder(str(library)))
    assert "photosift folders set FOLDER" in last
    expect_error(400, "not_a_folder", lambda: client.set_folders([str(library), str(tmp_path / "nope")]))
    expect_error(422, "invalid_request", lambda: client.set_folders([]))
    broken = 'folders = ["/x"]\nbatch_sise = 4\n'  # edited by hand since the daemon started
    env["config"].write_text(broken)
    (tmp_path / "more").mkdir()
    message = expect_error(409, "config_invalid", lambda: client.add_folder(str(tmp_path / "more")))
    assert "batch_sise" in message and 'did you mean "batch_size"' in message
    assert env["config"].read_text() == broken
    assert [f["path"] for f in client.folders()] == [str(library)]
    raw = client._http.delete("/v1/folders")
    assert raw.status_code == 422 and "path" in raw.json()["error"]["message"]


def test_narrowing_a_watch_keeps_what_stays_and_widening_it_again_encodes_nothing(
    env: dict[str, Path], client: Client, daemon: Engine, library: Path
) -> None:
    """`folders set` narrows a watch in one step (adding a subfolder of a watched folder, or removing the only
    one, are refused); the photos that leave keep their embeddings for the grace period."""
    encoded = daemon.model.images_encoded
    change = client.set_folders([str(library / "red")])
    assert change == {"folders": [str(library / "red")], "added": [str(library / "red")], "removed": [str(library)]}
    wait_for(lambda: client.status()["indexed"] == 4 and settled(daemon))
    assert {Path(h["path"]).parent.name for h in client.search("a shape", k=20)} == {"red"}
    # they belong to the narrower folder now: its count, and the unmounted-root check, go by that
    wait_for(lambda: [(f["path"], f["indexed"]) for f in client.folders()] == [(str(library / "red"), 4)])
    assert f'"{library / "red"}"' in env["config"].read_text() and f'"{library}"' not in env["config"].read_text()
    assert daemon.model.images_encoded == encoded  # the four that stayed were not encoded again

    client.set_folders([str(library)])  # and back: the twelve that left come from photosift's copy
    wait_for(lambda: client.status()["indexed"] == 16 and settled(daemon))
    assert daemon.model.images_encoded == encoded
    assert names(client.search("a blue star", k=1)) == ["blue-star.png"]


def test_a_folder_removed_and_added_back_encodes_nothing(
    client: Client, daemon: Engine, library: Path, tmp_path: Path, make_shape: Callable[..., Path]
) -> None:
    extra = tmp_path / "extra"
    make_shape(extra, "blue", "star", "extra-star.png")
    make_shape(extra, "red", "circle", "extra-circle.png")
    client.add_folder(str(extra))
    wait_for(lambda: client.status()["indexed"] == 18 and settled(daemon))
    encoded = daemon.model.images_encoded
    client.remove_folder(str(extra))
    wait_for(lambda: client.status()["indexed"] == 16)
    assert daemon.archive.retired_count() == 2
    client.add_folder(str(extra))
    wait_for(lambda: client.status()["indexed"] == 18 and settled(daemon))
    assert daemon.model.images_encoded == encoded
    assert daemon.archive.retired_count() == 0  # back in the index, not kept twice
    assert names(client.search("a blue star", k=1, folder=str(extra))) == ["extra-star.png"]


def test_a_folder_taken_out_of_the_config_while_stopped_leaves_the_index_and_comes_back_free(
    env: dict[str, Path], model, library: Path, tmp_path: Path, make_shape: Callable[..., Path]
) -> None:
    """The config file is the folder list the daemon reads at start: a folder deleted from it by hand while
    no daemon ran leaves the search at the next start (it stayed searchable before), kept for the grace
    period like one removed through `folders remove`."""
    extra = tmp_path / "extra"
    make_shape(extra, "blue", "star", "extra-star.png")
    counting = CountingModel(model)
    with running_engine(env, counting, 17, folders=(library, extra)):
        pass
    encoded = counting.images_encoded
    with running_engine(env, counting, 16, folders=(library,)) as engine:  # `extra` edited out of the config
        assert all(not p.startswith(str(extra)) for p in engine.catalog.paths())
        assert engine.archive.retired_count() == 1
    with running_engine(env, counting, 17, folders=(library, extra)) as engine:  # and written back in
        assert engine.archive.retired_count() == 0
    assert counting.images_encoded == encoded
