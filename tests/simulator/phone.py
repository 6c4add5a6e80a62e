"""The simulator page driven as a person would: pick a friend, tap, wait for the bot's answer.

(page.wait_for_function would need 'unsafe-eval', which the page's CSP refuses: locators wait instead.)
"""
from __future__ import annotations

import json


class Phone:
    def __init__(self, page):
        self.page = page
        self.chat = page.locator("#sim-chat")
        self.errors: list[str] = []  # what went wrong in the page: none is expected
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}"))

    def open_as(self, name: str) -> None:
        """The page, as one of the friends the emulator knows (already following)."""
        self.page.goto("/simulator/")
        self.page.locator("#sim-user option", has_text=name).wait_for(state="attached")
        self.page.select_option("#sim-user", label=name)
        self.page.locator("#sim-text:not([disabled])").wait_for()

    def user_id(self) -> str:
        return self.page.eval_on_selector("#sim-user", "e => e.value")

    def bot_messages(self):
        return self.chat.locator(".sim-from-bot")

    def answer(self, tap):
        """Runs `tap()` and returns the bot's first message after it (all of a reply arrive together)."""
        before = self.bot_messages().count()
        tap()
        reply = self.bot_messages().nth(before)
        reply.wait_for()
        return reply

    def menu_area(self, label: str):
        return self.page.locator(f".sim-richmenu:not([hidden]) .sim-area[aria-label='{label}']")

    def chips(self):
        """The quick replies on screen: those of the last message only, as in LINE."""
        return self.chat.locator(".lf-quick-replies:visible .lf-chip")

    def chip(self, label: str):
        return self.chat.locator(".lf-quick-replies:visible").get_by_role("button", name=label, exact=True)

    @staticmethod
    def button(message, label: str):
        return message.get_by_role("button", name=label, exact=True)

    @staticmethod
    def action(element) -> dict:
        return json.loads(element.get_attribute("data-action"))
