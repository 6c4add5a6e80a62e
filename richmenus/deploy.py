"""Puts the defined rich menus on LINE: create, upload images, aliases, default, delete stale ones.

Our menus are named `hwomura:<menu-id>:<hash>` (see definitions.line_name). A menu whose name is
already on LINE is reused, so running deploy again without changes creates nothing. New menus are
created and get their images first, then the aliases and the default move to them, and only then are
our menus that are no longer defined deleted: people never see a missing menu in between.
"""
from __future__ import annotations

import dataclasses
import json

import urllib3
from linebot.v3.messaging import (CreateRichMenuAliasRequest, RichMenuRequest,
                                  UpdateRichMenuAliasRequest)
from linebot.v3.messaging.exceptions import ApiException, NotFoundException

from bot.line.client import LineClient
from bot.router import Router

from . import definitions, render
from .definitions import NAME_PREFIX, Definitions


class DeployError(RuntimeError):
    """Deploy stopped; the message is one line for the operator."""


@dataclasses.dataclass
class Prepared:
    menu: dict
    name: str
    body: dict
    image: bytes


def prepare(defs: Definitions, router: Router) -> list[Prepared]:
    """Checks the definitions and their images; the bodies to send. Raises DeployError."""
    problems = definitions.validate(defs, router)
    if not problems:
        problems = render.stale_images(defs)
    if problems:
        more = f"（ほか {len(problems) - 3} 件）" if len(problems) > 3 else ""
        raise DeployError("定義に問題があります: " + " / ".join(problems[:3]) + more)
    out = []
    for menu in defs.menus:
        image = defs.image_path(menu).read_bytes()
        if len(image) > render.MAX_IMAGE_BYTES:
            raise DeployError(f"{defs.image_path(menu).name} が 1 MB を超えています")
        name = definitions.line_name(menu, image)
        out.append(Prepared(menu, name, definitions.request_body(menu, name), image))
    return out


def dry_run(defs: Definitions, router: Router, echo) -> None:
    for item in prepare(defs, router):
        echo(f"メニュー {item.menu['id']}: {item.name}（領域 {len(item.body['areas'])} 個、"
             f"画像 {len(item.image) / 1000:.0f} KB）を作成（同じ名前が LINE にあれば再利用）")
        if item.menu.get("aliasId"):
            echo(f"エイリアス {item.menu['aliasId']} をこのメニューに向ける")
    echo(f"デフォルトのメニューを {defs.default} にする")
    echo(f"名前が {NAME_PREFIX} で始まり上の一覧にないメニューを削除する")
    echo("--dry-run のため LINE には接続していません")


def deploy(line: LineClient, defs: Definitions, router: Router, echo) -> None:
    prepared = prepare(defs, router)
    echo(f"定義を確認しました（メニュー {len(prepared)} 件）")
    steps = _Steps(line, echo)
    existing = steps.call("メニュー一覧の取得", line.messaging.get_rich_menu_list).richmenus
    ours = {m.rich_menu_id: m.name for m in existing if (m.name or "").startswith(NAME_PREFIX)}
    ids = {}
    for item in prepared:
        found = [menu_id for menu_id, name in ours.items() if name == item.name]
        if found and steps.has_image(found[0]):
            ids[item.menu["id"]] = found[0]
            echo(f"変更なし: {item.menu['id']}（{found[0]}）")
        else:
            ids[item.menu["id"]] = steps.create(item)
    keep = set(ids.values())

    aliases = {a.rich_menu_alias_id: a.rich_menu_id for a in
               steps.call("エイリアス一覧の取得", line.messaging.get_rich_menu_alias_list).aliases}
    wanted = {item.menu["aliasId"]: ids[item.menu["id"]] for item in prepared if item.menu.get("aliasId")}
    for alias_id, menu_id in wanted.items():
        if aliases.get(alias_id) == menu_id:
            continue
        if alias_id in aliases:
            steps.call(f"エイリアス {alias_id} の更新", line.messaging.update_rich_menu_alias,
                       alias_id, UpdateRichMenuAliasRequest(rich_menu_id=menu_id))
            echo(f"エイリアスを更新しました: {alias_id} → {menu_id}")
        else:
            steps.call(f"エイリアス {alias_id} の作成", line.messaging.create_rich_menu_alias,
                       CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id, rich_menu_id=menu_id))
            echo(f"エイリアスを作成しました: {alias_id} → {menu_id}")

    default_id = ids[defs.default]
    if steps.default_menu() != default_id:
        steps.call("デフォルトの設定", line.messaging.set_default_rich_menu, default_id)
        echo(f"デフォルトのメニューにしました: {defs.default}（{default_id}）")

    stale = [menu_id for menu_id in ours if menu_id not in keep]
    for alias_id, menu_id in aliases.items():
        if menu_id in stale and alias_id not in wanted:
            steps.call(f"エイリアス {alias_id} の削除", line.messaging.delete_rich_menu_alias, alias_id)
            echo(f"使われなくなったエイリアスを削除しました: {alias_id}")
    for menu_id in stale:
        steps.call(f"メニュー {menu_id} の削除", line.messaging.delete_rich_menu, menu_id)
        echo(f"古いメニューを削除しました: {ours[menu_id]}（{menu_id}）")
    echo(f"完了しました（作成 {len(keep - set(ours))} 件、削除 {len(stale)} 件）")


class _Steps:
    """LINE calls with the client's timeout; any failure becomes one DeployError line."""

    def __init__(self, line: LineClient, echo):
        self.line, self.echo = line, echo

    def call(self, step: str, method, *args):
        try:
            return method(*args, _request_timeout=self.line.timeout)
        except ApiException as exc:
            if not exc.status:  # the SDK's own transport failures (TLS, an unusable request)
                raise DeployError(f"{step}で LINE に接続できません: {_message(exc)}") from None
            raise DeployError(f"{step}で LINE が拒否しました: {exc.status} {_message(exc)}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise DeployError(f"{step}で LINE に接続できません: {type(exc).__name__}") from None

    def create(self, item: Prepared) -> str:
        menu_id = self.call(f"メニュー {item.menu['id']} の作成", self.line.messaging.create_rich_menu,
                            RichMenuRequest.from_dict(item.body)).rich_menu_id
        self.echo(f"メニューを作成しました: {item.name}（{menu_id}）")
        try:
            self.call(f"メニュー {item.menu['id']} の画像の登録", self._upload, menu_id, item.image)
        except DeployError:
            # A menu without an image cannot be shown: take it away again (best effort).
            try:
                self.line.messaging.delete_rich_menu(menu_id, _request_timeout=self.line.timeout)
            except Exception:  # noqa: BLE001 - the upload's error is the one to report
                pass
            raise
        self.echo(f"画像を登録しました: {item.menu['id']}.png（{len(item.image) / 1000:.0f} KB）")
        return menu_id

    def _upload(self, menu_id: str, image: bytes, _request_timeout):
        # The SDK ignores _content_type here; the header itself names the image's type.
        self.line.blob.set_rich_menu_image(menu_id, image, _headers={"Content-Type": "image/png"},
                                           _request_timeout=_request_timeout)

    def has_image(self, menu_id: str) -> bool:
        """A menu left without its image by an interrupted run is not reused."""
        return self.call("画像の確認", self._image_found, menu_id)

    def _image_found(self, menu_id: str, _request_timeout) -> bool:
        try:
            self.line.blob.get_rich_menu_image(menu_id, _request_timeout=_request_timeout)
        except NotFoundException:
            return False
        return True

    def default_menu(self) -> str | None:
        return self.call("デフォルトの確認", self._default_id)

    def _default_id(self, _request_timeout) -> str | None:
        try:
            return self.line.messaging.get_default_rich_menu_id(
                _request_timeout=_request_timeout).rich_menu_id
        except NotFoundException:
            return None


def _message(exc: ApiException) -> str:
    """LINE's `message`, else the body or reason, on one line."""
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
    try:
        text = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        text = body
    return " ".join((text or str(exc.reason or "")).split())[:200]
