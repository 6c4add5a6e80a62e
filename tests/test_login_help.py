"""My Page deep links and help: content a job seeker relies on."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from bot import links


@pytest.mark.parametrize("word", ["マイページ", "ログインしたい", "パスワードを忘れた", "求職状態が無効"])
def test_login_links(line, word):
    user = line.new_user()
    line.say(user, word)
    [flex] = line.received(user)
    assert flex["type"] == "flex"
    text = json.dumps(flex, ensure_ascii=False)
    uris = [a["uri"] for a in _actions(flex) if a["type"] == "uri"]
    assert links.MYPAGE_LOGIN in uris and links.NEW_REGISTRATION in uris and links.PASSWORD_RESET in uris
    for phrase in ["8〜32文字", "50分以内", "迷惑メール", "1年以内", "0957-40-0032"]:
        assert phrase in text


def _actions(node):
    if isinstance(node, dict):
        if "action" in node:
            yield node["action"]
        for value in node.values():
            yield from _actions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _actions(item)


def test_all_external_links_are_https():
    for name, url in links.EXTERNAL.items():
        assert urlsplit(url).scheme == "https", name


def test_help_says_how_to_stop_and_whom_to_call(line):
    user = line.new_user()
    line.say(user, "使い方")
    text = json.dumps(line.received(user), ensure_ascii=False)
    assert "配信設定" in text and "ブロック" in text and "0957-40-0032" in text


def test_privacy_page(client):
    response = client.get("/privacy")
    assert response.status_code == 200
    assert "個人情報の取り扱い" in response.get_data(as_text=True)


@pytest.mark.parametrize("word", ["相談したい", "予約", "Zoomで相談"])
def test_consultation_keywords_give_the_office_schedule(line, word):
    user = line.new_user()
    line.say(user, word)
    text = json.dumps(line.received(user), ensure_ascii=False)
    assert "水・木・金曜日" in text and "10時・11時・15時" in text and "2開庁日前" in text and "0957-40-0032" in text


@pytest.mark.parametrize("path", ["/privacy", "/healthz"])
def test_own_pages_send_security_headers(client, path):
    answer = client.get(path)
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "script-src" not in answer.headers["Content-Security-Policy"]  # default-src 'none' covers scripts
