"""配信設定: each friend chooses which pushes they get, can stop all, and tells us area and interests."""
from __future__ import annotations

from bot import messages, preferences
from bot.jobs import reference
from bot.models.preferences import TOPICS
from bot.router import Context, Router, choice, encode_postback


def _show(ctx: Context, note: str | None = None):
    prefs = preferences.get(ctx.session, ctx.user.id)
    rows = [{"topic": t, "label": preferences.TOPIC_LABELS[t], "on": bool(getattr(prefs, t))} for t in TOPICS]
    interests = [reference.OCCUPATION_MAJOR_LABELS[c] for c in prefs.interests or []]
    result = messages.render(
        "settings.json.j2", rows=rows, stopped=prefs.stopped,
        area=reference.MUNICIPALITIES.get(prefs.municipality_code or "", "未設定"),
        interests="・".join(interests) or "未設定")
    return ([messages.text(note)] if note else []) + result


def show(ctx: Context):
    return _show(ctx)


def set_topic(ctx: Context):
    prefs = preferences.edit(ctx.session, ctx.user.id)
    topic, on = ctx.params["t"], ctx.params["on"] == "1"
    setattr(prefs, topic, on)
    label = preferences.TOPIC_LABELS[topic]
    note = f"「{label}」を受け取る設定にしました。" if on else f"「{label}」の配信を停止しました。"
    if on and prefs.stopped:
        note += "\nいまは「すべて停止」中のため、再開するまで届きません。"
    return _show(ctx, note)


def stop_all(ctx: Context):
    prefs = preferences.edit(ctx.session, ctx.user.id)
    prefs.stopped = ctx.params["on"] == "1"
    note = ("すべてのお知らせの配信を停止しました。お問い合わせへの返信は引き続きお送りします。"
            if prefs.stopped else "お知らせの配信を再開しました。")
    return _show(ctx, note)


def ask_area(ctx: Context):
    items = [{"type": "postback", "label": name, "data": encode_postback("settings.area", m=code),
              "displayText": name} for code, name in reference.MUNICIPALITIES.items()]
    items.append({"type": "postback", "label": "設定しない", "data": encode_postback("settings.area", m="none"),
                  "displayText": "設定しない"})
    return [messages.text("お住まいの地域を選んでください。地域に合わせたお知らせをお送りします。", items)]


def set_area(ctx: Context):
    prefs = preferences.edit(ctx.session, ctx.user.id)
    code = ctx.params["m"]
    prefs.municipality_code = None if code == "none" else code
    name = reference.MUNICIPALITIES.get(code)
    return _show(ctx, f"お住まいの地域を「{name}」に設定しました。" if name else "お住まいの地域の設定を外しました。")


def ask_interests(ctx: Context):
    prefs = preferences.get(ctx.session, ctx.user.id)
    chosen = set(prefs.interests or [])
    return messages.render("interests.json.j2", choices=[
        {"code": c, "label": label, "on": c in chosen} for c, label in reference.OCCUPATION_MAJOR_LABELS.items()])


def toggle_interest(ctx: Context):
    prefs = preferences.edit(ctx.session, ctx.user.id)
    code = ctx.params["o"]
    chosen = list(prefs.interests or [])
    now_on = code not in chosen
    prefs.interests = sorted(set(chosen) ^ {code})  # a new list, so the JSON change is seen
    label = reference.OCCUPATION_MAJOR_LABELS[code]
    note = f"関心のある職種に「{label}」を加えました。" if now_on else f"関心のある職種から「{label}」を外しました。"
    return [messages.text(note)] + ask_interests(ctx)


def register(router: Router) -> None:
    router.keyword("配信設定", "通知設定", "配信停止", "お知らせ設定")(show)
    router.action("settings.show")(show)
    router.action("settings.topic", t=choice(*TOPICS), on=choice("0", "1"))(set_topic)
    router.action("settings.stop", on=choice("0", "1"))(stop_all)
    router.action("settings.ask_area")(ask_area)
    router.action("settings.area", m=choice("none", *reference.MUNICIPALITIES))(set_area)
    router.action("settings.interests")(ask_interests)
    router.action("settings.interest", o=choice(*reference.OCCUPATION_MAJORS))(toggle_interest)
