"""Messages: Jinja2 templates under templates/flex/ -> JSON -> validated linebot.v3 message objects.

Templates pass every value through `tojson`, so user- or staff-entered text can never break the JSON.
The result is parsed into SDK models and checked against LINE's limits (bot.line.limits), so a bad
template fails a test rather than reaching a user. In production a broken template is logged and the
user gets a plain-text fallback instead.
"""
from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import jinja2
from linebot.v3.messaging import Message

from bot.line.checked import check
from bot.line.limits import LimitError, check_messages
from bot.router import encode_postback

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
FALLBACK_TEXT = ("申し訳ありません。メッセージを表示できませんでした。"
                 "お手数ですが、しばらくしてからもう一度お試しください。")


class TemplateError(Exception):
    """A template rendered something that is not valid LINE message JSON."""


def _postback(action: str, **params) -> str:
    return encode_postback(action, **params)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "flex"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # output is JSON; values are escaped by tojson instead
    keep_trailing_newline=False,
)
_env.globals["postback"] = _postback
# The output is JSON, never HTML: plain JSON encoding, without Jinja's HTML escapes of <, >, & and '
# and its per-call keyword handling (a results carousel calls it some 200 times).
_env.filters["tojson"] = json.JSONEncoder(ensure_ascii=False).encode


# What a bubble's header and body show of a card (bot.jobs.present.card), without `full` details.
_FACE_FIELDS = ("number", "title", "company", "place", "wage", "hours", "days_off", "deadline", "is_open",
                "status")


def _render_face(card: dict, full: bool) -> str:
    macros = _env.get_template("_job.j2").module
    return f'"header": {macros.header(card)}, "body": {macros.body(card, full)}'


@functools.lru_cache(maxsize=256)  # ~5 KB each: the popular jobs of a day's searches, not every listing
def _job_face(values: tuple) -> str:
    return _render_face(dict(zip(_FACE_FIELDS, values)), False)


def job_face(card: dict, full: bool = False) -> str:
    """The header and body of a job's bubble (the `_job.j2` macros). A results carousel is ten of them,
    and the same popular jobs come back in search after search, so the short form is rendered once
    per content: a changed listing is a different key, and is rendered again."""
    if full:  # a job's own page, with its description: one at a time, not worth keeping
        return _render_face(card, True)
    return _job_face(tuple(card[name] for name in _FACE_FIELDS))


_env.globals["job_face"] = job_face


def template_names() -> list[str]:
    """Renderable templates (files starting with "_" hold shared macros)."""
    return sorted(n for n in _env.list_templates(extensions=["j2"]) if not n.startswith("_"))


def _render_json(template: str, values: dict) -> list[dict]:
    try:
        data = json.loads(_env.get_template(template).render(**values))
    except (jinja2.TemplateError, json.JSONDecodeError) as exc:
        raise TemplateError(f"{template}: {exc}") from exc
    return data if isinstance(data, list) else [data]


def _parsed(dicts: list[dict]) -> list[Message]:
    """SDK messages of these dicts, checked as check_messages checks them (bot.line.checked)."""
    return check(dicts)


def render_dicts(template: str, /, **values) -> list[dict]:
    """Renders a template to a list of message dicts and checks them; raises TemplateError."""
    dicts = _render_json(template, values)
    try:
        check_messages(dicts)  # the SDK's models and LINE's limits
    except LimitError as exc:
        raise TemplateError(f"{template}: {exc}") from exc
    return dicts


def render(template: str, /, **values) -> list[Message]:
    """The messages of a template as SDK objects; a plain-text apology if the template is broken."""
    try:
        dicts = _render_json(template, values)
        try:
            return _parsed(dicts)
        except LimitError as exc:
            raise TemplateError(f"{template}: {exc}") from exc
    except TemplateError:
        log.exception("template %s failed; sending the fallback text", template)
        return [text(FALLBACK_TEXT)]


def text(body: str, quick_replies: list[dict] | None = None) -> Message:
    """A plain text message, optionally with quick-reply buttons given as LINE action dicts."""
    message = {"type": "text", "text": body}
    if quick_replies:
        message["quickReply"] = {"items": [{"type": "action", "action": a} for a in quick_replies]}
    return _parsed([message])[0]


def to_dicts(messages: list[Message]) -> list[dict]:
    """SDK objects back to LINE JSON, as stored in the outbox."""
    return [m.to_dict() for m in messages]
