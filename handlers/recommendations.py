"""おすすめ求人 on request: the jobs of the last weekly recommendation that are still open."""
from __future__ import annotations

from bot import favorites, messages, preferences, recommendations, staff_recommendations
from bot.jobs import results as job_results, saved
from bot.jobs.present import card
from bot.jobs.search import ConditionError, Conditions
from bot.router import Context, Router, encode_postback, integer

from . import search, settings


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


def more(ctx: Context):
    """もっと見る on the weekly carousel: the tapping person's own conditions. The carousel is the same for
    everyone who got the same jobs, so it carries nothing of theirs; the person comes from the event."""
    searches = saved.listing(ctx.session, ctx.user.id)
    if searches:
        if len(searches) > 1:
            return search.list_saved(ctx)  # each with its own 検索 button
        try:
            return job_results.messages_for(ctx.session, ctx.user.id, Conditions.from_dict(searches[0].conditions))
        except ConditionError:
            return search.list_saved(ctx)
    prefs = preferences.get(ctx.session, ctx.user.id)
    try:
        conditions = recommendations.from_preferences(prefs.municipality_code, tuple(prefs.interests or ()))
    except ConditionError:
        conditions = ()
    if len(conditions) == 1:
        return job_results.messages_for(ctx.session, ctx.user.id, conditions[0])
    return search.menu(ctx)


_NOT_FOUND = "このおすすめ求人は見つかりませんでした。お手数ですが、メニューから求人をお探しください。"


def staff_apply(ctx: Context):
    """オンラインで紹介を希望 on a staff recommendation: checked now, against this person and the deadline."""
    verdict, job = staff_recommendations.apply(ctx.session, ctx.user.id, ctx.params["i"], ctx.now,
                                               ctx.settings.tz)
    if verdict is staff_recommendations.Tap.NOT_FOUND:
        return [messages.text(_NOT_FOUND)]
    name = f"{job.occupation}({job.company_name}、求人番号 {job.job_number})"
    if verdict is staff_recommendations.Tap.EXPIRED:
        return [messages.text(f"応募期限を過ぎたため、{name}の紹介は受け付けできませんでした。"
                              "申し訳ありません。ほかの求人は「求人を探す」からご覧いただけます。")]
    if verdict is staff_recommendations.Tap.ALREADY:
        return [messages.text(f"{name}には、すでに応募されています。状況はメニューの「応募状況」からご確認ください。")]
    return [messages.text(f"{name}について、オンラインハローワーク紹介のご希望を受け付けました。\n"
                          "担当者が確認のうえ、ご連絡します。状況はメニューの「応募状況」からご確認いただけます。")]


def staff_save(ctx: Context):
    found = staff_recommendations.owned(ctx.session, ctx.user.id, ctx.params["i"])
    if found is None:
        return [messages.text(_NOT_FOUND)]
    _, rec, job = found
    if not job.is_open:
        return [messages.text("この求人は募集を終了したため、お気に入りに保存できません。")]
    if staff_recommendations.expired(rec, job, ctx.now, ctx.settings.tz):
        return [messages.text(f"応募期限({staff_recommendations.deadline_text(rec.deadline)})を過ぎたため、"
                              "このおすすめ求人は保存できませんでした。申し訳ありません。"
                              "ほかの求人は「求人を探す」からご覧いただけます。")]
    try:
        total = favorites.add(ctx.session, ctx.user.id, job.id)
    except favorites.Full:
        return [messages.text(f"お気に入りは{favorites.MAX_FAVORITES}件まで保存できます。"
                              "「お気に入り一覧」から不要な求人を削除してから、もう一度保存してください。")]
    if total is None:
        return [messages.text("この求人はすでにお気に入りに保存されています。")]
    return [messages.text(f"お気に入りに保存しました。\n{job.occupation}({job.company_name})")]


def register(router: Router) -> None:
    router.keyword("おすすめ")(show)
    router.action("rec.latest")(show)
    router.action("rec.more")(more)
    router.action("srec.apply", i=integer(1))(staff_apply)
    router.action("srec.save", i=integer(1))(staff_save)
