"""Every Flex template renders with sample data into messages LINE would accept."""
from __future__ import annotations

import pytest

from bot import links, messages
from bot.booking.present import ZOOM_DOWNLOAD, schedule
from bot.booking.rules import Rules
from bot.jobs import catalogue, reference
from bot.jobs.present import card
from bot.line.limits import LimitError, check_messages
from bot.models import Job, SavedSearch
from handlers import build_router
from handlers.menu import quick_replies
from tests import factories


def sample_card(**overrides):
    row = factories.job(**overrides)
    return card(Job(**row, **catalogue.derived(row)))


OPEN_CARDS = [sample_card(occupation="介護職員\"<script>", company_name="社会福祉法人 ながさき福祉会" * 3,
                          description="あ" * 2000, online_application=True) for _ in range(10)]
CLOSED = sample_card(status="無効")
SAVED = [SavedSearch(id=i, slot=i, name=f"大村市・介護{i}", conditions={}) for i in (1, 2, 3)]
RESULTS = dict(cards=OPEN_CARDS, total=1234, first=11, last=20, summary="大村市・介護・正社員", recent_id=99,
               page=2, has_next=True, search_url=links.JOB_SEARCH)

BOOKING = {"id": 7, "when": "12月2日(水) 10:00〜10:30", "topic": "面接の受け方", "note": "<script>\"" * 40,
           "zoom_url": "https://zoom.example.test/j/123", "meeting_id": "123 4567 8901", "passcode": "abc<>",
           "has_details": True, "deadline": "11月30日(月)", "can_change": True, "zoom_download": ZOOM_DOWNLOAD}

SAMPLES = {
    "greeting.json.j2": dict(name="大村 花子\"<>", came_back=False, privacy_url="https://hw-omura.test/privacy",
                             office="ハローワーク大村", quick_replies=quick_replies()),
    "login.json.j2": dict(links=links),
    "help.json.j2": dict(links=links, quick_replies=quick_replies()),
    "consultation.json.j2": dict(links=links, s=schedule(Rules())),
    "booking.json.j2": dict(links=links, heading="ご予約を受け付けました", intro="明日は相談日です。" * 20, b=BOOKING),
    "booking_confirm.json.j2": dict(when="12月2日(水) 10:00〜10:30", topic="面接の受け方", note="あ\"<b>" * 50,
                                    slot_id=12, minutes=30),
    "search_menu.json.j2": dict(form_url="https://hw-omura.test/search/form?t=" + "x" * 200),
    "job_results.json.j2": RESULTS,
    "job_detail.json.j2": dict(card=OPEN_CARDS[0], similar=[], can_save=True),
    "job_apply.json.j2": dict(card=OPEN_CARDS[0], links=links),
    "saved_searches.json.j2": dict(searches=SAVED, replace_recent=None, intro="保存した検索条件(3/3件)"),
    "settings.json.j2": dict(rows=[{"topic": t, "label": "セミナー", "on": i % 2 == 0} for i, t in
                                   enumerate(["events", "training", "recommendations", "notices"])],
                             stopped=False, area="大村市", interests="サービス・事務"),
    "interests.json.j2": dict(choices=[{"code": c, "label": label, "on": c == "E"}
                                       for c, label in reference.OCCUPATION_MAJOR_LABELS.items()]),
    "events.json.j2": dict(heading="セミナー・イベント", cards=[
        {"id": i + 1, "kind": "セミナー", "title": "面接対策セミナー<b>" * 3, "body": "内容" * 500, "when": "12月3日(水) 13:30〜15:00",
         "place": "ハローワーク大村", "places": "定員20名・残り3名", "registered": i == 1, "can_join": i == 0,
         "apply_method": "link" if i == 2 else "line", "apply_url": "https://example.test/apply",
         "image_url": "https://hw-omura.test/media/events/a.jpg" if i == 0 else None} for i in range(10)]),
    "applications.json.j2": dict(heading="応募中の求人", total=12, finished=False, page=1, has_next=True,
                                 other={"type": "postback", "label": "選考が終わった求人",
                                        "data": "v=1&a=app.list&s=done", "displayText": "選考が終わった求人"},
                                 items=[{"id": i + 1, "card": OPEN_CARDS[i] if i else CLOSED, "route": "窓口紹介",
                                         "status": "応募中", "applied": "2026年11月25日", "can_withdraw": i % 2 == 0}
                                        for i in range(10)]),
    "favorites.json.j2": dict(cards=OPEN_CARDS[:9] + [CLOSED], total=300, first=1, last=10, page=1,
                              has_next=True, limit=300),
    "recommendations.json.j2": dict(cards=OPEN_CARDS, basis="大村市・介護・正社員" * 30),
    "staff_recommendation.json.j2": dict(cards=[{**c, "item": i + 1} for i, c in enumerate(OPEN_CARDS)],
                                         deadline="2026年12月2日(水)", message="<b>ぜひ</b>\"ご検討ください" * 40),
}
VARIANTS = [
    ("booking.json.j2", dict(links=links, heading="ご予約内容", b={**BOOKING, "has_details": False, "zoom_url": None,
                                                               "can_change": False, "note": ""})),
    ("booking_confirm.json.j2", dict(when="12月2日(水) 10:00〜10:30", topic="その他", note="", slot_id=1,
                                     minutes=30, changing=True)),
    ("job_detail.json.j2", dict(card=CLOSED, similar=OPEN_CARDS[:3], can_save=True)),
    ("job_results.json.j2", {**RESULTS, "has_next": False, "cards": OPEN_CARDS[:1]}),
    ("saved_searches.json.j2", dict(searches=SAVED, replace_recent=5, intro="3件までです")),
    ("settings.json.j2", dict(rows=[], stopped=True, area="未設定", interests="未設定")),
]


def test_every_template_has_sample_data():
    assert sorted(SAMPLES) == messages.template_names()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_template_renders_to_valid_messages(name):
    dicts = messages.render_dicts(name, **SAMPLES[name])
    check_messages(dicts)
    assert all(m.to_dict() for m in messages.render(name, **SAMPLES[name]))


@pytest.mark.parametrize("name, values", list(SAMPLES.items()) + VARIANTS)
def test_every_postback_in_every_template_reaches_a_handler(name, values):
    router = build_router()
    for message in messages.render_dicts(name, **values):
        for action in _actions(message):
            if action["type"] == "postback":
                decoded, _ = router.decode_postback(action["data"])
                assert decoded.handler is not None


def test_variants_render():
    for name, values in VARIANTS:
        check_messages(messages.render_dicts(name, **values))


def _actions(node):
    if isinstance(node, dict):
        if isinstance(node.get("action"), dict):
            yield node["action"]
        for value in node.values():
            yield from _actions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _actions(item)


def test_values_cannot_break_the_json():
    [greeting, _] = messages.render_dicts("greeting.json.j2", **{**SAMPLES["greeting.json.j2"],
                                                                 "name": '"},{"type":"x'})
    assert greeting["text"].startswith('"},{"type":"x')


def test_a_broken_template_becomes_the_plain_text_fallback(caplog):
    [message] = messages.render("greeting.json.j2")  # missing values
    assert message.to_dict() == {"type": "text", "text": messages.FALLBACK_TEXT}
    assert "greeting.json.j2" in caplog.text


@pytest.mark.parametrize("bad", [
    [],
    [{"type": "text", "text": "x"}] * 6,
    [{"type": "text", "text": "あ" * 5001}],
    [{"type": "flex", "altText": "", "contents": {"type": "bubble"}}],
    [{"type": "text", "text": "x", "quickReply": {"items": [
        {"type": "action", "action": {"type": "message", "label": "あ" * 21, "text": "x"}}]}}],
    [{"type": "text", "text": "x", "quickReply": {"items": [
        {"type": "action", "action": {"type": "message", "label": "a", "text": "x"}}] * 14}}],
    [{"type": "flex", "altText": "x", "contents": {"type": "bubble", "footer": {"type": "box", "layout": "vertical",
      "contents": [{"type": "button", "action": {"type": "postback", "label": "x", "data": "d" * 301}}]}}}],
    [{"type": "flex", "altText": "x", "contents": {"type": "carousel", "contents": [{"type": "bubble"}] * 13}}],
    [{"type": "flex", "altText": "x", "contents": {"type": "bubble", "footer": {"type": "box", "layout": "vertical",
      "contents": [{"type": "button", "action": {"type": "uri", "label": "x", "uri": "javascript:alert(1)"}}]}}}],
])
def test_limits(bad):
    with pytest.raises(LimitError):
        check_messages(bad)


def test_a_job_bubble_shows_the_listing_as_it_is_now():
    # Job bubbles are rendered once per card content (messages.job_face): the same card gives the same
    # bubble, and a listing that closed or changed its wage shows the change at once.
    def bubble(card):
        [carousel] = messages.render_dicts("job_results.json.j2", **{**RESULTS, "cards": [card]})
        return carousel["contents"]["contents"][0]

    row = factories.job(job_number="42010-00777771", wage_min=180_000, wage_max=220_000)
    open_card = card(Job(**row, **catalogue.derived(row)))
    first = bubble(open_card)
    assert bubble(dict(open_card)) == first
    closed_row = {**row, "status": "無効"}
    closed = bubble(card(Job(**closed_row, **catalogue.derived(closed_row))))
    assert closed["header"]["contents"][0]["text"] == "募集終了"
    assert closed["header"]["backgroundColor"] == "#777777" and first["header"]["backgroundColor"] == "#1E6FBA"
    raised_row = {**row, "wage_min": 250_000, "wage_max": 250_000}
    raised = bubble(card(Job(**raised_row, **catalogue.derived(raised_row))))
    texts = [c["contents"][1]["text"] for c in raised["body"]["contents"][1:] if c.get("layout") == "baseline"]
    assert any("250,000円" in t for t in texts) and not any("180,000円" in t for t in texts)
    assert bubble(open_card) == first
