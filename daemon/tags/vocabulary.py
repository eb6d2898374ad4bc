"""The tag vocabulary: photosift's default concepts plus the user's own, and the knobs of the tag rule.

The default vocabulary ships as `data/vocabulary.toml`. The config's `[tagging]`
table (validated with the rest of the config, `config.TagSettings`) adjusts it:

    [tagging]
    vocabulary = "default"        # or "none": only your own tags
    min_probability = 0.1         # see rule.py for the rule
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

from ..config import TagSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


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
