"""JPEGs decoded in batches on the GPU (nvJPEG through torchvision), and preprocessed there.

Beside a GPU the encoder waits for the CPU: decoding a 12 MP JPEG costs a core
tens of milliseconds, the GPU encodes thousands of images a second. nvJPEG
decodes a whole batch on the GPU instead; the resize, crop and normalisation
follow there, so only the compressed bytes cross the bus.

nvJPEG decodes at full size (there is no DCT scaling as in Pillow's draft
mode), and the resize is torch's antialiased bicubic, which follows Pillow's
bicubic filter; the geometry is clip's, as on the CPU path. EXIF orientation is
applied on the GPU after decoding, exactly as the CPU path turns its images
(`tests/daemon/test_gpu_jpeg.py` checks every orientation against upright twins).

Only what nvJPEG surely takes comes here: 8-bit baseline or progressive JPEGs
in YCbCr or greyscale, under the pixel limit, whose header is plausible. The
rest (other formats, CMYK, 12-bit, multi-picture files) goes through the
decoder processes, as does a file the GPU decoder refuses.

On a machine without CUDA the same functions run on the CPU (torchvision's
libjpeg-turbo decoder): that is how the tests exercise this path here.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image

from .decode import (
    CLIP_MEAN,
    CLIP_STD,
    ORIENTATION,
    SWAPS_SIDES,
    DecodeError,
    Examined,
    Limits,
    check_plausible,
    clip_geometry,
    taken_at,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torchvision warns at import about its image decoders' future move
    from torchvision.io import ImageReadMode, decode_jpeg

JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class Compressed(Examined):
    """A JPEG on its way to the GPU: its bytes, and the EXIF turn that makes it upright."""

    data: bytes
    orientation: int


@dataclass(frozen=True)
class Header:
    """What the GPU path needs to know of a JPEG before decoding it."""

    width: int  # upright
    height: int
    orientation: int
    taken_at: int


def header(data: bytes, limits: Limits, fallback_time: int) -> Header | None:
    """The header of a JPEG the GPU decodes, or None when the decoder processes should take the file."""
    if not data.startswith(JPEG_MAGIC):
        return None
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as img:
            if img.format != "JPEG" or img.mode not in ("RGB", "L") or getattr(img, "bits", 8) != 8:
                return None
            width, height = img.size
            if width * height > limits.max_pixels:
                return None  # the CPU path decodes it reduced, or refuses it with the reason
            check_plausible(img, width, height)
            orientation = img.getexif().get(ORIENTATION, 1)
            taken = taken_at(img, fallback_time)
    except (OSError, SyntaxError, ValueError, DecodeError):
        return None  # the CPU path says what is wrong with it
    if orientation not in range(1, 9):
        orientation = 1
    if orientation in SWAPS_SIDES:
        width, height = height, width
    return Header(width, height, orientation, taken)


def upright(image: torch.Tensor, orientation: int) -> torch.Tensor:
    """Turn a (C, H, W) image as a viewer turns it for its EXIF orientation (as Pillow's exif_transpose)."""
    h, w = -2, -1
    turns = {
        1: lambda x: x,
        2: lambda x: x.flip(w),  # mirrored left-right
        3: lambda x: x.flip(h, w),  # rotated 180
        4: lambda x: x.flip(h),  # mirrored top-bottom
        5: lambda x: x.transpose(h, w),  # transposed
        6: lambda x: torch.rot90(x, -1, (h, w)),  # rotated 90 clockwise
        7: lambda x: x.transpose(h, w).flip(h, w),  # transversed
        8: lambda x: torch.rot90(x, 1, (h, w)),  # rotated 90 counter-clockwise
    }
    return turns[orientation](image)


def preprocess(image: torch.Tensor, size: int) -> torch.Tensor:
    """A decoded upright (C, H, W) uint8 image to CLIP's normalised (3, size, size) float32 input, where it is.

    clip's geometry (short side to `size`, centre crop), resampled with antialiased bicubic and rounded
    to 8 bits as Pillow's resize is, so the two paths feed the model the same pixels up to the filter.
    """
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    _, height, width = image.shape
    new_w, new_h, left, top = clip_geometry(width, height, size)
    x = image[None].float()
    if (new_w, new_h) != (width, height):
        x = F.interpolate(x, size=(new_h, new_w), mode="bicubic", antialias=True, align_corners=False)
        x = x.round().clamp(0, 255)
    x = x[0, :, top : top + size, left : left + size] / 255.0
    mean = torch.as_tensor(CLIP_MEAN, device=x.device)[:, None, None]
    std = torch.as_tensor(CLIP_STD, device=x.device)[:, None, None]
    return (x - mean) / std


def decode_batch(items: list[Compressed], size: int, device: str) -> list[torch.Tensor | str]:
    """Decode, turn and preprocess a batch of JPEGs on `device`: each a (3, size, size) tensor there, or the
    reason it could not be decoded (for the caller to send that file the CPU way)."""
    raw = [torch.frombuffer(bytearray(item.data), dtype=torch.uint8) for item in items]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the deprecation notice of torchvision's decoders, on every call
            images = decode_jpeg(raw, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:  # one bad file fails the whole batch: decode them one by one to find it
        images = [_decode_one(r, device) for r in raw]
    return [img if isinstance(img, str) else preprocess(upright(img, item.orientation), size)
            for img, item in zip(images, items, strict=True)]


def _decode_one(raw: torch.Tensor, device: str) -> torch.Tensor | str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return decode_jpeg(raw, mode=ImageReadMode.RGB, device=device)
    except RuntimeError as exc:
        return str(exc).splitlines()[0]
