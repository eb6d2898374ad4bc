"""Where photosift keeps its files, with environment overrides.

`PHOTOSIFT_CONFIG` names the config file, `PHOTOSIFT_DATA_DIR` the folder that
holds the index, `PHOTOSIFT_CACHE_DIR` the folder for downloaded weights.
Tests set all three so that nothing touches the real user's files.
"""

from __future__ import annotations

import os
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


def default_pictures_dir() -> Path:
    """The user's Pictures folder, as the platform names it."""
    return Path(platformdirs.user_pictures_dir())
