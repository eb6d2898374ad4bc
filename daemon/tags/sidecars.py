"""Tags as XMP sidecar keywords (`dc:subject`), merged into what is there, never clobbering it.

Photo tools read keywords from XMP sidecars: digiKam and darktable from
`photo.jpg.xmp` ("append" naming), Lightroom from `photo.xmp` ("stem").
photosift edits an existing sidecar surgically, as text: it adds its keywords
as `<rdf:li>` items inside the `dc:subject` bag and removes the ones it wrote
before, and every other byte stays as it was — other fields, other keywords,
the layout. The keywords photosift added are listed in its own
`photosift:keywords` bag in the same sidecar, so they can be updated or removed
later ("unwrite") even after a reinstall; a keyword the user had already is
never claimed. A sidecar photosift created and that holds nothing else after
an unwrite is deleted.

The result is parsed back before it is written; a sidecar whose structure this
cannot edit safely is reported and left untouched.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

from ..errors import SidecarError

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
OURS = "https://photosift.dev/ns/1.0/"


def sidecar_path(image: Path, naming: str) -> Path:
    """`photo.jpg.xmp` (append: digiKam, darktable) or `photo.xmp` (stem: Lightroom)."""
    return image.with_name(image.name + ".xmp") if naming == "append" else image.with_suffix(".xmp")


def _new_sidecar(keywords: list[str]) -> str:
    items = "".join(_li("rdf", k) for k in keywords)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="photosift">\n'
        f' <rdf:RDF xmlns:rdf="{RDF}">\n'
        f'  <rdf:Description rdf:about="" xmlns:dc="{DC}" xmlns:photosift="{OURS}">\n'
        f"   <dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>\n"
        f'   <photosift:keywords photosift:added="created"><rdf:Bag>{items}</rdf:Bag></photosift:keywords>\n'
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    )


def keywords(text: str) -> tuple[list[str], list[str]]:
    """(all dc:subject keywords, the ones photosift wrote), read with a real XML parser."""
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise SidecarError(f"not well-formed XML: {exc}") from exc
    subject = [li.text or "" for li in root.iterfind(f".//{{{DC}}}subject/{{{RDF}}}Bag/{{{RDF}}}li")]
    ours = [li.text or "" for li in root.iterfind(f".//{{{OURS}}}keywords/{{{RDF}}}Bag/{{{RDF}}}li")]
    return subject, ours


def merge(text: str | None, tags: list[str]) -> str:
    """The sidecar with photosift's keywords set to `tags` (text None: no sidecar yet)."""
    if text is None:
        return _new_sidecar(tags)
    subject, ours = keywords(text)
    foreign = [k for k in subject if k not in ours]
    claim = [t for t in dict.fromkeys(tags) if t not in foreign]
    added = set(_added(text))
    edited = _remove_element(text, OURS, "keywords")
    edited = _edit_subject(edited, drop=[k for k in ours if k not in claim], add=[t for t in claim if t not in subject],
                           added=added)
    rdf = _prefix(edited, RDF) or "rdf"
    if _prefix(edited, OURS) is None:
        added.add("ns-photosift")
    items = "".join(_li(rdf, k) for k in claim)
    record = " ".join(sorted(added))
    element = (f'<photosift:keywords photosift:added="{record}"><{rdf}:Bag>{items}</{rdf}:Bag>'
               "</photosift:keywords>")
    edited = _insert_in_description(edited, rdf, element, None if _prefix(edited, OURS) else ("photosift", OURS))
    return _checked(edited, foreign + claim, claim)


def unwrite(text: str) -> str | None:
    """The sidecar without anything photosift wrote; None when photosift created it."""
    subject, ours = keywords(text)
    added = set(_added(text))
    if "created" in added:
        rest = [k for k in subject if k not in ours]
        if not rest:
            return None  # photosift's own file: remove it (other fields would have kept `rest` or structure)
    edited = _remove_element(text, OURS, "keywords")
    edited = _edit_subject(edited, drop=ours, add=[], added=set())
    rdf = _prefix(edited, RDF) or "rdf"
    dc = _prefix(edited, DC)
    if "subject" in added and dc and not keywords(edited)[0]:
        edited = _remove_element(edited, DC, "subject")
    if "open" in added:  # the Description was <... /> before photosift gave it children
        edited = re.sub(r"(<" + re.escape(rdf) + r":Description\b[^>]*?)></" + re.escape(rdf) + r":Description>",
                        r"\1/>", edited, count=1)
    if "ns-dc" in added and dc and f"<{dc}:" not in edited:
        edited = edited.replace(f' xmlns:{dc}="{DC}"', "", 1)
    if "ns-photosift" in added:
        edited = edited.replace(f' xmlns:photosift="{OURS}"', "", 1)
    return _checked(edited, [k for k in subject if k not in ours], [])


def _added(text: str) -> list[str]:
    """What photosift added to the sidecar's structure, as recorded in its own element."""
    match = re.search(r'photosift:added="([^"]*)"', text)
    return match.group(1).split() if match else []


def _checked(edited: str, expected_subject: list[str], expected_ours: list[str]) -> str:
    subject, ours = keywords(edited)
    if sorted(subject) != sorted(expected_subject) or sorted(ours) != sorted(expected_ours):
        raise SidecarError("its structure is unusual (the edit did not come out as intended)")
    return edited


def _prefix(text: str, namespace: str) -> str | None:
    match = re.search(r'xmlns:([\w.-]+)\s*=\s*["\']' + re.escape(namespace) + r'["\']', text)
    return match.group(1) if match else None


def _li(rdf: str, keyword: str) -> str:
    return f"<{rdf}:li>{escape(keyword, quote=False)}</{rdf}:li>"


def _edit_subject(text: str, drop: list[str], add: list[str], added: set[str]) -> str:
    """Remove `drop` from the dc:subject bag and append `add`, creating the bag if there is none."""
    rdf = _prefix(text, RDF)
    if rdf is None:
        raise SidecarError("it has no RDF namespace")
    dc = _prefix(text, DC)
    span = _element_span(text, dc, "subject") if dc else None
    if span is None:
        if not add:
            return text
        if dc is None:
            added.add("ns-dc")
        added.add("subject")
        items = "".join(_li(rdf, k) for k in add)
        element = f"<{dc or 'dc'}:subject><{rdf}:Bag>{items}</{rdf}:Bag></{dc or 'dc'}:subject>"
        return _insert_in_description(text, rdf, element, None if dc else ("dc", DC), added)
    start, end = span
    inner = text[start:end]
    for keyword in drop:  # the item, with the whitespace that separates it from the one before
        inner = re.sub(r"\s*" + re.escape(_li(rdf, keyword)), "", inner, count=1)
    if add:
        close = inner.rfind(f"</{rdf}:Bag>")
        if close < 0:
            raise SidecarError(f"its {dc}:subject holds no {rdf}:Bag")
        first = re.search(r"(\s*)<" + re.escape(rdf) + ":li>", inner)
        separator = first.group(1) if first else ""  # the layout of the items already there
        at = len(inner[:close].rstrip()) if separator.strip() == "" and separator else close
        inner = inner[:at] + "".join(separator + _li(rdf, k) for k in add) + inner[at:]
    return text[:start] + inner + text[end:]


def _element_span(text: str, prefix: str, name: str) -> tuple[int, int] | None:
    pattern = r"<" + re.escape(prefix) + ":" + name + r"\b[^>]*>.*?</" + re.escape(prefix) + ":" + name + r"\s*>"
    match = re.search(pattern, text, re.DOTALL)
    return match.span() if match else None


def _remove_element(text: str, namespace: str, name: str) -> str:
    """Remove an element, and its line when it had a line of its own."""
    prefix = _prefix(text, namespace)
    span = _element_span(text, prefix, name) if prefix else None
    if span is None:
        return text
    start, end = span
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip() == "" and text[end : end + 1] == "\n":
        start, end = line_start, end + 1
    return text[:start] + text[end:]


def _insert_in_description(text: str, rdf: str, element: str, declare: tuple[str, str] | None,
                           added: set[str] | None = None) -> str:
    """Put `element` last in the first rdf:Description, declaring its namespace there if needed."""
    opening = re.search(r"<" + re.escape(rdf) + r":Description\b([^>]*?)(/?)>", text)
    if opening is None:
        raise SidecarError("it has no rdf:Description")
    attrs = opening.group(1) + (f' xmlns:{declare[0]}="{declare[1]}"' if declare else "")
    head = f"<{rdf}:Description{attrs}>"
    if opening.group(2) == "/":  # <rdf:Description ... /> holds attributes only: open it up
        if added is not None:
            added.add("open")
        return text[: opening.start()] + head + element + f"</{rdf}:Description>" + text[opening.end() :]
    text = text[: opening.start()] + head + text[opening.end() :]
    close = text.find(f"</{rdf}:Description>", opening.start())
    if close < 0:
        raise SidecarError("its rdf:Description is not closed")
    line_start = text.rfind("\n", 0, close) + 1
    indent = text[line_start:close]
    if indent.strip() == "":  # the closing tag has its own line: add one above it, a level deeper
        return text[:line_start] + indent + " " + element + "\n" + text[line_start:]
    return text[:close] + element + text[close:]
