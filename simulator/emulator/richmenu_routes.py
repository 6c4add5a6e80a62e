"""Rich menu endpoints (the api host's and the data host's)."""
from __future__ import annotations

from flask import request
from linebot.v3.messaging import models

from .app import Answer, Call
from .errors import LineError, not_found
from .richmenus import check_alias_id, validate_rich_menu
from .state import EmulatorState
from .validation import USER_ID, Problems, validate_model


def _known_user(state: EmulatorState, user_id: str) -> str:
    if not USER_ID.match(user_id):
        raise LineError(400, "The value for the 'userId' parameter is invalid",
                        reason="validation")
    if not state.knows(user_id):
        raise not_found()
    return user_id


def _check_user_ids(body: dict, problems: Problems):
    for i, user_id in enumerate(body["userIds"]):
        if not USER_ID.match(user_id):
            problems.add(f"userIds[{i}]", "Invalid user ID")


def create(state: EmulatorState, call: Call) -> Answer:
    validate_rich_menu(call.body)
    return Answer(200, {"richMenuId": state.richmenus.create(call.body)})


def validate(state: EmulatorState, call: Call) -> Answer:
    validate_rich_menu(call.body)
    return Answer(200, {})


def get(state: EmulatorState, call: Call) -> Answer:
    return Answer(200, state.richmenus.get(call.params["menu_id"]))


def listing(state: EmulatorState, call: Call) -> Answer:
    return Answer(200, {"richmenus": list(state.richmenus.menus.values())})


def delete(state: EmulatorState, call: Call) -> Answer:
    state.richmenus.delete(call.params["menu_id"])
    return Answer(200, {})


def upload(state: EmulatorState, call: Call) -> Answer:
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    state.richmenus.set_image(call.params["menu_id"], content_type, call.raw)
    return Answer(200, {})


def download(state: EmulatorState, call: Call) -> Answer:
    menus = state.richmenus
    menus.get(call.params["menu_id"])
    if call.params["menu_id"] not in menus.images:
        raise not_found()
    content_type, data = menus.images[call.params["menu_id"]]
    return Answer(200, data, content_type=content_type)


def alias_create(state: EmulatorState, call: Call) -> Answer:
    validate_model(models.CreateRichMenuAliasRequest, call.body, check_alias_id)
    state.richmenus.create_alias(call.body["richMenuAliasId"], call.body["richMenuId"])
    return Answer(200, {})


def alias_update(state: EmulatorState, call: Call) -> Answer:
    validate_model(models.UpdateRichMenuAliasRequest, call.body)
    state.richmenus.update_alias(call.params["alias_id"], call.body["richMenuId"])
    return Answer(200, {})


def alias_get(state: EmulatorState, call: Call) -> Answer:
    return Answer(200, state.richmenus.alias(call.params["alias_id"]))


def alias_list(state: EmulatorState, call: Call) -> Answer:
    menus = state.richmenus
    return Answer(200, {"aliases": [menus.alias(a) for a in menus.aliases]})


def alias_delete(state: EmulatorState, call: Call) -> Answer:
    state.richmenus.delete_alias(call.params["alias_id"])
    return Answer(200, {})


def link(state: EmulatorState, call: Call) -> Answer:
    user_id = _known_user(state, call.params["user_id"])
    state.richmenus.usable(call.params["menu_id"])
    state.richmenus.links[user_id] = call.params["menu_id"]
    return Answer(200, {}, to=[user_id])


def unlink(state: EmulatorState, call: Call) -> Answer:
    user_id = _known_user(state, call.params["user_id"])
    state.richmenus.links.pop(user_id, None)
    return Answer(200, {}, to=[user_id])


def user_menu(state: EmulatorState, call: Call) -> Answer:
    user_id = _known_user(state, call.params["user_id"])
    menu_id = state.richmenus.links.get(user_id)
    if menu_id is None:
        raise not_found("the user has no richmenu")
    return Answer(200, {"richMenuId": menu_id}, to=[user_id])


def bulk_link(state: EmulatorState, call: Call) -> Answer:
    """LINE accepts bulk operations with 202 and applies them later; ids it
    does not know are skipped without error. The emulator applies them now."""
    validate_model(models.RichMenuBulkLinkRequest, call.body, _check_user_ids)
    menu_id = call.body["richMenuId"]
    state.richmenus.usable(menu_id)
    to = [u for u in dict.fromkeys(call.body["userIds"]) if state.knows(u)]
    for user_id in to:
        state.richmenus.links[user_id] = menu_id
    return Answer(202, {}, to=to)


def bulk_unlink(state: EmulatorState, call: Call) -> Answer:
    validate_model(models.RichMenuBulkUnlinkRequest, call.body, _check_user_ids)
    to = [u for u in dict.fromkeys(call.body["userIds"]) if state.knows(u)]
    for user_id in to:
        state.richmenus.links.pop(user_id, None)
    return Answer(202, {}, to=to)


def default_set(state: EmulatorState, call: Call) -> Answer:
    state.richmenus.usable(call.params["menu_id"])
    state.richmenus.default = call.params["menu_id"]
    return Answer(200, {})


def default_get(state: EmulatorState, call: Call) -> Answer:
    if state.richmenus.default is None:
        raise not_found("no default richmenu")
    return Answer(200, {"richMenuId": state.richmenus.default})


def default_cancel(state: EmulatorState, call: Call) -> Answer:
    state.richmenus.default = None
    return Answer(200, {})


def register(app):
    r = app.line_route
    r("/v2/bot/richmenu", "richmenu.create", "POST", create, json_body=True)
    r("/v2/bot/richmenu/validate", "richmenu.validate", "POST", validate, json_body=True)
    r("/v2/bot/richmenu/list", "richmenu.list", "GET", listing)
    r("/v2/bot/richmenu/<menu_id>", "richmenu.get", "GET", get)
    r("/v2/bot/richmenu/<menu_id>", "richmenu.delete", "DELETE", delete)
    # Data-host endpoints, served here too: the bot points both base URLs here.
    r("/v2/bot/richmenu/<menu_id>/content", "richmenu.content.upload", "POST", upload)
    r("/v2/bot/richmenu/<menu_id>/content", "richmenu.content.download", "GET", download)
    r("/v2/bot/richmenu/alias", "richmenu.alias.create", "POST", alias_create, json_body=True)
    r("/v2/bot/richmenu/alias/list", "richmenu.alias.list", "GET", alias_list)
    r("/v2/bot/richmenu/alias/<alias_id>", "richmenu.alias.get", "GET", alias_get)
    r("/v2/bot/richmenu/alias/<alias_id>", "richmenu.alias.update", "POST", alias_update,
      json_body=True)
    r("/v2/bot/richmenu/alias/<alias_id>", "richmenu.alias.delete", "DELETE", alias_delete)
    r("/v2/bot/richmenu/bulk/link", "richmenu.bulk.link", "POST", bulk_link, json_body=True)
    r("/v2/bot/richmenu/bulk/unlink", "richmenu.bulk.unlink", "POST", bulk_unlink,
      json_body=True)
    r("/v2/bot/user/all/richmenu/<menu_id>", "richmenu.default.set", "POST", default_set)
    r("/v2/bot/user/all/richmenu", "richmenu.default.get", "GET", default_get)
    r("/v2/bot/user/all/richmenu", "richmenu.default.cancel", "DELETE", default_cancel)
    r("/v2/bot/user/<user_id>/richmenu/<menu_id>", "richmenu.link", "POST", link)
    r("/v2/bot/user/<user_id>/richmenu", "richmenu.user.get", "GET", user_menu)
    r("/v2/bot/user/<user_id>/richmenu", "richmenu.unlink", "DELETE", unlink)
