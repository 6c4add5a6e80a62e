"""Monthly quota: counted per recipient per request, as LINE counts."""
import datetime as dt

import pytest
import time_machine
from linebot.v3.messaging import (ApiException, BroadcastRequest, MulticastRequest,
                                  NarrowcastRequest, PushMessageRequest, TextMessage)
from linebot.v3.messaging.models import Limit

from .conftest import USER_A, USER_B, USER_C

JST = dt.timezone(dt.timedelta(hours=9))


def words(*texts):
    return [TextMessage(text=t) for t in texts]


def test_unlimited_by_default(api, users):
    assert api.get_message_quota().type == "none"
    assert api.get_message_quota_consumption().total_usage == 0


def test_quota_endpoint_reports_the_limit(api, state):
    state.set_quota(200)
    quota = api.get_message_quota()
    assert (quota.type, quota.value) == ("limited", 200)


def test_counts_recipients_not_message_objects(api, state, users):
    api.push_message(PushMessageRequest(to=USER_A, messages=words("1", "2", "3", "4", "5")))
    assert state.consumption() == 1
    api.multicast(MulticastRequest(to=[USER_A, USER_B, USER_C], messages=words("1", "2")))
    assert state.consumption() == 4
    api.broadcast(BroadcastRequest(messages=words("b")))
    assert state.consumption() == 7
    assert api.get_message_quota_consumption().total_usage == 7


def test_exhausted_quota_answers_429_and_delivers_nothing(api, state, users):
    state.set_quota(3)
    api.multicast(MulticastRequest(to=[USER_A, USER_B], messages=words("ok")))
    with pytest.raises(ApiException) as caught:
        api.multicast(MulticastRequest(to=[USER_A, USER_B], messages=words("too many")))
    assert caught.value.status == 429
    assert caught.value.body == '{"message": "You have reached your monthly limit."}'
    assert state.messages_for(USER_B) == [{"type": "text", "text": "ok"}]
    assert state.consumption() == 2
    api.push_message(PushMessageRequest(to=USER_C, messages=words("last one")))
    assert state.consumption() == 3
    assert state.rejected()[-1]["reason"] == "quota"


def test_narrowcast_up_to_remaining_quota(api, state, users):
    state.set_quota(2)
    api.narrowcast(NarrowcastRequest(messages=words("n"), limit=Limit(up_to_remaining_quota=True)))
    assert state.records(endpoint="narrowcast")[0]["to"] == [USER_A, USER_B]
    assert state.consumption() == 2


def test_usage_starts_again_each_month_in_japan_time(api, state, users):
    with time_machine.travel(dt.datetime(2025, 1, 31, 23, 30, tzinfo=JST), tick=False) as t:
        api.push_message(PushMessageRequest(to=USER_A, messages=words("1月")))
        assert state.consumption() == 1
        t.move_to(dt.datetime(2025, 2, 1, 0, 30, tzinfo=JST))
        assert state.consumption() == 0


def test_quota_can_be_lifted(state):
    state.set_quota(5)
    state.set_quota(None)
    assert state.quota() is None
    with pytest.raises(ValueError):
        state.set_quota(-1)
