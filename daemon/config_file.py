"""Changing the config file from photosift (`folders add`, `store migrate`): the file is rewritten with
tomlkit, which keeps the user's comments and layout, checked as the daemon would load it before anything is
written, and replaced atomically (a temp file in the same folder, fsync, rename), so a crash leaves either
the old file or the new one, never half of one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tomlkit
from tomlkit import TOMLDocument

from . import atomic
from .config import Config, from_mapping
from .errors import ConfigError


def edit(config_path: Path, change: Callable[[TOMLDocument], None]) -> Config:
    """Apply `change` to the parsed file (created if missing), write it if it still loads, and return the
    new config; a ConfigError (nothing written) if it cannot be read or would not load."""
    try:
        text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        doc = tomlkit.parse(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(config_path), [f"cannot be read: {exc}"]) from exc
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(str(config_path), [f"not valid TOML: {exc}"]) from exc
    change(doc)
    config = from_mapping(doc.unwrap(), str(config_path))  # never write a file that would not load
    atomic.write_text(config_path, tomlkit.dumps(doc), new_mode=0o600)
    return config


def set_store(config_path: Path, url: str) -> Config:
    """Point `store` at a Chroma server, or (an empty `url`) back at the embedded store (the key removed)."""
    def change(doc: TOMLDocument) -> None:
        if url:
            doc["store"] = url
        elif "store" in doc:
            del doc["store"]

    return edit(config_path, change)
