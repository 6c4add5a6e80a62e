"""The rich menus as data (menus.json): loading, the bodies LINE receives, and the checks before deploy.

A menu has a tab bar (one tab per menu; tapping another tab switches to that menu's alias) and buttons
with explicit bounds. Every button is a postback the bot's router knows, with a displayText so the
chat shows what was tapped.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlencode

from bot.line.limits import Problems, check_action, units
from bot.router import POSTBACK_MAX, POSTBACK_VERSION, InvalidPostback, Router, encode_postback

SOURCE = Path(__file__).with_name("menus.json")
NAME_PREFIX = "hwomura:"  # LINE menu names starting with this are ours (deploy deletes stale ones)
# The postback a tab switch sends. LINE posts richmenuswitch data to the webhook like any postback,
# so the bot must know this action and answer nothing.
TAB_ACTION = "menu.tab"
MENU_ID = re.compile(r"[a-z0-9-]{1,32}\Z")
ALIAS_ID = re.compile(r"[a-z0-9_-]{1,32}\Z")
MAX_AREAS = 20
LABEL_MAX = 20  # LINE's limit on a rich menu action label
CHAT_BAR_MAX = 14


class DefinitionError(ValueError):
    """menus.json cannot be read at all."""


@dataclasses.dataclass
class Definitions:
    path: Path
    default: str
    menus: list[dict]

    @property
    def images_dir(self) -> Path:
        return self.path.parent / "images"

    def image_path(self, menu: dict) -> Path:
        return self.images_dir / f"{menu['id']}.png"


def load(path: Path = SOURCE) -> Definitions:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DefinitionError(f"{path} を読めません: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("menus"), list) or not data["menus"]:
        raise DefinitionError(f"{path} に menus（1件以上の一覧）がありません")
    return Definitions(Path(path), data.get("default", ""), data["menus"])


# ---- what LINE receives ----------------------------------------------------

def tab_bounds(menu: dict) -> list[dict]:
    """Equal-width tabs across the top of the image."""
    tabs = menu["tabBar"]["tabs"]
    width, height = menu["size"]["width"], menu["tabBar"]["height"]
    edges = [round(width * i / len(tabs)) for i in range(len(tabs) + 1)]
    return [{"x": edges[i], "y": 0, "width": edges[i + 1] - edges[i], "height": height}
            for i in range(len(tabs))]


def button_action(action: dict) -> dict:
    if action.get("type") != "postback":
        raise ValueError(f"action の type は postback のみ使えます（{action.get('type')!r}）")
    body = {"type": "postback", "data": encode_postback(action["name"], **action.get("params", {}))}
    if action.get("displayText") is not None:
        body["displayText"] = action["displayText"]
    return body


def areas(menu: dict) -> list[dict]:
    """The tab areas (other tabs only: the active one does nothing), then the buttons."""
    out = []
    if menu.get("tabBar"):
        for tab, bounds in zip(menu["tabBar"]["tabs"], tab_bounds(menu)):
            if tab["aliasId"] != menu.get("aliasId"):
                out.append({"bounds": bounds, "action": {
                    "type": "richmenuswitch", "label": tab["label"][:LABEL_MAX],
                    "richMenuAliasId": tab["aliasId"], "data": encode_postback(TAB_ACTION)}})
    for button in menu["buttons"]:
        action = {**button_action(button["action"]), "label": button["label"]}
        out.append({"bounds": dict(button["bounds"]), "action": action})
    return out


def request_body(menu: dict, name: str) -> dict:
    return {"size": dict(menu["size"]), "selected": bool(menu.get("selected", False)), "name": name,
            "chatBarText": menu["chatBarText"], "areas": areas(menu)}


def line_name(menu: dict, image: bytes) -> str:
    """The name on LINE: our prefix, the menu id and a hash of what LINE would hold (body + image),
    so an unchanged menu is recognised and a changed one gets a new name."""
    body = json.dumps(request_body(menu, ""), ensure_ascii=False, sort_keys=True).encode()
    digest = hashlib.sha256(body + b"\0" + image).hexdigest()[:16]
    return f"{NAME_PREFIX}{menu['id']}:{digest}"


# ---- checks ------------------------------------------------------------------

def validate(defs: Definitions, router: Router) -> list[str]:
    """Everything wrong with the definitions, one Japanese sentence each ([] when fine)."""
    problems: list[str] = []
    ids = [m.get("id") for m in defs.menus if isinstance(m, dict)]
    aliases = [m.get("aliasId") for m in defs.menus if isinstance(m, dict) and m.get("aliasId")]
    for value, what in [(ids, "id"), (aliases, "aliasId")]:
        for dup in sorted({v for v in value if value.count(v) > 1}):
            problems.append(f"{what} 「{dup}」 が複数のメニューにあります")
    if defs.default not in ids:
        problems.append(f"default 「{defs.default}」 に当たるメニューがありません")
    for i, menu in enumerate(defs.menus):
        where = f"メニュー {menu.get('id', i) if isinstance(menu, dict) else i}"
        try:
            problems += [f"{where}: {p}" for p in _check_menu(menu, set(aliases), router)]
        except (KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{where}: 形式が正しくありません（{type(exc).__name__}: {exc}）")
    return problems


def _check_menu(menu: dict, aliases: set, router: Router) -> list[str]:
    from .render import ICONS  # the icons the renderer can draw

    out = []
    if not MENU_ID.match(str(menu["id"])):
        out.append("id は英小文字・数字・ハイフン（32文字まで）にしてください")
    if menu.get("aliasId") is not None and not ALIAS_ID.match(str(menu["aliasId"])):
        out.append(f"aliasId 「{menu['aliasId']}」 は [a-z0-9_-] の1〜32文字にしてください")
    if not 1 <= units(menu["chatBarText"]) <= CHAT_BAR_MAX:
        out.append(f"chatBarText は1〜{CHAT_BAR_MAX}文字にしてください")
    width, height = menu["size"]["width"], menu["size"]["height"]
    if not (800 <= width <= 2500 and height >= 250 and width / height >= 1.45):
        out.append(f"画像サイズ {width}×{height} は LINE で使えません（幅800〜2500、縦横比1.45以上）")
    for tab in (menu.get("tabBar") or {}).get("tabs", []):
        if tab["aliasId"] not in aliases:
            out.append(f"タブ「{tab['label']}」の切替先 aliasId 「{tab['aliasId']}」 のメニューがありません")
    if menu.get("tabBar") and menu.get("aliasId") not in [t["aliasId"] for t in menu["tabBar"]["tabs"]]:
        out.append("タブのどれか1つは、このメニュー自身の aliasId にしてください")
    for button in menu["buttons"]:
        label = button.get("label") or "（ラベルなし）"
        if not button.get("label") or units(button["label"]) > LABEL_MAX:
            out.append(f"ボタン「{label}」: label は1〜{LABEL_MAX}文字にしてください")
        if button.get("icon") not in ICONS:
            out.append(f"ボタン「{label}」: アイコン {button.get('icon')!r} はありません"
                       f"（使えるもの: {', '.join(sorted(ICONS))}）")
        out += [f"ボタン「{label}」: {p}" for p in _check_button_action(button["action"], router)]
    if out:  # the areas below need well-formed buttons
        return out
    built = areas(menu)
    if len(built) > MAX_AREAS:
        out.append(f"タップ領域が {len(built)} 個あります（LINE の上限は {MAX_AREAS} 個）")
    names = [a["action"].get("label", "?") for a in built]
    for i, area in enumerate(built):
        b = area["bounds"]
        if b["width"] <= 0 or b["height"] <= 0 or b["x"] < 0 or b["y"] < 0 \
                or b["x"] + b["width"] > width or b["y"] + b["height"] > height:
            out.append(f"「{names[i]}」の領域 {_box(b)} が画像 {width}×{height} の外にはみ出しています")
        for j in range(i):
            if _overlap(b, built[j]["bounds"]):
                out.append(f"「{names[i]}」と「{names[j]}」の領域が重なっています")
        line_problems = Problems()
        check_action(area["action"], "action", line_problems, label_max=LABEL_MAX)
        out += [f"「{names[i]}」: LINE の規則に合いません（{p.get('property')}: {p['message']}）"
                for p in line_problems]
        if area["action"]["type"] == "richmenuswitch":
            out += [f"タブ「{names[i]}」: {p}" for p in _check_data(area["action"]["data"], router)]
    return out


def _check_button_action(action: dict, router: Router) -> list[str]:
    length = len(urlencode({"v": POSTBACK_VERSION, "a": action.get("name", ""),
                            **action.get("params", {})}))
    if length > POSTBACK_MAX:
        return [f"postback data が {length} 文字になります（LINE の上限は {POSTBACK_MAX} 文字）"]
    try:
        body = button_action(action)
    except ValueError as exc:  # a type other than postback, a reserved parameter name
        return [str(exc)]
    out = _check_data(body["data"], router)
    if not action.get("displayText"):
        out.append("displayText（タップしたときにトークに表示する文）がありません")
    return out


def _check_data(data: str, router: Router) -> list[str]:
    try:
        router.decode_postback(data)
    except InvalidPostback as exc:
        name = dict(p.split("=", 1) for p in data.split("&") if "=" in p).get("a", "")
        if not router.has_action(name):
            return [f"アクション 「{name}」 はボットに登録されていません（handlers の build_router()）"]
        return [f"postback data 「{data}」 をボットが受け付けません（{exc}）"]
    return []


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def _box(b: dict) -> str:
    return f"(x={b['x']}, y={b['y']}, 幅={b['width']}, 高さ={b['height']})"
