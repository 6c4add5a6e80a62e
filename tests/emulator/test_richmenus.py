"""Rich menus: the whole life cycle through the SDK, and LINE's rules."""
import copy
import io

import pytest
from linebot.v3.messaging import (ApiException, CreateRichMenuAliasRequest, PostbackAction,
                                  RichMenuArea, RichMenuBounds, RichMenuBulkLinkRequest,
                                  RichMenuBulkUnlinkRequest, RichMenuRequest, RichMenuSize,
                                  RichMenuSwitchAction, UpdateRichMenuAliasRequest)
from linebot.v3.messaging.exceptions import NotFoundException

from .conftest import USER_A, USER_B, USER_C
from .images import png

PNG = {"Content-Type": "image/png"}


def menu_request(name="メイン", height=843, chat_bar="メニュー"):
    half = RichMenuBounds(x=0, y=0, width=1250, height=height)
    other = RichMenuBounds(x=1250, y=0, width=1250, height=height)
    return RichMenuRequest(
        size=RichMenuSize(width=2500, height=height), selected=True, name=name,
        chat_bar_text=chat_bar, areas=[
            RichMenuArea(bounds=half, action=PostbackAction(label="求人検索", data="menu=jobs")),
            RichMenuArea(bounds=other, action=RichMenuSwitchAction(
                label="次へ", rich_menu_alias_id="second", data="switch=second")),
        ])


def menu_json(**changes):
    body = menu_request().to_dict()
    body.update(changes)
    return body


@pytest.fixture
def menu(api, blob):
    """A rich menu with its image uploaded."""
    menu_id = api.create_rich_menu(menu_request()).rich_menu_id
    blob.set_rich_menu_image(menu_id, png(2500, 843), _headers=PNG)
    return menu_id


def test_life_cycle_through_the_sdk(api, blob, state, users):
    first = api.create_rich_menu(menu_request("first")).rich_menu_id
    second = api.create_rich_menu(menu_request("second", height=1686)).rich_menu_id
    assert first.startswith("richmenu-") and first != second

    image = png(2500, 843)
    blob.set_rich_menu_image(first, image, _headers=PNG)
    blob.set_rich_menu_image(second, png(2500, 1686), _headers=PNG)
    assert bytes(blob.get_rich_menu_image(first)) == image

    api.set_default_rich_menu(first)
    assert api.get_default_rich_menu_id().rich_menu_id == first

    api.create_rich_menu_alias(CreateRichMenuAliasRequest(
        rich_menu_alias_id="main", rich_menu_id=first))
    api.update_rich_menu_alias("main", UpdateRichMenuAliasRequest(rich_menu_id=second))
    assert api.get_rich_menu_alias("main").rich_menu_id == second
    assert [a.rich_menu_alias_id for a in api.get_rich_menu_alias_list().aliases] == ["main"]

    api.link_rich_menu_id_to_user(USER_A, second)
    assert api.get_rich_menu_id_of_user(USER_A).rich_menu_id == second
    api.unlink_rich_menu_id_from_user(USER_A)
    with pytest.raises(NotFoundException):
        api.get_rich_menu_id_of_user(USER_A)

    api.link_rich_menu_id_to_users(RichMenuBulkLinkRequest(
        rich_menu_id=first, user_ids=[USER_A, USER_B]))
    assert api.get_rich_menu_id_of_user(USER_B).rich_menu_id == first
    api.unlink_rich_menu_id_from_users(RichMenuBulkUnlinkRequest(user_ids=[USER_B]))
    with pytest.raises(NotFoundException):
        api.get_rich_menu_id_of_user(USER_B)
    assert api.get_rich_menu_id_of_user(USER_A).rich_menu_id == first

    fetched = api.get_rich_menu(first)
    assert (fetched.name, fetched.chat_bar_text, fetched.size.height) == ("first", "メニュー", 843)
    assert {m.rich_menu_id for m in api.get_rich_menu_list().richmenus} == {first, second}

    api.delete_rich_menu(first)
    with pytest.raises(NotFoundException):
        api.get_rich_menu(first)
    with pytest.raises(NotFoundException):
        api.get_default_rich_menu_id()
    api.cancel_default_rich_menu()

    endpoints = [r["endpoint"] for r in state.records()]
    assert endpoints[:4] == ["richmenu.create", "richmenu.create",
                             "richmenu.content.upload", "richmenu.content.upload"]
    assert "richmenu.bulk.link" in endpoints and "richmenu.alias.update" in endpoints
    # The last lookup for USER_B was a 404: refused calls are not records.
    assert [r["endpoint"] for r in state.records(user_id=USER_B)] == [
        "richmenu.bulk.link", "richmenu.user.get", "richmenu.bulk.unlink"]
    assert state.rejected(endpoint="richmenu.user.get")[-1]["status"] == 404


def test_validate_endpoint(api, raw):
    api.validate_rich_menu_object(menu_request())
    assert raw("POST", "/v2/bot/richmenu/validate", menu_json(chatBarText="x" * 15)).status == 400


@pytest.mark.parametrize("width, height, ok", [
    (2500, 1686, True), (2500, 843, True), (1200, 810, True), (800, 250, True),
    (2501, 843, False), (799, 300, False), (1000, 249, False), (1000, 700, False),
])
def test_size_rules(raw, width, height, ok):
    body = menu_json(size={"width": width, "height": height},
                     areas=[{"bounds": {"x": 0, "y": 0, "width": width, "height": height},
                             "action": {"type": "postback", "data": "x"}}])
    answer = raw("POST", "/v2/bot/richmenu", body)
    assert (answer.status == 200) is ok, answer.data


def test_at_most_20_areas(raw):
    area = {"bounds": {"x": 0, "y": 0, "width": 100, "height": 100},
            "action": {"type": "postback", "data": "x"}}
    assert raw("POST", "/v2/bot/richmenu", menu_json(areas=[area] * 20)).status == 200
    answer = raw("POST", "/v2/bot/richmenu", menu_json(areas=[area] * 21))
    assert answer.status == 400 and answer.json["details"][0]["property"] == "areas"


@pytest.mark.parametrize("bounds", [
    {"x": 2000, "y": 0, "width": 501, "height": 100},
    {"x": 0, "y": 800, "width": 100, "height": 44},
])
def test_areas_must_be_inside_the_image(raw, bounds):
    body = menu_json(areas=[{"bounds": bounds, "action": {"type": "postback", "data": "x"}}])
    answer = raw("POST", "/v2/bot/richmenu", body)
    assert answer.status == 400
    assert answer.json["details"][0]["property"] == "areas[0].bounds"


@pytest.mark.parametrize("field, limit", [("chatBarText", 14), ("name", 300)])
def test_text_limits(raw, field, limit):
    assert raw("POST", "/v2/bot/richmenu", menu_json(**{field: "あ" * limit})).status == 200
    answer = raw("POST", "/v2/bot/richmenu", menu_json(**{field: "あ" * (limit + 1)}))
    assert answer.status == 400
    assert field in [d["property"] for d in answer.json["details"]]


@pytest.mark.parametrize("field", ["size", "selected", "name", "chatBarText", "areas"])
def test_required_fields(raw, field):
    body = menu_json()
    del body[field]
    assert raw("POST", "/v2/bot/richmenu", body).status == 400


def test_area_action_label_at_most_20(raw):
    body = menu_json()
    body["areas"][0]["action"]["label"] = "あ" * 21
    assert raw("POST", "/v2/bot/richmenu", body).status == 400


@pytest.mark.parametrize("alias_id, ok", [
    ("a", True), ("main_menu-2", True), ("a" * 32, True),
    ("", False), ("a" * 33, False), ("Main", False), ("メイン", False), ("a.b", False),
])
def test_alias_id_rules(raw, menu, alias_id, ok):
    answer = raw("POST", "/v2/bot/richmenu/alias",
                 {"richMenuAliasId": alias_id, "richMenuId": menu})
    assert (answer.status == 200) is ok


def test_duplicate_alias_is_refused_as_line_says(api, menu):
    request = CreateRichMenuAliasRequest(rich_menu_alias_id="main", rich_menu_id=menu)
    api.create_rich_menu_alias(request)
    with pytest.raises(ApiException) as caught:
        api.create_rich_menu_alias(request)
    assert caught.value.status == 400
    assert caught.value.body == '{"message": "conflict richmenu alias id"}'


def test_alias_delete_and_unknown_alias(api, menu):
    api.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id="x",
                                                          rich_menu_id=menu))
    api.delete_rich_menu_alias("x")
    for call in (lambda: api.get_rich_menu_alias("x"), lambda: api.delete_rich_menu_alias("x")):
        with pytest.raises(NotFoundException):
            call()


UNKNOWN_MENU = "richmenu-" + "0" * 32


@pytest.mark.parametrize("call", [
    lambda api, blob: api.get_rich_menu(UNKNOWN_MENU),
    lambda api, blob: api.delete_rich_menu(UNKNOWN_MENU),
    lambda api, blob: api.set_default_rich_menu(UNKNOWN_MENU),
    lambda api, blob: api.link_rich_menu_id_to_user(USER_A, UNKNOWN_MENU),
    lambda api, blob: api.link_rich_menu_id_to_users(
        RichMenuBulkLinkRequest(rich_menu_id=UNKNOWN_MENU, user_ids=[USER_A])),
    lambda api, blob: api.create_rich_menu_alias(
        CreateRichMenuAliasRequest(rich_menu_alias_id="a", rich_menu_id=UNKNOWN_MENU)),
    lambda api, blob: blob.set_rich_menu_image(UNKNOWN_MENU, png(2500, 843), _headers=PNG),
    lambda api, blob: blob.get_rich_menu_image(UNKNOWN_MENU),
], ids=["get", "delete", "default", "link", "bulk-link", "alias", "upload", "download"])
def test_unknown_rich_menu_is_404(api, blob, users, call):
    with pytest.raises(NotFoundException):
        call(api, blob)


def test_menu_without_image_cannot_be_shown(api, users):
    menu_id = api.create_rich_menu(menu_request()).rich_menu_id
    for call in (lambda: api.set_default_rich_menu(menu_id),
                 lambda: api.link_rich_menu_id_to_user(USER_A, menu_id)):
        with pytest.raises(ApiException) as caught:
            call()
        assert caught.value.status == 400
        assert "must upload richmenu image" in caught.value.body


def test_link_to_unknown_user_is_404_but_bulk_skips_it(api, menu, state, users):
    stranger = "U" + "e" * 32
    with pytest.raises(NotFoundException):
        api.link_rich_menu_id_to_user(stranger, menu)
    api.link_rich_menu_id_to_users(RichMenuBulkLinkRequest(
        rich_menu_id=menu, user_ids=[stranger, USER_C]))
    assert state.records(endpoint="richmenu.bulk.link")[0]["to"] == [USER_C]


def test_bulk_link_user_ids_must_be_well_formed(raw, menu):
    answer = raw("POST", "/v2/bot/richmenu/bulk/link",
                 {"richMenuId": menu, "userIds": [USER_A, "nobody"]})
    assert answer.status == 400 and answer.json["details"][0]["property"] == "userIds[1]"


class TestImageUpload:
    @pytest.fixture
    def bare_menu(self, api):
        return api.create_rich_menu(menu_request()).rich_menu_id

    def upload(self, raw, menu_id, data, content_type="image/png"):
        return raw("POST", f"/v2/bot/richmenu/{menu_id}/content", data=data,
                   headers={"Content-Type": content_type})

    def test_image_must_match_the_menu_size(self, raw, bare_menu):
        answer = self.upload(raw, bare_menu, png(2500, 1686))
        assert answer.status == 400 and "does not match" in answer.json["message"]

    def test_content_type_must_be_png_or_jpeg(self, raw, bare_menu):
        assert self.upload(raw, bare_menu, png(2500, 843), "image/gif").status == 415

    def test_content_type_must_match_the_bytes(self, raw, bare_menu):
        assert self.upload(raw, bare_menu, png(2500, 843), "image/jpeg").status == 400

    def test_bytes_must_be_an_image(self, raw, bare_menu):
        assert self.upload(raw, bare_menu, b"\x89PNG not really").status == 400

    def test_at_most_1_mb(self, raw, bare_menu):
        big = png(2500, 843, noise=True)
        assert len(big) > 1024 * 1024
        assert self.upload(raw, bare_menu, big).status == 413

    def test_jpeg_is_accepted(self, raw, blob, bare_menu):
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (2500, 843), (0, 90, 160)).save(buffer, "JPEG")
        assert self.upload(raw, bare_menu, buffer.getvalue(), "image/jpeg").status == 200
        assert bytes(blob.get_rich_menu_image(bare_menu)) == buffer.getvalue()

    def test_image_cannot_be_replaced(self, raw, bare_menu):
        assert self.upload(raw, bare_menu, png(2500, 843)).status == 200
        answer = self.upload(raw, bare_menu, png(2500, 843))
        assert answer.status == 400
        assert answer.json["message"] == "An image has already been uploaded to the richmenu"

    def test_menu_without_image_has_nothing_to_download(self, blob, bare_menu):
        with pytest.raises(NotFoundException):
            blob.get_rich_menu_image(bare_menu)


def test_deleting_a_menu_removes_its_links_and_aliases(api, menu, users):
    api.link_rich_menu_id_to_user(USER_A, menu)
    api.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id="m",
                                                          rich_menu_id=menu))
    api.delete_rich_menu(menu)
    with pytest.raises(NotFoundException):
        api.get_rich_menu_id_of_user(USER_A)
    assert api.get_rich_menu_alias_list().aliases == []


def test_request_body_is_not_changed_by_the_emulator(state, api, users):
    body = copy.deepcopy(menu_request().to_dict())
    api.create_rich_menu(menu_request())
    assert state.records()[0]["body"] == body
