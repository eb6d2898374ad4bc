"""The tag vocabulary: photosift's default concepts plus the user's own, and the knobs of the tag rule.

The default vocabulary ships as `data/vocabulary.toml`. The config's `[tagging]`
table (validated with the rest of the config, `config.TagSettings`) adjusts it:

    [tagging]
    vocabulary = "default"        # or "none": only your own tags
    min_confidence = 0.5          # see rule.py for the rule
    max_tags = 5
    remove = ["meme"]             # default tags you do not want
    rename = { "dog" = "doggo" }  # keep the concept, show another name

    write_xmp = false             # opt in: keywords in XMP sidecars (export.py)
    xmp_naming = "append"         # photo.jpg.xmp (digiKam, darktable); "stem": photo.xmp (Lightroom)
    write_xattr = false           # opt in: user.xdg.tags extended attributes

    [tagging.custom]              # your own tags; prompts are optional
    Rex = ["a photo of a golden retriever"]
    "red car" = []                # [] = the default templates ("a photo of a red car." ...)

    [tagging.thresholds]          # a tag's own confidence threshold
    Rex = 0.8

    [tagging.facets]              # mutually exclusive tags: at most one of them per photo
    colour = ["red", "green", "blue"]
"""

from __future__ import annotations

import difflib
import hashlib
import sys
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..config import TagSettings
from ..errors import ConfigError

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
    """The tags in force, in a stable order, and the facets (groups of mutually exclusive tags)."""

    tags: tuple[Tag, ...] = field(default_factory=tuple)
    facets: tuple[tuple[str, tuple[str, ...]], ...] = ()

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
    """The default vocabulary (unless "none") with the user's removals, renames and own tags applied,
    and the default facets with the user's own (a user facet of the same name replaces the default's).

    Raises ConfigError when a facet or a threshold names a tag that is not in the vocabulary, or a tag
    is in two facets: only the whole vocabulary shows those."""
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
    facets: dict[str, tuple[str, ...]] = {}
    if settings.vocabulary == "default":
        for facet, members in data["facets"].items():
            # a default facet keeps what the user kept of it, under the names they gave
            kept = tuple(renamed.get(m, m) for m in members if m not in removed)
            if len(kept) >= 2:
                facets[facet] = kept
    facets.update(settings.facets)
    _check(tags, facets, settings)
    return Vocabulary(tuple(tags.values()), tuple(facets.items()))


def _check(tags: dict[str, Tag], facets: dict[str, tuple[str, ...]], settings: TagSettings) -> None:
    problems = []
    seen: dict[str, str] = {}
    for facet, members in facets.items():
        for member in members:
            if member not in tags:
                problems.append(f'facet "{facet}" names "{member}", which is not a tag{_hint(member, tags)}')
            elif member in seen:
                problems.append(f'"{member}" is in two facets, "{seen[member]}" and "{facet}"')
            seen.setdefault(member, facet)
    for tag, _ in settings.thresholds:
        if tag not in tags:
            problems.append(f'"tagging.thresholds" names "{tag}", which is not a tag{_hint(tag, tags)}')
    if problems:
        raise ConfigError("[tagging]", problems)


def _hint(name: str, tags: dict[str, Tag]) -> str:
    close = difflib.get_close_matches(name, list(tags), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""
