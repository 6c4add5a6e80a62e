"""Synthetic listings for the Omura area: for demos, load tests and exercising the importer.

Everything is drawn from one random.Random(seed), so the same seed, count and `today` give the same
listings. Company names are assembled from common name parts; they are fictional.
"""
from __future__ import annotations

import calendar
import datetime as dt
import random
from collections.abc import Iterator
from typing import Any, NamedTuple

import jpholiday

from bot.jobs import reference
from bot.jobs.catalogue import monthly
from bot.jobs.importer import csv_records
from bot.models.job import CLOSED, OPEN

# Nagasaki's minimum wage from the 2025 revision; no generated wage may fall below it, per hour or
# as the monthly equivalent the catalogue compares (8 hours x 21 days).
MINIMUM_HOURLY = 1031
MINIMUM_MONTHLY = monthly(MINIMUM_HOURLY, "時給")

OFFICES = {"42040": "ハローワーク大村", "42010": "ハローワーク長崎", "42020": "ハローワーク佐世保",
           "42030": "ハローワーク諫早"}
# Where a listing's work place is, how often (weighted toward Omura), and the office that usually takes it.
AREA = {  # code: (weight, office, towns)
    "42205": (40, "42040", ("東本町", "西本町", "本町", "古賀島町", "桜馬場", "松並", "久原", "池田", "竹松本町",
                            "富の原", "箕島町", "沖田町", "水主町", "西三城町", "武部町", "森園町", "植松", "今津町",
                            "福重町", "松原")),
    "42321": (6, "42040", ("彼杵宿郷", "蔵本郷", "三根郷", "八反田郷", "千綿宿郷", "瀬戸郷")),
    "42322": (8, "42040", ("中組郷", "百津郷", "白石郷", "小串郷", "三越郷", "下組郷")),
    "42323": (8, "42040", ("井石郷", "中尾郷", "宿郷", "折敷瀬郷", "長野郷", "湯無田郷", "村木郷")),
    "42204": (16, "42030", ("永昌町", "八坂町", "栄町", "幸町", "福田町", "多良見町", "小長井町", "高来町",
                            "森山町", "貝津町", "津久葉町")),
    "42201": (12, "42010", ("茂里町", "大黒町", "元船町", "興善町", "浜町", "五島町", "江戸町", "宝町")),
    "42202": (10, "42020", ("島瀬町", "栄町", "白南風町", "相浦町", "早岐", "大塔町", "日宇町", "瀬戸越")),
}
OUTSIDE_TAKEN_IN_OMURA = 0.2  # share of listings outside the office area received in Omura

NAME_FIRST = ("大", "新", "東", "西", "南", "北", "中", "三", "富", "福", "光", "明", "昭", "旭", "朝", "若", "青",
              "緑", "桜", "松", "竹", "梅", "春", "海", "浜", "山", "川", "森")
NAME_LOCAL = ("玖島", "萱瀬", "彼杵", "千綿", "琴海", "郡岳", "三城", "野岳")  # used on their own
NAME_SECOND = ("和", "栄", "成", "進", "興", "陽", "輝", "晴", "風", "星", "峰", "里", "港", "洋", "泉", "信", "友",
               "仁", "誠", "幸")
EMPLOYERS = {
    "welfare": ("社会福祉法人{x}福祉会", "社会福祉法人{x}会", "株式会社{x}ケアサービス", "有限会社{x}介護センター"),
    "medical": ("医療法人{x}会", "医療法人社団{x}会"),
    "factory": ("株式会社{x}工業", "{x}精工株式会社", "株式会社{x}製作所", "有限会社{x}鉄工所", "{x}電子株式会社",
                "株式会社{x}食品"),
    "logistics": ("{x}運輸株式会社", "株式会社{x}物流", "有限会社{x}運送"),
    "retail": ("有限会社{x}商店", "株式会社{x}ストア", "株式会社{x}ドラッグ", "株式会社{x}ホームセンター"),
    "food": ("株式会社{x}フーズ", "有限会社{x}食堂", "株式会社{x}給食サービス"),
    "construction": ("株式会社{x}建設", "株式会社{x}組", "有限会社{x}設備", "{x}電設株式会社", "株式会社{x}工務店"),
    "it": ("株式会社{x}システム", "株式会社{x}ソフトウェア", "株式会社{x}情報サービス"),
    "building": ("株式会社{x}ビルサービス", "有限会社{x}クリーン", "株式会社{x}管理"),
    "security": ("{x}警備保障株式会社", "株式会社{x}セキュリティ"),
    "pottery": ("有限会社{x}窯", "株式会社{x}陶器", "{x}製陶所", "有限会社{x}陶苑"),
    "farm": ("農業生産法人 株式会社{x}ファーム", "有限会社{x}農園", "株式会社{x}製茶"),
    "office": ("株式会社{x}商事", "{x}産業株式会社", "株式会社{x}不動産"),
    "school": ("株式会社{x}学院", "有限会社{x}ゼミナール"),
    "beauty": ("有限会社ヘアサロン{x}", "株式会社{x}ビューティー"),
}

# Working patterns: (shift type, full-time hours, part-time hours, days off choices).
# "～" is U+FF5E, the form Windows and CP932 use, so a CP932 export gives back the same text.
PATTERNS = {
    "office": ("固定", ("8時30分～17時30分", "9時00分～18時00分", "8時00分～17時00分", "8時30分～17時15分"),
               ("9時00分～13時00分", "9時00分～15時00分", "10時00分～16時00分"),
               ("土日祝", "土日祝 年間休日120日", "日曜・祝日・他（第2・第4土曜）", "日曜・他")),
    "care": ("交替制", ("(1)7時00分～16時00分 (2)8時30分～17時30分 (3)10時00分～19時00分 (4)16時30分～翌9時30分",
                        "(1)8時30分～17時30分 (2)16時30分～翌9時30分"),
             ("9時00分～16時00分", "8時30分～12時30分", "13時00分～17時00分"),
             ("シフト制 4週8休", "シフト制 週休2日", "シフト制 月9日")),
    "clinic": ("固定", ("8時30分～17時30分", "8時30分～18時00分"), ("8時30分～12時30分", "14時00分～18時00分"),
               ("日曜・祝日・他（木曜午後）", "日曜・祝日・他")),
    "factory": ("交替制", ("(1)8時00分～17時00分 (2)20時00分～翌5時00分", "(1)6時00分～14時45分 (2)14時30分～23時15分",
                           "8時00分～17時00分"),
                ("8時30分～15時00分", "9時00分～16時00分"), ("土日祝", "日曜・他（会社カレンダー）", "シフト制 週休2日")),
    "shop": ("シフト制", ("(1)9時00分～18時00分 (2)13時00分～22時00分", "(1)7時00分～16時00分 (2)11時00分～20時00分"),
             ("10時00分～15時00分", "17時00分～22時00分", "9時00分～13時00分"),
             ("シフト制 週休2日", "シフト制 月8日", "シフト制 週2日から")),
    "driver": ("固定", ("7時00分～16時00分", "6時00分～15時00分", "8時00分～17時00分"), ("8時00分～12時00分",),
               ("日曜・他", "日曜・祝日・他", "シフト制 週休2日")),
    "site": ("固定", ("8時00分～17時00分", "7時30分～17時00分"), ("8時00分～12時00分",),
             ("日曜・他（第2・第4土曜）", "日曜・祝日・他", "土日祝")),
    "guard": ("交替制", ("(1)8時00分～17時00分 (2)17時00分～翌8時00分", "8時00分～17時00分"), ("9時00分～15時00分",),
              ("シフト制 月8日", "シフト制 4週6休")),
    "evening": ("シフト制", ("13時00分～22時00分",), ("16時00分～22時00分の間で3時間程度",), ("日曜・祝日・他",)),
}

COMMON_NOTES = ("未経験の方にも先輩社員が丁寧に指導します。", "マイカー通勤ができます（無料駐車場あり）。",
                "資格取得の費用は会社が負担します。", "子育て中の方も働きやすい職場です。",
                "賞与は年2回（前年度実績）です。", "通勤手当は上限20,000円まで支給します。")


class Kind(NamedTuple):
    """One kind of job and what goes with it."""
    titles: tuple[str, ...]
    middle: str  # occupation middle group in reference.OCCUPATION_MIDDLES
    employers: tuple[str, ...]  # keys of EMPLOYERS
    duties: tuple[str, ...]  # first sentence of the description
    monthly: tuple[int, int]  # 月給 for full-time
    hourly: tuple[int, int]  # 時給 for part-time and dispatch
    pattern: str  # key of PATTERNS
    weight: int
    part_share: float = 0.25  # share of part-time listings
    daily: tuple[int, int] | None = None  # 日給 for some non-regular full-time work
    places: tuple[str, ...] = ()  # only these municipalities (local industries)


KINDS = (
    Kind(("介護職員", "介護スタッフ（デイサービス）", "訪問介護員（ホームヘルパー）"), "36", ("welfare", "medical"),
         ("特別養護老人ホームで入浴・食事・排せつの介助をお願いします。",
          "デイサービスでご利用者様の送迎、入浴介助、レクリエーションを担当します。",
          "グループホームで入居者様9名の日常生活を支えるお仕事です。"),
         (175_000, 240_000), (1_040, 1_250), "care", 12, 0.35),
    Kind(("看護師", "准看護師"), "13", ("medical", "welfare"),
         ("病棟での看護業務全般をお願いします。", "外来での診療補助、採血、点滴などをお願いします。",
          "施設入居者様の健康管理と服薬管理をお願いします。"),
         (230_000, 340_000), (1_300, 1_400), "care", 6, 0.3),
    Kind(("看護助手",), "37", ("medical",),
         ("病棟で看護師の補助として、シーツ交換や患者様の移動のお手伝いをします。",),
         (175_000, 210_000), (1_040, 1_150), "care", 3, 0.4),
    Kind(("理学療法士", "作業療法士"), "14", ("medical", "welfare"),
         ("入院・外来の患者様へのリハビリテーションをお願いします。",),
         (220_000, 320_000), (1_300, 1_400), "clinic", 2, 0.15),
    Kind(("保育士",), "16", ("welfare",),
         ("認可保育園で0歳から5歳までのお子さんの保育をお願いします。",),
         (180_000, 240_000), (1_060, 1_200), "office", 3, 0.3),
    Kind(("一般事務", "総務事務", "受付事務"), "25", ("office", "factory", "construction", "medical", "logistics"),
         ("電話・来客対応、書類作成、データ入力などの事務全般をお願いします。",
          "受付での来客対応と、伝票の入力・整理をお願いします。"),
         (175_000, 240_000), (1_031, 1_150), "office", 9, 0.3),
    Kind(("経理事務",), "26", ("office", "factory", "construction"),
         ("売上・経費の入力、請求書の発行、月次決算の補助をお願いします。",),
         (185_000, 260_000), (1_050, 1_200), "office", 3, 0.25),
    Kind(("営業事務",), "28", ("office", "factory", "logistics"),
         ("受発注の入力、見積書の作成、営業担当者のサポートをお願いします。",),
         (178_000, 230_000), (1_040, 1_150), "office", 2, 0.25),
    Kind(("製造オペレーター", "機械オペレーター", "食品製造スタッフ"), "53", ("factory",),
         ("工場での機械の操作と、製品の仕上がりの確認をお願いします。",
          "食品工場で原料の計量、機械への投入、包装の補助をお願いします。",
          "半導体部品の製造ラインで、装置の操作と監視をお願いします。"),
         (180_000, 260_000), (1_040, 1_250), "factory", 9, 0.2),
    Kind(("機械組立", "電子部品の組立"), "55", ("factory",),
         ("産業用機械の部品の組立と調整をお願いします。", "電子部品の組立作業をお願いします。"),
         (180_000, 250_000), (1_040, 1_200), "factory", 3, 0.2),
    Kind(("検品", "検査スタッフ"), "58", ("factory",),
         ("完成した製品に傷や汚れがないか目で見て確認します。", "製品の寸法を測定し、検査記録をつけます。"),
         (176_000, 220_000), (1_035, 1_150), "factory", 3, 0.35),
    Kind(("生産技術", "品質管理"), "08", ("factory",),
         ("製造ラインの改善と設備の立ち上げを担当します。", "製品の品質検査の計画と、不具合の原因調査を担当します。"),
         (210_000, 330_000), (1_200, 1_400), "office", 2, 0.0),
    Kind(("配送ドライバー", "ルート配送ドライバー", "大型トラックドライバー"), "63", ("logistics", "retail", "food"),
         ("2トントラックで県内の店舗へ商品を配送します。", "決まったルートで取引先へ食品を配送します。",
          "大型トラックで県内外への長距離輸送をお願いします。"),
         (200_000, 330_000), (1_100, 1_300), "driver", 5, 0.15),
    Kind(("フォークリフトオペレーター",), "66", ("logistics", "factory"),
         ("倉庫内でフォークリフトを使った荷物の積み降ろしをお願いします。",),
         (190_000, 250_000), (1_100, 1_250), "factory", 2, 0.1),
    Kind(("倉庫内作業（ピッキング）", "荷物の仕分け"), "71", ("logistics",),
         ("伝票を見ながら倉庫内の商品を集めて出荷の準備をします。", "届いた荷物を配送先ごとに仕分けます。"),
         (176_000, 220_000), (1_040, 1_150), "factory", 3, 0.45),
    Kind(("梱包スタッフ",), "73", ("factory", "logistics"), ("出荷する製品を箱に詰め、ラベルを貼ります。",),
         (175_000, 210_000), (1_035, 1_120), "factory", 2, 0.5),
    Kind(("調理補助", "調理師", "給食調理員"), "39", ("food", "welfare", "medical"),
         ("野菜の下ごしらえや盛り付け、食器の洗浄をお願いします。", "病院・施設の給食の調理をお願いします。",
          "定食屋での調理全般をお願いします。"),
         (175_000, 240_000), (1_031, 1_150), "shop", 5, 0.55),
    Kind(("ホールスタッフ",), "40", ("food",), ("飲食店での注文の受付、料理の配膳、レジをお願いします。",),
         (175_000, 220_000), (1_031, 1_150), "shop", 3, 0.6),
    Kind(("販売スタッフ", "レジ係", "品出しスタッフ"), "32", ("retail",),
         ("店舗での接客、レジ、商品の陳列をお願いします。", "食品売場での品出しと売場づくりをお願いします。"),
         (175_000, 230_000), (1_031, 1_150), "shop", 7, 0.5),
    Kind(("ルート営業", "営業"), "34", ("office", "factory", "construction", "retail"),
         ("既存のお取引先を訪問し、商品のご提案と受注をお願いします。",),
         (200_000, 320_000), (1_200, 1_400), "office", 3, 0.0),
    Kind(("店長候補",), "04", ("retail", "food"), ("店舗の運営管理、スタッフの育成、売上管理をお願いします。",),
         (230_000, 350_000), (1_200, 1_400), "shop", 1, 0.0),
    Kind(("施工管理", "土木施工管理"), "09", ("construction",),
         ("公共工事・民間工事の現場で、工程・品質・安全の管理をお願いします。",),
         (240_000, 350_000), (1_300, 1_400), "site", 2, 0.0),
    Kind(("型枠大工", "とび工"), "67", ("construction",), ("建築現場での型枠の組立・解体をお願いします。",),
         (200_000, 320_000), (1_200, 1_400), "site", 2, 0.0, daily=(10_000, 15_000)),
    Kind(("内装工", "配管工"), "68", ("construction",),
         ("住宅や店舗の内装仕上げ工事をお願いします。", "給排水設備の配管工事をお願いします。"),
         (200_000, 300_000), (1_150, 1_350), "site", 2, 0.0, daily=(9_500, 14_000)),
    Kind(("電気工事士",), "69", ("construction",), ("住宅・工場の電気設備工事をお願いします。",),
         (210_000, 330_000), (1_200, 1_400), "site", 2, 0.05),
    Kind(("プログラマー", "システムエンジニア"), "10", ("it",),
         ("業務システムの設計・開発・テストを担当します。", "自治体や企業向けのWebシステムの開発をお願いします。"),
         (210_000, 350_000), (1_300, 1_400), "office", 2, 0.05),
    Kind(("清掃スタッフ", "客室清掃"), "72", ("building",),
         ("病院・オフィスビルの日常清掃をお願いします。", "ホテルの客室清掃とベッドメイクをお願いします。"),
         (175_000, 200_000), (1_031, 1_100), "office", 4, 0.7),
    Kind(("マンション管理員", "施設管理"), "41", ("building",),
         ("マンションの受付、巡回、共用部分の点検をお願いします。",),
         (175_000, 210_000), (1_031, 1_100), "office", 1, 0.5),
    Kind(("施設警備員", "交通誘導警備員"), "45", ("security",),
         ("商業施設での出入管理と巡回をお願いします。", "道路工事現場での車両・歩行者の誘導をお願いします。"),
         (180_000, 240_000), (1_050, 1_200), "guard", 3, 0.2, daily=(9_000, 11_000)),
    Kind(("波佐見焼の絵付け", "陶磁器の成形スタッフ"), "53", ("pottery",),
         ("波佐見焼の食器に筆で絵付けをするお仕事です。", "陶磁器の生地を機械で成形し、仕上げをします。"),
         (175_000, 230_000), (1_031, 1_150), "factory", 30, 0.3, places=("42323", "42322")),
    Kind(("茶園管理・製茶スタッフ",), "46", ("farm",), ("そのぎ茶の茶園管理と、製茶工場での作業をお願いします。",),
         (175_000, 220_000), (1_031, 1_100), "site", 20, 0.3, places=("42321",)),
    Kind(("農作業スタッフ",), "46", ("farm",), ("ハウスでのいちご・野菜の栽培と収穫、出荷作業をお願いします。",),
         (175_000, 210_000), (1_031, 1_100), "site", 1, 0.4),
    Kind(("美容師",), "38", ("beauty",), ("美容室でのカット、カラー、パーマなどの施術をお願いします。",),
         (180_000, 260_000), (1_100, 1_300), "shop", 1, 0.2),
    Kind(("学習塾講師",), "19", ("school",), ("小学生・中学生に国語・数学・英語を教えます。",),
         (200_000, 260_000), (1_300, 1_400), "evening", 1, 0.8),
)
# Dispatch work only where the law allows it and offices see it (not construction, security or medical).
DISPATCH_MIDDLES = {"25", "26", "28", "32", "53", "55", "58", "71", "73"}
DETAILS = {  # an optional second sentence, by middle group
    "36": ("介護職員初任者研修以上の資格をお持ちの方を歓迎します。", "夜勤は月4回程度です。"),
    "13": ("夜勤は月4回程度です。", "ブランクのある方も歓迎します。"),
    "53": ("立ち仕事が中心です。", "制服を貸与します。"),
    "63": ("中型自動車免許が必要です。", "荷物の積み降ろしは台車やフォークリフトを使います。"),
    "39": ("調理師免許があれば優遇します。",),
    "32": ("レジの操作は入社後に覚えていただけます。",),
    "09": ("2級土木施工管理技士以上の資格が必要です。",),
    "10": ("Java または Python の実務経験がある方を歓迎します。",),
    "45": ("警備員の新任研修（有給）があります。",),
    "25": ("Word・Excel の基本操作ができる方を希望します。",),
}


def generate(count: int, seed: int, today: dt.date, closed_ratio: float = 0.1) -> list[dict[str, Any]]:
    """`count` listings received in the 60 days before `today`, as dicts for catalogue.upsert."""
    return list(iter_generate(count, seed, today, closed_ratio))


def iter_generate(count: int, seed: int, today: dt.date, closed_ratio: float = 0.1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    closed = set(rng.sample(range(count), round(count * closed_ratio)))
    days = _office_days(today)
    used: set[str] = set()
    for index in range(count):
        yield _listing(rng, days, used, CLOSED if index in closed else OPEN)


def generate_csv_rows(count: int, seed: int, today: dt.date, closed_ratio: float = 0.1) -> Iterator[list[str]]:
    """The header and cells of a CSV in the office export's layout, for files to import."""
    return csv_records(iter_generate(count, seed, today, closed_ratio))


def referral_deadline(received: dt.date) -> dt.date:
    """Hello Work's rule: the end of the second month after the month of receipt."""
    year, month = divmod(received.month + 1, 12)
    year, month = received.year + year, month + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _office_days(today: dt.date) -> list[dt.date]:
    # Offices receive listings on working days only: not weekends, holidays or 12/29-1/3.
    days = [today - dt.timedelta(days=n) for n in range(1, 61)]
    return [d for d in days if d.weekday() < 5 and not jpholiday.is_holiday(d)
            and not ((d.month, d.day) >= (12, 29) or (d.month, d.day) <= (1, 3))]


def _listing(rng: random.Random, days: list[dt.date], used: set[str], status: str) -> dict[str, Any]:
    code = rng.choices(list(AREA), weights=[a[0] for a in AREA.values()])[0]
    office = AREA[code][1]
    if office != reference.OFFICE_NUMBER and rng.random() < OUTSIDE_TAKEN_IN_OMURA:
        office = reference.OFFICE_NUMBER
    kinds = [k for k in KINDS if not k.places or code in k.places]
    kind = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
    employment, category, unit, low, high = _terms(rng, kind)
    shift, full_hours, part_hours, days_off = PATTERNS[kind.pattern]
    part = employment == "パート"
    hours = rng.choice(part_hours if part else full_hours)
    off = rng.choice(days_off)
    address = _address(rng, code)
    company_address = _address(rng, rng.choice(list(AREA))) if rng.random() < 0.15 else address  # head office
    received = rng.choice(days)
    return {
        "job_number": _job_number(rng, office, used),
        "office": OFFICES[office],
        "company_name": _company(rng, rng.choice(kind.employers)),
        "company_address": company_address,
        "occupation": _title(rng, kind, part),
        "occupation_major": reference.OCCUPATION_MIDDLES[kind.middle][0],
        "occupation_middle": kind.middle,
        "description": _description(rng, kind),
        "employment_type": employment,
        "category": category,
        "prefecture": reference.PREFECTURE,
        "municipality_code": code,
        "work_address": address,
        "wage_min": low,
        "wage_max": high,
        "wage_unit": unit,
        "working_hours": hours,
        "shift_type": shift if not part or shift != "交替制" else "固定",
        "days_off": off,
        "weekends_off": off.startswith("土日祝"),
        "age_limit": rng.choices(("不問", "59歳以下（定年が60歳のため）", "18歳以上（深夜業務のため）"),
                                 weights=(85, 10, 5 if shift == "交替制" else 0))[0],
        "received_on": received,
        "referral_deadline": referral_deadline(received),
        "online_application": rng.random() < 0.3,
        "status": status,
    }


def _terms(rng: random.Random, kind: Kind) -> tuple[str, str, str, int, int]:
    """Employment type, category, wage unit and wage range."""
    if rng.random() < kind.part_share:
        category = "障害者" if rng.random() < 0.03 else "一般パート"
        return ("パート", category, "時給", *_hourly(rng, kind))
    dispatch = 7 if kind.middle in DISPATCH_MIDDLES else 0
    employment = rng.choices(("正社員", "正社員以外", "有期雇用派遣"), weights=(75, 18, dispatch))[0]
    category = rng.choices(("一般フルタイム", "新卒・既卒", "障害者"), weights=(92, 5, 3))[0]
    if employment == "正社員":
        return (employment, category, "月給", *_monthly(rng, kind))
    if employment == "正社員以外" and kind.daily:
        low = rng.randrange(kind.daily[0], kind.daily[1] + 1, 500)
        return (employment, "一般フルタイム", "日給", low, min(kind.daily[1], low + rng.choice((0, 1000, 2000))))
    if employment == "有期雇用派遣":
        return (employment, "一般フルタイム", "時給", *_hourly(rng, kind))
    return (employment, "一般フルタイム", "月給", *_monthly(rng, kind))


def _monthly(rng: random.Random, kind: Kind) -> tuple[int, int]:
    floor = -(-MINIMUM_MONTHLY // 1000) * 1000
    bottom, top = max(kind.monthly[0], floor), kind.monthly[1]
    low = rng.randrange(bottom, top - 10_000 + 1, 1000)
    return low, min(top, low + rng.choice((0, 10_000, 20_000, 30_000, 50_000, 80_000)))


def _hourly(rng: random.Random, kind: Kind) -> tuple[int, int]:
    low = max(MINIMUM_HOURLY, round(rng.randint(*kind.hourly), -1))
    return low, min(kind.hourly[1], low + rng.choice((0, 0, 50, 100, 200)))


def _job_number(rng: random.Random, office: str, used: set[str]) -> str:
    while True:
        number = f"{office}-{rng.randrange(10 ** 8):08d}"
        if number not in used:
            used.add(number)
            return number


def _title(rng: random.Random, kind: Kind, part: bool) -> str:
    title = rng.choice(kind.titles)
    if not part:
        return title
    return title[:-1] + "・パート）" if title.endswith("）") else title + "（パート）"


def _company(rng: random.Random, employer: str) -> str:
    name = rng.choice(NAME_LOCAL) if rng.random() < 0.2 else rng.choice(NAME_FIRST) + rng.choice(NAME_SECOND)
    return rng.choice(EMPLOYERS[employer]).format(x=name)


def _address(rng: random.Random, code: str) -> str:
    town = rng.choice(AREA[code][2])
    if town.endswith("郷") or rng.random() < 0.5:  # 郷 (the rural districts) have lot numbers, not 丁目
        lot = f"{rng.randint(1, 2500)}番地" + (f"{rng.randint(1, 30)}" if rng.random() < 0.5 else "")
    else:
        lot = f"{rng.randint(1, 5)}丁目{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    county = "東彼杵郡" if code in ("42321", "42322", "42323") else ""
    return f"{reference.PREFECTURE}{county}{reference.MUNICIPALITIES[code]}{town}{lot}"


def _description(rng: random.Random, kind: Kind) -> str:
    sentences = [rng.choice(kind.duties)]
    if kind.middle in DETAILS and rng.random() < 0.6:
        sentences.append(rng.choice(DETAILS[kind.middle]))
    if rng.random() < 0.6:
        sentences.append(rng.choice(COMMON_NOTES))
    return "".join(sentences)
