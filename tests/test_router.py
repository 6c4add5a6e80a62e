"""Postback data: versioned, validated, and polite about anything old or tampered."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.router import InvalidPostback, Router, encode_postback, integer, job_number, normalise


@pytest.fixture
def router():
    r = Router()

    @r.action("fav.add", j=job_number)
    def add(ctx):
        return ["added"]

    @r.action("page", optional=("q",), n=integer(1, 50), q=lambda s: s)
    def page(ctx):
        return ["paged"]

    return r


def test_round_trip(router):
    data = encode_postback("fav.add", j="42040-12345678")
    assert data == "v=1&a=fav.add&j=42040-12345678"
    action, params = router.decode_postback(data)
    assert action.name == "fav.add" and params == {"j": "42040-12345678"}


def test_optional_parameter(router):
    assert router.decode_postback("v=1&a=page&n=3")[1] == {"n": 3}


@pytest.mark.parametrize("data", [
    "", "a=fav.add&j=42040-12345678", "v=2&a=fav.add&j=42040-12345678", "v=1&a=fav.remove&j=1",
    "v=1&a=fav.add", "v=1&a=fav.add&j=42040-1234", "v=1&a=fav.add&j=42040-12345678&x=1",
    "v=1&a=fav.add&j=42040-12345678&j=42040-00000000", "v=1&a=page&n=0", "v=1&a=page&n=51",
    "v=1&a=page&n=-1", "v=1&a=page&n=1e3", "%%%", "v=1&a=" + "x" * 300, "\u0000",
])
def test_tampered_or_old_data_is_refused(router, data):
    with pytest.raises(InvalidPostback):
        router.decode_postback(data)


def test_encoding_refuses_data_over_300_characters():
    with pytest.raises(ValueError):
        encode_postback("x", q="あ" * 100)


def test_job_number_accepts_full_width_and_no_hyphen():
    assert job_number("４２０４０－１２３４５６７８") == "42040-12345678"
    assert job_number("4204012345678") == "42040-12345678"


def test_normalise_folds_widths():
    assert normalise(" ＡＢＣ１２３ ｶﾀｶﾅ ") == "ABC123 カタカナ"


def test_patterns_win_over_keywords_and_fallback_catches_the_rest():
    from bot.router import Context

    r = Router()
    r.pattern(r"\d{5}-?\d{8}")(lambda ctx: ["pattern"])
    r.keyword("求人")(lambda ctx: ["keyword"])
    r.fallback(lambda ctx: ["fallback"])
    pick = lambda text: r.handler_for_text(Context(event=None, session=None, settings=None, now=None,
                                                   text=text))(None)
    assert pick("求人 42040-12345678") == ["pattern"]
    assert pick("求人を探したい") == ["keyword"]
    assert pick("こんにちは") == ["fallback"]


@given(st.from_regex(r"[a-z][a-z.]{0,20}", fullmatch=True),
       st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True).filter(lambda k: k not in ("v", "a")),
                       st.one_of(st.integers(), st.text(max_size=12), st.booleans(),
                                 st.from_regex(r"[0-9]{5}-[0-9]{8}", fullmatch=True)), max_size=4))
def test_postback_data_is_what_urlencode_gives(action, params):
    # encode_postback joins plain names and numbers itself and leaves the rest to urlencode: the data
    # (and so what decode_postback reads back) must not depend on which way it went.
    expected = urlencode({"v": "1", "a": action, **params})
    if len(expected) > 300:
        with pytest.raises(ValueError):
            encode_postback(action, **params)
    else:
        assert encode_postback(action, **params) == expected
