"""The conditions form opened from LINE: signed links, CSRF, validation, results pushed to the chat."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import func, select

from bot import signed_links
from bot.line.dispatcher import Dispatcher, DispatcherConfig
from bot.models import OutboxMessage, SavedSearch
from tests.factories import add_jobs, job


@pytest.fixture
def friend(line):
    user = line.new_user()
    line.follow(user)
    return user


def form_url(app, user):
    return signed_links.make(app.extensions["bot"].settings, "search-form", user, "/search/form")


def path(url):
    return url.split("https://hw-omura.test", 1)[1]


def open_form(client, app, user):
    response = client.get(path(form_url(app, user)))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    token = re.search(r'name="t" value="([^"]+)"', html).group(1)
    return html, {"csrf_token": csrf, "t": token}


def outbox_rows(db):
    with db.session() as s:
        return s.scalars(select(OutboxMessage)).all()


def deliver(app):
    worker = Dispatcher(app.extensions["bot"], DispatcherConfig(idle_wait=0.01, backoff_base=0.01))
    worker.run(until_idle=True)
    worker.close()


def test_form_shows_in_japanese(client, app, friend):
    html, _ = open_form(client, app, friend)
    answer = client.get(path(form_url(app, friend)))
    # Opened from LINE: no other site may frame it (clickjacking of the search and save buttons).
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    for label in ("働く場所", "大村市", "波佐見町", "雇用形態", "賃金の下限", "土日祝休み", "キーワード", "この条件で検索する"):
        assert label in html


def test_search_sends_the_results_to_the_chat(client, app, friend, db, line, emulator):
    add_jobs(db, job(occupation="介護職員", occupation_major="E", municipality_code="42321"),
             job(occupation="調理補助", occupation_major="E", municipality_code="42205"))
    _, fields = open_form(client, app, friend)
    response = client.post("/search/form", data={**fields, "municipalities": ["42321"], "keywords": "介護",
                                                  "wage_unit": "月給", "sort": "new", "search": "1"})
    assert response.status_code == 200
    assert "検索結果をLINEのトークに送りました" in response.get_data(as_text=True)
    deliver(app)
    pushed = line.received(friend)[-1]
    assert pushed["altText"].startswith("求人検索の結果:1件(東彼杵町・「介護」)")


def test_search_and_save_with_a_name(client, app, friend, db):
    _, fields = open_form(client, app, friend)
    response = client.post("/search/form", data={**fields, "occupation_major": "E", "save_name": "介護の仕事",
                                                  "wage_unit": "月給", "sort": "new", "save": "1"})
    assert response.status_code == 200
    with db.session() as s:
        [saved] = s.scalars(select(SavedSearch)).all()
    assert saved.name == "介護の仕事" and saved.conditions == {"occupation_major": "E"}


def test_fourth_save_from_the_form_is_refused_and_nothing_is_sent(client, app, friend, db):
    for i in range(3):
        _, fields = open_form(client, app, friend)
        client.post("/search/form", data={**fields, "keywords": f"語{i}", "wage_unit": "月給", "sort": "new",
                                          "save": "1"})
    rows_before = len(outbox_rows(db))
    _, fields = open_form(client, app, friend)
    response = client.post("/search/form", data={**fields, "keywords": "四つ目", "wage_unit": "月給",
                                                  "sort": "new", "save": "1"})
    assert response.status_code == 400 and "3件までです" in response.get_data(as_text=True)
    assert len(outbox_rows(db)) == rows_before
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SavedSearch)) == 3


@pytest.mark.parametrize("bad, message", [
    ({"min_wage": "abc"}, "数字(半角または全角)だけで"),
    ({"min_wage": "0"}, "1円以上"),
    ({"keywords": "あ" * 101}, "100文字以内"),
    ({"keywords": " ".join(["語"] * 11)}, "10個まで"),
    ({"municipalities": ["99999"]}, "選択肢が正しくありません"),
    ({"occupation_major": "Z"}, "選択肢が正しくありません"),
    ({"wage_unit": "年俸"}, "選択肢が正しくありません"),
    ({"save_name": "長" * 21}, "20文字以内"),
])
def test_malformed_input_gets_a_clear_error_and_nothing_is_saved(client, app, friend, db, bad, message):
    _, fields = open_form(client, app, friend)
    response = client.post("/search/form", data={**fields, "wage_unit": "月給", "sort": "new", "save": "1", **bad})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "入力内容を確認してください" in html and message in html
    assert outbox_rows(db) == []
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SavedSearch)) == 0


def test_post_without_csrf_token_is_refused(client, app, friend, db):
    _, fields = open_form(client, app, friend)
    response = client.post("/search/form", data={"t": fields["t"], "wage_unit": "月給", "sort": "new",
                                                  "search": "1"})
    assert response.status_code == 400
    assert outbox_rows(db) == []


def test_expired_link_says_so(client, app, friend):
    url = path(form_url(app, friend))
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=31)):
        response = client.get(url)
    assert response.status_code == 403 and "有効期限が切れました" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["", "garbage", "eyJ1IjoiVTEyMyJ9.aaaa.bbbb"])
def test_foreign_or_tampered_link_is_refused(client, token):
    response = client.get(f"/search/form?t={token}")
    assert response.status_code == 403 and "このリンクは無効です" in response.get_data(as_text=True)


def test_a_link_made_for_another_purpose_is_refused(client, app, friend):
    other = signed_links.make(app.extensions["bot"].settings, "something-else", friend, "/search/form")
    assert client.get(path(other)).status_code == 403


def test_link_of_someone_who_blocked_the_account_is_refused(client, app, line, friend):
    from simulator import webhook_events as ev

    line.post(ev.unfollow(friend))
    response = client.get(path(form_url(app, friend)))
    assert response.status_code == 200  # the page opens, but nothing is sent for them
    html = response.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    token = re.search(r'name="t" value="([^"]+)"', html).group(1)
    answer = client.post("/search/form", data={"csrf_token": csrf, "t": token, "wage_unit": "月給",
                                                "sort": "new", "search": "1"})
    assert answer.status_code == 403 and "友だち登録が確認できませんでした" in answer.get_data(as_text=True)


def test_the_menu_links_to_the_form(line, friend, client):
    line.say(friend, "求人")
    menu = line.received(friend)[-1]
    uri = next(b["action"]["uri"] for b in menu["contents"]["footer"]["contents"] if b["action"]["type"] == "uri")
    assert client.get(path(uri)).status_code == 200
