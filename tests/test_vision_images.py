"""Image uploads: every accepted format is normalised, every bad file gets clear words."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from glm4_app.vision.images import ImageError, ImageLimits, normalise, save_upload


def encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with almost no pixel data: what a bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF"])
def test_every_supported_format_becomes_rgb(fmt):
    image, source = normalise(encoded(Image.new("RGB", (64, 48), (200, 30, 30)), fmt), f"x.{fmt.lower()}")
    assert image.mode == "RGB" and image.size == (64, 48)
    r, g, b = image.getpixel((10, 10))
    assert r > 150 and g < 80 and b < 80  # still red (lossy formats and palettes drift a little)


def test_exif_orientation_is_applied():
    photo = Image.new("RGB", (80, 40), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    image, _ = normalise(encoded(photo, "JPEG", exif=exif.tobytes()), "phone.jpg")
    assert image.size == (40, 80)


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (32, 32), c) for c in ("blue", "yellow", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    image, _ = normalise(buffer.getvalue(), "anim.gif")
    r, g, b = image.getpixel((5, 5))
    assert b > 200 and r < 50 and g < 50


def test_transparency_is_flattened_on_white_and_16_bit_is_scaled():
    clear = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    assert normalise(encoded(clear, "PNG"), "clear.png")[0].getpixel((1, 1)) == (255, 255, 255)
    deep = Image.new("I;16", (20, 20), 32768)  # mid grey in 16 bits
    grey = normalise(encoded(deep, "PNG"), "scan.png")[0].getpixel((1, 1))
    assert 120 <= grey[0] <= 135


def test_huge_images_are_downscaled_keeping_the_aspect_ratio():
    image, _ = normalise(encoded(Image.new("RGB", (3000, 1500)), "PNG"), "wide.png", ImageLimits(max_side=1000))
    assert image.size == (1000, 500)


def test_saved_uploads_survive_as_files_named_by_content(tmp_path):
    data = encoded(Image.new("RGB", (30, 30), "green"), "PNG")
    first = save_upload(data, "a.png", tmp_path / "conv1")
    again = save_upload(data, "copy.png", tmp_path / "conv1")
    assert first == again and first.is_absolute() and first.suffix == ".png"
    photo = save_upload(encoded(Image.new("RGB", (30, 30), "green"), "JPEG"), "p.jpg", tmp_path / "conv1")
    assert photo.suffix == ".jpg"
    assert Image.open(first).size == (30, 30)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a.txt", "hello")
    return buffer.getvalue()


def _bad_corpus() -> list[tuple[str, bytes, str]]:
    png = encoded(Image.new("RGB", (200, 200), "red"), "PNG")
    jpeg = encoded(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")
    icon = encoded(Image.new("RGB", (32, 32)), "ICO")
    return [
        ("empty.png", b"", "is empty"),
        ("notes.png", b"just some text, not an image\n" * 20, "not an image"),
        ("archive.png", _zip_bytes(), "not an image"),
        ("cut.png", png[: len(png) // 2], "damaged or truncated"),
        ("cut.jpg", jpeg[: len(jpeg) // 3], "damaged or truncated"),
        ("bomb.png", png_header_only(200_000, 200_000), "too large to open safely"),
        ("pillow_bomb.png", png_header_only(10_000, 9_500), "too large to open safely"),
        ("icon.ico", icon, "upload PNG, JPEG"),
        ("strip.png", encoded(Image.new("RGB", (2000, 5)), "PNG"), "too thin"),
    ]


@pytest.mark.parametrize("name,data,words", _bad_corpus(), ids=[c[0] for c in _bad_corpus()])
def test_bad_files_are_refused_with_clear_words(name, data, words, tmp_path):
    with pytest.raises(ImageError) as refused:
        save_upload(data, name, tmp_path / "conv")
    assert words in str(refused.value) and name in str(refused.value)
    assert not (tmp_path / "conv").exists() or not any((tmp_path / "conv").iterdir())


def test_oversized_uploads_are_refused_before_decoding():
    data = encoded(Image.effect_noise((800, 800), 80).convert("RGB"), "PNG")
    with pytest.raises(ImageError, match="images up to 1 MB"):
        normalise(data, "big.png", ImageLimits(max_upload_mb=1))
