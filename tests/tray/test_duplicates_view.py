"""The Duplicates view, for real: Tk on Xvfb, a real engine over its real socket finding real copies of
scikit-image's photos, and the ticked copies really moved to a (temp) freedesktop Trash."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_harness import CountingModel, running_engine
from helpers import photosift_cmd, wait_for
from PIL import Image
from skimage import data

from photosift.daemon.engine import Engine
from photosift.tray.instance import address_beside

from .conftest import screenshot
from .driver import Desk


@pytest.fixture
def copies(env: dict[str, Path]) -> dict[str, Path]:
    """An astronaut with a re-saved and a resized copy, a cat with its byte-identical WhatsApp copy, a coffee."""
    photos = env["photos"]
    astronaut = Image.fromarray(data.astronaut())
    files = {"original": photos / "astronaut.jpg", "resaved": photos / "edits" / "astronaut-q40.jpg",
             "resized": photos / "edits" / "astronaut-small.jpg", "cat": photos / "chelsea.jpg",
             "whatsapp": photos / "WhatsApp Images" / "chelsea.jpg", "coffee": photos / "coffee.jpg"}
    files["resaved"].parent.mkdir()
    files["whatsapp"].parent.mkdir()
    astronaut.save(files["original"], quality=95)
    astronaut.save(files["resaved"], quality=40)
    astronaut.resize((256, 256), Image.Resampling.LANCZOS).save(files["resized"], quality=90)
    Image.fromarray(data.chelsea()).save(files["cat"], quality=92)
    shutil.copyfile(files["cat"], files["whatsapp"])
    Image.fromarray(data.coffee()).save(files["coffee"], quality=92)
    return files


@pytest.fixture
def engine(env: dict[str, Path], model, copies: dict[str, Path]) -> Iterator[Engine]:
    with running_engine(env, CountingModel(model), len(copies), serve_api=True,
                        socket=str(env["run"] / "api.sock")) as engine:
        yield engine


def test_the_groups_side_by_side_and_the_ticked_copies_go_to_the_trash(
    display: str, desk: Desk, engine: Engine, copies: dict[str, Path], trash: Path
) -> None:
    questions: list[str] = []
    desk.gui.confirm = lambda _parent, question: questions.append(question) or True
    window = desk.gui.show()
    desk.click(window.duplicates_button)  # from the search window
    view = desk.gui.duplicates
    assert view is not None
    desk.pump_until(lambda: view.groups and "groups of duplicates" in view.status.cget("text"), 120)
    assert [[Path(f["path"]) for f in g["files"]] for g in view.groups] == [
        [copies["original"], copies["resaved"], copies["resized"]], [copies["cat"], copies["whatsapp"]]]
    # the suggested copy stays unticked, every other starts ticked
    assert view.chosen() == [str(copies[k]) for k in ("resaved", "resized", "whatsapp")]
    assert view.trash_button.cget("text") == "Move 3 to Trash"
    desk.pump_until(lambda: len(view.images) == 5)  # every thumbnail arrived
    shot = screenshot(display, "duplicates-view")
    assert Image.open(shot).getbbox() is not None

    desk.click(view.checks[str(copies["resized"])])  # the user keeps the small copy too
    assert view.chosen() == [str(copies["resaved"]), str(copies["whatsapp"])]
    desk.click(view.trash_button)
    desk.pump_until(lambda: view.status.cget("text").startswith("Moved 2 to the Trash"))
    assert questions == ["Move 2 photos to the Trash? You can restore them from there."]
    assert not copies["resaved"].exists() and not copies["whatsapp"].exists()
    assert sorted(os.listdir(trash / "files")) == ["astronaut-q40.jpg", "chelsea.jpg"]
    # what is left: the astronaut's group of two; the cat stands alone now
    assert [[Path(f["path"]) for f in g["files"]] for g in view.groups] == [[copies["original"], copies["resized"]]]
    assert view.chosen() == [str(copies["resized"])]
    wait_for(lambda: str(copies["resaved"]) not in engine.catalog.paths()
             and str(copies["whatsapp"]) not in engine.catalog.paths(), 60)  # the index follows
    view.close()
    assert desk.gui.duplicates is None


def test_nothing_goes_without_a_yes_and_a_folder_narrows_the_view(
    desk: Desk, engine: Engine, copies: dict[str, Path], trash: Path, env: dict[str, Path]
) -> None:
    desk.gui.confirm = lambda _parent, _question: False
    assert desk.gui.listen(address_beside(env["run"] / "api.sock"))
    # `photosift duplicates --gui FOLDER` hands the request to the open app
    shown = subprocess.run(photosift_cmd("duplicates", "--gui", str(copies["resaved"].parent)), timeout=60,
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    desk.pump_until(lambda: desk.gui.duplicates is not None and desk.gui.duplicates.groups, 120)
    view = desk.gui.duplicates
    assert view is not None and view.folder == str(copies["resaved"].parent)
    assert [[Path(f["path"]).name for f in g["files"]] for g in view.groups] == [
        ["astronaut-q40.jpg", "astronaut-small.jpg"]]  # the larger picture is the one to keep
    desk.click(view.trash_button)
    assert copies["resized"].exists() and not trash.exists()  # "no": nothing moved
    assert view.chosen() == [str(copies["resized"])]


def test_no_duplicates_is_said(desk: Desk, engine: Engine, copies: dict[str, Path]) -> None:
    view = desk.gui.show_duplicates(str(copies["coffee"].parent / "WhatsApp Images"))
    desk.pump_until(lambda: view.status.cget("text").startswith("No duplicates"), 120)
    assert view.groups == [] and "disabled" in view.trash_button.state()
