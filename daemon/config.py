"""The configuration schema: defaults in one place, every problem reported at once.

The file is TOML. Every key is optional; an unknown key is an error with a
"did you mean" hint, because a misspelt `exlude` silently ignored would index
what the user meant to keep out. The `[tagging]` table is checked by the same
table of rules and the same loop as the top level.
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

# the number formats the encoder may run in (precision.py; config stays free of torch for the CLI's sake)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_EXCLUDE = (".*", "._*", "@eaDir", ".thumbnails", "#recycle", "$RECYCLE.BIN")
DEFAULT_EXTENSIONS = ("jpg", "jpeg", "jpe", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif")
LOG_LEVELS = ("debug", "info", "warning", "error")
# photo.jpg.xmp (digiKam, darktable) or photo.xmp (Lightroom): see tags/sidecars.py
XMP_NAMINGS = ("append", "stem")


@dataclass(frozen=True)
class TagSettings:
    """The `[tagging]` table: which tags, the rule's knobs (tags/rule.py), and where tags are written."""

    vocabulary: str = "default"  # or "none": only the user's own tags
    min_confidence: float = 0.5
    max_tags: int = 5
    remove: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()
    custom: tuple[tuple[str, tuple[str, ...]], ...] = ()
    thresholds: tuple[tuple[str, float], ...] = ()  # a tag's own min_confidence
    facets: tuple[tuple[str, tuple[str, ...]], ...] = ()  # groups of mutually exclusive tags
    write_xmp: bool = False
    xmp_naming: str = "append"
    parent: str = "photosift"  # the branch of hierarchical tags in sidecars ("": flat)
    write_xattr: bool = False


@dataclass(frozen=True)
class Config:
    """Validated settings. Build one with `load()` or `Config.defaults()`."""

    folders: tuple[Path, ...] = field(default_factory=lambda: (paths.default_pictures_dir(),))
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    model: str = "ViT-B/32"
    device: str = "auto"
    precision: str = "auto"  # auto: the fastest this machine runs that matches fp32 (calibrate.py)
    batch_size: int = 32
    store: str = ""
    log_level: str = "info"
    rescan_interval: float = 3600.0
    # a removed folder's embeddings are kept this long: adding it back (or narrowing and widening a
    # watch) encodes nothing
    forget_after_days: float = 30.0
    debounce_seconds: float = 2.0
    decode_workers: int = 0  # 0 = auto: see `decode_threads`
    decode_timeout: float = 10.0  # seconds one file may take to decode before its decoder is killed
    decode_memory_mb: int = 2048  # memory one decoder process may use beyond its own start-up size
    max_pixels: int = 120_000_000
    max_file_mb: int = 1024
    socket: str = ""  # empty: paths.socket_path()
    # where saved searches keep their folders of links (never indexed, wherever it is)
    saved_folder: Path = field(default_factory=lambda: paths.default_pictures_dir() / "photosift")
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
    """How many files to decode at once (each in its own worker process): the configured number, or by
    default every core when the encoder runs on the CPU (decoding takes turns with it) and every core
    but one beside a GPU (decoding runs alongside it; the one left feeds the GPU and writes)."""
    if configured:
        return configured
    cores = os.cpu_count() or 2
    return cores if device == "cpu" else max(1, cores - 1)


# -- the schema ------------------------------------------------------------------------------------


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


def _model_path(v: str) -> str:
    return str(Path(v).expanduser()) if os.sep in v or v.endswith((".pt", ".pth", ".bin")) else v


def _prompts(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v)


@dataclass(frozen=True)
class Key:
    """One key of the schema: what its value must satisfy, how to say so, and its stored form. A key whose
    value is a table of the user's own entries ([tagging.custom]: tag = prompts) checks each entry with
    `entries`, so a problem names the entry and its table."""

    check: Callable[[Any], bool]
    expected: str
    convert: Callable[[Any], Any] = lambda v: v
    entries: Key | None = None


def _table_of(entry: Key) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and k.strip() and entry.check(x)
                                                 for k, x in v.items())


@dataclass(frozen=True)
class Table:
    """A sub-table (`[tagging]`): its own keys, and what its values build."""

    keys: dict[str, Key]
    build: Callable[[dict[str, Any]], Any]
    expected: str
    # problems only the whole table shows (a combination of keys), given its values
    conflicts: Callable[[dict[str, Any]], list[str]] = lambda values: []


def _parent_ok(v: Any) -> bool:
    return isinstance(v, str) and "|" not in v and (v == "" or all(part.strip() for part in v.split("/")))


CONFIDENCE = Key(lambda x: _is_number(x) and 0 < x < 1, "a confidence between 0 and 1")
NEW_NAME = Key(lambda x: isinstance(x, str) and x.strip() != "", "a new name for the tag")
PROMPTS = Key(_prompts, "a list of prompts ([] for the default templates)")
FACET = Key(lambda m: _str_list(m) and len(set(m)) == len(m) >= 2, "a list of at least two different tags")


def _tagging_conflicts(values: dict[str, Any]) -> list[str]:
    if values.get("vocabulary") == "none" and not values.get("custom"):
        return ['[tagging] vocabulary: is "none" but there are no [tagging.custom] tags']
    return []


TAGGING = Table(
    keys={
        "vocabulary": Key(lambda v: v in ("default", "none"), '"default" or "none"'),
        "min_confidence": Key(lambda v: _is_number(v) and 0 < v < 1, "a number between 0 and 1", float),
        "max_tags": Key(lambda v: _is_int(v) and 1 <= v <= 50, "an integer from 1 to 50"),
        "remove": Key(_str_list, "a list of tag names", tuple),
        "rename": Key(_table_of(NEW_NAME), "a table mapping tag names to new names", lambda v: tuple(v.items()),
                      NEW_NAME),
        "custom": Key(_table_of(PROMPTS), "a table mapping tag names to lists of prompts ([] for the default "
                      "templates)", lambda v: tuple((k, tuple(prompts)) for k, prompts in v.items()), PROMPTS),
        "thresholds": Key(_table_of(CONFIDENCE), "a table mapping tag names to confidences between 0 and 1",
                          lambda v: tuple((k, float(x)) for k, x in v.items()), CONFIDENCE),
        "facets": Key(_table_of(FACET), "a table mapping facet names to lists of at least two different tags",
                      lambda v: tuple((k, tuple(m)) for k, m in v.items()), FACET),
        "write_xmp": Key(lambda v: isinstance(v, bool), "true or false"),
        "xmp_naming": Key(lambda v: v in XMP_NAMINGS, '"append" (photo.jpg.xmp) or "stem" (photo.xmp)'),
        "parent": Key(_parent_ok, 'a tag branch such as "photosift" or "auto/photosift" (no "|"), or "" for flat tags'),
        "write_xattr": Key(lambda v: isinstance(v, bool), "true or false"),
    },
    build=lambda values: TagSettings(**values),
    expected="a table ([tagging] with keys such as max_tags)",
    conflicts=_tagging_conflicts,
)

SCHEMA: dict[str, Key | Table] = {
    "folders": Key(lambda v: _str_list(v) and len(v) > 0, "a non-empty list of folder paths",
                   lambda v: tuple(Path(os.path.expandvars(f)).expanduser().absolute() for f in v)),
    "exclude": Key(_str_list, "a list of glob patterns", tuple),
    "extensions": Key(lambda v: _str_list(v) and len(v) > 0, "a non-empty list of file extensions",
                      lambda v: tuple(e.lower().lstrip(".") for e in v)),
    "model": Key(lambda v: isinstance(v, str) and v.strip() != "",
                 'a CLIP model name such as "ViT-B/32" or a checkpoint path', _model_path),
    "device": Key(_device_ok, '"auto", "cpu", "cuda", "cuda:N" or "mps"'),
    "precision": Key(lambda v: v in PRECISIONS, " or ".join(f'"{p}"' for p in PRECISIONS)),
    "batch_size": Key(lambda v: _is_int(v) and 1 <= v <= 1024, "an integer from 1 to 1024"),
    "store": Key(_store_ok, 'empty (embedded store) or a Chroma server URL like "http://localhost:8000"'),
    "log_level": Key(lambda v: isinstance(v, str) and v.lower() in LOG_LEVELS, "one of " + ", ".join(LOG_LEVELS),
                     str.lower),
    "forget_after_days": Key(lambda v: _is_number(v) and v >= 0,
                             "days to keep the embeddings of a removed folder (0: forget them at once)", float),
    "rescan_interval": Key(lambda v: _is_number(v) and (v == 0 or v >= 10),
                           "seconds between rescans (0 = never, else at least 10)", float),
    "debounce_seconds": Key(lambda v: _is_number(v) and 0 <= v <= 600, "seconds from 0 to 600", float),
    "decode_workers": Key(lambda v: _is_int(v) and 0 <= v <= 64, "an integer from 0 (auto) to 64"),
    "decode_timeout": Key(lambda v: _is_number(v) and 1 <= v <= 3600, "seconds from 1 to 3600", float),
    "decode_memory_mb": Key(lambda v: _is_int(v) and v >= 256, "an integer of at least 256 (megabytes)"),
    "max_pixels": Key(lambda v: _is_int(v) and v >= 1_000_000, "an integer of at least 1000000"),
    "max_file_mb": Key(lambda v: _is_int(v) and v >= 1, "a positive integer (megabytes)"),
    "socket": Key(lambda v: isinstance(v, str), "a path for the API socket (empty: the per-user runtime dir)",
                  lambda v: str(Path(v).expanduser()) if v else v),
    "saved_folder": Key(lambda v: isinstance(v, str) and v.strip() != "",
                        "a folder's path for the saved searches' folders of links",
                        lambda v: Path(os.path.expandvars(v)).expanduser().absolute()),
    "tagging": TAGGING,
}


# keys an earlier photosift knew, with what replaced them: their old meaning must not pass silently
RETIRED = {
    "tagging.min_probability": 'is no longer used: tags are decided one by one now, each with a confidence; '
                               'set "tagging.min_confidence" instead (default 0.5, see docs/tagging.md)',
}


def _place(table: str, key: str) -> str:
    """Where a key is, as a problem names it: `batch_size`, `[tagging] max_tags`."""
    return f"[{table}] {key}" if table else key


def _read(data: dict[str, Any], keys: dict[str, Key | Table], table: str, problems: list[str]) -> dict[str, Any]:
    """The converted values of one table's valid keys; every problem with it appended to `problems`, each
    naming its table and key."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{table}.{key}" if table else key
        rule = keys.get(key)
        if name in RETIRED:
            problems.append(f"{_place(table, key)}: {RETIRED[name]}")
        elif rule is None:
            hint = difflib.get_close_matches(key, list(keys), n=1)
            suggestion = f' (did you mean "{hint[0]}"?)' if hint else f" (known keys: {', '.join(keys)})"
            problems.append(f'{f"[{table}] " if table else ""}unknown key "{key}"{suggestion}'
                            + _misplaced(key, table))
        elif isinstance(rule, Table):
            if not isinstance(value, dict):
                problems.append(f"{_place(table, key)}: must be {rule.expected}")
                continue
            before = len(problems)
            values_of_table = _read(value, dict(rule.keys), name, problems)
            if len(problems) == before:  # a combination is judged only on valid keys: no false second message
                problems.extend(rule.conflicts(values_of_table))
            if len(problems) == before:
                values[key] = rule.build(values_of_table)
        elif rule.entries is not None and isinstance(value, dict) and not rule.check(value):
            for entry, x in value.items():
                if not rule.entries.check(x):
                    problems.append(f"[{name}] {entry}: must be {rule.entries.expected}, got {x!r}"
                                    + _misplaced(entry, name))
        elif not rule.check(value):
            problems.append(f"{_place(table, key)}: must be {rule.expected}, got {value!r}")
        else:
            values[key] = rule.convert(value)
    return values


def _misplaced(key: str, table: str) -> str:
    """A hint for a key of another table written inside this one: in TOML every key below a `[table]`
    header belongs to that table, so a top-level key appended at the end of the file lands in the last one."""
    if not table:
        return ""
    homes = [""] if key in SCHEMA else []
    homes += [t for t, rule in SCHEMA.items() if isinstance(rule, Table) and key in rule.keys and t != table]
    if not homes:
        return ""
    home = "at the top of the file, above the first [table] header" if homes[0] == "" else f"in [{homes[0]}]"
    return f'; "{key}" belongs {home} (in TOML every key below [{table}] is part of that table)'


def from_mapping(data: dict[str, Any], source: str) -> Config:
    """Validate `data` (parsed TOML) and build a Config, or raise ConfigError listing every problem."""
    problems: list[str] = []
    values = _read(data, SCHEMA, "", problems)
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
