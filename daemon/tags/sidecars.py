"""Tags as XMP sidecar keywords, merged into what is there, never clobbering it.

Photo tools read tags from XMP sidecars: digiKam and darktable from
`photo.jpg.xmp` ("append" naming), Lightroom from `photo.xmp` ("stem").
photosift writes each tag in the three forms they read (`FIELDS`): the flat
keyword in `dc:subject` ("dog"), and the hierarchical one under the configured
parent in `lr:hierarchicalSubject` ("photosift|dog": Lightroom, darktable,
which keys its tags on it) and `digiKam:TagsList` ("photosift/dog": digiKam,
and Immich, which reads it first). The parent puts machine tags in a branch of
their own, to be filtered or removed there; an empty parent writes them flat.

An existing sidecar is edited surgically, as text: photosift adds its entries
as `<rdf:li>` items inside each field's bag (a Seq for TagsList) and removes
the ones it wrote before, and every other byte stays as it was — other fields,
other entries, the layout. What photosift added is listed in its own elements
in the same sidecar (`photosift:keywords`, `photosift:hierarchical`,
`photosift:tagslist`), so it can be updated or removed later ("unwrite") even
after a reinstall; an entry the user had already is never claimed. A sidecar
photosift created and that holds nothing else after an unwrite is deleted.

The result is parsed back before it is written; a sidecar whose structure this
cannot edit safely is reported and left untouched.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from pathlib import Path

from ..errors import SidecarError

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
LR = "http://ns.adobe.com/lightroom/1.0/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
OURS = "https://photosift.dev/ns/1.0/"


@dataclass(frozen=True)
class Field:
    """One XMP field photosift writes tags into, and the element of its own that records its entries."""

    namespace: str
    prefix: str  # the usual prefix, used where the sidecar declares none
    name: str
    container: str  # "Bag" or "Seq"
    record: str  # photosift's element listing what it added to this field
    separator: str  # between parent and tag ("" for the flat keyword)


SUBJECT = Field(DC, "dc", "subject", "Bag", "keywords", "")
HIERARCHY = Field(LR, "lr", "hierarchicalSubject", "Bag", "hierarchical", "|")
TAGSLIST = Field(DIGIKAM, "digiKam", "TagsList", "Seq", "tagslist", "/")
FIELDS = (SUBJECT, HIERARCHY, TAGSLIST)


def sidecar_path(image: Path, naming: str) -> Path:
    """`photo.jpg.xmp` (append: digiKam, darktable) or `photo.xmp` (stem: Lightroom)."""
    return image.with_name(image.name + ".xmp") if naming == "append" else image.with_suffix(".xmp")


def entries(tags: list[str], parent: str) -> dict[Field, list[str]]:
    """Each field's form of the tags: "dog", "photosift|dog", "photosift/dog" (a parent "a/b" nests;
    no parent: the tag itself in every field)."""
    forms: dict[Field, list[str]] = {}
    for field in FIELDS:
        branch = parent.replace("/", field.separator) + field.separator if parent and field.separator else ""
        forms[field] = [branch + tag for tag in dict.fromkeys(tags)]
    return forms


def _new_sidecar(wanted: dict[Field, list[str]]) -> str:
    fields = "".join(f"   <{f.prefix}:{f.name}><rdf:{f.container}>{_items('rdf', wanted[f])}</rdf:{f.container}>"
                     f"</{f.prefix}:{f.name}>\n" for f in FIELDS)
    records = "".join(f"   {_record(f, 'rdf', wanted[f], 'created' if f is SUBJECT else None)}\n" for f in FIELDS)
    namespaces = "".join(f' xmlns:{f.prefix}="{f.namespace}"' for f in FIELDS)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="photosift">\n'
        f' <rdf:RDF xmlns:rdf="{RDF}">\n'
        f'  <rdf:Description rdf:about=""{namespaces} xmlns:photosift="{OURS}">\n'
        f"{fields}{records}"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    )


def read(text: str) -> dict[Field, tuple[list[str], list[str]]]:
    """Each field's (entries, the ones photosift wrote), read with a real XML parser."""
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise SidecarError(f"not well-formed XML: {exc}") from exc
    found = {}
    for f in FIELDS:
        items = f".//{{{f.namespace}}}{f.name}/{{{RDF}}}{f.container}/{{{RDF}}}li"
        every = [li.text or "" for li in root.iterfind(items)]
        ours = [li.text or "" for li in root.iterfind(f".//{{{OURS}}}{f.record}/{{{RDF}}}Bag/{{{RDF}}}li")]
        found[f] = (every, ours)
    return found


def keywords(text: str) -> tuple[list[str], list[str]]:
    """(all dc:subject keywords, the ones photosift wrote)."""
    return read(text)[SUBJECT]


def merge(text: str | None, tags: list[str], parent: str = "photosift") -> str:
    """The sidecar with photosift's entries set to `tags` under `parent` (text None: no sidecar yet)."""
    wanted = entries(tags, parent)
    if text is None:
        return _new_sidecar(wanted)
    current = read(text)
    added = set(_added(text))
    edited = text
    for f in FIELDS:
        edited = _remove_element(edited, OURS, f.record)
    claims: dict[Field, list[str]] = {}
    expected: dict[Field, list[str]] = {}
    for f in FIELDS:
        every, ours = current[f]
        foreign = [k for k in every if k not in ours]
        claims[f] = [t for t in wanted[f] if t not in foreign]
        expected[f] = foreign + claims[f]
        edited = _edit_field(edited, f, drop=[k for k in ours if k not in claims[f]],
                             add=[t for t in claims[f] if t not in every], added=added)
    rdf = _prefix(edited, RDF) or "rdf"
    declare = None
    if _prefix(edited, OURS) is None:
        added.add("ns-photosift")
        declare = ("photosift", OURS)
    if re.search(r"<" + re.escape(rdf) + r":Description\b[^>]*?/>", edited):
        added.add("open")  # our records open up a Description that held attributes only
    for f in FIELDS:
        marker = " ".join(sorted(added)) if f is SUBJECT else None
        edited = _insert_in_description(edited, rdf, _record(f, rdf, claims[f], marker), declare)
        declare = None
    return _checked(edited, expected, claims)


def unwrite(text: str) -> str | None:
    """The sidecar without anything photosift wrote; None when photosift created it."""
    current = read(text)
    added = set(_added(text))
    rest = {f: [k for k in every if k not in ours] for f, (every, ours) in current.items()}
    if "created" in added and not any(rest.values()):
        return None  # photosift's own file: remove it (other fields would have kept `rest` or structure)
    edited = text
    for f in FIELDS:
        edited = _remove_element(edited, OURS, f.record)
    for f in FIELDS:
        edited = _edit_field(edited, f, drop=current[f][1], add=[], added=set())
        prefix = _prefix(edited, f.namespace)
        if f.name in added and prefix and not read(edited)[f][0]:
            edited = _remove_element(edited, f.namespace, f.name)
        if f"ns-{f.prefix}" in added and prefix and f"<{prefix}:" not in edited:
            edited = edited.replace(f' xmlns:{prefix}="{f.namespace}"', "", 1)
    rdf = _prefix(edited, RDF) or "rdf"
    if "open" in added:  # the Description was <... /> before photosift gave it children
        edited = re.sub(r"(<" + re.escape(rdf) + r":Description\b[^>]*?)>\s*</" + re.escape(rdf) + r":Description>",
                        r"\1/>", edited, count=1)
    if "ns-photosift" in added:
        edited = edited.replace(f' xmlns:photosift="{OURS}"', "", 1)
    return _checked(edited, rest, {f: [] for f in FIELDS})


def _record(field: Field, rdf: str, claimed: list[str], added: str | None) -> str:
    attribute = f' photosift:added="{added}"' if added is not None else ""
    return (f"<photosift:{field.record}{attribute}><{rdf}:Bag>{_items(rdf, claimed)}</{rdf}:Bag>"
            f"</photosift:{field.record}>")


def _items(rdf: str, values: list[str]) -> str:
    return "".join(_li(rdf, v) for v in values)


def _added(text: str) -> list[str]:
    """What photosift added to the sidecar's structure, as recorded in its own element."""
    match = re.search(r'photosift:added="([^"]*)"', text)
    return match.group(1).split() if match else []


def _checked(edited: str, expected: dict[Field, list[str]], ours: dict[Field, list[str]]) -> str:
    found = read(edited)
    for f in FIELDS:
        if sorted(found[f][0]) != sorted(expected[f]) or sorted(found[f][1]) != sorted(ours[f]):
            raise SidecarError("its structure is unusual (the edit did not come out as intended)")
    return edited


def _prefix(text: str, namespace: str) -> str | None:
    match = re.search(r'xmlns:([\w.-]+)\s*=\s*["\']' + re.escape(namespace) + r'["\']', text)
    return match.group(1) if match else None


def _li(rdf: str, keyword: str) -> str:
    return f"<{rdf}:li>{escape(keyword, quote=False)}</{rdf}:li>"


def _edit_field(text: str, field: Field, drop: list[str], add: list[str], added: set[str]) -> str:
    """Remove `drop` from the field's bag (or seq) and append `add`, creating the field if there is none."""
    rdf = _prefix(text, RDF)
    if rdf is None:
        raise SidecarError("it has no RDF namespace")
    prefix = _prefix(text, field.namespace)
    span = _element_span(text, prefix, field.name) if prefix else None
    if span is None:
        if not add:
            return text
        if prefix is None:
            added.add(f"ns-{field.prefix}")
        added.add(field.name)
        name = prefix or field.prefix
        element = f"<{name}:{field.name}><{rdf}:{field.container}>{_items(rdf, add)}</{rdf}:{field.container}>" \
                  f"</{name}:{field.name}>"
        return _insert_in_description(text, rdf, element, None if prefix else (field.prefix, field.namespace), added)
    start, end = span
    inner = text[start:end]
    for entry in drop:  # the item, with the whitespace that separates it from the one before
        inner = re.sub(r"\s*" + re.escape(_li(rdf, entry)), "", inner, count=1)
    if add:
        close = inner.rfind(f"</{rdf}:{field.container}>")
        if close < 0:
            raise SidecarError(f"its {prefix}:{field.name} holds no {rdf}:{field.container}")
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
