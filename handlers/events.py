"""セミナー・イベント: upcoming events as a carousel; register, confirm and cancel by postback."""
from __future__ import annotations

from bot import messages, office_events
from bot.office_events import Outcome
from bot.router import Context, Router, choice, encode_postback, integer

TRAINING = ("職業訓練",)
NOT_AVAILABLE = ("このイベントは終了したか、受付を終了しました。"
                 "最新のイベントは「セミナー・イベント」からご覧ください。")


def _qr(label: str, action: str, **params) -> dict:
    return {"type": "postback", "label": label, "data": encode_postback(action, **params), "displayText": label}


def card(ctx: Context, event) -> dict:
    registered = office_events.is_registered(ctx.session, event.id, ctx.user.id)
    return office_events.card(event, ctx.settings, registered)


def listing(ctx: Context, kinds: tuple[str, ...] = ()):
    events = office_events.upcoming(ctx.session, ctx.now, kinds)
    if not events:
        what = "職業訓練" if kinds == TRAINING else "セミナー・イベント"
        return [messages.text(f"いま受付中の{what}はありません。新しいお知らせは配信設定に合わせてお送りします。",
                              [_qr("配信設定", "settings.show")])]
    return messages.render("events.json.j2", cards=[card(ctx, e) for e in events],
                           heading="職業訓練" if kinds == TRAINING else "セミナー・イベント")


def show_all(ctx: Context):
    return listing(ctx)


def show_training(ctx: Context):
    return listing(ctx, TRAINING)


def detail(ctx: Context):
    event = office_events.shown(ctx.session, ctx.params["e"], ctx.now)
    if event is None:
        return [messages.text(NOT_AVAILABLE)]
    return messages.render("events.json.j2", cards=[card(ctx, event)], heading=event.title, full=True)


def join(ctx: Context):
    event = office_events.shown(ctx.session, ctx.params["e"], ctx.now)
    if event is None or event.apply_method != "line":
        return [messages.text(NOT_AVAILABLE)]
    info = card(ctx, event)
    if ctx.params.get("c") != "1":
        if info["registered"]:
            return [messages.text(f"「{event.title}」にはすでにお申し込み済みです。")]
        return [messages.text(f"次のイベントに申し込みますか?\n\n{event.title}\n日時: {info['when']}\n"
                              f"場所: {info['place']}\n{info['places']}",
                              [_qr("申し込む", "event.join", e=event.id, c="1"), _qr("やめる", "event.list")])]
    outcome = office_events.register(ctx.session, event, ctx.user.id, ctx.now)
    if outcome is Outcome.REGISTERED:
        return [messages.text(f"お申し込みを受け付けました。\n\n{event.title}\n日時: {info['when']}\n"
                              f"場所: {info['place']}\n\n当日お気をつけてお越しください。"
                              "参加できなくなった場合は、下のボタンから取り消してください。",
                              [_qr("申し込みを取り消す", "event.cancel", e=event.id)])]
    if outcome is Outcome.ALREADY:
        return [messages.text(f"「{event.title}」にはすでにお申し込み済みです。")]
    if outcome is Outcome.FULL:
        return [messages.text(f"申し訳ありません。「{event.title}」は満席になったため、お申し込みできませんでした。"
                              "ほかのイベントは「セミナー・イベント」からご覧ください。", [_qr("ほかのイベント", "event.list")])]
    return [messages.text(NOT_AVAILABLE)]


def cancel(ctx: Context):
    event = office_events.shown(ctx.session, ctx.params["e"], ctx.now)
    if event is None:
        return [messages.text("このイベントはすでに開始したか終了したため、取り消しはできません。"
                              "ご不明な点はハローワーク大村(0957-40-0032)へお問い合わせください。")]
    if ctx.params.get("c") != "1":
        if not office_events.is_registered(ctx.session, event.id, ctx.user.id):
            return [messages.text(f"「{event.title}」へのお申し込みはありません。")]
        return [messages.text(f"「{event.title}」のお申し込みを取り消しますか?",
                              [_qr("取り消す", "event.cancel", e=event.id, c="1"), _qr("取り消さない", "event.list")])]
    outcome = office_events.cancel(ctx.session, event, ctx.user.id, ctx.now)
    if outcome is Outcome.CANCELLED:
        return [messages.text(f"「{event.title}」のお申し込みを取り消しました。")]
    return [messages.text(f"「{event.title}」へのお申し込みはありません(すでに取り消されています)。")]


def register(router: Router) -> None:
    router.keyword("セミナー", "イベント", "面談会", "説明会")(show_all)
    router.keyword("訓練")(show_training)
    router.action("event.list")(show_all)
    router.action("event.training")(show_training)
    router.action("event.show", e=integer(1))(detail)
    router.action("event.join", optional=("c",), e=integer(1), c=choice("1"))(join)
    router.action("event.cancel", optional=("c",), e=integer(1), c=choice("1"))(cancel)
