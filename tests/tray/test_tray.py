"""The tray app, for real: a pystray icon docked in trayer (a real XEmbed tray) on Xvfb, a real engine behind
the socket, real X clicks, and the menu's actions checked against the daemon's state."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import wait_for, write_config
from PIL import Image, ImageFilter, ImageGrab

from photosift.daemon.config import load
from photosift.daemon.engine import Engine
from photosift.daemon.saved.spec import SavedSearch
from photosift.shell_ext.common import photosift_argv
from photosift.tray import icons
from photosift.tray.actions import STARTER_CONFIG
from photosift.tray.app import TrayApp
from photosift.tray.state import Look

from .conftest import ARTIFACTS
from .driver import Desk
from .xclient import TrayWindow


@pytest.fixture
def make_tray(desk: Desk, env: dict[str, Path], tray_host: None, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    # the backend a bare X tray offers, and the one without menus (pystray picks it when first imported)
    monkeypatch.setenv("PYSTRAY_BACKEND", "xorg")
    apps: list[TrayApp] = []

    def make() -> TrayApp:
        app = TrayApp(load(env["config"]), env["config"], desk.gui)
        app.actions.opener = desk.opened.append  # no default application under Xvfb: note what would open
        apps.append(app)
        app.start()
        return app

    yield make
    for app in apps:
        app.quit()
        app.join()
        if app.actions.daemon_process is not None:
            app.actions.daemon_process.send_signal(signal.SIGTERM)
            app.actions.daemon_process.wait(60)


def menu(app: TrayApp) -> list[str]:
    """The menu's visible entries, as the tray would list them."""
    import pystray  # imported by the tray app on the test's display

    return [item.text for item in app.icon.menu if item is not pystray.Menu.SEPARATOR]


def choose(app: TrayApp, text: str) -> None:
    """Activate a menu entry, as clicking it in the tray's menu does."""
    next(item for item in app.icon.menu if item.text == text)(app.icon)


def test_the_icon_docks_shows_the_state_and_a_click_opens_search(
    display: str, desk: Desk, daemon: Engine, make_tray, tray_window: TrayWindow
) -> None:
    app = make_tray()
    # the first icon of the run docks while trayer itself still starts: as long as the menu tests allow
    wait_for(lambda: tray_window.docked() and tray_window.title() == "photosift: 16 images indexed", 60)
    assert app.look.state == "idle"
    left, top, width, height = tray_window.box()
    shot = ImageGrab.grab(xdisplay=display).crop((left - 120, 0, left + width + 4, top + height + 4))
    ARTIFACTS.mkdir(exist_ok=True)
    shot.resize((shot.width * 4, shot.height * 4), Image.Resampling.NEAREST).save(ARTIFACTS / "tray.png")
    drawn = shot.crop((120, top, 120 + width, top + height)).convert("RGB")
    assert (42, 110, 219) in {drawn.getpixel((x, y)) for x in range(width) for y in range(height)}  # idle blue
    tray_window.click()
    desk.pump_until(lambda: desk.gui.window is not None and desk.gui.window.top.winfo_viewable())
    assert desk.gui.window.top.focus_get() is desk.gui.window.entry


def test_pause_and_resume_from_the_menu(desk: Desk, daemon: Engine, make_tray, tray_window: TrayWindow) -> None:
    app = make_tray()
    wait_for(lambda: app.look.state == "idle", 30)
    assert menu(app) == ["photosift: 16 images indexed", "Search…", "Search clipboard image", "Pause indexing",
                         "Folders…", "Duplicates…", "Recent errors…", "Open config", "Quit"]
    choose(app, "Pause indexing")
    wait_for(lambda: daemon.status()["paused"] and app.look.state == "paused", 30)
    wait_for(lambda: tray_window.title() == "photosift: paused, 0 waiting", 30)
    assert "Resume indexing" in menu(app)
    choose(app, "Resume indexing")
    wait_for(lambda: not daemon.status()["paused"] and app.look.state == "idle", 30)


def test_folders_from_the_menu(desk: Desk, daemon: Engine, make_tray, env: dict[str, Path],
                               make_shape) -> None:
    app = make_tray()
    questions: list[str] = []
    # the confirmation is a modal message box with its own nested event loop; answer it "yes" and keep the question
    app.actions.confirm = lambda _parent, question: questions.append(question) or True
    extra = env["photos"].parent / "more photos"
    make_shape(extra, "red", "star", "extra.png")
    wait_for(lambda: app.status is not None, 30)
    choose(app, "Folders…")
    desk.pump_until(lambda: app.actions.folders_dialog is not None and app.actions.folders_dialog.folders)
    dialog = app.actions.folders_dialog
    assert dialog.listbox.get(0) == f"{env['photos']}    (16 images)"
    desk.type(dialog.path, str(extra))
    desk.key(dialog.path, "Return")
    desk.pump_until(lambda: dialog.listbox.size() == 2)
    wait_for(lambda: daemon.status()["indexed"] == 17, 60)
    assert str(extra) in [r["path"] for r in daemon.status()["roots"]]
    dialog.listbox.selection_set(1)
    dialog.remove_button.invoke()
    desk.pump_until(lambda: dialog.listbox.size() == 1)
    assert questions and str(extra) in questions[0] and "The photos themselves are not touched" in questions[0]
    assert [r["path"] for r in daemon.status()["roots"]] == [str(env["photos"])]
    dialog.listbox.selection_set(0)
    dialog.remove_button.invoke()  # the last folder: the daemon refuses, the dialog says why
    desk.pump_until(lambda: "is the only watched folder" in dialog.status.cget("text"))
    assert (extra / "extra.png").exists()


def test_saved_searches_are_listed_and_open_in_the_file_manager(desk: Desk, daemon: Engine, make_tray) -> None:
    app = make_tray()
    wait_for(lambda: app.look.state == "idle", 30)
    assert "Saved searches" not in menu(app)  # none yet: no empty submenu
    reds = daemon.saved.add(SavedSearch("red things", "red"))
    daemon.saved.add(SavedSearch("stars", tags=("star",)))
    app.poke()
    wait_for(lambda: "Saved searches" in menu(app), 30)
    submenu = next(item for item in app.icon.menu if item.text == "Saved searches").submenu
    assert [item.text for item in submenu] == ["red things", "stars"]
    next(item for item in submenu if item.text == "red things")(app.icon)
    assert desk.opened == [reds["path"]] and Path(reds["path"]).is_dir()


def test_errors_turn_the_icon_red_until_looked_at(desk: Desk, daemon: Engine, make_tray, env: dict[str, Path],
                                                  tray_window: TrayWindow) -> None:
    broken = env["photos"] / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    app = make_tray()
    wait_for(lambda: app.look.state == "error", 60)
    assert app.look.title == "photosift: 16 images indexed; 1 file could not be indexed"
    choose(app, "Recent errors…")
    desk.pump_until(lambda: desk.gui.errors_dialog is not None
                    and str(broken) in desk.gui.errors_dialog.content())
    wait_for(lambda: app.look.state == "idle" and tray_window.title() == "photosift: 16 images indexed", 30)


def test_opening_the_window_shows_the_errors_and_clears_the_red(desk: Desk, daemon: Engine, make_tray,
                                                                env: dict[str, Path]) -> None:
    """Where the tray has no menu (pystray's xorg backend) a click opens the search window: the window says
    how many files failed, with their list a click away, and opening it is seeing them."""
    (env["photos"] / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    app = make_tray()
    wait_for(lambda: app.look.state == "error", 60)
    choose(app, "Search…")  # what a click does
    desk.pump_until(lambda: desk.gui.window is not None and desk.gui.window.notice.winfo_ismapped())
    window = desk.gui.window
    assert window.notice_text.cget("text") == "1 file could not be indexed"
    wait_for(lambda: app.look.state == "idle", 30)
    window.details_button.invoke()
    desk.pump_until(lambda: desk.gui.errors_dialog is not None and "broken.jpg" in desk.gui.errors_dialog.content())
    desk.gui.errors_dialog.close_button.invoke()
    desk.pump_until(lambda: not desk.gui.errors_dialog.top.winfo_exists())


def test_open_config_writes_a_starter_and_quit_ends_the_app(desk: Desk, daemon: Engine, make_tray,
                                                            env: dict[str, Path]) -> None:
    app = make_tray()
    assert not env["config"].exists()
    choose(app, "Open config")
    assert desk.opened == [str(env["config"])] and env["config"].read_text() == STARTER_CONFIG
    assert load(env["config"]).folders == load(Path("/nonexistent.toml")).folders  # the starter changes nothing
    choose(app, "Quit")
    app.join()  # the icon's loop, the poll and the action worker all end
    desk.pump_until(lambda: not app._poller.is_alive() and not app._icon_thread.is_alive())


def test_daemon_down_backs_off_and_start_daemon_starts_it(desk: Desk, make_tray, env: dict[str, Path],
                                                          library: Path, tray_window: TrayWindow) -> None:
    write_config(env["config"], folders=[str(library)], debounce_seconds=0.3)
    app = make_tray()
    wait_for(lambda: tray_window.title() == "photosift: the daemon is not running", 30)
    assert app.look.state == "down"
    assert menu(app) == ["photosift: the daemon is not running", "Search…", "Open config", "Start daemon", "Quit"]
    delays = [app.poll_once() for _ in range(6)]
    assert delays[:4] == sorted(delays[:4]) and delays[0] >= 2 and delays[-1] == 30  # backs off, up to 30 s
    choose(app, "Start daemon")
    process = app.actions.daemon_process
    # the same path as `photosift start` (no user service here): this installation's photosift, in the background
    assert process is not None and process.args == [*photosift_argv(), "daemon"]
    wait_for(lambda: app.look.title == "photosift: 16 images indexed", 120)
    assert "Start daemon" not in menu(app) and "Pause indexing" in menu(app)


@pytest.mark.parametrize("size", [16, 22, 32, 48])
def test_the_icons_have_no_stray_pixels(size: int) -> None:
    """Every pixel with any colour touches the glyph's solid body: no faint fringe around it on a panel
    (a Lanczos downscale rang at the edges and left dozens)."""
    for state in ("idle", "indexing", "paused", "down", "error"):
        alpha = np.array(icons.draw(Look(state, "", 0.3), size))[..., 3]
        body = Image.fromarray(((alpha > 128) * 255).astype("uint8")).filter(ImageFilter.MaxFilter(3))
        stray = (alpha > 0) & (np.array(body) == 0)
        assert not stray.any(), f"{state} at {size} px: {int(stray.sum())} stray pixels"


def test_the_five_states_draw_differently() -> None:
    looks = [Look("idle", ""), Look("indexing", "", 0.3), Look("paused", ""), Look("down", ""), Look("error", "")]
    drawn = [icons.draw(look, 32) for look in looks]
    assert len({img.tobytes() for img in drawn}) == 5
    strip = Image.new("RGBA", (32 * 5 + 40, 32), "white")
    for i, img in enumerate(drawn):
        strip.alpha_composite(img, (i * 40, 0))
    ARTIFACTS.mkdir(exist_ok=True)
    strip.resize((strip.width * 3, strip.height * 3), Image.Resampling.NEAREST).save(ARTIFACTS / "tray-states.png")
