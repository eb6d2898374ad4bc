"""The configuration schema: defaults in one place, every problem reported at once.

The file is TOML. Every key is optional; an unknown key is an error with a
"did you mean" hint, because a misspelt `exlude` silently ignored would index
what the user meant to keep out.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .errors import ConfigError
from .tags.vocabulary import TagSettings, parse_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_EXCLUDE = (".*", "._*", "@eaDir", ".thumbnails", "#recycle", "$RECYCLE.BIN")
DEFAULT_EXTENSIONS = ("jpg", "jpeg", "jpe", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Config:
    """Validated settings. Build one with `load()` or `Config.defaults()`."""

    folders: tuple[Path, ...] = field(default_factory=lambda: (paths.default_pictures_dir(),))
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    model: str = "ViT-B/32"
    device: str = "auto"
    batch_size: int = 32
    store: str = ""
    log_level: str = "info"
    rescan_interval: float = 3600.0
    debounce_seconds: float = 2.0
    decode_workers: int = 0  # 0 = auto: see `decode_threads`
    max_pixels: int = 120_000_000
    max_file_mb: int = 1024
    socket: str = ""  # empty: paths.socket_path()
    decode_timeout: float = 60.0
    tagging: TagSettings = field(default_factory=TagSettings)
    source: str = "defaults"

    @classmethod
    def defaults(cls) -> Config:
        return cls()

    @property
    def socket_path(self) -> Path:
        """The API socket: the configured one, else the per-user runtime dir's."""
        return Path(self.socket) if self.socket else paths.socket_path()


def decode_threads(configured: int, device: str) -> int:
    """How many decode threads to run: the configured number, or by default every core when the
    encoder runs on the CPU (they take turns with it) and up to 8 beside a GPU (they run alongside
    it; measured on 16 cores, threads stop scaling past 8 because parts of decoding hold the GIL)."""
    if configured:
        return configured
    cores = os.cpu_count() or 2
    return cores if device == "cpu" else max(1, min(8, cores - 1))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _device_ok(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    if v in ("auto", "cpu", "cuda", "mps"):
        return True
    return v.startswith("cuda:") and v[5:].isdigit()


def _store_ok(v: Any) -> bool:
    return isinstance(v, str) and (v == "" or v.startswith(("http://", "https://")))


# key -> (check, what the value must be)
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "folders": (lambda v: _str_list(v) and len(v) > 0, "a non-empty list of folder paths"),
    "exclude": (_str_list, "a list of glob patterns"),
    "extensions": (lambda v: _str_list(v) and len(v) > 0, "a non-empty list of file extensions"),
    "model": (
        lambda v: isinstance(v, str) and v.strip() != "",
        'a CLIP model name such as "ViT-B/32" or a checkpoint path',
    ),
    "device": (_device_ok, '"auto", "cpu", "cuda", "cuda:N" or "mps"'),
    "batch_size": (lambda v: _is_int(v) and 1 <= v <= 1024, "an integer from 1 to 1024"),
    "store": (_store_ok, 'empty (embedded store) or a Chroma server URL like "http://localhost:8000"'),
    "log_level": (lambda v: isinstance(v, str) and v.lower() in LOG_LEVELS, "one of " + ", ".join(LOG_LEVELS)),
    "rescan_interval": (
        lambda v: _is_number(v) and (v == 0 or v >= 10),
        "seconds between rescans (0 = never, else at least 10)",
    ),
    "debounce_seconds": (lambda v: _is_number(v) and 0 <= v <= 600, "seconds from 0 to 600"),
    "decode_workers": (lambda v: _is_int(v) and 0 <= v <= 64, "an integer from 0 (auto) to 64"),
    "max_pixels": (lambda v: _is_int(v) and v >= 1_000_000, "an integer of at least 1000000"),
    "max_file_mb": (lambda v: _is_int(v) and v >= 1, "a positive integer (megabytes)"),
    "socket": (lambda v: isinstance(v, str), "a path for the API socket (empty: the per-user runtime dir)"),
    "decode_timeout": (lambda v: _is_number(v) and v > 0, "a positive number of seconds"),
}


def _convert(key: str, value: Any) -> Any:
    if key == "folders":
        return tuple(Path(os.path.expandvars(v)).expanduser().absolute() for v in value)
    if key == "extensions":
        return tuple(v.lower().lstrip(".") for v in value)
    if key in ("exclude",):
        return tuple(value)
    if key == "socket" and value:
        return str(Path(value).expanduser())
    if key == "log_level":
        return value.lower()
    if key in ("rescan_interval", "debounce_seconds", "decode_timeout"):
        return float(value)
    if key == "model" and (os.sep in value or value.endswith((".pt", ".pth", ".bin"))):
        return str(Path(value).expanduser())
    return value


def from_mapping(data: dict[str, Any], source: str) -> Config:
    """Validate `data` (parsed TOML) and build a Config, or raise ConfigError listing every problem."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    known = [*_RULES, "tagging"]
    for key, value in data.items():
        if key == "tagging":
            settings, tag_problems = parse_settings(value)
            problems.extend(tag_problems)
            if settings is not None:
                values[key] = settings
            continue
        if key not in _RULES:
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f' (did you mean "{hint[0]}"?)' if hint else f" (known keys: {', '.join(known)})"
            problems.append(f'unknown key "{key}"{suggestion}')
            continue
        check, expected = _RULES[key]
        if not check(value):
            problems.append(f'"{key}" must be {expected}, got {value!r}')
            continue
        values[key] = _convert(key, value)
    if problems:
        raise ConfigError(source, problems)
    return Config(**values, source=source)


def load(path: Path | None = None) -> Config:
    """Read the config file (defaults when it does not exist) and validate it."""
    path = path or paths.config_file()
    if not path.exists():
        return Config(source=f"defaults ({path} does not exist)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc}"]) from exc
    return from_mapping(data, str(path))
