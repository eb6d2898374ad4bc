"""The tag vocabulary: photosift's default concepts plus the user's own, and the knobs of the tag rule.

The default vocabulary ships as `data/vocabulary.toml`. The config's `[tagging]`
table adjusts it:

    [tagging]
    vocabulary = "default"        # or "none": only your own tags
    min_probability = 0.1         # see tagger.py for the rule
    max_tags = 5
    remove = ["meme"]             # default tags you do not want
    rename = { "dog" = "doggo" }  # keep the concept, show another name

    write_xmp = false             # opt in: keywords in XMP sidecars (export.py)
    xmp_naming = "append"         # photo.jpg.xmp (digiKam, darktable); "stem": photo.xmp (Lightroom)
    write_xattr = false           # opt in: user.xdg.tags extended attributes

    [tagging.custom]              # your own tags; prompts are optional
    Rex = ["a photo of a golden retriever"]
    "red car" = []                # [] = the default templates ("a photo of a red car." ...)
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .sidecars import NAMINGS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class TagSettings:
    """The `[tagging]` table, validated."""

    vocabulary: str = "default"
    min_probability: float = 0.1
    max_tags: int = 5
    remove: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()
    custom: tuple[tuple[str, tuple[str, ...]], ...] = ()
    write_xmp: bool = False
    xmp_naming: str = "append"
    write_xattr: bool = False


@dataclass(frozen=True)
class Tag:
    """A tag's name and the prompts whose mean text embedding stands for it."""

    name: str
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    """The tags in force, in a stable order."""

    tags: tuple[Tag, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tags]

    def fingerprint(self) -> str:
        """Changes whenever a tag or one of its prompts does (not when only the rule's knobs do)."""
        digest = hashlib.sha256()
        for tag in self.tags:
            digest.update(tag.name.encode() + b"\0" + "\0".join(tag.prompts).encode() + b"\1")
        return digest.hexdigest()[:16]


def _default_data() -> dict[str, Any]:
    text = resources.files("photosift.daemon.tags").joinpath("data/vocabulary.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def build(settings: TagSettings) -> Vocabulary:
    """The default vocabulary (unless "none") with the user's removals, renames and own tags applied."""
    data = _default_data()
    templates = tuple(data["templates"]["default"])
    renamed = dict(settings.rename)
    removed = set(settings.remove)
    tags: dict[str, Tag] = {}
    if settings.vocabulary == "default":
        for names in data["categories"].values():
            for name in names:
                if name in removed:
                    continue
                prompts = tuple(data["prompts"].get(name) or (t.format(name) for t in templates))
                shown = renamed.get(name, name)
                tags[shown] = Tag(shown, prompts)
    for name, prompts in settings.custom:
        tags[name] = Tag(name, prompts or tuple(t.format(name) for t in templates))
    return Vocabulary(tuple(tags.values()))


def parse_settings(table: Any) -> tuple[TagSettings | None, list[str]]:
    """Validate a `[tagging]` table: the settings, or every problem with it."""
    if not isinstance(table, dict):
        return None, ['"tagging" must be a table ([tagging] with keys such as max_tags)']
    problems: list[str] = []
    known = {"vocabulary", "min_probability", "max_tags", "remove", "rename", "custom", "write_xmp", "xmp_naming",
             "write_xattr"}
    for key in table:
        if key not in known:
            problems.append(f'unknown key "tagging.{key}" (known keys: {", ".join(sorted(known))})')
    values: dict[str, Any] = {}
    vocab = table.get("vocabulary", "default")
    if vocab not in ("default", "none"):
        problems.append(f'"tagging.vocabulary" must be "default" or "none", got {vocab!r}')
    values["vocabulary"] = vocab
    p = table.get("min_probability", 0.1)
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 < p < 1:
        problems.append(f'"tagging.min_probability" must be a number between 0 and 1, got {p!r}')
    else:
        values["min_probability"] = float(p)
    n = table.get("max_tags", 5)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 50:
        problems.append(f'"tagging.max_tags" must be an integer from 1 to 50, got {n!r}')
    else:
        values["max_tags"] = n
    remove = table.get("remove", [])
    if not (isinstance(remove, list) and all(isinstance(x, str) for x in remove)):
        problems.append(f'"tagging.remove" must be a list of tag names, got {remove!r}')
    else:
        values["remove"] = tuple(remove)
    rename = table.get("rename", {})
    if not (isinstance(rename, dict) and all(isinstance(v, str) and v.strip() for v in rename.values())):
        problems.append(f'"tagging.rename" must map tag names to new names, got {rename!r}')
    else:
        values["rename"] = tuple(rename.items())
    custom = table.get("custom", {})
    ok = isinstance(custom, dict) and all(
        isinstance(k, str) and k.strip() and isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v)
        for k, v in custom.items()
    )
    if not ok:
        problems.append('"tagging.custom" must map tag names to lists of prompts ([] for the default templates)')
    else:
        values["custom"] = tuple((k, tuple(v)) for k, v in custom.items())
    for key in ("write_xmp", "write_xattr"):
        flag = table.get(key, False)
        if not isinstance(flag, bool):
            problems.append(f'"tagging.{key}" must be true or false, got {flag!r}')
        else:
            values[key] = flag
    naming = table.get("xmp_naming", "append")
    if naming not in NAMINGS:
        problems.append(f'"tagging.xmp_naming" must be "append" (photo.jpg.xmp) or "stem" (photo.xmp), got {naming!r}')
    else:
        values["xmp_naming"] = naming
    if values.get("vocabulary") == "none" and not values.get("custom"):
        problems.append('"tagging.vocabulary" is "none" but there are no [tagging.custom] tags')
    return (None, problems) if problems else (TagSettings(**values), [])
