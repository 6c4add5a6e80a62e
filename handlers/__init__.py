"""Capabilities. Each module registers its handlers on the router passed to `register`."""
from __future__ import annotations

from bot.router import Router

from . import applications, booking, events, fallback, favorites, follow, help, jobs, login, menu, \
    recommendations, search, settings

MODULES = [follow, login, help, recommendations, search, jobs, favorites, applications, events, booking,
           settings, menu, fallback]


def build_router() -> Router:
    router = Router()
    for module in MODULES:
        module.register(router)
    return router
