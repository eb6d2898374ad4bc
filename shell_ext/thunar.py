"""Thunar's custom actions live in one file, `~/.config/Thunar/uca.xml`, beside the user's own actions.

Ours is merged in as text: the `<action>` block carrying our unique id is added
before `</actions>` (or replaced, if an older one is there), and removing it
cuts exactly that block, so every byte of the user's actions stays as it was.
The result is parsed before it is written; a file that is not the XML Thunar
writes is reported and left alone.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

from photosift.daemon.errors import UcaError

from .common import ACTION, ACTION_ID, IMAGE_EXTENSIONS, MARKER, TOOLTIP, shell_command, similar_argv

UCA = Path(".config/Thunar/uca.xml")
EMPTY = '<?xml version="1.0" encoding="UTF-8"?>\n<actions>\n</actions>\n'


def action_block(photosift: list[str]) -> str:
    patterns = ";".join(f"*.{e};*.{e.upper()}" for e in IMAGE_EXTENSIONS)
    return (
        "<action>\n"
        f"\t<!-- photosift: {escape(MARKER)} -->\n"
        "\t<icon>edit-find</icon>\n"
        f"\t<name>{escape(ACTION)}</name>\n"
        "\t<submenu></submenu>\n"
        f"\t<unique-id>{ACTION_ID}</unique-id>\n"
        f"\t<command>{escape(shell_command(similar_argv(photosift)))} %F</command>\n"
        f"\t<description>{escape(TOOLTIP)}</description>\n"
        "\t<range></range>\n"
        f"\t<patterns>{patterns}</patterns>\n"
        "\t<image-files/>\n"
        "</action>\n"
    )


def _ours(text: str) -> tuple[int, int] | None:
    """Where our action block is in `text` (start, end including its newline), if it is there."""
    marker = text.find(f"<unique-id>{ACTION_ID}</unique-id>")
    if marker < 0:
        return None
    start = text.rfind("<action>", 0, marker)
    end = text.find("</action>", marker)
    if start < 0 or end < 0:
        raise UcaError(f"{UCA}: our action's block is damaged; fix or remove it by hand")
    end += len("</action>")
    if text[end:end + 1] == "\n":
        end += 1
    return start, end


def _checked(text: str, where: Path) -> str:
    try:
        root = ET.fromstring(text.encode())
    except ET.ParseError as exc:
        raise UcaError(f"{where} is not valid XML ({exc}); photosift left it alone") from exc
    if root.tag != "actions":
        raise UcaError(f"{where} is not Thunar's actions file (its root is <{root.tag}>); photosift left it alone")
    return text


def merged(existing: str | None, photosift: list[str], where: Path) -> str:
    """`existing` (None: no file yet) with our action added or brought up to date."""
    text = EMPTY if existing is None else _checked(existing, where)
    block = action_block(photosift)
    found = _ours(text)
    if found is not None:
        return _checked(text[: found[0]] + block + text[found[1]:], where)
    close = text.rfind("</actions>")
    if close < 0:
        raise UcaError(f"{where} has no </actions>; photosift left it alone")
    return _checked(text[:close] + block + text[close:], where)


def unmerged(existing: str, where: Path) -> str:
    """`existing` without our action (unchanged if it is not there)."""
    found = _ours(existing)
    if found is None:
        return existing  # not ours to touch, whatever state it is in
    _checked(existing, where)
    return _checked(existing[: found[0]] + existing[found[1]:], where)
