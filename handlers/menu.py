"""The quick-reply menu offered with greetings and whenever the bot did not understand."""
from __future__ import annotations

# Each item sends a keyword the router understands (see the register() functions).
MAIN_MENU = [
    ("マイページ", "マイページ"),
    ("求人を探す", "求人を探す"),
    ("お気に入り", "お気に入り"),
    ("配信設定", "配信設定"),
    ("使い方", "使い方"),
]


def quick_replies() -> list[dict]:
    return [{"type": "message", "label": label, "text": text} for label, text in MAIN_MENU]


def tab_switched(ctx):
    """A rich-menu tab switch: LINE changes the menu itself and also posts the tap; nothing to say."""
    return None


def register(router) -> None:
    router.action("menu.tab")(tab_switched)
