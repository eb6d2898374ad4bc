"""Turning one image file into CLIP's input tensor, fast and safely.

The fast path: Pillow's JPEG draft mode lets libjpeg decode at 1/2, 1/4 or
1/8 scale (as far as the short side stays at or above the model's input size),
which is most of the cost of a 12-megapixel photo. After that come the same
steps `clip`'s own preprocessing takes (bicubic resize of the short side, centre
crop, normalisation), done in one resampling of exactly the region the crop
covers, on numpy instead of torchvision.

Safety: the file type is decided by content among a short list of formats,
the pixel count is checked *before* pixels are decoded (bounded memory and,
since decoders are linear in pixels, bounded time), and a file that changes
while it is read is reported as such instead of being half-indexed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import imagehash
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import DecodeError, FileChanged

try:  # optional extra: photosift[heif]
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_FORMATS: tuple[str, ...] = ("HEIF",)
except ImportError:
    HEIF_FORMATS = ()

# Only these decoders may look at a file: a short list is a small attack surface.
# (JPEG includes MPO, the multi-picture JPEG many cameras write.)
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", *HEIF_FORMATS)

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
# Transparent areas are composited on CLIP's mean colour, which normalises to zero:
# the most neutral background the model can be shown.
NEUTRAL_BACKGROUND = tuple(round(c * 255) for c in CLIP_MEAN)

# Pillow's own bomb check runs on the full declared size at open time and would
# refuse a large JPEG that draft mode decodes at 1/8 scale; `decode_file` checks
# the pixels that will really be decoded instead.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False

MAX_PIXELS_PER_BYTE = 2048  # see check_plausible

EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
ORIENTATION = 0x0112


@dataclass(frozen=True)
class Limits:
    """Bounds on what one file may cost to decode."""

    max_pixels: int = 120_000_000
    max_file_bytes: int = 1024 << 20


@dataclass(frozen=True)
class FileStat:
    """The identity of a file's current version: a change in either field means re-read it."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path | str) -> FileStat:
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class Examined:
    """What the index records about an image on its way to the encoder."""

    path: str
    stat: FileStat
    content_hash: str
    width: int  # upright, full size
    height: int
    taken_at: int  # unix seconds


@dataclass(frozen=True)
class Decoded(Examined):
    """An image decoded and cropped for the encoder."""

    crop: np.ndarray  # (R, R, 3) uint8 RGB: a quarter of the normalised tensor's bytes to pass between processes
    phash: int | None = None  # the upright picture's perceptual hash (perceptual_hash): near-duplicates' proof

    @property
    def pixels(self) -> np.ndarray:
        """The encoder's input: (3, R, R) float32, normalised."""
        return normalise(self.crop)


def perceptual_hash(img: Image.Image) -> int:
    """The picture's pHash (imagehash: the DCT of a 32x32 grey thumbnail, 64 bits, as an int). Re-saved,
    resized and recoloured copies differ in 0-2 bits, copies cropped by 3 % a side in 4-12, different
    photos in 20 or more (calibrated in docs/duplicates.md). Taken on the upright picture, so a photo
    stored turned with an EXIF orientation hashes like its upright twin."""
    bits = imagehash.phash(img).hash.flatten()
    return int(np.packbits(bits).view(">u8")[0])


def content_hash(path: Path | str) -> str:
    """SHA-256 of the file's bytes (first 128 bits, hex): how a moved or copied file is recognised.

    SHA-256 rather than BLAKE2b because OpenSSL's runs on the CPU's SHA
    instructions: 2-3x faster here, and hashing is on the indexing hot path.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:32]


def content_hash_of(data: bytes) -> str:
    """`content_hash` of bytes already read."""
    return hashlib.sha256(data).hexdigest()[:32]


def taken_at(img: Image.Image, fallback: int) -> int:
    """When the photo was taken, from its EXIF, else `fallback` (unix seconds)."""
    try:
        exif_ifd = img.getexif().get_ifd(EXIF_IFD)
        raw = exif_ifd.get(DATETIME_ORIGINAL)
        if not isinstance(raw, str):
            return fallback
        text = raw.strip("\x00 ")
        offset = exif_ifd.get(OFFSET_TIME_ORIGINAL)
        if isinstance(offset, str) and offset.strip("\x00 "):
            return int(datetime.strptime(text + offset.strip("\x00 "), "%Y:%m:%d %H:%M:%S%z").timestamp())
        return int(datetime.strptime(text, "%Y:%m:%d %H:%M:%S").timestamp())  # camera local time
    except (ValueError, OverflowError, OSError, SyntaxError):
        return fallback


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; alpha is composited on a neutral background."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        # "I" holds 16-bit PNGs and TIFFs; scale by the bit depth the values show
        scale = 257.0 if arr.max(initial=0) > 255 else 1.0
        img = Image.fromarray(np.clip(arr / scale, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min(initial=0)), float(arr.max(initial=1))
        arr = (arr - lo) / (hi - lo or 1.0) * 255
        img = Image.fromarray(arr.astype(np.uint8), "L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*NEUTRAL_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


Box = tuple[float, float, float, float]

# the EXIF orientations whose turn swaps width and height
SWAPS_SIDES = (5, 6, 7, 8)


def clip_geometry(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """clip's preprocessing geometry for a (width, height) image: the size its short side is resized to
    `size` at (new width, new height), and the centre crop's left and top in that resized image."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return new_w, new_h, round((new_w - size) / 2.0), round((new_h - size) / 2.0)


def resize_crop(img: Image.Image, size: int, full_size: tuple[int, int] | None = None,
                box: Box | None = None) -> Image.Image:
    """Bicubic resize of the short side to `size`, then a centre crop: clip's geometry exactly.

    `full_size` is the image's size before draft-mode reduction and `box` the
    region of `img` that this full image covers: libjpeg rounds a reduced size
    up (4000x2667 at 1/8 is 500x334, of which 333.4 rows are the image), and
    a fraction of a pixel at 1/8 scale moves the whole crop visibly.
    Only the crop's own region is resampled, straight to `size` x `size`: the
    same filter at the same sample positions as resizing the whole image first.
    """
    w, h = full_size or img.size
    x0, y0, x1, y1 = box or (0.0, 0.0, float(img.size[0]), float(img.size[1]))
    new_w, new_h, left, top = clip_geometry(w, h, size)
    if (new_w, new_h) == (w, h) == img.size:
        return img.crop((left, top, left + size, top + size))
    # the crop, from resized coordinates to full-size ones, then to those of the (reduced) image
    fx, fy = w / new_w * (x1 - x0) / w, h / new_h * (y1 - y0) / h
    region = (x0 + left * fx, y0 + top * fy, x0 + (left + size) * fx, y0 + (top + size) * fy)
    # reducing_gap: an exact box reduction by an integer factor first, then bicubic over the
    # remaining factor of at least 1.5; half the cost of a plain bicubic from a draft-sized
    # image, within the tolerance test_fast_path_matches_clip_preprocessing_at_every_scale states
    return img.resize((size, size), Image.Resampling.BICUBIC, box=region, reducing_gap=1.5)


def normalise(img: Image.Image | np.ndarray) -> np.ndarray:
    """RGB image (or its HWC uint8 array) to CLIP's normalised CHW float32 tensor."""
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return np.ascontiguousarray(((arr - CLIP_MEAN) / CLIP_STD).transpose(2, 0, 1))


def to_pixels(img: Image.Image, size: int, full_size: tuple[int, int] | None = None,
              box: Box | None = None) -> np.ndarray:
    """An image to the model's input tensor (see `resize_crop` for `full_size` and `box`); closes it."""
    try:
        return normalise(resize_crop(to_rgb(img), size, full_size, box))
    finally:
        img.close()


@dataclass
class Opened:
    """An image decoded upright, perhaps reduced by draft mode, with the geometry of its original."""

    image: Image.Image
    width: int  # the upright original's
    height: int
    box: Box  # the region of `image` that the whole original covers

    def crop(self, size: int) -> np.ndarray:
        """clip's resize and centre crop as (size, size, 3) uint8 RGB; closes the image."""
        try:
            return np.asarray(resize_crop(to_rgb(self.image), size, (self.width, self.height), self.box))
        finally:
            self.image.close()

    def to_pixels(self, size: int) -> np.ndarray:
        """The model's input tensor; closes the image."""
        return normalise(self.crop(size))

    def close(self) -> None:
        self.image.close()


# how EXIF orientation's transposition moves a region of a (w, h) image
_TRANSPOSED: dict[int, Callable[[Box, float, float], Box]] = {
    2: lambda b, w, h: (w - b[2], b[1], w - b[0], b[3]),  # mirrored left-right
    3: lambda b, w, h: (w - b[2], h - b[3], w - b[0], h - b[1]),  # rotated 180
    4: lambda b, w, h: (b[0], h - b[3], b[2], h - b[1]),  # mirrored top-bottom
    5: lambda b, w, h: (b[1], b[0], b[3], b[2]),  # transposed
    6: lambda b, w, h: (h - b[3], b[0], h - b[1], b[2]),  # rotated 90 clockwise
    7: lambda b, w, h: (h - b[3], w - b[2], h - b[1], w - b[0]),  # transversed
    8: lambda b, w, h: (b[1], w - b[2], b[3], w - b[0]),  # rotated 90 counter-clockwise
}


def _open_tiff_with_tifffile(path: Path | str | BinaryIO, limits: Limits) -> Image.Image | None:
    """TIFFs Pillow cannot read (planar RGB, scientific layouts) through tifffile's first page."""
    if not isinstance(path, (str, Path)):
        return None
    with open(path, "rb") as f:
        if f.read(4) not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            return None
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            shape = page.shape
            if int(np.prod(shape)) > 4 * limits.max_pixels:
                raise DecodeError(f"refused as a possible decompression bomb: TIFF page of shape {shape}")
            arr = page.asarray()
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"corrupt or unsupported TIFF: {exc}") from exc
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[-1] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar (separate) configuration
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
        hi = 65535.0 if arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / hi * 255, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[-1] == 4:
        return Image.fromarray(arr, "RGBA")
    if arr.ndim == 3:
        return Image.fromarray(arr[..., :3], "RGB")
    return Image.fromarray(arr, "L")


def check_plausible(img: Image.Image, width: int, height: int) -> None:
    """Refuse a JPEG whose header claims far more pixels than its bytes could hold.

    A forged or cut-off header ("65000x65000" in a file of a few KB) would pass the
    pixel check at 1/8 draft scale (66 MP), cost half a gigabyte to decode, and come
    out as a grey image, since libjpeg fills what is missing. No real JPEG
    compresses that far: a uniform grey 64 MP image, progressive and optimised,
    takes 255 pixels a byte; the bound is eight times that.
    """
    fp = getattr(img, "fp", None)  # an ImageFile's open file: the path's, or the caller's BytesIO
    if fp is None:
        return
    here = fp.tell()
    on_disk = fp.seek(0, os.SEEK_END)
    fp.seek(here)
    if on_disk and width * height > MAX_PIXELS_PER_BYTE * on_disk:
        raise DecodeError(f"the header claims {width}x{height} pixels, but the file holds only {on_disk:,} bytes: "
                          "a forged or truncated JPEG")


def open_image(path: Path | str | BinaryIO, size: int, limits: Limits) -> Opened:
    """Open and fully decode an image, upright, reduced by draft mode as far as its short side
    stays at least `size`."""
    img: Image.Image
    try:
        img = Image.open(path, formats=FORMATS)
    except UnidentifiedImageError as exc:
        tiff = _open_tiff_with_tifffile(path, limits)
        if tiff is None:
            raise DecodeError(f"not a supported image (the content is none of {', '.join(FORMATS)})") from exc
        img = tiff
    except (FileNotFoundError, PermissionError) as exc:
        raise DecodeError(f"cannot open: {exc.strerror}") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's parsers raise all three on bad headers
        raise DecodeError(f"corrupt or truncated image: {exc}") from exc
    try:
        width, height = img.size
        box: Box = (0.0, 0.0, float(width), float(height))
        if img.format in ("JPEG", "MPO"):
            check_plausible(img, width, height)
            drafted = img.draft("RGB", (size, size))
            if drafted is not None:
                box = drafted[1]
        decoded_pixels = img.size[0] * img.size[1]
        if decoded_pixels > limits.max_pixels:
            raise DecodeError(
                f"refused as a possible decompression bomb: {img.size[0]}x{img.size[1]} = "
                f"{decoded_pixels / 1e6:.0f} megapixels to decode, over the {limits.max_pixels / 1e6:.0f} MP limit"
            )
        img.load()
        # read only after the pixel check: for some formats getexif() decodes the whole image
        orientation = img.getexif().get(ORIENTATION, 1)
        if orientation in _TRANSPOSED:
            box = _TRANSPOSED[orientation](box, *img.size)
        if orientation in SWAPS_SIDES:
            width, height = height, width
        img = ImageOps.exif_transpose(img) or img
        return Opened(img, width, height, box)
    except DecodeError:
        img.close()
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        img.close()
        raise DecodeError(f"corrupt or truncated image: {exc}") from exc


def decode_file(path: str, size: int, limits: Limits, digest: str | None = None) -> Decoded:
    """Read, check and preprocess one file. Raises DecodeError with a human reason.

    `digest` is the file's `content_hash` when the caller has already computed it.
    """
    try:
        before = FileStat.of(path)
        if before.size > limits.max_file_bytes:
            raise DecodeError(
                f"file is {before.size / 2**20:.0f} MB, over the {limits.max_file_bytes / 2**20:.0f} MB limit"
            )
        if before.size == 0:
            raise DecodeError("empty file (0 bytes)")
        digest = digest or content_hash(path)
    except FileNotFoundError as exc:
        raise FileChanged("file disappeared before it could be read") from exc
    except PermissionError as exc:
        raise DecodeError(f"permission denied: {exc.strerror}") from exc
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc}") from exc
    opened = open_image(path, size, limits)
    taken = taken_at(opened.image, before.mtime_ns // 1_000_000_000)
    phash = perceptual_hash(opened.image)
    crop = opened.crop(size)
    try:
        after = FileStat.of(path)
    except FileNotFoundError as exc:
        raise FileChanged("file disappeared while it was read") from exc
    if after != before:
        raise FileChanged("file changed while it was read")
    return Decoded(path=path, stat=before, content_hash=digest, width=opened.width, height=opened.height, phash=phash,
                   taken_at=taken, crop=crop)
