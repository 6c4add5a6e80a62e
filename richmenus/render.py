"""Draws each menu's image from its definition with Pillow: tab bar, button cards, icons, labels.

Everything is drawn at twice the size and scaled down, which smooths the edges of shapes. Icons are
plain shapes drawn here (nothing is downloaded). Labels use Debian's Noto Sans CJK (fonts-noto-cjk).
The manifest records a hash of each definition and of this file, so a test can tell an image that
was not drawn again after its definition (or the drawing) changed.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .definitions import Definitions, tab_bounds

SCALE = 2
MAX_IMAGE_BYTES = 1_000_000  # LINE's 1 MB, read as 10^6 bytes (the stricter reading)
BLUE = "#1E6FBA"
DARK_BLUE = "#17599A"
PALE_BLUE = "#E3EDF7"
BACKGROUND = "#F2F6FA"
CARD = "#FFFFFF"
CARD_EDGE = "#C5D6E8"
TEXT = "#1F2D3D"
MUTED = "#4F6A86"
WHITE = "#FFFFFF"
FONT_PATHS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"]


class FontMissing(RuntimeError):
    pass


@functools.cache
def find_font() -> str:
    """Noto Sans CJK from Debian's fonts-noto-cjk: the known paths, then fontconfig."""
    for path in FONT_PATHS:
        if Path(path).is_file():
            return path
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK JP:style=Bold"],
                               capture_output=True, text=True, check=False).stdout.strip()
        if "NotoSansCJK" in found and Path(found).is_file():  # fc-match falls back to any font
            return found
    raise FontMissing("日本語フォント（Noto Sans CJK）が見つかりません。"
                      "apt-get install fonts-noto-cjk で入れてください")


@functools.lru_cache(maxsize=64)
def _font(size: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(find_font(), round(size * SCALE), index=0)  # index 0: the JP face


# ---- icons: shapes in a unit circle, x and y from -1 to 1 ------------------------------------

class Pen:
    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fg, bg):
        self.draw, self.cx, self.cy, self.r, self.fg, self.bg = draw, cx, cy, r, fg, bg

    def p(self, x, y):
        return (self.cx + x * self.r, self.cy + y * self.r)

    def box(self, x0, y0, x1, y1):
        return [*self.p(x0, y0), *self.p(x1, y1)]

    def w(self, width):
        return max(1, round(width * self.r))


def _person(pen: Pen):
    pen.draw.ellipse(pen.box(-0.24, -0.56, 0.24, -0.08), fill=pen.fg)
    pen.draw.chord(pen.box(-0.5, 0.02, 0.5, 0.9), 180, 360, fill=pen.fg)
    pen.draw.rectangle(pen.box(-0.5, 0.44, 0.5, 0.5), fill=pen.fg)


def _search(pen: Pen):
    pen.draw.ellipse(pen.box(-0.5, -0.5, 0.22, 0.22), outline=pen.fg, width=pen.w(0.14))
    pen.draw.line([pen.p(0.14, 0.14), pen.p(0.48, 0.48)], fill=pen.fg, width=pen.w(0.18))
    pen.draw.ellipse(pen.box(0.39, 0.39, 0.57, 0.57), fill=pen.fg)


def _bookmark(pen: Pen):
    pen.draw.polygon([pen.p(-0.34, -0.52), pen.p(0.34, -0.52), pen.p(0.34, 0.56), pen.p(0, 0.28),
                      pen.p(-0.34, 0.56)], fill=pen.fg)


def _star(pen: Pen):
    points = []
    for i in range(10):
        radius = 0.58 if i % 2 == 0 else 0.24
        angle = -math.pi / 2 + i * math.pi / 5
        points.append(pen.p(radius * math.cos(angle), 0.06 + radius * math.sin(angle)))
    pen.draw.polygon(points, fill=pen.fg)


def _clipboard(pen: Pen):
    pen.draw.rounded_rectangle(pen.box(-0.4, -0.46, 0.4, 0.56), radius=pen.w(0.08), fill=pen.fg)
    pen.draw.rectangle(pen.box(-0.3, -0.32, 0.3, 0.46), fill=pen.bg)
    pen.draw.rounded_rectangle(pen.box(-0.18, -0.58, 0.18, -0.34), radius=pen.w(0.06), fill=pen.fg)
    for y in (-0.12, 0.1, 0.3):
        pen.draw.line([pen.p(-0.2, y), pen.p(-0.12, y + 0.06), pen.p(0.0, y - 0.06)],
                      fill=pen.fg, width=pen.w(0.06))
        pen.draw.line([pen.p(0.05, y), pen.p(0.2, y)], fill=pen.fg, width=pen.w(0.06))


def _chat(pen: Pen):
    pen.draw.rounded_rectangle(pen.box(-0.56, -0.44, 0.56, 0.28), radius=pen.w(0.2), fill=pen.fg)
    pen.draw.polygon([pen.p(-0.3, 0.2), pen.p(-0.04, 0.2), pen.p(-0.38, 0.54)], fill=pen.fg)
    for x in (-0.28, 0.0, 0.28):
        pen.draw.ellipse(pen.box(x - 0.08, -0.16, x + 0.08, 0.0), fill=pen.bg)


def _calendar(pen: Pen):
    pen.draw.rounded_rectangle(pen.box(-0.5, -0.42, 0.5, 0.52), radius=pen.w(0.08), fill=pen.fg)
    pen.draw.rectangle(pen.box(-0.4, -0.18, 0.4, 0.42), fill=pen.bg)
    for x in (-0.26, 0.26):
        pen.draw.rounded_rectangle(pen.box(x - 0.06, -0.56, x + 0.06, -0.3), radius=pen.w(0.04),
                                   fill=pen.fg)
    for y in (-0.06, 0.2):
        for x in (-0.24, 0.0, 0.24):
            pen.draw.rectangle(pen.box(x - 0.08, y - 0.08, x + 0.08, y + 0.08), fill=pen.fg)


def _mortarboard(pen: Pen):
    pen.draw.rounded_rectangle(pen.box(-0.32, -0.08, 0.32, 0.34), radius=pen.w(0.08), fill=pen.fg)
    pen.draw.polygon([pen.p(0, -0.48), pen.p(0.62, -0.2), pen.p(0, 0.08), pen.p(-0.62, -0.2)],
                     fill=pen.fg, outline=pen.bg, width=pen.w(0.04))
    pen.draw.line([pen.p(0.44, -0.2), pen.p(0.44, 0.3)], fill=pen.fg, width=pen.w(0.06))
    pen.draw.ellipse(pen.box(0.36, 0.26, 0.52, 0.42), fill=pen.fg)


def _bell(pen: Pen):
    pen.draw.ellipse(pen.box(-0.08, -0.6, 0.08, -0.44), fill=pen.fg)
    pen.draw.chord(pen.box(-0.36, -0.5, 0.36, 0.2), 180, 360, fill=pen.fg)
    pen.draw.rectangle(pen.box(-0.36, -0.16, 0.36, 0.22), fill=pen.fg)
    pen.draw.polygon([pen.p(-0.36, 0.1), pen.p(0.36, 0.1), pen.p(0.52, 0.34), pen.p(-0.52, 0.34)],
                     fill=pen.fg)
    pen.draw.chord(pen.box(-0.14, 0.26, 0.14, 0.54), 0, 180, fill=pen.fg)


def _question(pen: Pen):
    font = ImageFont.truetype(find_font(), round(pen.r * 1.25), index=0)
    pen.draw.text(pen.p(0, 0.02), "?", font=font, fill=pen.fg, anchor="mm")


ICONS = {"person": _person, "search": _search, "bookmark": _bookmark, "star": _star,
         "clipboard": _clipboard, "chat": _chat, "calendar": _calendar,
         "mortarboard": _mortarboard, "bell": _bell, "question": _question}


# ---- the image ------------------------------------------------------------------------------

def _s(box) -> list[float]:
    return [v * SCALE for v in box]


def _tab_bar(draw: ImageDraw.ImageDraw, menu: dict):
    bar = menu["tabBar"]
    font = _font(bar["height"] * 0.34)
    for tab, b in zip(bar["tabs"], tab_bounds(menu)):
        active = tab["aliasId"] == menu.get("aliasId")
        box = _s([b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]])
        draw.rectangle(box, fill=BLUE if active else PALE_BLUE)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2 - 4 * SCALE)
        draw.text(centre, tab["label"], font=font, fill=WHITE if active else MUTED, anchor="mm")
        if active:  # a light bar under the active tab's label
            half = draw.textlength(tab["label"], font=font) / 2
            y = box[3] - 30 * SCALE
            draw.rounded_rectangle([centre[0] - half, y, centre[0] + half, y + 10 * SCALE],
                                   radius=5 * SCALE, fill=PALE_BLUE)
    y = bar["height"] * SCALE
    draw.rectangle([0, y - 8 * SCALE, menu["size"]["width"] * SCALE, y], fill=BLUE)


def _button(draw: ImageDraw.ImageDraw, button: dict):
    b, primary = button["bounds"], button.get("primary", False)
    margin = 16
    card = _s([b["x"] + margin, b["y"] + margin, b["x"] + b["width"] - margin,
               b["y"] + b["height"] - margin])
    draw.rounded_rectangle(card, radius=40 * SCALE, fill=BLUE if primary else CARD,
                           outline=None if primary else CARD_EDGE, width=4 * SCALE)
    lines = button.get("lines") or [button["label"]]
    card_w, card_h = card[2] - card[0], card[3] - card[1]
    size = 84 * SCALE
    while size > 48 * SCALE and max(_font(size / SCALE).getlength(t) for t in lines) > card_w * 0.86:
        size -= 2 * SCALE
    font = _font(size / SCALE)
    line_h = size * 1.25
    radius = min(card_h * 0.2, card_w * 0.2, 170 * SCALE)
    gap = 44 * SCALE
    total = 2 * radius + gap + line_h * len(lines)
    top = card[1] + (card_h - total) / 2
    cx, cy = (card[0] + card[2]) / 2, top + radius
    fg, circle = (BLUE, WHITE) if primary else (WHITE, BLUE)
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=circle)
    ICONS[button["icon"]](Pen(draw, cx, cy, radius * 0.95, fg, circle))
    y = top + 2 * radius + gap + line_h / 2
    for text in lines:
        draw.text((cx, y), text, font=font, fill=WHITE if primary else TEXT, anchor="mm")
        y += line_h


def render(menu: dict) -> Image.Image:
    width, height = menu["size"]["width"], menu["size"]["height"]
    image = Image.new("RGB", (width * SCALE, height * SCALE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    if menu.get("tabBar"):
        _tab_bar(draw, menu)
    for button in menu["buttons"]:
        _button(draw, button)
    return image.resize((width, height), Image.Resampling.LANCZOS)


def png_bytes(image: Image.Image) -> bytes:
    """A PNG under LINE's 1 MB: the full colours if small enough, else a 256-colour palette."""
    for candidate in (image, image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=0)):
        out = io.BytesIO()
        candidate.save(out, format="PNG", optimize=True)
        if out.tell() <= MAX_IMAGE_BYTES:
            return out.getvalue()
    raise ValueError(f"画像が {out.tell()} バイトあり、LINE の上限 1 MB を超えます")


# ---- files and manifest ----------------------------------------------------------------------

def definition_hash(menu: dict) -> str:
    """What an image depends on: its menu's definition and the drawing code."""
    text = json.dumps(menu, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(text + b"\0" + Path(__file__).read_bytes()).hexdigest()


def manifest_path(defs: Definitions) -> Path:
    return defs.images_dir / "manifest.json"


def render_all(defs: Definitions, echo=print) -> None:
    """Writes images/<menu-id>.png for every menu and images/manifest.json."""
    defs.images_dir.mkdir(parents=True, exist_ok=True)
    find_font()  # fail before drawing anything
    manifest = {}
    for menu in defs.menus:
        data = png_bytes(render(menu))
        path = defs.image_path(menu)
        path.write_bytes(data)
        manifest[menu["id"]] = {"file": path.name, "bytes": len(data),
                                "definition": definition_hash(menu)}
        echo(f"画像を書き出しました: {path}（{len(data) / 1000:.0f} KB）")
    manifest_path(defs).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                   encoding="utf-8")


def stale_images(defs: Definitions) -> list[str]:
    """Menus whose image is missing or was drawn from an older definition, one sentence each."""
    try:
        manifest = json.loads(manifest_path(defs).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    out = []
    for menu in defs.menus:
        entry = manifest.get(menu["id"], {})
        if not defs.image_path(menu).is_file() or entry.get("definition") != definition_hash(menu):
            out.append(f"メニュー {menu['id']} の画像が定義と合っていません"
                       "（flask richmenu render で描き直してください）")
    return out
