"""`photosift shell-ext install|uninstall|export`: the file-manager actions for the current user only.

Installing is idempotent (an unchanged file is not rewritten) and records what
it wrote, with a checksum, in `shell-ext.json` in the data folder. Uninstalling
removes exactly that: a file the user has since edited is kept and reported,
and Thunar's uca.xml loses only our action (the file goes only if photosift
created it and nothing else is in it). Windows and macOS targets install on
their own systems; `export` writes their files anywhere for installing by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photosift.daemon import atomic
from photosift.daemon.errors import ShellExtError

from . import linux, macos, thunar, windows
from .common import Generated

LINUX_TARGETS = ("nautilus", "nemo", "dolphin", "thunar", "caja")
TARGETS = (*LINUX_TARGETS, "windows", "macos")
EXECUTABLES = {"nautilus": "nautilus", "nemo": "nemo", "dolphin": "dolphin", "thunar": "thunar", "caja": "caja"}


def nautilus_python_present() -> bool:
    """Whether Nautilus loads Python extensions (Debian/Ubuntu: the python3-nautilus package)."""
    return any(Path(p).exists() for p in ("/usr/share/nautilus-python", "/usr/lib/nautilus-python")) or any(
        Path("/usr/lib").glob("*/nautilus/extensions-*/libnautilus-python.so"))


def generated(target: str, photosift: list[str]) -> list[Generated]:
    """The files a target consists of (Thunar's merged uca.xml and Windows' registry aside)."""
    makers: dict[str, Callable[[], list[Generated]]] = {
        "nautilus": lambda: [linux.nautilus_script(photosift)]
        + ([linux.nautilus_extension(photosift)] if nautilus_python_present() else []),
        "caja": lambda: [linux.caja_script(photosift)],
        "nemo": lambda: [linux.nemo_action(photosift)],
        "dolphin": lambda: [linux.dolphin_service_menu(photosift)],
        "macos": lambda: macos.quick_action(photosift),
    }
    return makers[target]() if target in makers else []


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Manifest:
    """What photosift installed: files with their checksums, the folders it created for them, and whether it
    created Thunar's uca.xml."""

    path: Path
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # home-relative path -> {target, sha256}
    uca_created: bool = False
    registry: bool = False
    folders: list[str] = field(default_factory=list)  # home-relative, made by photosift: removed when empty

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise ShellExtError(f"{path} cannot be read ({exc}); move it aside to start over") from exc
        return cls(path, data.get("files", {}), bool(data.get("uca_created")), bool(data.get("registry")),
                   list(data.get("folders", [])))

    def save(self) -> None:
        if not self.files and not self.uca_created and not self.registry and not self.folders:
            self.path.unlink(missing_ok=True)
            return
        atomic.write_text(self.path, json.dumps({"files": self.files, "uca_created": self.uca_created,
                                                 "registry": self.registry, "folders": self.folders}, indent=2) + "\n")


def write_recorded(home: Path, item: Generated, target: str, manifest: Manifest) -> list[str]:
    """Write `item` under `home` unless it is already there as it should be, and record it (and the folders
    made for it). A different file photosift did not write is left alone."""
    path = home / item.path
    data = item.content
    if str(item.path) not in manifest.files and path.exists() and path.read_bytes() != data:
        return [f"{target}: left {path} as it is: photosift did not write it (remove it to have photosift's)"]
    manifest.files[str(item.path)] = {"target": target, "sha256": _digest(data)}
    if path.exists() and path.read_bytes() == data and (path.stat().st_mode & 0o777) == item.mode:
        return []
    for folder in reversed(path.relative_to(home).parents[:-1]):  # outermost first; not home itself
        if not (home / folder).exists() and str(folder) not in manifest.folders:
            manifest.folders.append(str(folder))
    atomic.write_bytes(path, data, new_mode=item.mode)
    os.chmod(path, item.mode)
    return [f"{target}: wrote {path}"]


def remove_recorded(home: Path, targets: list[str], manifest: Manifest) -> list[str]:
    """Remove the recorded files of `targets`, except those changed since (they are kept and named)."""
    said = []
    for rel, entry in sorted(manifest.files.items()):
        if entry["target"] not in targets:
            continue
        path = home / rel
        if path.exists() and _digest(path.read_bytes()) != entry["sha256"]:
            said.append(f"{entry['target']}: kept {path}: it was changed after photosift installed it")
        elif path.exists():
            path.unlink()
            said.append(f"{entry['target']}: removed {path}")
        del manifest.files[rel]
    return said + remove_empty_folders(home, manifest)


def remove_empty_folders(home: Path, manifest: Manifest) -> list[str]:
    """Remove the folders photosift created that are empty now (innermost first). One that is not empty holds
    something else now (photosift's files are gone from it), so it is no longer photosift's to remove."""
    said = []
    for rel in sorted(manifest.folders, key=lambda f: -len(Path(f).parts)):
        if any(Path(rel) in Path(installed).parents for installed in manifest.files):
            continue  # still holds a file of another target
        folder = home / rel
        with contextlib.suppress(OSError):  # gone already, or not empty
            folder.rmdir()
            said.append(f"removed the empty folder {folder}")
        manifest.folders.remove(rel)
    return said


class Installer:
    """Installs targets under `home` for the photosift command `photosift`."""

    def __init__(self, home: Path, manifest: Path, photosift: list[str]) -> None:
        self.home = home
        self.manifest = Manifest.load(manifest)
        self.photosift = photosift

    @staticmethod
    def detect() -> list[str]:
        """The targets for this machine: its own OS's, and on Linux the file managers that are installed."""
        if sys.platform == "win32":
            return ["windows"]
        if sys.platform == "darwin":
            return ["macos"]
        return [t for t in LINUX_TARGETS if shutil.which(EXECUTABLES[t])]

    def _native(self, target: str) -> None:
        native = {"windows": "win32", "macos": "darwin"}.get(target)
        if native is not None and sys.platform != native:
            raise ShellExtError(f"the {target} action installs on {target.capitalize()}; "
                                f"`photosift shell-ext export {target} DIR` writes its files for installing by hand")

    def install(self, targets: list[str]) -> list[str]:
        """Install the targets; one line per change (none when everything was already in place)."""
        for target in targets:
            self._native(target)
        said: list[str] = []
        try:
            for target in targets:
                if target == "thunar":
                    said += self._install_thunar()
                elif target == "windows":  # pragma: no cover - Windows only
                    windows.install(self.photosift)
                    self.manifest.registry = True
                    said.append(f"windows: registered {windows.KEY} (HKEY_CURRENT_USER)")
                for item in generated(target, self.photosift):
                    said += self._write(target, item)
        finally:
            self.manifest.save()  # what was written before a failure is recorded, so uninstall removes it
        return said

    def _write(self, target: str, item: Generated) -> list[str]:
        return write_recorded(self.home, item, target, self.manifest)

    def _install_thunar(self) -> list[str]:
        path = self.home / thunar.UCA
        existing = path.read_text(encoding="utf-8") if path.exists() else None
        text = thunar.merged(existing, self.photosift, path)
        if text == existing:
            return []
        if existing is None:
            self.manifest.uca_created = True
        atomic.write_text(path, text)
        return [f"thunar: added the action to {path} (restart Thunar to see it)"]

    def uninstall(self, targets: list[str]) -> list[str]:
        """Remove what was installed for the targets; one line per change."""
        said: list[str] = []
        try:
            said += self._remove_files(targets)
            if "thunar" in targets:
                said += self._uninstall_thunar()
            if "windows" in targets and self.manifest.registry:  # pragma: no cover - Windows only
                windows.uninstall()
                self.manifest.registry = False
                said.append(f"windows: removed {windows.KEY}")
        finally:
            self.manifest.save()
        return said

    def _remove_files(self, targets: list[str]) -> list[str]:
        return remove_recorded(self.home, targets, self.manifest)

    def _uninstall_thunar(self) -> list[str]:
        path = self.home / thunar.UCA
        if not path.exists():
            self.manifest.uca_created = False
            return []
        existing = path.read_text(encoding="utf-8")
        text = thunar.unmerged(existing, path)
        if self.manifest.uca_created and text == thunar.EMPTY:
            path.unlink()
            self.manifest.uca_created = False
            return [f"thunar: removed {path} (photosift had created it)"]
        self.manifest.uca_created = False
        if text == existing:
            return []
        atomic.write_text(path, text)
        return [f"thunar: removed the action from {path}"]


def export(target: str, folder: Path, photosift: list[str]) -> list[Path]:
    """Write a target's files under `folder` (for Windows, .reg files to install and uninstall)."""
    if target == "windows":
        files = [Generated(Path("photosift-find-similar.reg"), windows.reg_file(photosift)),
                 Generated(Path("photosift-find-similar-uninstall.reg"), windows.uninstall_reg_file())]
    elif target == "thunar":
        files = [Generated(Path("uca.xml"), thunar.merged(None, photosift, folder / "uca.xml"))]
    else:
        files = generated(target, photosift)
    written = []
    for item in files:
        path = folder / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        # .reg files keep their CRLF line ends: written as bytes
        path.write_bytes(item.text.encode("utf-16" if path.suffix == ".reg" else "utf-8"))
        os.chmod(path, item.mode)
        written.append(path)
    return written
