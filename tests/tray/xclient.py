"""The tray icon as another X client sees it: found in the tray by its title, clicked and typed at with
XTEST, as a mouse and keyboard do."""

from __future__ import annotations


class TrayWindow:
    """The icon's X window as another X client sees it: found in the tray by its title."""

    def __init__(self, display: str) -> None:
        from Xlib.display import Display

        self.x = Display(display)

    def find(self) -> object | None:
        from Xlib.error import BadWindow

        def walk(window: object) -> object | None:
            try:
                children = window.query_tree().children  # type: ignore[attr-defined]
            except BadWindow:
                return None  # gone while we looked (the tray makes and drops windows as icons come)
            for child in children:
                try:
                    name = child.get_wm_name()
                except BadWindow:
                    continue
                if isinstance(name, str) and name.startswith("photosift:"):
                    return child
                found = walk(child)
                if found is not None:
                    return found
            return None

        return walk(self.x.screen().root)

    def title(self) -> str | None:
        window = self.find()
        return None if window is None else window.get_wm_name()  # type: ignore[attr-defined]

    def docked(self) -> bool:
        """Embedded: its parent is a tray's socket window, not the root."""
        window = self.find()
        return window is not None and window.query_tree().parent != self.x.screen().root  # type: ignore[attr-defined]

    def box(self) -> tuple[int, int, int, int]:
        window = self.find()
        geometry = window.get_geometry()  # type: ignore[attr-defined]
        origin = window.translate_coords(self.x.screen().root, 0, 0)  # type: ignore[attr-defined]
        return -origin.x, -origin.y, geometry.width, geometry.height

    def click(self, button: int = 1) -> None:
        """A real click on the icon (XTEST), as a mouse makes it."""
        from Xlib import X
        from Xlib.ext import xtest

        left, top, width, height = self.box()
        xtest.fake_input(self.x, X.MotionNotify, x=left + width // 2, y=top + height // 2)
        xtest.fake_input(self.x, X.ButtonPress, button)
        xtest.fake_input(self.x, X.ButtonRelease, button)
        self.x.sync()

    def key(self, keysym: str) -> None:
        """A real key press and release (XTEST), to whatever has the keyboard (a posted menu grabs it)."""
        from Xlib import XK, X
        from Xlib.ext import xtest

        code = self.x.keysym_to_keycode(XK.string_to_keysym(keysym))
        xtest.fake_input(self.x, X.KeyPress, code)
        xtest.fake_input(self.x, X.KeyRelease, code)
        self.x.sync()

    def popup_menu(self) -> bool:
        """Whether a menu is up: a mapped override-redirect top-level window of a menu's size."""
        from Xlib import X
        from Xlib.error import BadWindow

        for child in self.x.screen().root.query_tree().children:
            try:
                attributes = child.get_attributes()
                geometry = child.get_geometry()
            except BadWindow:
                continue
            if attributes.override_redirect and attributes.map_state == X.IsViewable and geometry.width > 60 \
                    and geometry.height > 60:
                return True
        return False

    def close(self) -> None:
        self.x.close()
