"""The quick-reply menu offered with greetings and whenever the bot did not understand."""
from __future__ import annotations

# Each item sends a keyword the router understands (see the register() functions).
MAIN_MENU = [
    ("マイページ", "マイページ"),
    ("パスワード", "パスワードを忘れた"),
    ("使い方", "使い方"),
]


def quick_replies() -> list[dict]:
    return [{"type": "message", "label": label, "text": text} for label, text in MAIN_MENU]
