"""Pictures staff upload (events, broadcasts): checked with Pillow, cleaned and re-encoded before kept.

Nothing a person uploads is stored as sent: the file must really be a JPEG, PNG or WebP image, and
what is saved is a new RGB JPEG drawn from its pixels (no EXIF, GPS, comments or other metadata),
at most `max_side` pixels on its longer side, under a random name.
"""
from __future__ import annotations

import io
import secrets
from pathlib import Path

from PIL import Image, ImageOps

MAX_BYTES = 10 * 1024 * 1024
FORMATS = ("JPEG", "PNG", "WEBP")
# A 40-megapixel photo decodes to about 160 MB; anything larger (or a small file claiming huge
# dimensions, a "decompression bomb") is refused before its pixels are read.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 85

EMPTY = "画像ファイルが空です。別のファイルをお選びください。"
TOO_LARGE = f"画像のファイルサイズは{MAX_BYTES // (1024 * 1024)}MBまでです。小さくしてからもう一度お選びください。"
WRONG_FORMAT = "画像はJPEG・PNG・WebPのいずれかの形式のファイルをお選びください。"
UNREADABLE = ("画像ファイルを読み込めませんでした。ファイルが壊れているか、画像ではない可能性があります。"
              "別のファイルをお選びください。")
TOO_MANY_PIXELS = (f"画像の縦横のサイズが大きすぎます（{MAX_PIXELS // 10_000:,}万画素まで）。"
                   "縮小してからもう一度お選びください。")


class ImageError(ValueError):
    """An upload that is refused; the message is Japanese, for the person who uploaded it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _check_header(image: Image.Image) -> None:
    if image.format not in FORMATS:
        raise ImageError(WRONG_FORMAT)
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(UNREADABLE)
    if width * height > MAX_PIXELS:
        raise ImageError(TOO_MANY_PIXELS)


def clean(data: bytes, max_side: int = 1040) -> bytes:
    """The upload re-encoded as a metadata-free RGB JPEG fitting max_side × max_side; raises ImageError."""
    if not data:
        raise ImageError(EMPTY)
    if len(data) > MAX_BYTES:
        raise ImageError(TOO_LARGE)
    try:
        # Image.open reads only the header, so the size check comes before any pixel is decoded.
        with Image.open(io.BytesIO(data)) as probe:
            _check_header(probe)
            probe.verify()  # PNG: every chunk's checksum; catches truncated and tampered files
        # verify() leaves the image unusable: open it again to decode it.
        with Image.open(io.BytesIO(data)) as image:
            _check_header(image)
            image.draft("RGB", (max_side, max_side))  # JPEG only: decode at a reduced scale, saving memory
            image.load()  # a truncated JPEG fails here (Pillow refuses truncated files by default)
            picture = _flatten(ImageOps.exif_transpose(image))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, for sizes far past ours (it stops in Image.open, before our check).
        raise ImageError(TOO_MANY_PIXELS) from exc
    except Exception as exc:  # noqa: BLE001 - whatever Pillow trips over in an untrusted file means "unreadable"
        raise ImageError(UNREADABLE) from exc
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """A new RGB image with only the pixels: transparency onto white, no info carried over."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    # Drawn afresh: Image.convert() would keep image.info (a JPEG comment, for one), which save() writes.
    flat = Image.new("RGB", image.size)
    flat.paste(image.convert("RGB"))
    return flat


def store(jpeg: bytes, folder: Path) -> str:
    """Writes an image from clean() under a new random name in `folder`; returns the name."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.jpg"
    with open(folder / name, "xb") as file:  # "x": never overwrite (a clash of 128 random bits aside)
        file.write(jpeg)
    return name


def save_image(data: bytes, folder: Path, max_side: int = 1040) -> str:
    """Checks and cleans an upload, saves it in `folder` and returns its file name; raises ImageError."""
    return store(clean(data, max_side), folder)


def remove_image(folder: Path, name: str | None) -> None:
    """Deletes a stored image; a missing file is fine (already gone)."""
    if not name or Path(name).name != name:  # a bare file name only, never a path
        return
    (folder / name).unlink(missing_ok=True)
