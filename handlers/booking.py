"""オンライン職業相談の予約: dates → times → topic → optional note → summary → 予約する; then see, change or
cancel it until the deadline. The choices so far live in the person's conversation (bot.conversation),
so a summary tapped after the flow expired, or a slot taken meanwhile, gets a polite answer."""
from __future__ import annotations

import datetime as dt

from bot import conversation, links, messages
from bot.db import transaction_memo
from bot.booking import present, service
from bot.booking import rules as booking_rules
from bot.booking.service import TOPICS, Outcome
from bot.router import Context, Router, choice, encode_postback, integer, token

FLOW = "booking"
QUICK_REPLY_MAX = 13
QUIT_WORDS = ("やめる", "中止", "キャンセル")
PHONE = f"{links.OFFICE_NAME}({links.OFFICE_PHONE})"
EXPIRED = ("お手続きの途中で時間が経ったため、予約の手続きは終了しました。"
           "お手数ですが、もう一度「相談を予約する」からお進みください。")
NO_SLOTS = ("申し訳ありません。いまご予約いただける相談枠はありません。"
            f"新しい枠は順次公開されます。お急ぎの場合は{PHONE}へお電話ください。")


def _qr(label: str, action: str, **params) -> dict:
    return {"type": "postback", "label": label, "data": encode_postback(action, **params), "displayText": label}


def _env(ctx: Context):
    """The booking rules, closure days and time zone, read once per event (several steps use them)."""
    session, memo = ctx.session, transaction_memo(ctx.session)
    if "booking_env" not in memo:
        memo["booking_env"] = (booking_rules.load(session), booking_rules.closure_days(session), ctx.settings.tz)
    return memo["booking_env"]


def _restart() -> list:
    return [messages.text(EXPIRED, [_qr("相談を予約する", "booking.start")])]


def _flow(ctx: Context):
    conv = conversation.active(ctx.session, ctx.user.id, ctx.now)
    return conv if conv is not None and conv.flow == FLOW else None


# --- information and one's bookings ------------------------------------------------------------------

def info(ctx: Context):
    rules, _, _ = _env(ctx)
    return messages.render("consultation.json.j2", s=present.schedule(rules), links=links)


def _cards(ctx: Context, bookings, heading: str, intro: str = "") -> list:
    _, closures, tz = _env(ctx)
    return [m for b in bookings for m in messages.render(
        "booking.json.j2", b=present.card(b, tz, closures, ctx.now), heading=heading, intro=intro, links=links)]


def mine(ctx: Context):
    bookings = service.upcoming(ctx.session, ctx.user.id, ctx.now)
    if not bookings:
        return [messages.text("現在、オンライン職業相談のご予約はありません。",
                              [_qr("相談を予約する", "booking.start")])]
    return _cards(ctx, bookings[:5], "ご予約内容")


# --- choosing a date and a time ------------------------------------------------------------------------

def _dates(ctx: Context, lead: str = "") -> list:
    rules, closures, tz = _env(ctx)
    slots = service.open_slots(ctx.session, rules, closures, tz, ctx.now)
    days = sorted({booking_rules.local_day(s.starts_at, tz) for s in slots})
    if not days:
        return [messages.text(NO_SLOTS)]
    items = [_qr(booking_rules.label_day(d), "booking.date", d=d.strftime("%Y%m%d"))
             for d in days[:QUICK_REPLY_MAX - 1]]
    items.append({"type": "datetimepicker", "label": "カレンダーで選ぶ", "data": encode_postback("booking.pick"),
                  "mode": "date", "initial": days[0].isoformat(), "min": days[0].isoformat(),
                  "max": days[-1].isoformat()})
    return [messages.text(f"{lead}相談を希望する日をお選びください(空きのある日だけを表示しています)。", items)]


def start(ctx: Context):
    rules, _, _ = _env(ctx)
    held = service.upcoming(ctx.session, ctx.user.id, ctx.now)
    if len(held) >= rules.max_upcoming:
        return [messages.text("すでにご予約があります。日時の変更や取り消しは、下のご予約内容からできます。")] \
            + _cards(ctx, held[:4], "ご予約内容")
    conversation.start(ctx.session, ctx.user.id, FLOW, "date")
    return _dates(ctx)


def dates(ctx: Context):
    conv = _flow(ctx)
    if conv is None:
        return _restart()
    conversation.advance(conv, "date")
    return _dates(ctx)


def _times(ctx: Context, day: dt.date) -> list:
    rules, closures, tz = _env(ctx)
    slots = [s for s in service.open_slots(ctx.session, rules, closures, tz, ctx.now)
             if booking_rules.local_day(s.starts_at, tz) == day]
    if not slots:
        return _dates(ctx, f"{booking_rules.label_day(day)}は予約できる時間がありません。")
    items = [_qr(booking_rules.label_time(s.starts_at, tz), "booking.slot", s=s.id) for s in slots]
    items.append(_qr("日付を選び直す", "booking.dates"))
    return [messages.text(f"{booking_rules.label_day(day)}の空いている時間をお選びください。", items)]


def date(ctx: Context):
    if _flow(ctx) is None:
        return _restart()
    try:
        day = dt.datetime.strptime(ctx.params["d"], "%Y%m%d").date()
    except ValueError:
        return _dates(ctx, "日付を読み取れませんでした。")
    return _times(ctx, day)


def pick(ctx: Context):
    """The calendar (datetime picker) answers with params.date = "2026-12-02"."""
    if _flow(ctx) is None:
        return _restart()
    params = getattr(ctx.event.postback, "params", None) or {}
    try:
        day = dt.date.fromisoformat(params.get("date") or "")
    except ValueError:
        return _dates(ctx, "日付を読み取れませんでした。")
    return _times(ctx, day)


def slot(ctx: Context):
    conv = _flow(ctx)
    if conv is None:
        return _restart()
    rules, closures, tz = _env(ctx)
    chosen = ctx.session.get(service.ConsultationSlot, ctx.params["s"])
    if not service.bookable(chosen, rules, closures, tz, ctx.now) or chosen.free == 0:
        return _dates(ctx, "申し訳ありません。その時間はご予約いただけなくなりました。")
    if conv.data.get("replacing"):  # a change keeps the topic and note
        conversation.advance(conv, "confirm", slot=chosen.id)
        return _summary(ctx, conv)
    conversation.advance(conv, "topic", slot=chosen.id)
    items = [_qr(label, "booking.topic", t=code) for code, label in TOPICS.items()]
    return [messages.text("どのようなご相談ですか?近いものをお選びください。", items)]


def topic(ctx: Context):
    conv = _flow(ctx)
    if conv is None or not conv.data.get("slot"):
        return _restart()
    conversation.advance(conv, "note", topic=ctx.params["t"])
    return [messages.text(f"ご相談したいことがあれば、{service.NOTE_MAX}文字以内で入力して送ってください。"
                          "特になければ「特になし」を押してください。",
                          [_qr("特になし", "booking.skip"), _qr("やめる", "booking.quit")])]


def note(ctx: Context):
    conv = ctx.conversation
    body = ctx.text.strip()
    if body in QUIT_WORDS:
        return quit_flow(ctx)
    if len(body) > service.NOTE_MAX:
        return [messages.text(f"{service.NOTE_MAX}文字以内でお願いします(いまは{len(body)}文字です)。"
                              "短くして、もう一度送ってください。", [_qr("特になし", "booking.skip")])]
    conversation.advance(conv, "confirm", note=body or None)
    return _summary(ctx, conv)


def skip_note(ctx: Context):
    conv = _flow(ctx)
    if conv is None or not conv.data.get("topic"):
        return _restart()
    conversation.advance(conv, "confirm", note=None)
    return _summary(ctx, conv)


def _summary(ctx: Context, conv) -> list:
    chosen = ctx.session.get(service.ConsultationSlot, conv.data["slot"])
    _, _, tz = _env(ctx)
    return messages.render("booking_confirm.json.j2", when=present.when(chosen, tz),
                           topic=TOPICS.get(conv.data.get("topic"), "その他"), note=conv.data.get("note") or "",
                           slot_id=chosen.id, minutes=chosen.length_minutes,
                           changing=bool(conv.data.get("replacing")))


# --- booking ---------------------------------------------------------------------------------------

def confirm(ctx: Context):
    conv = _flow(ctx)
    if conv is None or conv.step != "confirm":
        return _restart()
    if conv.data.get("slot") != ctx.params["s"]:
        return [messages.text("この確認画面は古くなっています。最新の確認画面の「予約する」を押してください。")]
    rules, closures, tz = _env(ctx)
    replacing = None
    if conv.data.get("replacing"):
        replacing = service.owned(ctx.session, ctx.user.id, conv.data["replacing"])
        if replacing is None or replacing.status != service.BOOKED:
            conversation.finish(ctx.session, ctx.user.id)
            return [messages.text("変更しようとしたご予約は、すでに取り消されています。")]
    result = service.book(ctx.session, ctx.user.id, ctx.params["s"], conv.data.get("topic") or "other",
                          conv.data.get("note"), rules=rules, closures=closures, tz=tz, now=ctx.now,
                          replacing=replacing)
    if result.outcome is Outcome.BOOKED:
        conversation.finish(ctx.session, ctx.user.id)
        heading = "ご予約を変更しました" if replacing else "ご予約を受け付けました"
        return _cards(ctx, [result.booking], heading)
    if result.outcome is Outcome.FULL:
        conversation.advance(conv, "date")
        return _dates(ctx, "申し訳ありません。その時間は、たったいま別の方のご予約で埋まりました。")
    if result.outcome is Outcome.ALREADY:
        conversation.finish(ctx.session, ctx.user.id)
        return [messages.text("その時間はすでにご予約済みです。")] + mine(ctx)
    if result.outcome is Outcome.LIMIT:
        conversation.finish(ctx.session, ctx.user.id)
        return [messages.text("すでにご予約があるため、新しく予約できません。変更や取り消しは、ご予約内容からできます。")] \
            + mine(ctx)
    conversation.advance(conv, "date")
    return _dates(ctx, "申し訳ありません。その時間は受付を終了しました。")


def quit_flow(ctx: Context):
    conversation.finish(ctx.session, ctx.user.id)
    return [messages.text("予約の手続きを中止しました。また必要なときは「相談を予約する」からどうぞ。")]


# --- change and cancel -----------------------------------------------------------------------------

def _changeable(ctx: Context):
    """(booking, None) when the person may change it now, else (None, the answer to give)."""
    booking = service.owned(ctx.session, ctx.user.id, ctx.params["b"])
    if booking is None or booking.status != service.BOOKED or booking.slot.starts_at <= ctx.now:
        return None, [messages.text("このご予約は、すでに取り消されたか終了しています。",
                                    [_qr("予約を確認する", "booking.mine")])]
    _, closures, tz = _env(ctx)
    day = booking_rules.local_day(booking.slot.starts_at, tz)
    if not booking_rules.can_change(day, booking_rules.local_day(ctx.now, tz), closures):
        return None, [messages.text(
            f"LINEでの変更・取り消しの受付は{booking_rules.label_day(booking_rules.deadline(day, closures))}で"
            f"終了しました。お手数ですが、{PHONE}へお電話ください。",
            [{"type": "uri", "label": "電話する", "uri": links.OFFICE_PHONE_URI}])]
    return booking, None


def change(ctx: Context):
    booking, answer = _changeable(ctx)
    if booking is None:
        return answer
    conversation.start(ctx.session, ctx.user.id, FLOW, "date",
                       {"replacing": booking.id, "topic": booking.topic, "note": booking.note})
    return _dates(ctx, "変更先の日時を選んでください。")


def cancel(ctx: Context):
    booking, answer = _changeable(ctx)
    if booking is None:
        return answer
    _, _, tz = _env(ctx)
    when = present.when(booking.slot, tz)
    if ctx.params.get("c") != "1":
        return [messages.text(f"{when}のご予約を取り消しますか?",
                              [_qr("取り消す", "booking.cancel", b=booking.id, c="1"),
                               _qr("取り消さない", "booking.mine")])]
    service.cancel(ctx.session, booking, ctx.now, by=service.BY_PERSON)
    return [messages.text(f"{when}のご予約を取り消しました。またのご利用をお待ちしています。",
                          [_qr("相談を予約する", "booking.start")])]


def register(router: Router) -> None:
    router.keyword("予約の確認", "予約確認", "予約の変更", "予約変更", "予約の取消", "予約取消", "予約の取り消し",
                   "キャンセル")(mine)
    router.keyword("相談を予約", "相談予約", "予約する", "予約したい")(start)
    router.keyword("相談", "予約", "Zoom", "zoom", "ズーム")(info)
    router.action("consult.info")(info)
    router.action("booking.start")(start)
    router.action("booking.mine")(mine)
    router.action("booking.dates")(dates)
    router.action("booking.date", d=token(8, r"\d{8}"))(date)
    router.action("booking.pick")(pick)
    router.action("booking.slot", s=integer(1))(slot)
    router.action("booking.topic", t=choice(*TOPICS))(topic)
    router.action("booking.skip")(skip_note)
    router.action("booking.confirm", s=integer(1))(confirm)
    router.action("booking.quit")(quit_flow)
    router.action("booking.change", b=integer(1))(change)
    router.action("booking.cancel", optional=("c",), b=integer(1), c=choice("1"))(cancel)
    router.step(FLOW, "note")(note)
