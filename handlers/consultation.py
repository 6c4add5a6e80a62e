"""オンライン職業相談: the office's consultation days and how to book them.

Booking in LINE comes with the consultation-booking capability; until then this answers 相談/予約 with
the leaflet's facts and the ways to book that exist today (My Page and the office's phone)."""
from __future__ import annotations

from bot import links, messages
from bot.router import Context, Router


def info(ctx: Context):
    return messages.render("consultation.json.j2", links=links)


def register(router: Router) -> None:
    router.keyword("相談", "予約", "Zoom", "zoom", "ズーム")(info)
    router.action("consult.info")(info)
