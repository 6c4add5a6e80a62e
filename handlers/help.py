"""使い方: what the bot does, how to stop notifications, how to reach the office."""
from __future__ import annotations

from bot import links, messages
from bot.router import Context, Router

from .menu import quick_replies


def show_help(ctx: Context):
    return messages.render("help.json.j2", links=links, quick_replies=quick_replies())


def register(router: Router) -> None:
    router.keyword("使い方", "ヘルプ", "help", "HELP", "Help", "つかいかた")(show_help)
    router.action("help.show")(show_help)
