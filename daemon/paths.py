"""Where photosift keeps its files, with environment overrides.

`PHOTOSIFT_CONFIG` names the config file, `PHOTOSIFT_DATA_DIR` the folder that
holds the index, `PHOTOSIFT_CACHE_DIR` the folder for downloaded weights,
`PHOTOSIFT_RUNTIME_DIR` the folder of the API socket. Tests set them all so
that nothing touches the real user's files.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import platformdirs

APP = "photosift"


def config_file() -> Path:
    """The TOML config file (it need not exist: defaults apply)."""
    override = os.environ.get("PHOTOSIFT_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def data_dir() -> Path:
    """The folder of the embedded store, its lock and the daemon's ledger."""
    override = os.environ.get("PHOTOSIFT_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    """The folder where model weights are downloaded."""
    override = os.environ.get("PHOTOSIFT_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir(APP))


def runtime_dir() -> Path:
    """The per-user folder for the API socket: $XDG_RUNTIME_DIR/photosift (a tmpfs only the user
    can enter) where the platform has one, else a per-uid folder in the temp dir."""
    override = os.environ.get("PHOTOSIFT_RUNTIME_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return Path(xdg) / APP
    if sys.platform in ("darwin", "win32"):
        return Path(platformdirs.user_runtime_dir(APP, appauthor=False))
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"{APP}-{uid}"


def socket_path() -> Path:
    """Where the daemon's API socket lives by default (on Windows: the file naming its loopback
    port and token, since Python has no Unix sockets there)."""
    return runtime_dir() / ("api.endpoint" if sys.platform == "win32" else "api.sock")


def default_pictures_dir() -> Path:
    """The user's Pictures folder, as the platform names it."""
    return Path(platformdirs.user_pictures_dir())
