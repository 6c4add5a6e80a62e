"""bot.db.transaction_memo: what one event looked up is kept for its transaction only (the conversation
of a text message, the booking rules), and a flow started or ended in it is seen at once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from bot import conversation, users
from bot.db import transaction_memo
from bot.models import Conversation


def test_memo_outlives_flushes_not_the_transaction(db):
    with db.session() as s:
        memo = transaction_memo(s)
        memo["rules"] = "looked up"
        user = users.get_or_create(s, "U" + "1" * 32)
        s.flush()
        assert transaction_memo(s) == {"rules": "looked up"}
        with s.begin_nested():
            transaction_memo(s)["inner"] = 1
        assert transaction_memo(s) == {}, "a savepoint's end forgets (its rollback could undo what was seen)"
        transaction_memo(s)["again"] = 2
    with db.Session() as s:
        with s.begin():
            assert transaction_memo(s) == {}
            transaction_memo(s)["x"] = 1
        assert transaction_memo(s) == {}, "a commit forgets"
        s.begin()
        transaction_memo(s)["y"] = 1
        s.rollback()
        assert transaction_memo(s) == {}, "a rollback forgets"
    assert user.id


def test_a_flow_started_or_ended_is_seen_in_the_same_transaction(db):
    now = dt.datetime.now(dt.timezone.utc)
    with db.session() as s:
        user = users.get_or_create(s, "U" + "2" * 32)
        assert conversation.active(s, user.id, now) is None
        conv = conversation.start(s, user.id, "booking", "date")
        assert conversation.active(s, user.id, now) is conv
        conversation.finish(s, user.id)
        assert conversation.load(s, user.id) is None
        conversation.start(s, user.id, "search", "area")
    with db.session() as s:
        assert conversation.active(s, user.id, now).flow == "search"
    # Another writer (here a plain UPDATE in another transaction) is seen by the next transaction.
    with db.session() as s:
        s.execute(update(Conversation).where(Conversation.user_id == user.id).values(step="wage"))
    with db.session() as s:
        assert conversation.load(s, user.id).step == "wage"
