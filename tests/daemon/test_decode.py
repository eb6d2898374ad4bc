"""Decoding: the draft-mode fast path against clip's reference, orientation, formats, bad files."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import matplotlib.cbook
import numpy as np
import pytest
import skimage
import tifffile
from PIL import Image
from skimage import data

from photosift.daemon.decode import (
    NEUTRAL_BACKGROUND,
    Limits,
    decode_file,
    normalise,
    open_image,
    to_pixels,
)
from photosift.daemon.errors import DecodeError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    import clip

SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
PHOTOS = {
    "astronaut": data.astronaut,
    "chelsea": data.chelsea,
    "coffee": data.coffee,
    "rocket": data.rocket,
    "motorcycle": lambda: data.stereo_motorcycle()[0],
    "grace_hopper": lambda: np.asarray(Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg"))),
}


def big_jpeg(tmp_path: Path, name: str, width: int = 4000) -> Path:
    """A real photo upscaled to a camera-sized JPEG (4000 px wide, about 10-12 MP)."""
    arr = PHOTOS[name]()
    img = Image.fromarray(arr).convert("RGB")
    img = img.resize((width, round(width * img.height / img.width)), Image.Resampling.BICUBIC)
    path = tmp_path / f"{name}.jpg"
    img.save(path, quality=92)
    return path


# The tolerance the fast path holds against clip's full-resolution preprocessing, at each JPEG DCT scale:
# (mean, 99th percentile) of the absolute difference, in normalised units (the tensor spans about -1.8..2.1;
# one grey level is 0.015). Measured worst over these photos: 1/1 0.013 / 0.075, 1/2 0.013 / 0.075,
# 1/4 0.014 / 0.075, 1/8 0.014 / 0.075; the reduced scales are no worse than a full decode, because only
# the crop's own region is resampled, from the exact fraction of the reduced image the original covers.
TOLERANCE = {1: (0.015, 0.09), 2: (0.015, 0.09), 4: (0.015, 0.09), 8: (0.015, 0.09)}


@pytest.mark.parametrize("scale", sorted(TOLERANCE))
@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_fast_path_matches_clip_preprocessing_at_every_scale(tmp_path: Path, name: str, scale: int) -> None:
    path = big_jpeg(tmp_path, name)
    img = Image.open(path)
    width, height = img.size
    drafted = img.draft("RGB", (width // scale, height // scale))
    assert drafted is not None
    assert img.size == (-(-width // scale), -(-height // scale)), "libjpeg decodes at the asked scale, rounded up"
    fast = to_pixels(img, 224, (width, height), drafted[1])
    reference = clip.clip._transform(224)(Image.open(path)).numpy()
    diff = np.abs(fast - reference)
    assert fast.shape == reference.shape == (3, 224, 224)
    mean, p99 = TOLERANCE[scale]
    assert diff.mean() <= mean, diff.mean()
    assert np.percentile(diff, 99) <= p99, np.percentile(diff, 99)


@pytest.mark.parametrize(("width", "size", "scale"),
                         [(4000, 224, 8), (4000, 336, 4), (1600, 224, 4), (800, 224, 2), (600, 224, 1)])
def test_draft_scale_goes_as_far_as_the_short_side_allows(tmp_path: Path, width: int, size: int, scale: int) -> None:
    path = big_jpeg(tmp_path, "chelsea", width)  # 3:2, short side two thirds of the width
    opened = open_image(path, size, Limits())
    assert opened.image.size[0] == -(-width // scale)
    assert min(opened.image.size) >= size, "never below the model's input size"
    assert opened.to_pixels(size).shape == (3, size, size)


def test_fast_path_embeds_like_the_reference(tmp_path: Path, model) -> None:
    path = big_jpeg(tmp_path, "chelsea")
    size = model.input_resolution
    fast = decode_file(str(path), size, Limits()).pixels
    reference = clip.clip._transform(size)(Image.open(path)).numpy()
    a, b = model.encode_images(np.stack([fast, reference]))
    assert float(a @ b) > 0.99


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    upright = Image.fromarray(data.chelsea())  # 451 x 300, landscape
    upright_path = tmp_path / "upright.jpg"
    upright.save(upright_path, quality=95)
    # stored rotated, with orientation 6 ("rotate 90 CW to view"), as phones write it
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated_path = tmp_path / "rotated.jpg"
    stored.save(rotated_path, quality=95, exif=exif.tobytes())
    a = decode_file(str(upright_path), 224, Limits())
    b = decode_file(str(rotated_path), 224, Limits())
    assert (b.width, b.height) == (451, 300)
    assert np.abs(a.pixels - b.pixels).mean() < 0.03


# what a camera stores for each EXIF orientation, given the upright picture: the inverse of the viewer's turn
STORED_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_every_orientation_at_reduced_scale_matches_its_upright_twin(tmp_path: Path, orientation: int) -> None:
    """At 1/8 scale, sizes that are no multiple of 8 leave a partial last row and column in the reduced
    image; after the turn they are on another side, and the crop must still come from the same place."""
    upright = Image.fromarray(PHOTOS["motorcycle"]()).resize((4003, 2707), Image.Resampling.BICUBIC)
    upright_path = tmp_path / "upright.jpg"
    upright.save(upright_path, quality=95)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored_path = tmp_path / f"stored-{orientation}.jpg"
    upright.transpose(STORED_AS[orientation]).save(stored_path, quality=95, exif=exif.tobytes())
    opened = open_image(stored_path, 224, Limits())
    assert (opened.width, opened.height) == (4003, 2707)
    assert opened.image.size[1] == 339, "decoded at 1/8"
    twin = decode_file(str(upright_path), 224, Limits()).pixels
    diff = np.abs(opened.to_pixels(224) - twin)
    # measured: mean 0.009-0.012 (the twins' JPEG blocks differ); a crop from the wrong side gives 0.08-0.12
    assert diff.mean() < 0.02, diff.mean()


def test_taken_at_from_exif_else_mtime(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2021:07:14 09:30:00"
    exif.get_ifd(0x8769)[0x9011] = "+02:00"
    with_date = tmp_path / "dated.jpg"
    Image.fromarray(data.coffee()).save(with_date, exif=exif.tobytes())
    assert decode_file(str(with_date), 64, Limits()).taken_at == 1626247800  # 07:30 UTC
    plain = tmp_path / "plain.png"
    Image.fromarray(data.coffee()).save(plain)
    decoded = decode_file(str(plain), 64, Limits())
    assert decoded.taken_at == plain.stat().st_mtime_ns // 1_000_000_000


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp"), ("GIF", "gif"),
                                     ("BMP", "bmp"), ("TIFF", "tif")])
def test_common_formats_decode(tmp_path: Path, fmt: str, ext: str) -> None:
    path = tmp_path / f"rocket.{ext}"
    Image.fromarray(data.rocket()).save(path, fmt)
    decoded = decode_file(str(path), 224, Limits())
    assert decoded.pixels.shape == (3, 224, 224)
    assert (decoded.width, decoded.height) == (640, 427)


def test_type_is_decided_by_content_not_extension(tmp_path: Path) -> None:
    png_named_jpg = tmp_path / "really-a-png.JPG"
    Image.fromarray(data.astronaut()).save(png_named_jpg, "PNG")
    assert decode_file(str(png_named_jpg), 64, Limits()).width == 512
    text_named_jpg = tmp_path / "notes.jpg"
    text_named_jpg.write_text("this is not a picture")
    with pytest.raises(DecodeError, match="not a supported image"):
        decode_file(str(text_named_jpg), 64, Limits())


def test_animated_gif_and_multipage_tiff_from_skimage() -> None:
    gif = SKIMAGE_DATA / "no_time_for_that_tiny.gif"
    assert Image.open(gif).n_frames > 1
    assert decode_file(str(gif), 64, Limits()).pixels.shape == (3, 64, 64)
    for name in ("multipage.tif", "multipage_rgb.tif"):  # the second is planar RGB, which Pillow cannot read
        tif = SKIMAGE_DATA / name
        with tifffile.TiffFile(tif) as t:
            assert len(t.pages) > 1
        assert decode_file(str(tif), 64, Limits()).pixels.shape == (3, 64, 64)


def test_cmyk_jpeg_converts_to_the_same_colours(tmp_path: Path) -> None:
    rgb = Image.fromarray(data.coffee())
    rgb_path, cmyk_path = tmp_path / "rgb.jpg", tmp_path / "cmyk.jpg"
    rgb.save(rgb_path, quality=95)
    rgb.convert("CMYK").save(cmyk_path, quality=95)
    a = decode_file(str(rgb_path), 64, Limits()).pixels
    b = decode_file(str(cmyk_path), 64, Limits()).pixels
    assert np.abs(a - b).mean() < 0.1


def test_16_bit_png_keeps_its_tones(tmp_path: Path) -> None:
    gray8 = data.camera()  # uint8
    path16 = tmp_path / "camera16.png"
    Image.fromarray(gray8.astype(np.uint16) * 257).save(path16)
    assert Image.open(path16).mode.startswith("I")
    path8 = tmp_path / "camera8.png"
    Image.fromarray(gray8).save(path8)
    a = decode_file(str(path16), 64, Limits()).pixels
    b = decode_file(str(path8), 64, Limits()).pixels
    assert np.abs(a - b).max() < 0.02  # a naive convert("L") would clip everything to white


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_areas_become_the_neutral_background(tmp_path: Path, mode: str) -> None:
    img = Image.new("RGBA", (100, 100), (255, 0, 0, 0))  # fully transparent red
    img.paste((0, 0, 255, 255), (40, 40, 60, 60))
    if mode == "LA":
        img = img.convert("LA")
    elif mode == "P":
        img = img.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
        img.info["transparency"] = img.getpixel((0, 0))
    path = tmp_path / f"alpha-{mode}.png"
    img.save(path, transparency=img.info.get("transparency")) if mode == "P" else img.save(path)
    pixels = decode_file(str(path), 64, Limits()).pixels
    neutral = normalise(Image.new("RGB", (1, 1), NEUTRAL_BACKGROUND))[:, 0, 0]
    assert np.allclose(pixels[:, 2, 2], neutral, atol=0.02)  # a corner: transparent
    assert not np.allclose(pixels[:, 32, 32], neutral, atol=0.2)  # the centre: opaque


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    # 30000 x 30000 of one colour compresses to a small PNG but would need 2.7 GB to decode
    bomb = tmp_path / "bomb.png"
    Image.new("L", (30000, 30000)).save(bomb, optimize=False)
    assert bomb.stat().st_size < 5_000_000
    with pytest.raises(DecodeError, match="decompression bomb") as info:
        decode_file(str(bomb), 224, Limits(max_pixels=100_000_000))
    assert "30000x30000" in info.value.reason


def test_a_jpeg_whose_header_claims_more_pixels_than_its_bytes_hold_is_refused(tmp_path: Path) -> None:
    # a real JPEG with its frame header (SOF0) forged to 65000 x 65000: at 1/8 draft scale that is 66 MP,
    # under the pixel limit, and libjpeg would fill the missing data with grey
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, "JPEG")
    raw = bytearray(buf.getvalue())
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = (65000).to_bytes(2, "big") * 2  # height, width
    forged = tmp_path / "forged.jpg"
    forged.write_bytes(bytes(raw))
    with pytest.raises(DecodeError, match="claims 65000x65000 pixels, but the file holds only") as info:
        decode_file(str(forged), 224, Limits())
    assert "forged or truncated" in info.value.reason
    # the most compressible real JPEG there is, one grey 64 MP, progressive and optimised, still decodes
    grey = tmp_path / "grey.jpg"
    Image.new("L", (8000, 8000), 128).save(grey, "JPEG", progressive=True, optimize=True)
    assert decode_file(str(grey), 224, Limits()).width == 8000


def test_a_large_jpeg_is_judged_by_its_draft_size(tmp_path: Path) -> None:
    path = big_jpeg(tmp_path, "rocket", width=6000)  # 24 MP declared, decoded at 1/8
    decoded = decode_file(str(path), 224, Limits(max_pixels=2_000_000))
    assert decoded.width == 6000


def test_truncated_jpeg_gives_a_reason(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(DecodeError, match="corrupt or truncated"):
        decode_file(str(path), 64, Limits())


def test_empty_and_oversized_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(DecodeError, match="empty file"):
        decode_file(str(empty), 64, Limits())
    big = tmp_path / "big.png"
    Image.fromarray(data.astronaut()).save(big)
    with pytest.raises(DecodeError, match="over the 0 MB limit"):
        decode_file(str(big), 64, Limits(max_file_bytes=1000))


def test_heic_decodes_when_pillow_heif_is_installed(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif", reason="HEIF support is the optional extra photosift[heif]")
    path = tmp_path / "IMG_0001.HEIC"
    heif = pillow_heif.from_pillow(Image.fromarray(data.chelsea()))
    heif.save(path, quality=90)
    decoded = decode_file(str(path), 224, Limits())
    assert (decoded.width, decoded.height) == (451, 300)
    png = tmp_path / "same.png"
    Image.fromarray(data.chelsea()).save(png)
    assert np.abs(decoded.pixels - decode_file(str(png), 224, Limits()).pixels).mean() < 0.05
