"""Fault injection: scripted, by seeded chance, and slow answers."""
import random
import time
import uuid

import pytest
import urllib3
from linebot.v3.messaging import (ApiException, MulticastRequest, PushMessageRequest,
                                  TextMessage)

from simulator.emulator import FaultRule

from .conftest import USER_A, USER_B


def push(api, words="x", **kwargs):
    return api.push_message(PushMessageRequest(to=USER_A, messages=[TextMessage(text=words)]),
                            **kwargs)


def status_of(call):
    try:
        call()
    except ApiException as exc:
        return exc.status
    return 200


def test_scripted_429_for_the_next_two_calls(api, state, users):
    state.inject(endpoint="push", status=429, times=2)
    statuses = [status_of(lambda: push(api, str(i))) for i in range(3)]
    assert statuses == [429, 429, 200]
    assert [m["text"] for m in state.messages_for(USER_A)] == ["2"]
    refused = state.rejected()
    assert [(r["status"], r["reason"]) for r in refused] == [(429, "fault")] * 2
    assert refused[0]["body"]["messages"][0]["text"] == "0"
    assert state.faults() == []


def test_rate_limit_and_server_error_bodies_are_lines(api, state, users):
    state.inject(endpoint="push", status=429, times=1)
    state.inject(endpoint="push", status=500, times=1)
    with pytest.raises(ApiException) as first:
        push(api)
    with pytest.raises(ApiException) as second:
        push(api)
    assert first.value.body == ('{"message": "The API rate limit has been exceeded. '
                                'Try again later."}')
    assert second.value.body == '{"message": "Internal Server Error"}'


def test_fault_matches_only_its_endpoint_or_star(api, state, users):
    state.inject(endpoint="multicast", status=503, times=1)
    assert status_of(lambda: push(api)) == 200
    state.inject(endpoint="*", status=503, times=1)
    assert status_of(lambda: api.get_bot_info()) == 503
    state.inject(endpoint=["info", "profile"], status=500, times=1)
    assert status_of(lambda: api.get_profile(USER_A)) == 500


def test_probability_faults_are_reproducible_from_the_seed(api, state, users):
    def run():
        state.reset()
        state.add_user(USER_A)
        state.inject(FaultRule(endpoint="push", status=500, probability=0.5, seed=42))
        return [status_of(lambda: push(api)) for _ in range(20)]

    first, second = run(), run()
    rng = random.Random(42)
    expected = [500 if rng.random() < 0.5 else 200 for _ in range(20)]
    assert first == second == expected
    assert 0 < first.count(500) < 20
    assert len(state.messages_for(USER_A)) == first.count(200)


def test_probability_with_times_fires_at_most_that_often(api, state, users):
    state.inject(endpoint="push", status=500, probability=1.0, times=3, seed=1)
    assert [status_of(lambda: push(api)) for _ in range(5)] == [500, 500, 500, 200, 200]


def test_rule_without_times_or_probability_lasts_until_cleared(api, state, users):
    state.inject(endpoint="push", status=503)
    assert [status_of(lambda: push(api)) for _ in range(3)] == [503] * 3
    state.clear_faults()
    assert status_of(lambda: push(api)) == 200


def test_slow_answer_times_the_client_out_yet_is_delivered(api, state, users):
    state.inject(endpoint="push", delay=0.6, times=1)
    key = str(uuid.uuid4())
    with pytest.raises(urllib3.exceptions.TimeoutError):
        push(api, "遅延", x_line_retry_key=key, _request_timeout=0.2)
    deadline = time.monotonic() + 5
    while not state.messages_for(USER_A) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state.messages_for(USER_A) == [{"type": "text", "text": "遅延"}]
    # The client cannot know; retrying with the same key is safe.
    with pytest.raises(ApiException) as caught:
        push(api, "遅延", x_line_retry_key=key)
    assert caught.value.status == 409
    assert len(state.messages_for(USER_A)) == 1


def test_faults_do_not_touch_the_control_endpoints(raw, state):
    state.inject(endpoint="*", status=500)
    assert raw("GET", "/_emulator/records", token=None).status == 200


def test_multicast_fault_delivers_to_nobody(api, state, users):
    state.inject(endpoint="multicast", status=500, times=1)
    with pytest.raises(ApiException):
        api.multicast(MulticastRequest(to=[USER_A, USER_B], messages=[TextMessage(text="m")]))
    assert state.messages_for(USER_A) == state.messages_for(USER_B) == []
    assert state.records() == []


@pytest.mark.parametrize("fields", [
    {},
    {"status": 200},
    {"status": 500, "probability": 2},
    {"delay": -1},
])
def test_bad_rules_are_refused(state, fields):
    with pytest.raises(ValueError):
        state.inject(**fields)
