"""The Linux file managers' action files, generated for this installation's photosift.

Nautilus and Caja run scripts from a folder with the selection in an environment
variable (they cannot limit a script to images, so the script skips other files
and says so if nothing is left); with nautilus-python, a real context-menu
extension shows the action for images only. Nemo (`.nemo_action`) and Dolphin
(a KIO service menu) read declarative files that list image MIME types. Thunar
keeps its custom actions in one `uca.xml`, merged separately (thunar.py).
"""

from __future__ import annotations

from pathlib import Path

from .common import (
    ACTION,
    ACTION_ID,
    IMAGE_EXTENSIONS,
    IMAGE_MIME_TYPES,
    MARKER,
    TOOLTIP,
    Generated,
    desktop_exec,
    shell_command,
    similar_argv,
)


def selection_script(photosift: list[str], variable: str) -> str:
    """A file-manager script: the selected paths come one per line in `variable`; images only."""
    extensions = "|".join(f"*.{e}" for e in IMAGE_EXTENSIONS)
    return f"""#!/bin/sh
# photosift: {ACTION} ({MARKER})
# The file manager passes the selection one path per line in ${variable}.
set -f
IFS='
'
images=""
for path in ${variable}; do
    case "$(printf '%s' "$path" | tr '[:upper:]' '[:lower:]')" in
        {extensions}) images="$images$path
" ;;
    esac
done
if [ -z "$images" ]; then
    message="photosift: choose images ({", ".join(IMAGE_EXTENSIONS)})"
    command -v notify-send >/dev/null && notify-send "{ACTION}" "$message" || echo "$message" >&2
    exit 1
fi
exec {shell_command(similar_argv(photosift))} $images
"""


def nautilus_script(photosift: list[str]) -> Generated:
    return Generated(Path(".local/share/nautilus/scripts") / ACTION,
                     selection_script(photosift, "NAUTILUS_SCRIPT_SELECTED_FILE_PATHS"), 0o755)


def caja_script(photosift: list[str]) -> Generated:
    return Generated(Path(".config/caja/scripts") / ACTION,
                     selection_script(photosift, "CAJA_SCRIPT_SELECTED_FILE_PATHS"), 0o755)


def nautilus_extension(photosift: list[str]) -> Generated:
    """A nautilus-python MenuProvider: the action on images only, for one or several files."""
    mime_types = ", ".join(repr(m) for m in IMAGE_MIME_TYPES)
    return Generated(Path(".local/share/nautilus-python/extensions/photosift_find_similar.py"), f'''\
"""photosift: {ACTION} ({MARKER})."""

import subprocess
from urllib.parse import unquote, urlparse

from gi.repository import GObject, Nautilus

COMMAND = {similar_argv(photosift)!r}
IMAGE_TYPES = ({mime_types},)


class PhotosiftFindSimilar(GObject.GObject, Nautilus.MenuProvider):
    def get_file_items(self, *args):
        files = args[-1]  # Nautilus 4 passes (files), Nautilus 3 (window, files)
        if not files or not all(f.get_uri_scheme() == "file" and f.get_mime_type() in IMAGE_TYPES for f in files):
            return []
        item = Nautilus.MenuItem(name="PhotosiftFindSimilar", label={ACTION!r}, tip={TOOLTIP!r})
        item.connect("activate", self.activate, files)
        return [item]

    def activate(self, _item, files):
        paths = [unquote(urlparse(f.get_uri()).path) for f in files]
        subprocess.Popen(COMMAND + paths, start_new_session=True)
''')


def nemo_action(photosift: list[str]) -> Generated:
    return Generated(Path(".local/share/nemo/actions") / f"{ACTION_ID}.nemo_action", f"""\
# photosift: {ACTION} ({MARKER})
[Nemo Action]
Name={ACTION}
Comment={TOOLTIP}
Exec={desktop_exec(similar_argv(photosift), "%F")}
Icon-Name=edit-find
Selection=notnone
Mimetypes={";".join(IMAGE_MIME_TYPES)};
""")


def dolphin_service_menu(photosift: list[str]) -> Generated:
    """A KIO service menu (Plasma 5.22+ and 6 read ~/.local/share/kio/servicemenus; Plasma 6 wants it
    executable)."""
    return Generated(Path(".local/share/kio/servicemenus") / f"{ACTION_ID}.desktop", f"""\
# photosift: {ACTION} ({MARKER})
[Desktop Entry]
Type=Service
Name={ACTION}
MimeType={";".join(IMAGE_MIME_TYPES)};
Actions=findSimilar;
X-KDE-ServiceTypes=KonqPopupMenu/Plugin
X-KDE-Priority=TopLevel

[Desktop Action findSimilar]
Name={ACTION}
Icon=edit-find
Exec={desktop_exec(similar_argv(photosift), "%F")}
""", 0o755)
