"""Friends: follow creates or reactivates the user and greets; unfollow marks them blocked."""
from __future__ import annotations

import unicodedata

from bot import links, messages, users
from bot.router import Context, Router

from .menu import quick_replies

NAME_MAX = 20  # LINE's own limit on display names


def clean_name(name: str | None) -> str | None:
    """The display name as we may keep and show it: without control and direction characters (a
    right-to-left override would turn our greeting around; NUL cannot be stored in PostgreSQL)."""
    kept = "".join(ch for ch in name or "" if ch == "\u200d" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    kept = " ".join(kept.split())[:NAME_MAX]
    return kept or None


def display_name(services, line_user_id: str) -> str | None:
    """Asked of LINE before the follow's transaction opens (Router.event's prepare)."""
    return clean_name(services.line.display_name(line_user_id))


def on_follow(ctx: Context):
    friend = users.follow(ctx.session, ctx.line_user_id, ctx.prepared)
    return messages.render("greeting.json.j2", name=friend.display_name, came_back=friend.came_back,
                           privacy_url=links.page(ctx.settings, "/privacy"),
                           office=links.OFFICE_NAME, quick_replies=quick_replies())


def on_unfollow(ctx: Context):
    users.unfollow(ctx.session, ctx.line_user_id)
    return None  # an unfollowed account cannot be replied to


def register(router: Router) -> None:
    router.event("follow", prepare=display_name)(on_follow)
    router.event("unfollow")(on_unfollow)
