"""The GPU's JPEG path: the same pixels as the CPU path, every EXIF orientation, and the way back to the CPU.

Without CUDA here, the path runs on the CPU device (torchvision's libjpeg-turbo
decoder instead of nvJPEG; the same turning, resizing and normalisation code);
the CUDA test proper skips with its reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from photosift.daemon.decode import FileStat, Limits, content_hash, decode_file
from photosift.daemon.gpu_jpeg import Compressed, decode_batch, header, upright

from .test_decode import PHOTOS, STORED_AS, big_jpeg

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA device on this machine"))]


def compressed(path: Path) -> Compressed:
    data = path.read_bytes()
    head = header(data, Limits(), 0)
    assert head is not None, f"{path.name} should go the GPU way"
    return Compressed(path=str(path), stat=FileStat.of(path), content_hash=content_hash(path), width=head.width,
                      height=head.height, taken_at=head.taken_at, data=data, orientation=head.orientation)


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_upright_turns_as_pillow_does(orientation: int) -> None:
    picture = Image.fromarray(np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3))
    stored = picture.transpose(STORED_AS[orientation])
    turned = upright(torch.from_numpy(np.asarray(stored).copy()).permute(2, 0, 1), orientation)
    assert (turned.permute(1, 2, 0).numpy() == np.asarray(picture)).all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_the_gpu_path_feeds_the_model_what_the_cpu_path_does(tmp_path: Path, name: str, device: str) -> None:
    path = big_jpeg(tmp_path, name)
    (pixels,) = decode_batch([compressed(path)], 224, device)
    assert isinstance(pixels, torch.Tensor) and pixels.shape == (3, 224, 224) and pixels.device.type == device
    diff = np.abs(pixels.cpu().numpy() - decode_file(str(path), 224, Limits()).pixels)
    # measured on the CPU device: mean 0.005-0.014, p99 0.03-0.075 (a full-size decode and torch's filter against
    # draft mode and Pillow's); the CPU path itself holds 0.015 / 0.09 against clip's reference
    assert diff.mean() <= 0.015, diff.mean()
    assert np.percentile(diff, 99) <= 0.09, np.percentile(diff, 99)


@pytest.mark.parametrize("device", DEVICES)
def test_every_orientation_matches_its_upright_twin(tmp_path: Path, device: str) -> None:
    upright_photo = Image.fromarray(PHOTOS["motorcycle"]()).resize((1003, 707), Image.Resampling.BICUBIC)
    twin_path = tmp_path / "upright.jpg"
    upright_photo.save(twin_path, quality=95)
    twin = decode_file(str(twin_path), 224, Limits()).pixels
    items = []
    for orientation, turn in sorted(STORED_AS.items()):
        exif = Image.Exif()
        exif[0x0112] = orientation
        path = tmp_path / f"stored-{orientation}.jpg"
        upright_photo.transpose(turn).save(path, quality=95, exif=exif.tobytes())
        items.append(compressed(path))
        assert (items[-1].width, items[-1].height) == (1003, 707)
    for item, pixels in zip(items, decode_batch(items, 224, device), strict=True):
        assert isinstance(pixels, torch.Tensor)
        diff = np.abs(pixels.cpu().numpy() - twin)
        assert diff.mean() < 0.02, (item.orientation, diff.mean())


def test_what_the_gpu_should_not_take_goes_the_cpu_way(tmp_path: Path) -> None:
    photo = Image.fromarray(PHOTOS["chelsea"]())
    photo.save(png := tmp_path / "cat.png")
    photo.convert("CMYK").save(cmyk := tmp_path / "cmyk.jpg")
    photo.save(big := tmp_path / "big.jpg")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(big.read_bytes()[:200])
    assert header(png.read_bytes(), Limits(), 0) is None
    assert header(cmyk.read_bytes(), Limits(), 0) is None
    assert header(big.read_bytes(), Limits(max_pixels=100_000), 0) is None, "over the limit: draft mode decides"
    assert header(big.read_bytes(), Limits(), 0) is not None


def test_a_file_the_decoder_refuses_fails_alone(tmp_path: Path) -> None:
    good = big_jpeg(tmp_path, "coffee", 800)
    bad = tmp_path / "bad.jpg"
    data = bytearray(good.read_bytes())
    data[len(data) // 3 :] = b"\x00" * (len(data) - len(data) // 3)  # a valid header over garbage
    bad.write_bytes(bytes(data))
    items = [compressed(good), compressed(bad), compressed(good)]
    results = decode_batch(items, 224, "cpu")
    assert isinstance(results[0], torch.Tensor) and isinstance(results[2], torch.Tensor)
    assert isinstance(results[1], str) and results[1]
