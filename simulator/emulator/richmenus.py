"""Rich menus: their rules, their images and what the emulator keeps of them."""
from __future__ import annotations

import io
import re
import secrets


from linebot.v3.messaging import models
from PIL import Image

from .errors import LineError, not_found
from .validation import Problems, check_action, validate_model

ALIAS_ID = re.compile(r"[a-z0-9_-]{1,32}\Z")
MAX_AREAS = 20
MAX_IMAGE_BYTES = 1024 * 1024
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpeg"}
# The sizes LINE lists, plus the general rule it documents for other sizes.
STANDARD_SIZES = {(2500, 1686), (2500, 843), (1200, 810), (1200, 405), (800, 540), (800, 270)}

MENU_NOT_FOUND = "richmenu not found"
ALIAS_NOT_FOUND = "richmenu alias not found"
ALIAS_CONFLICT = "conflict richmenu alias id"
NO_IMAGE = "must upload richmenu image before applying it to user"
IMAGE_ALREADY = "An image has already been uploaded to the richmenu"


def size_allowed(width: int, height: int) -> bool:
    if (width, height) in STANDARD_SIZES:
        return True
    return 800 <= width <= 2500 and height >= 250 and width / height >= 1.45


def check_rich_menu(body: dict, problems: Problems):
    """LINE's rich-menu rules beyond the SDK model (which makes every field optional)."""
    for name in ("size", "selected", "name", "chatBarText", "areas"):
        if body.get(name) is None:
            problems.add(name, "May not be empty")
    if problems:
        return
    problems.text(body["name"], "name", 300)
    problems.text(body["chatBarText"], "chatBarText", 14)
    width, height = body["size"].get("width"), body["size"].get("height")
    if width is None or height is None or not size_allowed(width, height):
        problems.add("size", "Width must be 800 to 2500, height at least 250, "
                     "and width/height at least 1.45")
        return
    areas = body["areas"]
    if len(areas) > MAX_AREAS:
        problems.add("areas", f"Size must be between 0 and {MAX_AREAS}")
    for i, area in enumerate(areas):
        bounds = area.get("bounds")
        if not bounds or any(bounds.get(k) is None for k in ("x", "y", "width", "height")):
            problems.add(f"areas[{i}].bounds", "May not be empty")
        elif bounds["x"] + bounds["width"] > width or bounds["y"] + bounds["height"] > height:
            problems.add(f"areas[{i}].bounds", "The area must be inside the rich menu image")
        if area.get("action") is None:
            problems.add(f"areas[{i}].action", "May not be empty")
        else:
            check_action(area["action"], f"areas[{i}].action", problems, label_max=20)


def validate_rich_menu(body: dict):
    validate_model(models.RichMenuRequest, body, check_rich_menu)


def check_alias_id(body: dict, problems: Problems):
    if not ALIAS_ID.match(body["richMenuAliasId"]):
        problems.add("richMenuAliasId", "Must match [a-z0-9_-]{1,32}")


# ---- images --------------------------------------------------------------

def image_info(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) of a PNG or JPEG, or None if it is neither (or is truncated)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
            img.verify()
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is "not an image"
        return None
    fmt = {"PNG": "png", "JPEG": "jpeg"}.get(fmt)
    return (fmt, width, height) if fmt else None


# ---- the store -----------------------------------------------------------

class RichMenuStore:
    """Rich menus, images, aliases and links. Not locked itself: only used
    under the emulator state's lock."""

    def __init__(self):
        self.menus: dict[str, dict] = {}
        self.images: dict[str, tuple[str, bytes]] = {}
        self.aliases: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.default: str | None = None

    def get(self, menu_id: str, status: int = 404) -> dict:
        menu = self.menus.get(menu_id)
        if menu is None:
            raise LineError(status, MENU_NOT_FOUND, reason="not-found")
        return menu

    def usable(self, menu_id: str) -> dict:
        """A menu that may be shown to users: it must exist and have its image."""
        menu = self.get(menu_id)
        if menu_id not in self.images:
            raise LineError(400, NO_IMAGE, reason="richmenu-no-image")
        return menu

    def create(self, body: dict) -> str:
        menu_id = "richmenu-" + secrets.token_hex(16)
        keep = ("size", "selected", "name", "chatBarText", "areas")
        self.menus[menu_id] = {"richMenuId": menu_id, **{k: body[k] for k in keep}}
        return menu_id

    def delete(self, menu_id: str):
        self.get(menu_id)
        del self.menus[menu_id]
        self.images.pop(menu_id, None)
        # LINE stops showing a deleted menu everywhere; aliases to it go too.
        self.links = {u: m for u, m in self.links.items() if m != menu_id}
        self.aliases = {a: m for a, m in self.aliases.items() if m != menu_id}
        if self.default == menu_id:
            self.default = None

    def set_image(self, menu_id: str, content_type: str, data: bytes):
        menu = self.get(menu_id)
        if menu_id in self.images:
            raise LineError(400, IMAGE_ALREADY, reason="richmenu-image")
        kind = IMAGE_TYPES.get(content_type)
        if kind is None:
            raise LineError(415, "Unsupported Media Type: use image/png or image/jpeg",
                            reason="richmenu-image")
        if len(data) > MAX_IMAGE_BYTES:
            raise LineError(413, "The image must be 1 MB or smaller", reason="richmenu-image")
        info = image_info(data)
        if info is None or info[0] != kind:
            raise LineError(400, f"The body is not a valid {kind.upper()} image",
                            reason="richmenu-image")
        size = menu["size"]
        if (info[1], info[2]) != (size["width"], size["height"]):
            raise LineError(400, f"Image size {info[1]}x{info[2]} does not match the rich menu "
                            f"size {size['width']}x{size['height']}", reason="richmenu-image")
        self.images[menu_id] = (content_type, data)

    def alias(self, alias_id: str) -> dict:
        if alias_id not in self.aliases:
            raise not_found(ALIAS_NOT_FOUND)
        return {"richMenuAliasId": alias_id, "richMenuId": self.aliases[alias_id]}

    def create_alias(self, alias_id: str, menu_id: str):
        if alias_id in self.aliases:
            raise LineError(400, ALIAS_CONFLICT, reason="richmenu-alias")
        self.get(menu_id)
        self.aliases[alias_id] = menu_id

    def update_alias(self, alias_id: str, menu_id: str):
        self.alias(alias_id)
        self.get(menu_id)
        self.aliases[alias_id] = menu_id

    def delete_alias(self, alias_id: str):
        self.alias(alias_id)
        del self.aliases[alias_id]
