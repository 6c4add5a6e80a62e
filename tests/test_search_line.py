"""求人を探す in LINE, through signed webhooks, observed at the emulator."""
from __future__ import annotations

import json

import time_machine
from sqlalchemy import func, select

from bot.models import SavedSearch
from tests.factories import add_jobs, job


def last(line, user):
    return line.received(user)[-1]


def postbacks(message) -> dict[str, str]:
    """label -> data of every postback button or quick reply in a message."""
    return dict(postback_list(message))


def postback_list(message) -> list[tuple[str, str]]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            action = node.get("action")
            if isinstance(action, dict) and action.get("type") == "postback":
                found.append((action["label"], action["data"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(message)
    return found


def bubble_titles(message):
    return [b["header"]["contents"][1]["text"] for b in message["contents"]["contents"] if "header" in b]


def wizard(line, user, area="大村市", occupation="サービス", employment="こだわらない", words="なし"):
    line.say(user, "求人を探したい")
    line.tap(user, postbacks(last(line, user))["かんたん検索"])
    for label in (area, occupation, employment):
        line.tap(user, postbacks(last(line, user))[label])
    line.say(user, words)
    return last(line, user)


def test_quick_reply_search_end_to_end(line, db):
    add_jobs(db, job(occupation="介護職員", occupation_major="E"),
             job(occupation="調理補助", occupation_major="E", municipality_code="42323"),
             job(occupation="一般事務", occupation_major="C"))
    user = line.new_user()
    results = wizard(line, user)
    assert results["type"] == "flex" and results["altText"].startswith("求人検索の結果:1件")
    assert bubble_titles(results) == ["介護職員"]
    summary = results["contents"]["contents"][-1]
    assert "1件見つかりました" in json.dumps(summary, ensure_ascii=False)
    assert "次の10件" not in postbacks(results)


def test_keywords_step_and_paging(line, db):
    add_jobs(db, *[job(occupation=f"介護職員{i:02d}", occupation_major="E") for i in range(23)])
    user = line.new_user()
    results = wizard(line, user, area="こだわらない", occupation="こだわらない", words="介護")
    assert results["altText"].startswith("求人検索の結果:23件")
    assert len(bubble_titles(results)) == 10
    line.tap(user, postbacks(results)["次の10件"])
    page2 = last(line, user)
    assert "11〜20件目" in json.dumps(page2, ensure_ascii=False)
    line.tap(user, postbacks(page2)["次の10件"])
    page3 = last(line, user)
    assert len(bubble_titles(page3)) == 3 and "次の10件" not in postbacks(page3)


def test_no_hits_suggests_wider_conditions(line, db):
    user = line.new_user()
    reply = wizard(line, user, words="宇宙飛行士")
    assert "見つかりませんでした" in reply["text"] and "条件を広げて" in reply["text"]


def test_a_bad_keyword_keeps_the_step(line, db):
    user = line.new_user()
    reply = wizard(line, user, words="あ" * 101)
    assert "100文字以内" in reply["text"]
    line.say(user, "なし")
    assert last(line, user)["type"] in ("flex", "text")


def test_wizard_left_midway_expires_and_says_so(line, db):
    user = line.new_user()
    line.say(user, "求人")
    line.tap(user, postbacks(last(line, user))["かんたん検索"])
    area_buttons = postbacks(last(line, user))
    with time_machine.travel(__import__("datetime").datetime.now().astimezone() +
                             __import__("datetime").timedelta(hours=2), tick=False):
        line.tap(user, area_buttons["大村市"])
        assert "時間が経ったため" in last(line, user)["text"]


def test_forged_wizard_step_is_refused(line, db):
    user = line.new_user()
    line.say(user, "求人")
    line.tap(user, postbacks(last(line, user))["かんたん検索"])
    line.tap(user, "v=1&a=search.qr&s=emp&c=正社員")  # skipping the area step
    assert "もう一度" in last(line, user)["text"]


def save_from_results(line, user, words):
    results = wizard(line, user, area="こだわらない", occupation="こだわらない", words=words)
    line.tap(user, postbacks(results)["この条件を保存"])
    return last(line, user)


def test_save_list_run_rename_delete(line, db):
    add_jobs(db, job(occupation="介護職員", occupation_major="E"))
    user = line.new_user()
    saved = save_from_results(line, user, "介護")
    assert saved["text"].startswith("検索条件を「「介護」」として保存しました")
    line.say(user, "保存した条件")
    listing = last(line, user)
    assert listing["altText"] == "保存した検索条件(1/3件)"
    line.tap(user, postbacks(listing)["この条件で検索"])
    assert bubble_titles(last(line, user)) == ["介護職員"]
    line.tap(user, postbacks(listing)["名前を変更"])
    line.say(user, "大村の介護")
    assert last(line, user)["text"] == "名前を「大村の介護」に変更しました。"
    line.tap(user, postbacks(listing)["削除"])
    line.tap(user, postbacks(last(line, user))["削除する"])
    assert "削除しました" in last(line, user)["text"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SavedSearch)) == 0


def test_rename_refuses_an_overlong_name(line, db):
    user = line.new_user()
    save_from_results(line, user, "介護")
    line.say(user, "保存した条件")
    line.tap(user, postbacks(last(line, user))["名前を変更"])
    line.say(user, "長" * 21)
    assert "1〜20文字" in last(line, user)["text"]
    line.say(user, "短い名前")
    assert "短い名前" in last(line, user)["text"]


def test_fourth_save_is_refused_with_the_list_and_can_replace(line, db):
    user = line.new_user()
    for word in ("介護", "看護", "事務"):
        save_from_results(line, user, word)
    refusal = save_from_results(line, user, "調理")
    assert refusal["altText"] == "保存できる検索条件は3件までです。置き換える条件を選んでください。"
    assert len(refusal["contents"]["contents"]) == 3
    line.tap(user, postback_list(refusal)[1][1])
    assert last(line, user)["text"] == "「「看護」」を「「調理」」に置き換えて保存しました。"
    with db.session() as s:
        names = s.scalars(select(SavedSearch.name).order_by(SavedSearch.slot)).all()
    assert names == ["「介護」", "「調理」", "「事務」"]


def test_parallel_saves_never_exceed_three(app, line, db):
    user = line.new_user()
    results = wizard(line, user, area="こだわらない", occupation="こだわらない", words="介護")
    data = postbacks(results)["この条件を保存"]
    line.tap_at_once(app, [(user, data)] * 6)
    with db.session() as s:
        slots = s.scalars(select(SavedSearch.slot).order_by(SavedSearch.slot)).all()
    assert slots == [1, 2, 3]
    texts = [m.get("altText") or m.get("text") for m in line.received(user)[-6:]]
    assert sum("保存しました" in t for t in texts) == 3
    assert sum("3件までです" in t for t in texts) == 3


def test_someone_elses_saved_search_is_not_found(line, db):
    owner, other = line.new_user(), line.new_user()
    save_from_results(line, owner, "介護")
    with db.session() as s:
        saved_id = s.scalar(select(SavedSearch.id))
    for data in (f"v=1&a=search.run&s={saved_id}", f"v=1&a=search.delete&s={saved_id}&c=1",
                 f"v=1&a=search.rename&s={saved_id}"):
        line.tap(other, data)
        assert "見つかりませんでした" in last(line, other)["text"]
    line.tap(other, "v=1&a=search.page&r=1&p=2")
    assert "もう一度" in last(line, other)["text"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SavedSearch)) == 1


def test_unknown_short_text_is_offered_as_search_words(line, db):
    add_jobs(db, job(occupation="介護職員", occupation_major="E"), job(occupation="一般事務", occupation_major="C"))
    user = line.new_user()
    line.say(user, "介護")
    reply = last(line, user)
    assert "読み取れませんでした" in reply["text"]
    line.tap(user, postbacks(reply)["「介護」で求人検索"])
    assert bubble_titles(last(line, user)) == ["介護職員"]
    line.tap(user, "v=1&a=search.words&q=" + "あ" * 41)
    assert "もう一度お選びください" in last(line, user)["text"]


def test_only_the_latest_twenty_searches_are_kept_and_their_carousels_still_page(line, db):
    from bot.jobs.saved import RECENT_KEPT
    from handlers.search import EXPIRED
    from bot.models import RecentSearch, User

    add_jobs(db, *[job(occupation=f"介護職員{i:02d}", occupation_major="E") for i in range(12)])
    user = line.new_user()
    line.follow(user)
    carousels = []
    for _ in range(RECENT_KEPT + 3):
        line.tap(user, "v=1&a=search.words&q=介護")
        carousels.append(last(line, user))
    with db.session() as s:
        kept = s.scalars(select(RecentSearch.id).join(User, User.id == RecentSearch.user_id)
                         .where(User.line_user_id == user).order_by(RecentSearch.id)).all()
    assert len(kept) == RECENT_KEPT
    line.tap(user, postbacks(carousels[-1])["次の10件"])  # the newest still pages
    assert len(bubble_titles(last(line, user))) == 2
    line.tap(user, postbacks(carousels[0])["次の10件"])  # the oldest was pruned: said so, not an error
    assert last(line, user)["text"] == EXPIRED
