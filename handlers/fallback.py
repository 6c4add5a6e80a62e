"""Answers for everything no capability claimed: free text, other message kinds, stale buttons."""
from __future__ import annotations

from bot import messages
from bot.router import Context, Router, encode_postback

from .menu import quick_replies

NOT_UNDERSTOOD = ("メッセージありがとうございます。"
                  "申し訳ありませんが、お問い合わせの内容を読み取れませんでした。"
                  "下のメニューからご用件をお選びください。")
NOT_TEXT = ("画像・スタンプ・位置情報などにはお答えできません。"
            "ご用件は文字で送るか、下のメニューからお選びください。")
STALE_POSTBACK = ("このボタンは有効期限が切れたか、内容が変わったため使えません。"
                  "お手数ですが、メニューからもう一度お選びください。")


def not_understood(ctx: Context):
    items = quick_replies()
    words = " ".join(ctx.text.split())
    if 0 < len(words) <= 20 and words.isprintable():
        # A short message is often what the person is looking for: offer it as search words.
        label = f"「{words[:12]}」で求人検索" if len(words) <= 6 else "この言葉で求人を検索"
        items.insert(0, {"type": "postback", "label": label[:20], "data": encode_postback("search.words", q=words),
                         "displayText": f"「{words}」で求人を検索"})
    return [messages.text(NOT_UNDERSTOOD, items)]


def not_text(ctx: Context):
    return [messages.text(NOT_TEXT, quick_replies())]


def stale_postback(ctx: Context):
    return [messages.text(STALE_POSTBACK, quick_replies())]


def register(router: Router) -> None:
    router.fallback(not_understood)
    router.event("message")(not_text)
    router.event("postback.invalid")(stale_postback)
