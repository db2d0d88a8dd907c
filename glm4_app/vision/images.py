"""Uploaded bytes to a validated, normalised image file under the conversation's folder.

Everything a user can upload ends either as a saved RGB image (EXIF orientation applied,
first frame of an animation, transparency flattened on white, longest side at most
``max_side``) or as an ``ImageError`` whose notice says what is wrong. Pillow only, no torch:
the page validates before any model is involved.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from ..notices import Notice, NoticeError

# What Pillow names the formats we accept, and what users call them.
FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "BMP": "BMP", "TIFF": "TIFF",
           "WEBP": "WEBP", "GIF": "GIF"}
EXTENSIONS = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif"]
LOSSLESS = {"PNG", "BMP", "GIF", "TIFF"}  # screenshots and diagrams: keep them sharp
MAX_ASPECT = 100  # thinner strips cannot be turned into image patches


class ImageError(NoticeError, ValueError):
    """What is wrong with this file, for the user."""


@dataclass(frozen=True)
class ImageLimits:
    max_side: int = 2240  # longer sides are downscaled (GLM-4V-9B sees 1120 x 1120 anyway)
    max_upload_mb: int = 20
    max_pixels: int = 100_000_000  # decoded size; more is treated as a decompression bomb


def normalise(data: bytes, name: str, limits: ImageLimits = ImageLimits()) -> tuple[Image.Image, str]:
    """The decoded, oriented, RGB, size-capped image and its source format (``PNG``...)."""
    if not data:
        raise ImageError(Notice("images.empty", name=name))
    if len(data) > limits.max_upload_mb * 2**20:
        size = f"{len(data) / 2**20:.1f}"
        raise ImageError(Notice("images.too_large", name=name, size=size, limit=limits.max_upload_mb))
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice that; a bomb is a bomb either way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            fmt = FORMATS.get(image.format or "")
            if fmt is None:
                raise ImageError(Notice("images.format", name=name, format=image.format))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ImageError(_bomb(name, width, height))
            if min(width, height) < 1 or max(width, height) / min(width, height) > MAX_ASPECT:
                raise ImageError(Notice("images.too_thin", name=name, width=width, height=height))
            image.seek(0)  # an animated GIF or WEBP: its first frame
            image.load()
            image = ImageOps.exif_transpose(image)
            image = _to_rgb(image)
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(_bomb(name)) from None
        except UnidentifiedImageError:
            raise ImageError(Notice("images.unreadable", name=name)) from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated, corrupt
            raise ImageError(Notice("images.damaged", name=name, error=exc)) from None
    if max(image.size) > limits.max_side:
        image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    return image, fmt


def save_upload(data: bytes, name: str, folder: Path, limits: ImageLimits = ImageLimits()) -> Path:
    """Validate, normalise and store an upload; the same bytes always land in the same file."""
    image, fmt = normalise(data, name, limits)
    folder.mkdir(parents=True, exist_ok=True)
    stem = hashlib.sha256(data).hexdigest()[:20]
    if fmt in LOSSLESS:
        path = folder / f"{stem}.png"
        image.save(path, "PNG", optimize=False)
    else:
        path = folder / f"{stem}.jpg"
        image.save(path, "JPEG", quality=92)
    return path.resolve()


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit scans: scale, do not clip
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, "white")
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def _bomb(name: str, width: int = 0, height: int = 0) -> Notice:
    if width:
        return Notice("images.bomb_size", name=name, width=width, height=height)
    return Notice("images.bomb", name=name)
