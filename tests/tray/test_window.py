"""The search window, for real: Tk on an Xvfb display, a real engine answering over its real socket."""

from __future__ import annotations

from pathlib import Path

from engine_harness import CountingModel, make_engine
from PIL import Image

from photosift.daemon.engine import Engine
from photosift.tray.filters import INVALID_BG, parse_date
from photosift.tray.window import SearchWindow

from .conftest import screenshot
from .driver import Desk, destroyed, says_results


def names(window: SearchWindow) -> list[str]:
    return [Path(hit["path"]).name for hit in window.results]


def opened(desk: Desk) -> SearchWindow:
    window = desk.gui.show()
    desk.pump_until(lambda: window.top.winfo_viewable())
    return window


def search(desk: Desk, window: SearchWindow, text: str) -> None:
    desk.type(window.entry, text)
    desk.pump_until(lambda: window.results and window.status.cget("text").endswith("results"))


def test_typing_shows_the_daemons_results_as_thumbnails(display: str, desk: Desk, daemon: Engine) -> None:
    window = opened(desk)
    assert window.top.focus_get() is window.entry  # the query box has the focus at once
    search(desk, window, "a blue star")
    assert names(window)[0] == "blue-star.png"
    desk.pump_until(lambda: len(window.grid.images) == len(window.results))  # every thumbnail arrived
    # one blue star in the library: it is the likely match, and a divider sets the other 15 apart
    assert [hit["relevant"] for hit in window.results] == [True] + [False] * 15
    assert window.status.cget("text") == "1 likely match of 16 results"
    divider = window.grid.divider
    assert divider is not None and divider.winfo_ismapped() and divider.cget("text") == "── less likely matches ──"
    assert int(divider.grid_info()["row"]) == 1 and int(divider.grid_info()["columnspan"]) == window.grid.columns
    assert {int(cell.grid_info()["row"]) for cell, _, _ in window.grid.cells[1:]} >= {2}  # below the divider
    shot = screenshot(display, "search-window")
    assert Image.open(shot).getbbox() is not None


def test_keyboard_moves_the_selection_and_enter_opens(desk: Desk, daemon: Engine) -> None:
    window = opened(desk)
    search(desk, window, "a red circle")
    first = window.results[0]["path"]
    desk.key(window.entry, "Down")  # the next row
    assert window.selected == window.grid.columns > 1
    desk.key(window.entry, "Up")
    desk.key(window.entry, "Return")
    assert desk.opened == [first] and Path(first).name == "red-circle.png"
    desk.key(window.entry, "Escape")
    assert destroyed(window.top) and desk.gui.window is None  # Esc closes the window, the app stays
    assert not destroyed(desk.root)


def test_the_daemon_down_is_said_and_the_window_comes_back_with_it(
    display: str, env: dict[str, Path], model, library: Path
) -> None:
    """Down: why (no shell command), no stale results, a Start button; back: the choices load and the query on
    screen is searched again, without typing. The Start button starts a real engine on the window's socket
    (what `photosift start` would start, in this process so the test can stop it)."""
    sock = env["run"] / "api.sock"
    engines: list[Engine] = []

    def start() -> None:
        engine = make_engine(env, CountingModel(model), serve_api=True, socket=str(sock))
        engines.append(engine)
        engine.start()

    desk = Desk(sock, env["cache"] / "thumbs", starter=start)
    try:
        window = opened(desk)
        desk.type(window.entry, "a blue star")
        desk.pump_until(lambda: window.status.cget("text") == "photosift is not running")
        assert window.down_panel.winfo_ismapped() and window.start_button.winfo_ismapped()
        assert "not running" in window.down_text.cget("text") and "photosift start" not in window.down_text.cget("text")
        screenshot(display, "search-window-daemon-down")
        window.start_button.invoke()
        desk.pump_until(lambda: window.results and names(window)[0] == "blue-star.png", 120)
        assert not window.down_panel.winfo_ismapped()
        desk.pump_until(lambda: str(library) in window.filters.folder.cget("values"))  # the choices loaded

        engines[0].stop()  # gone again: the results go with it
        desk.type(window.entry, "s")
        desk.pump_until(lambda: window.down and window.results == [], 60)
        assert window.status.cget("text") == "photosift is not running"
    finally:
        desk.close()
        for engine in engines:
            engine.stop()


def test_the_window_is_photosifts_own(display: str, desk: Desk, daemon: Engine) -> None:
    """WM_CLASS "photosift" (the launcher's StartupWMClass), an icon, Ctrl+A selecting all, and a "No results"
    that names the filters that caused it."""
    from Xlib import X  # the window manager's view, from another X connection
    from Xlib import display as xdisplay

    window = opened(desk)
    x = xdisplay.Display(display)
    try:
        # Tk's wrapper window, the parent of the Toplevel's own, carries the window manager's properties
        frame = x.create_resource_object("window", window.top.winfo_id()).query_tree().parent
        assert frame.get_wm_class() == ("photosift", "photosift")
        icon = frame.get_full_property(x.intern_atom("_NET_WM_ICON"), X.AnyPropertyType)
        assert icon is not None and icon.value[0] == 64  # the largest first: 64 x 64
    finally:
        x.close()
    desk.type(window.entry, "abc")
    window.entry.focus_force()
    window.entry.event_generate("<Control-a>", when="tail")
    desk.root.update()
    assert window.entry.selection_present() and window.entry.selection_get() == "abc"
    desk.type(window.filters.after_entry, "2100")
    desk.pump_until(lambda: window.status.cget("text").startswith("No results"))
    assert window.status.cget("text") == "No results from 2100: Clear filters searches everything"


def test_results_beyond_the_window_scroll_into_view(desk: Desk, daemon: Engine) -> None:
    window = opened(desk)
    window.top.geometry("400x460")  # room for three columns and about one row
    desk.pump_until(lambda: window.top.winfo_height() == 460 and window.grid.columns == 3)
    search(desk, window, "a shape")
    assert window.grid.canvas.yview()[0] == 0.0
    for _ in range(5):  # down to the last row: 0, 3, ... 15
        desk.key(window.entry, "Down")
    assert window.selected == 15
    assert window.grid.canvas.yview()[0] > 0.5 and visible(window, 15)  # scrolled to the selected cell
    for _ in range(5):
        desk.key(window.entry, "Up")
    assert window.selected == 0 and window.grid.canvas.yview()[0] == 0.0 and visible(window, 0)
    window.top.geometry("1000x460")  # wider: more columns, the cells flow into them
    desk.pump_until(lambda: window.grid.columns > 3)
    first_row = window.grid.cells[0][0].grid_info()["row"]
    assert window.grid.cells[3][0].grid_info()["row"] == first_row  # the fourth cell moved up beside it


def visible(window: SearchWindow, index: int) -> bool:
    """Whether result `index`'s cell lies wholly inside the scrolled view."""
    cell = window.grid.cells[index][0]
    total = window.grid.inner.winfo_height()
    first, last = (f * total for f in window.grid.canvas.yview())
    return first - 0.5 <= cell.winfo_y() and cell.winfo_y() + cell.winfo_height() <= last + 0.5


def test_the_context_menu(display: str, desk: Desk, daemon: Engine, library: Path) -> None:
    window = opened(desk)
    search(desk, window, "a yellow square")
    assert names(window)[0] == "yellow-square.png"
    picture = window.grid.cells[0][1]
    desk.click(picture, button=3)
    desk.pump_until(lambda: window.menu.labels() and not window.menu.labels()[-1].startswith("Tags: asking"))
    labels = window.menu.labels()
    assert labels[:5] == ["Open", "Reveal in file manager", "Find similar", "Copy path", "—"]
    # the file's tags, from the daemon (the tiny model knows its colour and shape)
    assert {label.split()[1] for label in labels[5:]} == {"yellow", "square"}
    screenshot(display, "search-window-context-menu")
    path = str(library / "yellow" / "yellow-square.png")

    choose(desk, window, "Copy path")
    assert desk.root.clipboard_get() == path and window.status.cget("text") == f"Copied {path}"
    desk.click(picture, button=3)
    choose(desk, window, "Reveal in file manager")
    desk.pump_until(lambda: desk.revealed == [path])  # asked off the UI thread

    def no_file_manager(_path: str) -> None:
        raise OSError("No application is registered as handling this file")

    window.revealer = no_file_manager  # what GIO says on a desktop with nothing to open a folder with
    desk.click(picture, button=3)
    choose(desk, window, "Reveal in file manager")
    desk.pump_until(lambda: window.status.cget("text") == f"cannot show {path} in a file manager: No application "
                    "is registered as handling this file")
    desk.click(picture, button=3)
    choose(desk, window, "Open")
    assert desk.opened == [path]

    desk.click(picture, button=3)
    choose(desk, window, "Find similar")
    desk.pump_until(lambda: window.results and window.status.cget("text").endswith("results"))
    assert window.banner_text.cget("text") == "Images like yellow-square.png" and window.banner.winfo_ismapped()
    assert "yellow-square.png" not in names(window) and len(window.results) == 15  # the image itself is left out
    assert window.query.get() == ""


def choose(desk: Desk, window: SearchWindow, label: str) -> None:
    """Click a context-menu entry (Tk's own invoke, as a click on it does), then the menu closes."""
    desk.pump_until(lambda: any(lab.startswith(label) for lab in window.menu.labels()))
    assert window.menu.menu is not None
    window.menu.menu.invoke(next(i for i, lab in enumerate(window.menu.labels()) if lab.startswith(label)))
    window.menu.unpost()
    desk.root.update()


def test_a_tag_from_the_menu_and_the_chips_filter_results(desk: Desk, daemon: Engine) -> None:
    window = opened(desk)
    desk.pump_until(lambda: window.filters.chip("star") is not None)  # chips: the tags files carry
    search(desk, window, "something blue")
    desk.click(window.filters.chip("star"))
    desk.pump_until(lambda: len(window.results) == 4)
    assert sorted(names(window)) == ["blue-star.png", "green-star.png", "red-star.png", "yellow-star.png"]
    assert names(window)[0] == "blue-star.png"
    desk.click(window.grid.cells[0][1], button=3)
    choose(desk, window, "Tag: blue")  # "show only these": a second tag, both must hold
    desk.pump_until(lambda: len(window.results) == 1)
    assert names(window) == ["blue-star.png"] and window.filters.chosen_tags == ["star", "blue"]
    desk.click(window.filters.chip("star"))
    desk.pump_until(lambda: len(window.results) == 4)
    assert {n.split("-")[0] for n in names(window)} == {"blue"}


def test_folder_and_date_filters(desk: Desk, daemon: Engine, library: Path) -> None:
    window = opened(desk)
    desk.pump_until(lambda: len(window.filters.folder.cget("values")) == 2)
    search(desk, window, "a circle")
    assert len(window.results) == 16
    # the folder menu lists the watched folders; only one here, so choose it through the box itself
    window.filters.folder.set(str(library))
    window.filters.folder.event_generate("<<ComboboxSelected>>")
    desk.pump_until(lambda: says_results(window, 16))

    desk.type(window.filters.before_entry, "2001")  # nothing here was taken before 2002
    desk.pump_until(lambda: window.status.cget("text").startswith("No results"))
    assert window.results == []
    desk.type(window.filters.before_entry, "-13")  # "2001-13": not a date
    desk.pump_until(lambda: "not a date" in window.status.cget("text"))
    assert window.filters.before_entry.cget("bg") == INVALID_BG
    window.filters.clear()
    desk.type(window.filters.after_entry, "2001")
    desk.pump_until(lambda: says_results(window, 16))
    assert window.filters.after_entry.cget("bg") != INVALID_BG


def test_typed_dates_mean_whole_periods() -> None:
    # "To" asks for the end of its period: the first moment after it, which the daemon excludes
    assert parse_date("2024", end=False) == "2024-01-01T00:00:00"
    assert parse_date("2024", end=True) == "2025-01-01T00:00:00"
    assert parse_date("2024-02", end=True) == "2024-03-01T00:00:00"
    assert parse_date("2024-6-3", end=False) == "2024-06-03T00:00:00"
    assert parse_date(" ", end=True) is None
    for bad in ("2024-02-30", "24-01", "yesterday", "2024-00", "1700000000"):
        try:
            parse_date(bad, end=False)
        except ValueError as exc:
            assert "not a date" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_typing_leaves_find_similar(desk: Desk, daemon: Engine, library: Path) -> None:
    window = opened(desk)
    window.show_similar([str(library / "red" / "red-circle.png"), str(library / "blue" / "blue-circle.png")])
    desk.pump_until(lambda: says_results(window, 14))
    assert window.banner_text.cget("text") == "Images like red-circle.png, blue-circle.png"
    desk.type(window.entry, "a green star")
    desk.pump_until(lambda: window.results and names(window)[0] == "green-star.png")
    assert not window.banner.winfo_ismapped() and window.similar_to == ()


def test_double_click_opens_the_file(desk: Desk, daemon: Engine, library: Path) -> None:
    window = opened(desk)
    search(desk, window, "a green triangle")
    picture = window.grid.cells[2][1]
    for _ in range(2):  # two presses in quick succession: Tk makes the second a double-click
        picture.event_generate("<ButtonPress-1>", x=5, y=5)
        picture.event_generate("<ButtonRelease-1>", x=5, y=5)
    desk.root.update()
    assert window.selected == 2 and desk.opened == [window.results[2]["path"]]
