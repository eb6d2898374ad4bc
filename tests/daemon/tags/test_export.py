"""Tags written where other tools see them: XMP sidecars (read back by exiftool) and user.xdg.tags
(read back by getfattr), merged with what is there and removed exactly."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_harness import CountingModel, running_engine, settled
from helpers import photosift_cmd, shape_tags, wait_for, write_config

from photosift.daemon.client import Client
from photosift.daemon.errors import ApiError
from photosift.daemon.tags import sidecars, xattrs

DIGIKAM = """\
<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
   xmp:Rating="4">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Holidays</rdf:li>
     <rdf:li>red</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <digiKam:TagsList>
    <rdf:Seq>
     <rdf:li>Holidays</rdf:li>
    </rdf:Seq>
   </digiKam:TagsList>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""

DARKTABLE = """\
<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="1"
   darktable:xmp_version="5"/>
 </rdf:RDF>
</x:xmpmeta>
"""


LIGHTROOM = """\
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
   crs:Exposure2012="+0.35">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Dog</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Animals|Dog</rdf:li>
     <rdf:li>photosift|red</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

FIELDS = ("-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject", "-XMP-digiKam:TagsList")


def exiftool_fields(path: Path) -> dict[str, list[str]]:
    """The three tag fields as exiftool reads them."""
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool is not installed (Debian: libimage-exiftool-perl; install/test.sh installs it)")
    out = subprocess.run([exiftool, "-j", "-sep", "\t", *FIELDS, str(path)], capture_output=True,
                         text=True, timeout=60, check=True)
    found = json.loads(out.stdout)[0]
    return {key: [v for v in str(found.get(key, "")).split("\t") if v]
            for key in ("Subject", "HierarchicalSubject", "TagsList")}


def exiftool_subjects(path: Path) -> list[str]:
    return exiftool_fields(path)["Subject"]


STYLES = {"digikam": DIGIKAM, "darktable": DARKTABLE, "lightroom": LIGHTROOM}


@pytest.mark.parametrize("style", STYLES)
def test_merge_keeps_everything_else_and_unwrite_restores_the_file_byte_for_byte(style: str) -> None:
    original = STYLES[style]
    before = sidecars.read(original)
    merged = sidecars.merge(original, ["red", "circle", "sun & sea"])
    found = sidecars.read(merged)
    # an entry the user had already ("red" in the digiKam file, "photosift|red" in Lightroom's) is never claimed
    for field, forms in sidecars.entries(["red", "circle", "sun & sea"], "photosift").items():
        had = before[field][0]
        assert found[field][1] == [k for k in forms if k not in had], field.name
        assert set(found[field][0]) == set(had) | set(forms), field.name
    assert found[sidecars.HIERARCHY][0][-1] == "photosift|sun & sea"
    assert found[sidecars.TAGSLIST][0][-1] == "photosift/sun & sea"
    assert ('xmp:Rating="' in merged) == ('xmp:Rating="' in original) and ("crs:" in merged) == ("crs:" in original)
    updated = sidecars.merge(merged, ["star"], parent="auto/photosift")
    now = sidecars.read(updated)
    assert now[sidecars.SUBJECT][1] == ["star"] and now[sidecars.HIERARCHY][1] == ["auto|photosift|star"]
    assert now[sidecars.TAGSLIST][1] == ["auto/photosift/star"] and "circle" not in now[sidecars.SUBJECT][0]
    assert sidecars.merge(updated, ["star"], parent="auto/photosift") == updated  # the same tags: no change
    assert sidecars.unwrite(updated) == original
    flat = sidecars.read(sidecars.merge(original, ["star"], parent=""))
    assert all(flat[f][1] == ["star"] for f in sidecars.FIELDS)


@pytest.mark.parametrize("style", STYLES)
def test_real_readers_see_every_form(style: str, tmp_path: Path) -> None:
    sidecar = tmp_path / "photo.jpg.xmp"
    original = STYLES[style]
    sidecar.write_text(original)
    before = exiftool_fields(sidecar)
    sidecar.write_text(sidecars.merge(original, ["circle", "red", "sun & sea"]))
    after = exiftool_fields(sidecar)
    assert after["Subject"] == before["Subject"] + [t for t in ("circle", "red", "sun & sea")
                                                    if t not in before["Subject"]]
    hierarchy = ("photosift|circle", "photosift|red", "photosift|sun & sea")
    assert after["HierarchicalSubject"] == before["HierarchicalSubject"] + [
        t for t in hierarchy if t not in before["HierarchicalSubject"]]
    assert after["TagsList"] == before["TagsList"] + ["photosift/circle", "photosift/red", "photosift/sun & sea"]
    sidecar.write_text(sidecars.unwrite(sidecar.read_text()) or "")
    assert exiftool_fields(sidecar) == before and sidecar.read_text() == original


def test_a_sidecar_photosift_creates(tmp_path: Path) -> None:
    fresh = tmp_path / "new.jpg.xmp"
    fresh.write_text(sidecars.merge(None, ["blue", "star"]))
    assert exiftool_fields(fresh) == {"Subject": ["blue", "star"],
                                      "HierarchicalSubject": ["photosift|blue", "photosift|star"],
                                      "TagsList": ["photosift/blue", "photosift/star"]}
    assert sidecars.unwrite(fresh.read_text()) is None  # photosift's own sidecar: removed entirely
    edited = sidecars.merge(fresh.read_text(), ["blue"]).replace("<rdf:li>blue</rdf:li>", "<rdf:li>blue</rdf:li>"
                                                                 "<rdf:li>Mine</rdf:li>", 1)
    kept = sidecars.unwrite(edited)  # another tool added a keyword since: the file stays, with it alone
    assert kept is not None and sidecars.read(kept)[sidecars.SUBJECT] == (["Mine"], [])


def test_a_sidecar_that_cannot_be_edited_safely_is_refused() -> None:
    with pytest.raises(sidecars.SidecarError, match="not well-formed"):
        sidecars.merge("<x:xmpmeta><broken", ["red"])
    with pytest.raises(sidecars.SidecarError, match="no RDF namespace"):
        sidecars.merge('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>', ["red"])


def test_sidecar_naming(tmp_path: Path) -> None:
    assert sidecars.sidecar_path(tmp_path / "a.JPG", "append").name == "a.JPG.xmp"
    assert sidecars.sidecar_path(tmp_path / "a.JPG", "stem").name == "a.xmp"


def user_xattrs_work(folder: Path) -> bool:
    probe = folder / ".xattr-probe"
    probe.write_text("")
    try:
        os.setxattr(probe, "user.photosift.probe", b"1")
        return True
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EPERM):
            return False
        raise
    finally:
        probe.unlink()


def test_xattrs_merge_and_unwrite(tmp_path: Path) -> None:
    if not xattrs.SUPPORTED or not user_xattrs_work(tmp_path):
        pytest.skip("this file system does not store user extended attributes")
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"jpeg")
    os.setxattr(image, xattrs.TAGS, b"family,red")
    assert xattrs.write(image, ["red", "circle"]) is True
    assert xattrs.current(image) == (["family", "red", "circle"], ["circle"])
    getfattr = shutil.which("getfattr")
    if getfattr is not None:  # the reader KDE's tools agree with (Debian: attr)
        out = subprocess.run([getfattr, "--only-values", "-n", xattrs.TAGS, str(image)], capture_output=True,
                             text=True, timeout=30, check=True)
        assert out.stdout == "family,red,circle"
    assert xattrs.write(image, ["red", "circle"]) is False  # nothing to change
    assert xattrs.unwrite(image) is True
    assert os.getxattr(image, xattrs.TAGS) == b"family,red"
    assert xattrs.current(image)[1] == []


def test_the_daemon_writes_sidecars_when_asked_and_unwrites_exactly(
    env: dict[str, Path], model, make_shape: Callable[..., Path]
) -> None:
    photos = env["photos"]
    red = make_shape(photos, "red", "circle", "red-circle.png")
    blue = make_shape(photos, "blue", "star", "blue-star.png")
    (photos / "blue-star.png.xmp").write_text(DIGIKAM)  # the user's sidecar from another tool
    with running_engine(env, CountingModel(model), 2, serve_api=True, socket=str(env["run"] / "api.sock"),
                        tagging=shape_tags(write_xmp=True)) as engine:
        wait_for(lambda: settled(engine) and (photos / "red-circle.png.xmp").exists())
        assert exiftool_subjects(photos / "red-circle.png.xmp") in (["red", "circle"], ["circle", "red"])
        assert set(exiftool_subjects(photos / "blue-star.png.xmp")) == {"Holidays", "red", "blue", "star"}
        gone = make_shape(photos, "green", "square", "gone.png")
        wait_for(lambda: (photos / "gone.png.xmp").exists())
        gone.unlink()  # an image deleted: the sidecar photosift made for it goes too
        wait_for(lambda: not (photos / "gone.png.xmp").exists())
        with Client(env["run"] / "api.sock") as client:
            (photos / "red-circle.png.xmp").unlink()
            rewrite = client.export(str(red), dry_run=True)  # what `tags write --dry-run` shows
            assert rewrite["changes"][0].startswith(f"{red}.xmp: create (photosift's keywords: ")
            assert not (photos / "red-circle.png.xmp").exists()
            assert client.export(str(red))["changes"][0].startswith(f"{red}.xmp: created")
            preview = client.export(unwrite=True, dry_run=True)
            assert preview["files"] == 2 and len(preview["changes"]) == 2
            assert (photos / "red-circle.png.xmp").exists()  # a dry run changes nothing
            done = client.export(str(photos), unwrite=True)
            assert sorted(done["changes"]) == [f"{blue}.xmp: updated (photosift's keywords: none)",
                                               f"{red}.xmp: deleted"]
    assert (photos / "blue-star.png.xmp").read_text() == DIGIKAM
    assert not (photos / "red-circle.png.xmp").exists()


def test_writing_needs_a_target(env: dict[str, Path], model, make_shape: Callable[..., Path]) -> None:
    make_shape(env["photos"], "red", "circle")
    with running_engine(env, CountingModel(model), 1, serve_api=True, socket=str(env["run"] / "api.sock"),
                        tagging=shape_tags()) as _engine, Client(env["run"] / "api.sock") as client:
        with pytest.raises(ApiError, match="write_xmp") as disabled:
            client.export()
        assert disabled.value.code == "export_disabled"
        assert not list(env["photos"].glob("*.xmp"))


def test_unwrite_without_a_daemon_reads_photosifts_copy_of_the_index(
    env: dict[str, Path], model, make_shape: Callable[..., Path]
) -> None:
    """`tags unwrite` with no daemon running (as `uninstall.sh --purge` runs it): the files photosift's own
    copy of the index lists, in every sidecar form, since the naming may have changed after they were written."""
    photos = env["photos"]
    red = make_shape(photos, "red", "circle", "red-circle.png")
    make_shape(photos, "blue", "star", "blue-star.png")
    (photos / "blue-star.xmp").write_text(DIGIKAM)  # the user's sidecar, Lightroom's "stem" naming
    stem = shape_tags(write_xmp=True, xmp_naming="stem")
    with running_engine(env, CountingModel(model), 2, tagging=stem) as engine:
        wait_for(lambda: settled(engine) and (photos / "red-circle.xmp").exists())
        assert "photosift:keywords" in (photos / "blue-star.xmp").read_text()
    write_config(env["config"], folders=[str(photos)])  # the config says "append" now, and writes nothing
    preview = subprocess.run(photosift_cmd("tags", "unwrite", "--dry-run"), capture_output=True, text=True,
                             timeout=120)
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.splitlines()[-1] == "2 would change (2 indexed images looked at)"
    assert (photos / "red-circle.xmp").exists()
    done = subprocess.run(photosift_cmd("tags", "unwrite", str(red)), capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines() == [f"{photos / 'red-circle.xmp'}: deleted",
                                        "1 changed (1 indexed images looked at)"]
    done = subprocess.run(photosift_cmd("tags", "unwrite"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "1 changed (2 indexed images looked at)"
    assert (photos / "blue-star.xmp").read_text() == DIGIKAM  # byte for byte as the user had it
    refused = subprocess.run(photosift_cmd("tags", "write"), capture_output=True, text=True, timeout=120)
    assert refused.returncode == 3 and "not running" in refused.stderr  # writing needs the daemon's tags
