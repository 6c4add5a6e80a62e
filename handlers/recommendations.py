"""おすすめ求人 on request: the jobs of the last weekly recommendation that are still open."""
from __future__ import annotations

from bot import messages, preferences, recommendations
from bot.jobs.present import card
from bot.router import Context, Router, encode_postback

from . import settings


def _settings_button() -> dict:
    return {"type": "postback", "label": "配信設定", "data": encode_postback("settings.show"),
            "displayText": "配信設定"}


def show(ctx: Context):
    # Registered before the search keywords (「おすすめ求人」 contains 「求人」), so a request to stop
    # these messages typed as text still reaches 配信設定.
    if "停止" in ctx.text:
        return settings.show(ctx)
    jobs = recommendations.latest(ctx.session, ctx.user.id)
    if jobs:
        return messages.render("recommendations.json.j2", cards=[card(j) for j in jobs],
                               basis="前回お届けした求人のうち募集中のもの", heading="前回のおすすめ求人")
    on = preferences.allows(preferences.get(ctx.session, ctx.user.id), recommendations.TOPIC)
    state = "いまは受け取る設定です。" if on else "いまは配信を停止しています。「配信設定」から再開できます。"
    return [messages.text(
        "おすすめ求人は、毎週月曜日の朝に、保存した検索条件(なければ配信設定の地域・職種)に合う"
        f"新着求人をお届けします。\nまだお届けした求人はありません。{state}", [_settings_button()])]


def register(router: Router) -> None:
    router.keyword("おすすめ")(show)
    router.action("rec.latest")(show)
