"""Every external address the bot shows, in one place (https only; a test checks).

The Hello Work Internet Service pages below are the public entry points the office's leaflet refers
to. Where the service has no stable deep link for a step (new registration, opening My Page for people
registered at the counter), we link the top page, whose buttons lead there.
"""
from __future__ import annotations

HELLOWORK_TOP = "https://www.hellowork.mhlw.go.jp/"
MYPAGE_LOGIN = ("https://kyushoku.hellowork.mhlw.go.jp/kyushoku/GEAA040010.do"
                "?action=initDisp&screenId=GEAA040010")
# The login page carries the 「パスワードを忘れた方」 link that starts a reset.
PASSWORD_RESET = MYPAGE_LOGIN
NEW_REGISTRATION = HELLOWORK_TOP
MYPAGE_FOR_COUNTER_REGISTERED = HELLOWORK_TOP
MYPAGE_GUIDE = "https://www.hellowork.mhlw.go.jp/member/mem_possible.html"
JOB_SEARCH = "https://www.hellowork.mhlw.go.jp/kensaku/GECA110010.do?action=initDisp&screenId=GECA110010"

OFFICE_NAME = "ハローワーク大村"
OFFICE_DESK = "職業相談部門"
OFFICE_PHONE = "0957-40-0032"
OFFICE_PHONE_URI = "tel:0957400032"

EXTERNAL = {
    "HELLOWORK_TOP": HELLOWORK_TOP,
    "MYPAGE_LOGIN": MYPAGE_LOGIN,
    "PASSWORD_RESET": PASSWORD_RESET,
    "NEW_REGISTRATION": NEW_REGISTRATION,
    "MYPAGE_FOR_COUNTER_REGISTERED": MYPAGE_FOR_COUNTER_REGISTERED,
    "MYPAGE_GUIDE": MYPAGE_GUIDE,
    "JOB_SEARCH": JOB_SEARCH,
}


def page(settings, path: str) -> str:
    """An address of one of the bot's own pages (privacy notice, forms opened from LINE)."""
    return settings.public_base_url + path


def job_listing(job_number: str) -> str:
    """Where a listing can be read on the Hello Work Internet Service.

    The service has no stable public deep link to one posting, so this is its job search page, where
    the number can be entered; the bubble shows the number next to the button."""
    return JOB_SEARCH
