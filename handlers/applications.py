"""応募状況: 応募中の求人 and 選考が終わった求人; withdrawal within 24 hours; オンライン自主応募."""
from __future__ import annotations

from bot import applications, links, messages
from bot.applications import Withdrawal
from bot.jobs import search as job_search
from bot.jobs.present import card, date_text
from bot.models import Job
from bot.models.application import ROUTES
from bot.router import Context, Router, choice, encode_postback, integer, job_number

LATE = ("応募から24時間を過ぎているため、LINEからは取り消せません。"
        "お手数ですが、応募先の事業所へ直接ご連絡ください。")
NOT_ONLINE = ("窓口で紹介を受けた応募は、LINEからは取り消せません。"
              f"{links.OFFICE_NAME}({links.OFFICE_PHONE})または応募先の事業所へご連絡ください。")
NOT_FOUND = "この応募は見つかりませんでした。「応募状況」から確認してください。"


def _qr(label: str, action: str, **params) -> dict:
    return {"type": "postback", "label": label, "data": encode_postback(action, **params), "displayText": label}


def listing(ctx: Context, finished: bool = False):
    page = ctx.params.get("p", 1)
    total, rows = applications.listing(ctx.session, ctx.user.id, finished, page)
    heading = "選考が終わった求人" if finished else "応募中の求人"
    other = _qr("選考が終わった求人" if not finished else "応募中の求人", "app.list", s="done" if not finished else "active")
    if total == 0:
        return [messages.text(f"{heading}はありません。", [other])]
    items = []
    for application in rows:
        job = ctx.session.get(Job, application.job_id)
        items.append({"id": application.id, "card": card(job), "route": ROUTES.get(application.route, ""),
                      "status": application.status, "applied": date_text(application.applied_at.astimezone(
                          ctx.settings.tz).date()),
                      "can_withdraw": applications.can_withdraw(application, ctx.now) is Withdrawal.DONE})
    return messages.render("applications.json.j2", heading=heading, total=total, items=items, finished=finished,
                           page=page, has_next=page * applications.PAGE_SIZE < total, other=other)


def show(ctx: Context):
    return listing(ctx, finished=ctx.params.get("s") == "done")


def show_active(ctx: Context):
    return listing(ctx)


def withdraw(ctx: Context):
    application = applications.owned(ctx.session, ctx.user.id, ctx.params["i"])
    if application is None:
        return [messages.text(NOT_FOUND)]
    job = ctx.session.get(Job, application.job_id)
    verdict = applications.can_withdraw(application, ctx.now)
    if verdict is Withdrawal.DONE and ctx.params.get("c") != "1":
        return [messages.text(f"「{job.occupation}({job.company_name})」への応募を取り消しますか?",
                              [_qr("取り消す", "app.withdraw", i=application.id, c="1"), _qr("やめる", "app.list")])]
    verdict = applications.withdraw(ctx.session, application, ctx.now)
    if verdict is Withdrawal.DONE:
        return [messages.text(f"「{job.occupation}({job.company_name})」への応募を取り消しました。",
                              [_qr("応募状況", "app.list")])]
    if verdict is Withdrawal.FINISHED:
        return [messages.text("この応募はすでに取り消されたか、選考が終わっています。", [_qr("応募状況", "app.list")])]
    return [messages.text(LATE if verdict is Withdrawal.TOO_LATE else NOT_ONLINE)]


def self_apply(ctx: Context):
    job = job_search.by_number(ctx.session, ctx.params["j"])
    if job is None or not job.is_open or not job.online_application:
        return [messages.text("この求人は、オンライン自主応募を受け付けていません(募集を終了した可能性があります)。")]
    if ctx.params.get("c") != "1":
        return [messages.text(
            "オンライン自主応募は、ハローワークの紹介ではなく、事業所へ直接応募する方法です。"
            "応募後の連絡や選考は、事業所と直接行っていただきます。\n"
            f"「{job.occupation}({job.company_name})」に応募しますか?\n"
            "(応募から24時間以内であれば、LINEから取り消せます。)",
            [_qr("応募する", "app.self", j=job.job_number, c="1"), _qr("やめる", "job.show", j=job.job_number)])]
    application = applications.apply_self(ctx.session, ctx.user.id, job, ctx.now)
    if application is None:
        return [messages.text("この求人にはすでに応募しています。「応募状況」から確認できます。", [_qr("応募状況", "app.list")])]
    return [messages.text(f"「{job.occupation}({job.company_name})」への応募を受け付けました。"
                          "事業所からの連絡をお待ちください。", [_qr("応募状況", "app.list")])]


def register(router: Router) -> None:
    router.keyword("応募状況", "応募中", "応募した")(show_active)
    router.action("app.list", optional=("s", "p"), s=choice("active", "done"), p=integer(1, 30))(show)
    router.action("app.withdraw", optional=("c",), i=integer(1), c=choice("1"))(withdraw)
    router.action("app.self", optional=("c",), j=job_number, c=choice("1"))(self_apply)
