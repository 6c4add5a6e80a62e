"""A page of search results as LINE messages, shared by the chat search and the conditions form."""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot import links, messages
from bot.jobs import saved
from bot.jobs import search as job_search
from bot.jobs.present import card
from bot.router import encode_postback


def quick_postback(label: str, action: str, text: str | None = None, **params) -> dict:
    return {"type": "postback", "label": label, "data": encode_postback(action, **params),
            "displayText": text or label}


def messages_for(session: Session, user_id: int, conditions: job_search.Conditions, page: int = 1,
                 recent_id: int | None = None) -> list:
    """Runs a search and shows a page of it; remembers it (unless it is a remembered search's
    `recent_id` paged on) so that paging and saving can refer to it."""
    recent_id = recent_id or saved.remember(session, user_id, conditions)
    found = job_search.run(session, conditions, page)
    if found.total == 0:
        return [messages.text(
            f"「{conditions.summary()}」に合う募集中の求人は見つかりませんでした。\n"
            "地域や職種を「こだわらない」にする、キーワードを減らすなど、条件を広げてお試しください。\n"
            "この条件を保存しておくと、あとから同じ条件ですぐに探せます。",
            [quick_postback("条件を変えて探す", "search.wizard"),
             quick_postback("この条件を保存", "search.save", r=recent_id),
             quick_postback("保存した条件", "search.saved")])]
    if not found.jobs:
        return [messages.text("これ以上の求人はありません。条件を変えて探す場合は「求人を探す」からどうぞ。",
                              [quick_postback("条件を変えて探す", "search.wizard")])]
    first = (page - 1) * job_search.PAGE_SIZE + 1
    return messages.render("job_results.json.j2", cards=[card(j) for j in found.jobs], total=found.total,
                           first=first, last=first + len(found.jobs) - 1, summary=conditions.summary(),
                           recent_id=recent_id, page=page, has_next=found.has_next,
                           search_url=links.JOB_SEARCH)
