"""Validation of uploaded images: real decoding, size limits and decompression-bomb checks."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from shared.errors import InvalidValue, PayloadTooLarge

# Formats accepted for logos and screenshots, by Pillow format name.
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int
    byte_size: int
    sha256: str


def inspect_image(data: bytes, *, filename: str, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Decode `data` completely and return its format and size, or raise with the reason.

    The pixel count is checked from the header before decoding, so a small file that
    would expand to gigabytes is refused without allocating them.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The file {filename!r} has {len(data)} bytes; the maximum is {max_bytes}")
    if not data:
        raise InvalidValue(f"The file {filename!r} is empty")

    try:
        with warnings.catch_warnings():
            # Pillow warns, rather than raises, between its limit and twice its limit.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise InvalidValue(
                        f"The image {filename!r} is {width}x{height} pixels; the maximum is {max_pixels} pixels in all"
                    )
                image_format = image.format
                image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidValue(f"The file {filename!r} is not a PNG or JPEG image: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        # Truncated or corrupt image data surfaces from the decoder as one of these.
        raise InvalidValue(f"The image {filename!r} cannot be decoded: {exc}") from None

    if image_format not in CONTENT_TYPES:
        raise InvalidValue(f"The image {filename!r} is {image_format}; upload a PNG or JPEG image")
    return ImageInfo(
        content_type=CONTENT_TYPES[image_format],
        width=width,
        height=height,
        byte_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
