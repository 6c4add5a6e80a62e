"""Test images made without Pillow (a solid or noisy PNG, written by hand)."""
from __future__ import annotations

import random
import struct
import zlib


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def png(width: int, height: int, *, noise=False, seed=0) -> bytes:
    """An RGB PNG. ``noise`` makes it incompressible (to exceed size limits)."""
    if noise:
        rng = random.Random(seed)
        rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
        level = 1
    else:
        rows = (b"\x00" + b"\x20\x80\xc0" * width) * height
        level = 9
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows, level)) + _chunk(b"IEND", b""))
