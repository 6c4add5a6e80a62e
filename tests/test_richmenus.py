"""Rich menus: definitions, images, checks, deploy to the emulator, and every button through the bot."""
from __future__ import annotations

import dataclasses
import io
import json
import shutil

import pytest
from PIL import Image

from bot.line.client import LineClient
from handlers import build_router
from richmenus import definitions, render
from richmenus.definitions import NAME_PREFIX

STALE = "このボタンは有効期限が切れたか"


@pytest.fixture(scope="module")
def font():
    try:
        return render.find_font()
    except render.FontMissing as exc:
        pytest.fail(f"{exc} (`make test` installs fonts-noto-cjk)", pytrace=False)


@pytest.fixture(scope="module")
def router():
    return build_router()


def copy_definitions(tmp_path, change=None):
    """menus.json and its images in tmp_path; `change(data)` edits the copy first."""
    data = json.loads(definitions.SOURCE.read_text(encoding="utf-8"))
    if change:
        change(data)
    (tmp_path / "menus.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    shutil.copytree(definitions.SOURCE.parent / "images", tmp_path / "images")
    return tmp_path / "menus.json"


def button(data, menu_id, label):
    menu = next(m for m in data["menus"] if m["id"] == menu_id)
    return next(b for b in menu["buttons"] if b["label"] == label)


def problems_after(tmp_path, router, change):
    return definitions.validate(definitions.load(copy_definitions(tmp_path, change)), router)


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["richmenu", *args])


# ---- images ------------------------------------------------------------------

def test_render_command_draws_every_menu(app, tmp_path, font):
    source = copy_definitions(tmp_path)
    shutil.rmtree(tmp_path / "images")
    result = invoke(app, "render", "--source", str(source))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "images" / "manifest.json").read_text(encoding="utf-8"))
    for menu in definitions.load(source).menus:
        data = (tmp_path / "images" / f"{menu['id']}.png").read_bytes()
        assert len(data) < 1_000_000 and manifest[menu["id"]]["bytes"] == len(data)
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.size) == ("PNG", (2500, 1686))
            colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 20  # drawn, not blank
        assert menu["id"] in result.output


def test_committed_images_fit_line():
    defs = definitions.load()
    for menu in defs.menus:
        data = defs.image_path(menu).read_bytes()
        assert len(data) <= render.MAX_IMAGE_BYTES
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.size) == ("PNG", (2500, 1686))


def test_committed_images_were_drawn_from_the_current_definitions():
    assert render.stale_images(definitions.load()) == [], "run: flask richmenu render"


def test_a_changed_definition_without_a_new_image_is_caught(tmp_path):
    source = copy_definitions(tmp_path, lambda d: button(d, "main-consult", "使い方")
                              .update(label="ヘルプ"))
    [problem] = render.stale_images(definitions.load(source))
    assert "main-consult" in problem and "flask richmenu render" in problem


def test_render_without_the_font_is_one_clear_error(app, tmp_path, monkeypatch):
    def missing():
        raise render.FontMissing("日本語フォント（Noto Sans CJK）が見つかりません。")
    monkeypatch.setattr(render, "find_font", missing)
    result = invoke(app, "render", "--source", str(copy_definitions(tmp_path)))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["エラー: 日本語フォント（Noto Sans CJK）が見つかりません。"]


# ---- checks --------------------------------------------------------------------

def test_the_definitions_are_valid(router):
    assert definitions.validate(definitions.load(), router) == []


def test_every_menu_action_is_the_one_asked_for():
    defs = definitions.load()
    actions = {m["id"]: [(a["action"].get("label"), a["action"]["type"], a["action"].get("data"),
                          a["action"].get("displayText")) for a in definitions.areas(m)]
               for m in defs.menus}
    assert ("求職者マイページにログイン", "postback", "v=1&a=login.show", "マイページにログイン") \
        in actions["main-jobs"]
    assert ("オンライン相談予約", "postback", "v=1&a=consult.info", "オンライン相談予約") \
        in actions["main-consult"]
    assert [a[2] for a in actions["main-jobs"]][1:] == [
        "v=1&a=login.show", "v=1&a=search.menu", "v=1&a=search.saved", "v=1&a=fav.list", "v=1&a=app.list"]
    assert [a[2] for a in actions["main-consult"]][1:] == [
        "v=1&a=consult.info", "v=1&a=event.list", "v=1&a=event.training", "v=1&a=settings.show",
        "v=1&a=help.show"]
    for menu in defs.menus:
        [tab] = [a for a in definitions.areas(menu) if a["action"]["type"] == "richmenuswitch"]
        other = {"main-jobs": "main-consult", "main-consult": "main-jobs"}[menu["id"]]
        assert tab["action"]["richMenuAliasId"] == other and tab["bounds"]["y"] == 0


def test_overlapping_areas(tmp_path, router):
    found = problems_after(tmp_path, router, lambda d: button(d, "main-jobs", "お気に入り")
                           ["bounds"].update(x=700))
    assert "メニュー main-jobs: 「お気に入り」と「保存した条件」の領域が重なっています" in found


def test_area_outside_the_image(tmp_path, router):
    found = problems_after(tmp_path, router, lambda d: button(d, "main-jobs", "応募状況")
                           ["bounds"].update(width=900))
    assert any("「応募状況」の領域" in p and "はみ出しています" in p for p in found), found


def test_unknown_action(tmp_path, router):
    found = problems_after(tmp_path, router, lambda d: button(d, "main-consult", "配信設定")
                           ["action"].update(name="settings.nothing"))
    assert ("メニュー main-consult: ボタン「配信設定」: アクション 「settings.nothing」 は"
            "ボットに登録されていません（handlers の build_router()）") in found


def test_postback_data_too_long(tmp_path, router):
    found = problems_after(tmp_path, router, lambda d: button(d, "main-jobs", "求人を探す")
                           ["action"].update(params={"q": "x" * 290}))
    assert any("「求人を探す」: postback data が 310 文字になります（LINE の上限は 300 文字）" in p
               for p in found), found


def test_parameters_the_action_does_not_take(tmp_path, router):
    found = problems_after(tmp_path, router, lambda d: button(d, "main-jobs", "求人を探す")
                           ["action"].update(params={"q": "1"}))
    assert any("をボットが受け付けません" in p for p in found), found


def test_labels_icons_and_display_text(tmp_path, router):
    def change(data):
        button(data, "main-jobs", "お気に入り")["action"].pop("displayText")
        button(data, "main-jobs", "応募状況")["icon"] = "rocket"
        button(data, "main-jobs", "求人を探す")["label"] = "求人を探す" * 5
    found = "\n".join(problems_after(tmp_path, router, change))
    assert "ボタン「お気に入り」: displayText" in found
    assert "ボタン「応募状況」: アイコン 'rocket' はありません" in found
    assert "label は1〜20文字にしてください" in found


def test_alias_ids_and_tabs(tmp_path, router):
    def change(data):
        data["menus"][0]["aliasId"] = "Main Jobs"
        data["menus"][1]["tabBar"]["tabs"][0]["aliasId"] = "nowhere"
    found = "\n".join(problems_after(tmp_path, router, change))
    assert "aliasId 「Main Jobs」 は [a-z0-9_-] の1〜32文字にしてください" in found
    assert "切替先 aliasId 「nowhere」 のメニューがありません" in found


def test_at_most_twenty_areas(tmp_path, router):
    def change(data):
        menu = data["menus"][0]
        template = menu["buttons"][1]
        menu["buttons"] = [{**template, "bounds": {"x": 120 * i, "y": 1000, "width": 100, "height": 100}}
                           for i in range(20)]
    found = problems_after(tmp_path, router, change)
    assert any("タップ領域が 21 個あります（LINE の上限は 20 個）" in p for p in found), found


# ---- deploy --------------------------------------------------------------------

def ours(emulator):
    return {menu_id: menu for menu_id, menu in emulator.richmenus.menus.items()
            if menu["name"].startswith(NAME_PREFIX)}


def menu_named(emulator, menu_id):
    [found] = [k for k, m in ours(emulator).items() if m["name"].startswith(f"{NAME_PREFIX}{menu_id}:")]
    return found


def test_deploy_creates_menus_images_aliases_and_default(app, emulator):
    result = invoke(app, "deploy")
    assert result.exit_code == 0, result.output
    store = emulator.richmenus
    assert len(ours(emulator)) == 2
    jobs, consult = menu_named(emulator, "main-jobs"), menu_named(emulator, "main-consult")
    assert store.aliases == {"main-jobs": jobs, "main-consult": consult}
    assert store.default == jobs
    defs = definitions.load()
    for menu in defs.menus:
        menu_id = menu_named(emulator, menu["id"])
        assert store.images[menu_id] == ("image/png", defs.image_path(menu).read_bytes())
        stored = store.menus[menu_id]
        assert stored["chatBarText"] == "メニュー" and stored["size"] == {"width": 2500, "height": 1686}
        assert [a["action"] for a in stored["areas"]] == [a["action"] for a in definitions.areas(menu)]
    out = result.stdout
    assert "メニューを作成しました" in out and "画像を登録しました" in out
    assert "エイリアスを作成しました: main-jobs" in out and "デフォルトのメニューにしました: main-jobs" in out
    assert result.stderr == ""


def test_deploy_again_without_changes_creates_nothing(app, emulator):
    assert invoke(app, "deploy").exit_code == 0
    before = dict(emulator.richmenus.menus)
    result = invoke(app, "deploy")
    assert result.exit_code == 0, result.output
    assert emulator.richmenus.menus == before
    assert len(emulator.records(endpoint="richmenu.create")) == 2
    assert emulator.records(endpoint="richmenu.alias.update") == []
    assert emulator.records(endpoint="richmenu.delete") == []
    assert result.stdout.count("変更なし") == 2
    assert "完了しました（作成 0 件、削除 0 件）" in result.stdout


def test_deploy_a_changed_menu_replaces_it(app, emulator, tmp_path, font):
    assert invoke(app, "deploy").exit_code == 0
    old_jobs, consult = menu_named(emulator, "main-jobs"), menu_named(emulator, "main-consult")
    source = copy_definitions(tmp_path, lambda d: button(d, "main-jobs", "応募状況")
                              ["action"].update(displayText="応募状況を見る"))
    assert invoke(app, "render", "--source", str(source)).exit_code == 0
    result = invoke(app, "deploy", "--source", str(source))
    assert result.exit_code == 0, result.output
    new_jobs = menu_named(emulator, "main-jobs")
    assert new_jobs != old_jobs and old_jobs not in emulator.richmenus.menus
    assert menu_named(emulator, "main-consult") == consult
    assert emulator.richmenus.aliases == {"main-jobs": new_jobs, "main-consult": consult}
    assert emulator.richmenus.default == new_jobs
    assert "応募状況を見る" in json.dumps(emulator.richmenus.menus[new_jobs], ensure_ascii=False)
    assert f"エイリアスを更新しました: main-jobs → {new_jobs}" in result.stdout
    assert "古いメニューを削除しました" in result.stdout and "作成 1 件、削除 1 件" in result.stdout


def test_deploy_leaves_other_menus_alone(app, emulator):
    other = {"size": {"width": 2500, "height": 843}, "selected": False, "name": "キャンペーン",
             "chatBarText": "特集", "areas": []}
    with emulator.lock:
        other_id = emulator.richmenus.create(other)
    assert invoke(app, "deploy").exit_code == 0
    assert other_id in emulator.richmenus.menus


def test_dry_run_calls_nothing(app, emulator):
    result = invoke(app, "deploy", "--dry-run")
    assert result.exit_code == 0, result.output
    assert emulator.records() == [] and emulator.rejected() == []
    assert emulator.richmenus.menus == {}
    assert "メニュー main-jobs: hwomura:main-jobs:" in result.stdout
    assert "LINE には接続していません" in result.stdout


def test_deploy_refuses_an_image_older_than_its_definition(app, emulator, tmp_path):
    source = copy_definitions(tmp_path, lambda d: d["menus"][0].update(chatBarText="メニューを開く"))
    result = invoke(app, "deploy", "--source", str(source))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert "main-jobs の画像が定義と合っていません" in line and "flask richmenu render" in line
    assert emulator.records() == []


def test_deploy_refuses_invalid_definitions(app, emulator, tmp_path):
    source = copy_definitions(tmp_path, lambda d: button(d, "main-jobs", "お気に入り")
                              ["action"].update(name="nope"))
    result = invoke(app, "deploy", "--dry-run", "--source", str(source))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("エラー: 定義に問題があります: ") and "「nope」" in line


@pytest.mark.parametrize("endpoint", ["richmenu.list", "richmenu.create", "richmenu.content.upload",
                                      "richmenu.alias.create", "richmenu.default.set"])
def test_line_failing_is_one_line_and_a_non_zero_exit(app, emulator, endpoint):
    emulator.inject(endpoint=endpoint, status=500)
    result = invoke(app, "deploy")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("エラー: ") and "LINE が拒否しました: 500" in line
    # A menu whose image did not arrive is not left behind.
    assert all(menu_id in emulator.richmenus.images for menu_id in emulator.richmenus.menus)


def test_deploy_after_a_failure_finishes_the_job(app, emulator):
    emulator.inject(endpoint="richmenu.default.set", status=500, times=1)
    assert invoke(app, "deploy").exit_code == 1
    result = invoke(app, "deploy")
    assert result.exit_code == 0, result.output
    assert len(ours(emulator)) == 2 and emulator.richmenus.default == menu_named(emulator, "main-jobs")


def test_line_unreachable(app, emulator, monkeypatch):
    # Nothing listens on the discard port: the connection is refused at once.
    settings = dataclasses.replace(app.extensions["bot"].settings, api_base_url="http://127.0.0.1:9")
    client = LineClient(settings)
    monkeypatch.setattr(app.extensions["bot"], "line", client)
    try:
        result = invoke(app, "deploy")
    finally:
        client.close()
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert "LINE に接続できません" in line


# ---- every button through the bot ----------------------------------------------

def test_every_button_gets_an_answer(line):
    user = line.new_user()
    for menu in definitions.load().menus:
        for area in definitions.areas(menu):
            action = area["action"]
            before = len(line.received(user))
            if action["type"] == "richmenuswitch":
                params = {"newRichMenuAliasId": action["richMenuAliasId"], "status": "SUCCESS"}
                assert line.tap(user, action["data"], params=params).status_code == 200
                # Switching tabs is the menu's own business: the bot says nothing.
                assert line.received(user)[before:] == [], action
                continue
            assert line.tap(user, action["data"]).status_code == 200
            replies = line.received(user)[before:]
            assert replies, action
            assert STALE not in json.dumps(replies, ensure_ascii=False), action
