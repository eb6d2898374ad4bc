"""The tray app: a pystray icon showing the daemon's state, its menu, and the search window on demand.

Three loops run side by side: Tk on the main thread (the search window and
dialogs), pystray's own loop on "photosift-tray-icon", and the status poll on
"photosift-tray-poll". The poll asks `/v1/status` every second while indexing
(the progress moves), every five seconds otherwise, and backs off from 2 to 30
seconds while the daemon is down; a menu action wakes it at once.

On Linux pystray picks its backend: `appindicator` (a real menu; GNOME needs the
AppIndicator extension), `gtk` (a real menu, XEmbed trays), or `xorg` (any XEmbed
tray, no menu: clicking the icon opens the search window). PYSTRAY_BACKEND
forces one.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosift.daemon import last_word, paths
from photosift.daemon.answers import SavedState, Status
from photosift.daemon.client import Client
from photosift.daemon.config import Config
from photosift.daemon.errors import ApiError, DaemonNotRunning, DisplayError, PhotosiftError
from photosift.daemon.lock import FileLock

from . import icons
from .actions import Actions
from .gui import Gui, connector
from .instance import address_beside
from .state import Look, Reader, down, unreachable
from .thumbnails import Thumbnails

if TYPE_CHECKING:
    import pystray

log = logging.getLogger(__name__)

BUSY_POLL, IDLE_POLL = 1.0, 5.0
DOWN_POLL_FIRST, DOWN_POLL_MAX = 2.0, 30.0
STATUS_TIMEOUT = 10.0
ICON_STOP_GRACE = 2.0


def _session_bus() -> bool:
    """Whether a D-Bus session bus is reachable (the gtk and appindicator backends need one)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS")) or bool(runtime and Path(runtime, "bus").exists())


# pystray's own order on Linux; it moves to the next only on an ImportError, but a desktop with PyGObject
# and no AyatanaAppIndicator3 typelib fails with gi's ValueError, so photosift walks the list itself
LINUX_BACKENDS = ("appindicator", "gtk", "xorg")
# what a backend's failure usually means, and what fixes it (Debian's package names)
_MISSING = (
    ("AyatanaAppIndicator3", "the AppIndicator typelib (Debian: gir1.2-ayatanaappindicator3-0.1)"),
    ("Namespace Gtk", "GTK's typelib (Debian: gir1.2-gtk-3.0)"),
    ("No module named 'gi'", "PyGObject in photosift's environment (docs/desktop.md)"),
)


def load_pystray() -> Any:
    """pystray chooses its backend and connects to the desktop when imported: a missing display shows here.
    Without a D-Bus session (a bare X server, some remote sessions) the gtk and appindicator backends cannot
    start, so the plain X11 one is chosen unless PYSTRAY_BACKEND says otherwise. Otherwise each backend is
    tried in pystray's order, whatever its failure, and a fall-back says what was missing."""
    linux = sys.platform.startswith("linux")
    if linux and "PYSTRAY_BACKEND" not in os.environ and not _session_bus():
        log.warning("no D-Bus session bus: the tray icon uses pystray's xorg backend")
        os.environ["PYSTRAY_BACKEND"] = "xorg"
    chosen = os.environ.get("PYSTRAY_BACKEND")
    candidates: tuple[str | None, ...] = (chosen,) if chosen or not linux else LINUX_BACKENDS
    failures: list[str] = []
    for name in candidates:
        if name is not None:
            os.environ["PYSTRAY_BACKEND"] = name
        try:
            import pystray
        except Exception as exc:  # noqa: BLE001 - each backend fails its own way (Xlib, gi's ValueError...)
            failures.append(f"{name or 'pystray'}: {exc}")
            sys.modules.pop("pystray", None)  # a failed import leaves nothing usable: try the next afresh
            continue
        if failures:
            log.warning("the tray icon uses pystray's %s backend: %s%s", name, "; ".join(failures),
                        _what_is_missing(failures))
        return pystray
    raise DisplayError(f"cannot show a tray icon: {'; '.join(failures)}{_what_is_missing(failures)}")


def _what_is_missing(failures: list[str]) -> str:
    found = [fix for clue, fix in _MISSING if any(clue in failure for failure in failures)]
    if found:
        return " (missing: " + ", ".join(found) + ")"
    return f" (is there a desktop session? DISPLAY is {os.environ.get('DISPLAY', 'unset')})"


class TrayApp:
    """The icon, its menu and the poll; `gui` hosts the windows on the calling (main) thread."""

    def __init__(self, config: Config, config_path: Path, gui: Gui) -> None:
        self.config = config
        self.gui = gui
        self.reader = Reader()
        self.look = down()
        self.status: Status | None = None
        self.saved: list[SavedState] = []  # the saved searches, listed in the menu
        self.actions = Actions(config_path, gui, changed=self.poke)
        gui.errors_seen = self._errors_seen  # seen in the list, or in the search window's notice
        self._pystray = load_pystray()
        self.icon = self._pystray.Icon("photosift", icons.draw(self.look), self.look.title, menu=self._menu())
        _enable_clicks(self.icon)
        self._down_delay = 0.0  # the current back-off while the daemon is down
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._visible = threading.Event()  # the icon is shown: only then may the poll change it
        self._poller = threading.Thread(target=self._poll_loop, name="photosift-tray-poll")
        self._icon_thread = threading.Thread(target=self._run_icon, name="photosift-tray-icon")
        self.failure: str | None = None

    def _menu(self) -> pystray.Menu:
        pystray = self._pystray
        up = lambda _item: self.status is not None  # noqa: E731 - pystray takes callables for visible
        paused = lambda: bool(self.status and self.status["paused"])  # noqa: E731
        return pystray.Menu(
            pystray.MenuItem(lambda _item: self.look.title, None, enabled=False),
            pystray.Menu.SEPARATOR,
            pystray.MenuItem("Search…", self.actions.search, default=True),
            pystray.MenuItem("Search clipboard image", self.actions.search_clipboard, visible=up),
            pystray.MenuItem(lambda _item: "Resume indexing" if paused() else "Pause indexing",
                             lambda: self.actions.set_paused(not paused()), visible=up),
            pystray.MenuItem("Folders…", self.actions.folders, visible=up),
            pystray.MenuItem("Saved searches", pystray.Menu(self._saved_items),
                             visible=lambda _item: up(_item) and bool(self.saved)),
            pystray.MenuItem("Duplicates…", self.actions.duplicates, visible=up),
            pystray.MenuItem("Recent errors…", self.actions.errors, visible=up),
            pystray.MenuItem("Open config", self.actions.open_config),
            pystray.MenuItem("Start daemon", self.actions.start_daemon, visible=lambda _item: self.status is None),
            pystray.Menu.SEPARATOR,
            pystray.MenuItem("Quit", self.quit),
        )

    def _saved_items(self) -> list[pystray.MenuItem]:
        """One entry per saved search: it opens the search's folder in the file manager."""
        def opener(path: str) -> Callable[[], None]:
            return lambda: self.actions.open_path(path)

        return [self._pystray.MenuItem(s["name"], opener(s["path"])) for s in self.saved]

    @property
    def has_menu(self) -> bool:
        """Whether this desktop's tray shows the menu (pystray's xorg backend cannot)."""
        return bool(self.icon.HAS_MENU)

    def start(self) -> None:
        self._icon_thread.start()
        self._poller.start()
        if not self.has_menu:
            log.warning("pystray's %s backend shows no menu: clicking the icon opens the search window "
                        "(docs/desktop.md says what the menu needs)", type(self.icon).__module__)

    def _run_icon(self) -> None:
        try:
            self.icon.run(setup=self._icon_shown)
        except Exception as exc:  # a backend that cannot start (no D-Bus session for gtk, ...): say so and quit
            log.debug("the tray icon failed", exc_info=True)
            if self._stopping.is_set():
                return  # failing while it winds down (gtk, without a notification service): not worth an error
            self.failure = f"the tray icon failed ({type(self.icon).__module__}): {exc}"
            self.quit()

    def _icon_shown(self, icon: pystray.Icon) -> None:
        """pystray's setup step: show the icon (what its default setup does), then let the poll change it.
        A title set on an icon not yet visible is kept by pystray but never sent by its xorg backend, so
        a first poll that came before the icon showed left its first title ("not running") for good."""
        icon.visible = True
        self._visible.set()

    def _errors_seen(self) -> None:
        self.reader.errors_seen()
        self.poke()  # the icon stops being red for them at once

    # -- the poll -------------------------------------------------------------------------------

    def poke(self) -> None:
        """Poll now (after an action changed something)."""
        self._wake.set()

    def poll_once(self) -> float:
        """Ask the daemon's status, update the icon; returns the seconds until the next poll."""
        try:
            with Client(self.config.socket_path, timeout=STATUS_TIMEOUT) as client:
                status = client.status()
                saved = _saved(client)
        except DaemonNotRunning:
            self._show(down(last_word.explain(last_word.read(self.config.socket_path))), None)
            self._down_delay = min(self._down_delay * 2, DOWN_POLL_MAX) if self._down_delay else DOWN_POLL_FIRST
            return self._down_delay
        except PhotosiftError as exc:
            self._show(unreachable(str(exc)), None)
            return IDLE_POLL
        self._down_delay = 0.0
        look = self.reader.look(status)
        if saved != self.saved:
            self.saved = saved
            self.icon.update_menu()
        self._show(look, status)
        return BUSY_POLL if look.state == "indexing" else IDLE_POLL

    def _poll_loop(self) -> None:
        try:
            self._visible.wait()  # set by the icon's setup, or by quit()
            while not self._stopping.is_set():
                delay = self.poll_once()
                self._wake.wait(delay)
                self._wake.clear()
        finally:
            # the poll is the only thread besides pystray's own that changes the icon; stopping the icon from
            # here means a stop never races an update (with the xorg backend that left its loop running)
            self.icon.stop()

    def _show(self, look: Look, status: Status | None) -> None:
        was_up, self.status = self.status is not None, status
        if look != self.look:
            if (look.state, round(look.fraction, 2)) != (self.look.state, round(self.look.fraction, 2)):
                self.icon.icon = icons.draw(look)
            self.look = look
            self.icon.title = look.title
            self.icon.update_menu()
        elif was_up != (status is not None):
            self.icon.update_menu()

    # -- the end --------------------------------------------------------------------------------

    def quit(self) -> None:
        """Quit the tray app (the daemon keeps running)."""
        self._stopping.set()
        self._visible.set()  # a poll still waiting for the icon to show goes on, to its end
        self._wake.set()  # the poll ends and stops the icon
        self.gui.ui.post(self.gui.root.quit)

    def join(self) -> None:
        """Wait for the poll, the icon's loop and a menu action under way; close the dialogs (on the Tk thread)."""
        if self._poller.is_alive():
            self._poller.join()
        self._icon_thread.join(ICON_STOP_GRACE)
        if self._icon_thread.is_alive():
            _break_xorg_loop(self.icon, self._icon_thread)
        self.actions.close()


def _saved(client: Client) -> list[SavedState]:
    """The daemon's saved searches; none from a daemon older than them."""
    try:
        return client.saved()
    except ApiError as exc:
        if exc.status == 404:
            return []
        raise


def _enable_clicks(icon: pystray.Icon) -> None:
    """pystray's xorg backend (0.19.5) selects no button events on its window, so a click on the icon does
    nothing (pystray issue #151). Ask X for them: a left click then runs the default item, Search…."""
    if type(icon).__module__ != "pystray._xorg":
        return
    from Xlib import X

    window, display = icon._window, icon._display  # private: there is no public way in
    window.change_attributes(event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask)
    display.flush()


def _break_xorg_loop(icon: pystray.Icon, thread: threading.Thread) -> None:
    """End the xorg backend's loop when stopping it did not: now and then (about one stop in eight here) its
    thread stays blocked reading the X connection after its window is gone. Closing that connection ends the
    read; the loop's "error in the main loop" report is expected then, so it is silenced."""
    if type(icon).__module__ != "pystray._xorg":
        thread.join()
        return
    pystray_log = logging.getLogger("pystray._base")
    pystray_log.disabled = True
    try:
        icon._display.close()  # private: there is no public way in
        thread.join()
    finally:
        pystray_log.disabled = False


def _only_tray(runtime: Path) -> FileLock | None:
    """A lock held for the process's life; None if another tray app of this user holds it."""
    lock = FileLock(runtime / "tray.lock")
    return lock if lock.try_acquire(f"pid {os.getpid()}") else None


def run_tray(config: Config) -> int:
    """`photosift tray`: the icon until Quit (or SIGTERM/Ctrl+C); a second tray app exits at once."""
    lock = _only_tray(config.socket_path.parent)
    if lock is None:
        print("photosift: the tray app is already running", file=sys.stderr)
        return 0
    gui = Gui(connector(config), Thumbnails(paths.cache_dir() / "thumbnails"))
    gui.listen(address_beside(config.socket_path))
    app = TrayApp(config, paths.config_file(), gui)
    # Tk swallows exceptions raised in its callbacks, KeyboardInterrupt included: quit by signal instead
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: app.quit())
    app.start()
    try:
        gui.mainloop()
    finally:
        app.quit()
        app.join()
        gui.close()
        lock.release()
    if app.failure is not None:
        print(f"photosift: {app.failure}; PYSTRAY_BACKEND=xorg uses the plain X11 tray", file=sys.stderr)
        sys.stderr.flush()
        # pystray leaves its setup thread waiting for a loop that never started; it would keep the
        # interpreter from exiting. Everything of ours is closed by now.
        os._exit(1)
    return 0
