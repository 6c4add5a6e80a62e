"""One tap into the Hello Work Internet Service job-seeker My Page, and the leaflet's guidance."""
from __future__ import annotations

from bot import links, messages
from bot.router import Context, Router


def login_links(ctx: Context):
    return messages.render("login.json.j2", links=links)


def register(router: Router) -> None:
    router.keyword("マイページ", "ログイン", "パスワード", "求職状態", "再登録")(login_links)
    router.action("login.show")(login_links)
