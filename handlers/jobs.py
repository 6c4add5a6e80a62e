"""One listing: look-up by job number (typed in chat, with or without hyphen) and its detail bubble."""
from __future__ import annotations

from bot import links, messages
from bot.jobs import search as job_search
from bot.jobs.present import card
from bot.router import JOB_NUMBER, Context, Router, encode_postback, job_number


def detail(ctx: Context, number: str) -> list:
    job = job_search.by_number(ctx.session, number)
    if job is None:
        return [messages.text(
            f"求人番号 {number} の求人は見つかりませんでした。番号をお確かめください。\n"
            "ハローワーク大村で受け付けた求人以外は、ハローワークインターネットサービスで検索できます。",
            [{"type": "postback", "label": "求人を探す", "data": encode_postback("search.menu"),
              "displayText": "求人を探す"}])]
    similar = [] if job.is_open else [card(j) for j in job_search.similar_open(ctx.session, job)]
    return messages.render("job_detail.json.j2", card=card(job), similar=similar,
                           can_save=ctx.services.router.has_action("fav.add"))


def show(ctx: Context):
    return detail(ctx, ctx.params["j"])


def typed_number(ctx: Context):
    return detail(ctx, job_number(ctx.match.group(0)))


def how_to_apply(ctx: Context):
    job = job_search.by_number(ctx.session, ctx.params["j"])
    if job is None or not job.is_open:
        return [messages.text("この求人は募集を終了したため、応募できません。"
                              "似た求人は「求人を探す」から探せます。")]
    return messages.render("job_apply.json.j2", card=card(job), links=links)


def register(router: Router) -> None:
    # Digits in any width, with or without the hyphen: NFKC has already folded the text.
    router.pattern(JOB_NUMBER)(typed_number)
    router.action("job.show", j=job_number)(show)
    router.action("job.apply", j=job_number)(how_to_apply)
