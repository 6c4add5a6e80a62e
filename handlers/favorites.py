"""お気に入り: save from any job bubble, list newest first with live status, remove."""
from __future__ import annotations

from bot import favorites, messages
from bot.jobs import search as job_search
from bot.jobs.present import card
from bot.router import Context, Router, encode_postback, integer, job_number

MAX_PAGE = favorites.MAX_FAVORITES // favorites.PAGE_SIZE


def _to_list(label: str = "お気に入り一覧") -> dict:
    return {"type": "postback", "label": label, "data": encode_postback("fav.list"), "displayText": label}


def add(ctx: Context):
    job = job_search.by_number(ctx.session, ctx.params["j"])
    if job is None:
        return [messages.text("この求人は見つかりませんでした。お手数ですが、もう一度検索してください。")]
    if not job.is_open:
        return [messages.text("この求人は募集を終了したため、お気に入りに保存できません。", [_to_list()])]
    try:
        total = favorites.add(ctx.session, ctx.user.id, job.id)
    except favorites.Full:
        return [messages.text(
            f"お気に入りは{favorites.MAX_FAVORITES}件まで保存できます。保存できませんでした。\n"
            "「お気に入り一覧」から、募集を終了した求人や不要になった求人を削除してから、"
            "もう一度保存してください。", [_to_list()])]
    if total is None:
        return [messages.text("この求人はすでにお気に入りに保存されています。", [_to_list()])]
    return [messages.text(f"お気に入りに保存しました({total}/{favorites.MAX_FAVORITES}件)。\n{job.occupation}"
                          f"({job.company_name})", [_to_list()])]


def listing(ctx: Context):
    number = ctx.params.get("p", 1)
    total, jobs = favorites.page(ctx.session, ctx.user.id, number)
    if total == 0:
        return [messages.text("お気に入りに保存した求人はまだありません。求人の詳細にある"
                              "「お気に入りに保存」から保存できます。",
                              [{"type": "postback", "label": "求人を探す", "data": encode_postback("search.menu"),
                                "displayText": "求人を探す"}])]
    if not jobs:
        return [messages.text("これ以上のお気に入りはありません。", [_to_list("最初から見る")])]
    first = (number - 1) * favorites.PAGE_SIZE + 1
    return messages.render("favorites.json.j2", cards=[card(j) for j in jobs], total=total, first=first,
                           last=first + len(jobs) - 1, page=number,
                           has_next=number * favorites.PAGE_SIZE < total and number < MAX_PAGE,
                           limit=favorites.MAX_FAVORITES)


def remove(ctx: Context):
    job = job_search.by_number(ctx.session, ctx.params["j"])
    if job is None or not favorites.remove(ctx.session, ctx.user.id, job.id):
        return [messages.text("この求人はお気に入りにありません(すでに削除されています)。", [_to_list()])]
    return [messages.text(f"お気に入りから削除しました。\n{job.occupation}({job.company_name})", [_to_list()])]


def register(router: Router) -> None:
    router.keyword("お気に入り")(listing)
    router.action("fav.add", j=job_number)(add)
    router.action("fav.list", optional=("p",), p=integer(1, MAX_PAGE))(listing)
    router.action("fav.remove", j=job_number)(remove)
