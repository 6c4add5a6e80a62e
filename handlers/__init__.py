"""Capabilities. Each module registers its handlers on the router passed to `register`."""
from __future__ import annotations

from bot.router import Router

from . import fallback, follow, help, login

MODULES = [follow, login, help, fallback]


def build_router() -> Router:
    router = Router()
    for module in MODULES:
        module.register(router)
    return router
