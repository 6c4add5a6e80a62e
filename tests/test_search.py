"""The search engine on both databases: every condition, Japanese words, paging."""
from __future__ import annotations

import pytest

from bot.jobs import search
from bot.jobs.search import ConditionError, Conditions, parse_words
from bot.jobs.text import fold
from tests.factories import add_jobs, job


def numbers(db, **conditions):
    with db.session() as s:
        found = search.run(s, Conditions(**conditions))
        return {j.occupation for j in found.jobs}, found.total


@pytest.fixture
def catalogue(db):
    add_jobs(db,
             job(occupation="介護職員", occupation_major="E", description="特別養護老人ホームでの介護業務。夜勤あり。",
                 company_name="社会福祉法人みどり福祉会", municipality_code="42205", category="一般フルタイム",
                 employment_type="正社員", wage_min=190000, wage_max=240000, weekends_off=False,
                 online_application=True),
             job(occupation="カンゴシ(看護師)", occupation_major="B", description="外来での看護業務です。",
                 company_name="医療法人大村会", municipality_code="42205", wage_min=250000, wage_max=320000),
             job(occupation="調理補助", occupation_major="E", description="給食センターで調理の補助。",
                 company_name="有限会社波佐見給食", municipality_code="42323", category="一般パート",
                 employment_type="パート", wage_min=1050, wage_max=1100, wage_unit="時給"),
             job(occupation="配送ドライバー", occupation_major="I", description="2tトラックでのルート配送。",
                 company_name="川棚運輸株式会社", municipality_code="42322", wage_min=9000, wage_max=11000,
                 wage_unit="日給", weekends_off=False),
             job(occupation="一般事務", occupation_major="C", description="電話応対、パソコンでのデータ入力(Excel)。",
                 company_name="株式会社イサハヤ商事", municipality_code="42204"),
             job(occupation="介護職員(募集終了)", occupation_major="E", status="無効", description="介護"))


def test_only_open_listings_are_found(db, catalogue):
    found, total = numbers(db)
    assert total == 5 and "介護職員(募集終了)" not in found


@pytest.mark.parametrize("conditions, expected", [
    (dict(municipalities=("42205",)), {"介護職員", "カンゴシ(看護師)"}),
    (dict(municipalities=("42322", "42323")), {"調理補助", "配送ドライバー"}),
    (dict(occupation_major="E"), {"介護職員", "調理補助"}),
    (dict(employment_type="パート"), {"調理補助"}),
    (dict(category="一般パート"), {"調理補助"}),
    (dict(hours="part"), {"調理補助"}),
    (dict(hours="full"), {"介護職員", "カンゴシ(看護師)", "配送ドライバー", "一般事務"}),
    (dict(weekends_off=True), {"カンゴシ(看護師)", "調理補助", "一般事務"}),
    (dict(online_only=True), {"介護職員"}),
    # 時給1,100 x 8 h x 21 d = 184,800; 日給11,000 x 21 = 231,000: comparable with 月給.
    (dict(min_wage=230000), {"介護職員", "カンゴシ(看護師)", "配送ドライバー"}),
    (dict(min_wage=1100, wage_unit="時給"), {"介護職員", "カンゴシ(看護師)", "調理補助", "配送ドライバー",
                                               "一般事務"}),
    (dict(min_wage=1101, wage_unit="時給"), {"介護職員", "カンゴシ(看護師)", "配送ドライバー", "一般事務"}),
    (dict(min_wage=11000, wage_unit="日給"), {"介護職員", "カンゴシ(看護師)", "配送ドライバー"}),
])
def test_each_condition(db, catalogue, conditions, expected):
    found, total = numbers(db, **conditions)
    assert found == expected and total == len(expected)


@pytest.mark.parametrize("keywords, expected", [
    ("介護", {"介護職員"}),                          # two characters: substring scan
    ("看護", {"カンゴシ(看護師)"}),
    ("かんごし", {"カンゴシ(看護師)"}),                 # ひらがな finds カタカナ
    ("ｶﾝｺﾞｼ", {"カンゴシ(看護師)"}),                  # half-width kana
    ("ＥＸＣＥＬ", {"一般事務"}),                        # full-width, any case
    ("excel", {"一般事務"}),
    ("イサハヤ", {"一般事務"}),                          # company name
    ("老人ホーム", {"介護職員"}),                         # description, 5 characters: n-gram index
    ("介護 夜勤", {"介護職員"}),                         # AND
    ("介護 給食", set()),
    ("介護 OR 給食", {"介護職員", "調理補助"}),            # OR
    ("介護 | 看護", {"介護職員", "カンゴシ(看護師)"}),
    ("介護 or 調理 -夜勤", {"調理補助"}),                  # exclusion
    ("－夜勤", {"カンゴシ(看護師)", "調理補助", "配送ドライバー", "一般事務"}),  # full-width minus
    ("2t", {"配送ドライバー"}),
    ("ト", {"配送ドライバー"}),                           # one character
    ("100%", set()),                                 # LIKE wildcards are literal
    ("_", set()),
    ('"', set()),
    ("'; DROP TABLE jobs; --", set()),
])
def test_free_words(db, catalogue, keywords, expected):
    found, total = numbers(db, keywords=keywords)
    assert found == expected and total == len(expected)
    assert numbers(db)[1] == 5  # the catalogue is intact


def test_sorting_and_paging(db):
    add_jobs(db, *[job(occupation=f"仕事{i:02d}", wage_min=200000 + i, wage_max=200000 + i * 1000,
                       received_on=__import__("datetime").date(2026, 10, 1 + i)) for i in range(25)])
    with db.session() as s:
        newest = search.run(s, Conditions())
        assert newest.total == 25 and [j.occupation for j in newest.jobs][:2] == ["仕事24", "仕事23"]
        assert newest.has_next
        third = search.run(s, Conditions(), page=3)
        assert len(third.jobs) == 5 and not third.has_next
        by_wage = search.run(s, Conditions(sort="wage"))
        assert by_wage.jobs[0].occupation == "仕事24"
        assert search.run(s, Conditions(), page=4).jobs == []


def test_fold():
    assert fold("ｶﾝｺﾞｼ") == fold("カンゴシ") == fold("かんごし") == "かんごし"
    assert fold("ＡＢＣ１２３") == "abc123"


def test_parse_words():
    words = parse_words("介護 OR 看護 -夜勤 大村")
    assert words.must == (("介護", "看護"), ("大村",)) and words.exclude == ("夜勤",)
    assert parse_words("OR 介護 or").must == (("介護",),)


@pytest.mark.parametrize("bad", [
    dict(municipalities=("99999",)), dict(occupation_major="Z"), dict(employment_type="社長"),
    dict(min_wage=0), dict(min_wage=-5), dict(wage_unit="年俸"), dict(sort="random"), dict(hours="night"),
    dict(keywords="あ" * 101), dict(keywords=" ".join(["語"] * 11)), dict(keywords="長" * 31),
])
def test_bad_conditions_are_refused_with_a_japanese_message(bad):
    with pytest.raises(ConditionError) as info:
        Conditions(**bad)
    assert info.value.message.endswith("。")


@pytest.mark.parametrize("data", [
    {"unknown": 1}, {"municipalities": "42205"}, {"weekends_off": "yes"}, {"min_wage": "1000"},
    {"keywords": 5}, [], None,
])
def test_stored_conditions_are_checked_on_load(data):
    with pytest.raises(ConditionError):
        Conditions.from_dict(data)


def test_conditions_round_trip_and_summary():
    c = Conditions(municipalities=("42205",), occupation_major="E", employment_type="正社員", min_wage=1000,
                   wage_unit="時給", weekends_off=True, keywords="夜勤なし")
    assert Conditions.from_dict(c.to_dict()) == c
    assert c.summary() == "大村市・サービス・正社員・時給1,000円以上・土日祝休み・「夜勤なし」"
    assert Conditions().to_dict() == {} and Conditions().summary() == "すべての求人"


@pytest.mark.parametrize("keywords", ["", "介護", "介護職員", "介護 OR 調理 -夜勤"])
def test_paging_counts_and_orders_alike_with_and_without_words(db, keywords):
    # 20 care jobs (every third with 夜勤), 7 cooking jobs; SQLite counts word searches another way.
    add_jobs(db, *[job(occupation="介護職員" if i < 20 else "調理補助", wage_min=180000, wage_max=200000 + i * 1000,
                       description="夜勤あり" if i % 3 == 0 else "日勤のみ",
                       received_on=__import__("datetime").date(2026, 10, 1 + i)) for i in range(27)])
    expected = [i for i in range(27) if not keywords or (i < 20 if "OR" not in keywords else i % 3 != 0)]
    with db.session() as s:
        for sort, key in (("new", lambda i: -i), ("wage", lambda i: -i)):
            order = sorted(expected, key=key)
            pages = [search.run(s, Conditions(keywords=keywords, sort=sort), page=p) for p in (1, 2, 3, 4)]
            assert [p.total for p in pages] == [len(expected)] * 4
            got = [int(j.wage_max / 1000) - 200 for p in pages for j in p.jobs]
            assert got == order
            assert [p.has_next for p in pages] == [len(order) > 10 * n for n in (1, 2, 3, 4)]
