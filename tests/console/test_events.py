"""Events in the console: create (with an image), limits, edit, cancel, registrants and CSV, the panel."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import struct
import zlib
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot import images
from bot.models import AuditLog, Event, EventRegistration, OutboxMessage, User
from console.event_forms import EventForm

from .conftest import csrf_token

JST = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime.now(dt.timezone.utc)
NEW = "/console/events/new"


def jst(days: float, hour: int = 13, minute: int = 30) -> str:
    """A datetime-local value `days` from today in Japan time."""
    when = (dt.datetime.now(JST) + dt.timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return when.strftime("%Y-%m-%dT%H:%M")


def valid(**changes) -> dict:
    data = {"kind": "セミナー", "title": "面接対策セミナー", "body": "面接でよく聞かれる質問と答え方を練習します。",
            "starts_at": jst(30), "ends_at": jst(30, 15, 0), "place": "ハローワーク大村 2階会議室",
            "online_url": "", "capacity": "20", "apply_method": "line", "apply_url": "",
            "publish_from": "", "publish_until": ""}
    data.update(changes)
    return data


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (30, 111, 186) if mode == "RGB" else None).save(out, "PNG")
    return out.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A tiny file whose header claims width × height pixels (a decompression bomb)."""
    small = png(1, 1)
    header = struct.pack(">II", width, height) + small[24:29]
    return small[:16] + header + struct.pack(">I", zlib.crc32(b"IHDR" + header)) + small[33:]


def post(client, path: str, data: dict, image: tuple[bytes, str] | None = None, token: bool = True):
    data = dict(data)
    if token:
        data["csrf_token"] = csrf_token(client, NEW)
    if image is not None:
        data["image"] = (io.BytesIO(image[0]), image[1])
    return client.post(path, data=data, content_type="multipart/form-data")


def text(answer) -> str:
    return answer.get_data(as_text=True)


def stored(db) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def audits(db, action: str) -> list[AuditLog]:
    with db.session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def add_event(db, **fields) -> int:
    values = dict(kind="セミナー", title="応募書類の書き方セミナー", body="履歴書の書き方を学びます。",
                  starts_at=NOW + dt.timedelta(days=7), place="ハローワーク大村", capacity=20,
                  apply_method="line", publish_from=NOW - dt.timedelta(days=1))
    values.update(fields)
    with db.session() as s:
        event = Event(**values)
        s.add(event)
        s.flush()
        return event.id


def register(db, event_id: int, *people: tuple[str, str, dt.datetime]) -> None:
    """Registrations straight in the database: (display name, status, registered at) each."""
    with db.session() as s:
        event = s.get(Event, event_id)
        for n, (name, status, at) in enumerate(people):
            user = User(line_user_id=f"U{event_id:08d}{n:024x}", display_name=name)
            s.add(user)
            s.flush()
            s.add(EventRegistration(event_id=event_id, user_id=user.id, status=status, registered_at=at,
                                    cancelled_at=at + dt.timedelta(hours=1) if status == "cancelled" else None))
            event.registered_count += status == "registered"


def unchanged(event: Event) -> dict:
    """What the edit page sends back when nothing is changed."""
    def local(value):
        return value.astimezone(JST).strftime("%Y-%m-%dT%H:%M") if value else ""
    return {"kind": event.kind, "title": event.title, "body": event.body, "starts_at": local(event.starts_at),
            "ends_at": local(event.ends_at), "place": event.place or "", "online_url": event.online_url or "",
            "capacity": "" if event.capacity is None else str(event.capacity), "apply_method": event.apply_method,
            "apply_url": event.apply_url or "", "publish_from": local(event.publish_from),
            "publish_until": local(event.publish_until)}


@pytest.fixture
def media(app, tmp_path):
    """Uploads go to a temporary instance folder (bot/web.py serves from the same app attribute)."""
    app.instance_path = str(tmp_path)
    return tmp_path / "media" / "events"


def files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- create ----------------------------------------------------------------------------------

@pytest.mark.parametrize("size, fitted", [((2080, 1040), (1040, 520)), ((600, 3000), (208, 1040)),
                                          ((320, 200), (320, 200))])
def test_create_with_image_stores_a_resized_jpeg_served_to_line(staff_client, staff_member, db, media, size, fitted):
    answer = post(staff_client, NEW, valid(starts_at=jst(30, 13, 30)), image=(png(*size), "写真.png"))
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/events"

    [event] = stored(db)
    assert event.title == "面接対策セミナー" and event.capacity == 20 and event.created_by == "shokuin"
    # 13:30 in Japan is 04:30 UTC.
    assert event.starts_at.astimezone(JST).strftime("%Y-%m-%dT%H:%M") == jst(30, 13, 30)
    assert event.starts_at.utcoffset() == dt.timedelta(0) and event.starts_at.hour == 4
    assert event.publish_from <= dt.datetime.now(dt.timezone.utc)  # empty: published at once
    assert files(media) == [event.image_name] and event.image_name.endswith(".jpg")
    with Image.open(media / event.image_name) as saved:
        assert saved.format == "JPEG" and saved.mode == "RGB" and saved.size == fitted

    served = staff_client.get(f"/media/events/{event.image_name}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == (media / event.image_name).read_bytes()

    [row] = audits(db, "event.create")
    assert row.target == f"event:{event.id}" and row.staff_id == staff_member.id
    assert row.details["title"] == "面接対策セミナー" and row.details["image"] is True
    assert "「面接対策セミナー」を登録しました。" in text(staff_client.get("/console/events"))


def test_image_metadata_is_stripped(staff_client, db, media):
    exif = Image.Exif()
    exif[0x010F] = "Secret Camera"  # Make
    exif[0x8825] = {2: (32.0, 54.0, 0.0)}  # GPS latitude
    photo = io.BytesIO()
    Image.new("RGB", (1200, 900), "white").save(photo, "JPEG", exif=exif.tobytes(), comment=b"private note")
    assert post(staff_client, NEW, valid(), image=(photo.getvalue(), "photo.jpg")).status_code == 302
    data = (media / stored(db)[0].image_name).read_bytes()
    assert b"Secret Camera" not in data and b"private note" not in data and b"Exif" not in data
    with Image.open(io.BytesIO(data)) as saved:
        assert saved.size == (1040, 780) and not saved.getexif()


def test_create_without_image_and_the_largest_values_allowed(staff_client, db, media):
    url = "https://example.jp/" + "a" * (500 - len("https://example.jp/"))
    answer = post(staff_client, NEW, valid(
        title="あ" * 60, body="い\r\n" * 999 + "うx", place="会" * 200, capacity="１０，０００", kind="職業訓練",
        online_url=url, apply_method="link", apply_url=url, publish_from=jst(2), publish_until=jst(29)))
    assert answer.status_code == 302, text(answer)
    [event] = stored(db)
    assert len(event.title) == 60 and len(event.body) == 2000 and "\r" not in event.body
    assert event.capacity == 10_000 and event.kind == "職業訓練" and event.apply_url == url
    assert event.image_name is None and files(media) == []
    assert event.publish_from.astimezone(JST).strftime("%Y-%m-%dT%H:%M") == jst(2)


LIMITS = [
    ({"title": ""}, "title", "タイトルを入力してください。"),
    ({"title": "　 "}, "title", "タイトルを入力してください。"),
    ({"title": "あ" * 61}, "title", "タイトルは60文字以内にしてください（いま61文字です）。"),
    ({"body": "あ" * 2001}, "body", "内容は2,000文字以内にしてください（いま2,001文字です）。"),
    ({"place": "会" * 201}, "place", "会場は200文字以内にしてください（いま201文字です）。"),
    ({"online_url": "http://example.jp/seminar"}, "online_url", "オンライン参加のURLは「https://」で始まるアドレスを入力してください"),
    ({"online_url": "https://" + "a" * 493}, "online_url", "オンライン参加のURLは500文字以内にしてください。"),
    ({"online_url": "https://exa mple.jp/"}, "online_url", "空白は含めないでください"),
    ({"apply_method": "link", "apply_url": "javascript:alert(1)"}, "apply_url",
     "申し込みページのURLは「https://」で始まるアドレスを入力してください"),
    ({"apply_method": "link", "apply_url": ""}, "apply_url",
     "申し込み方法が「外部の申し込みページ」のときは、申し込みページのURLを入力してください。"),
    ({"capacity": "0"}, "capacity", "定員は1〜10,000人で入力してください。定員を設けない場合は空欄にしてください。"),
    ({"capacity": "10001"}, "capacity", "定員は1〜10,000人で入力してください。"),
    ({"capacity": "二十"}, "capacity", "定員は数字だけで入力してください"),
    ({"capacity": "-5"}, "capacity", "定員は数字だけで入力してください"),
    ({"kind": "講演会"}, "kind", "種類を一覧から選んでください。"),
    ({"apply_method": "fax"}, "apply_method", "申し込み方法を選んでください。"),
    ({"starts_at": ""}, "starts_at", "開始日時を入力してください。"),
    ({"starts_at": "来週の月曜"}, "starts_at", "開始日時は「2026-12-03 13:30」のように、日付と時刻で入力してください。"),
    ({"starts_at": jst(-1)}, "starts_at", "開始日時が過去になっています。これから開催する日時を入力してください。"),
    ({"ends_at": jst(30, 12, 0)}, "ends_at", "終了日時は開始日時より後にしてください。"),
    ({"ends_at": jst(30, 13, 30)}, "ends_at", "終了日時は開始日時より後にしてください。"),
    ({"publish_from": jst(31)}, "publish_from", "公開開始は開始日時より前にしてください。"),
    ({"publish_from": jst(10), "publish_until": jst(5)}, "publish_until", "公開終了は公開開始より後にしてください。"),
    ({"publish_until": jst(31)}, "publish_until", "公開終了は開始日時まで（または空欄）にしてください。"),
    ({"publish_until": jst(-1)}, "publish_until", "公開終了が過去の日時になっています。"),
]


def test_each_limit_gives_its_japanese_message_and_stores_nothing(staff_client, db, media):
    wrong = []
    for changes, field, message in LIMITS:
        answer = post(staff_client, NEW, valid(**changes), image=(png(50, 50), "ok.png"))
        html = text(answer)
        if answer.status_code != 200 or message not in html or "入力内容に誤りがあります。" not in html:
            wrong.append(f"{changes}: {answer.status_code}, {message!r} missing")
        # The message sits under its own field (the field's block comes just before it).
        elif html.rfind(f'name="{field}"', 0, html.index(message)) < html.rfind('class="field"', 0, html.index(message)):
            wrong.append(f"{changes}: message not under {field}")
    assert wrong == []
    assert stored(db) == [] and files(media) == [] and audits(db, "event.create") == []


def test_typed_values_come_back_escaped_after_an_error(staff_client):
    html = text(post(staff_client, NEW, valid(title="<b>太字</b>", body="</textarea><script>x()</script>",
                                               capacity="0")))
    assert 'value="&lt;b&gt;太字&lt;/b&gt;"' in html and "&lt;/textarea&gt;&lt;script&gt;x()" in html
    assert "<script>" not in html


UPLOADS = [
    (b"This is a plain text file, not a photo.\n" * 20, "resume.jpg", images.UNREADABLE),
    (png(400, 300)[:300], "cut.png", images.UNREADABLE),
    (huge_png(8000, 8000), "bomb.png", images.TOO_MANY_PIXELS),
    (huge_png(30000, 30000), "bigger-bomb.png", images.TOO_MANY_PIXELS),
    (b"\x89PNG" + b"\0" * images.MAX_BYTES, "large.png", images.TOO_LARGE),
    (b"", "empty.png", images.EMPTY),
]


@pytest.mark.parametrize("data, filename, message", UPLOADS, ids=[u[1] for u in UPLOADS])
def test_uploads_that_are_not_acceptable_images_are_refused(staff_client, db, media, data, filename, message):
    answer = post(staff_client, NEW, valid(), image=(data, filename))
    assert answer.status_code == 200 and message in text(answer)
    assert stored(db) == [] and files(media) == []


def test_other_image_formats_are_refused(staff_client, db, media):
    gif = io.BytesIO()
    Image.new("RGB", (40, 40)).save(gif, "GIF")
    answer = post(staff_client, NEW, valid(), image=(gif.getvalue(), "anim.png"))
    assert answer.status_code == 200 and images.WRONG_FORMAT in text(answer)
    assert stored(db) == [] and files(media) == []


def test_transparent_png_and_webp_are_accepted(staff_client, db, media):
    webp = io.BytesIO()
    Image.new("RGB", (1600, 1200), "red").save(webp, "WEBP")
    assert post(staff_client, NEW, valid(), image=(png(100, 80, "RGBA"), "clear.png")).status_code == 302
    assert post(staff_client, NEW, valid(), image=(webp.getvalue(), "photo.webp")).status_code == 302
    first, second = stored(db)
    with Image.open(media / first.image_name) as clear, Image.open(media / second.image_name) as photo:
        assert clear.getpixel((0, 0)) == (255, 255, 255)  # transparency becomes white
        assert photo.size == (1040, 780)


def test_a_request_over_the_upload_limit_gets_a_japanese_page(staff_client, db, media):
    answer = post(staff_client, NEW, valid(), image=(b"\0" * (images.MAX_BYTES + 2 * 1024 * 1024), "huge.jpg"))
    assert answer.status_code == 413 and "画像は10MBまでのファイルをお選びください。" in text(answer)
    assert stored(db) == [] and files(media) == []


# ---- what staff typed is shown as text --------------------------------------------------------

def test_script_in_a_title_is_shown_as_text_everywhere(staff_client, db, media):
    title = "<script>alert(1)</script>"
    assert post(staff_client, NEW, valid(title=title)).status_code == 302
    event_id = stored(db)[0].id
    register(db, event_id, ("<img src=x onerror=alert(2)>", "registered", NOW - dt.timedelta(hours=2)),
             ("=HYPERLINK(\"https://evil.example\")", "registered", NOW - dt.timedelta(hours=1)))
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in ("/console/events", f"/console/events/{event_id}/edit", f"/console/events/{event_id}/registrants",
                 f"/console/events/{event_id}/cancel", "/console/"):
        html = text(staff_client.get(path))
        assert escaped in html and "<script>" not in html and "<img src=x" not in html, path
        assert " style=" not in html, path  # the Content-Security-Policy allows no inline styles
    answer = staff_client.get(f"/console/events/{event_id}/registrants.csv")
    assert answer.mimetype == "text/csv" and answer.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    # In a CSV the name stays exactly as typed; a would-be formula is made plain text for Excel.
    assert [r[1] for r in rows[1:]] == ["<img src=x onerror=alert(2)>", "'=HYPERLINK(\"https://evil.example\")"]


# ---- list and filter ---------------------------------------------------------------------------

def test_list_shows_upcoming_first_then_past_in_japan_time_and_filters_by_kind(staff_client, db):
    start = dt.datetime(2031, 1, 15, 4, 30, tzinfo=dt.timezone.utc)  # 13:30 in Japan, a Wednesday
    add_event(db, title="後のセミナー", starts_at=start + dt.timedelta(days=2), capacity=None)
    add_event(db, title="先の面談会", kind="事業所面談会", starts_at=start, ends_at=start + dt.timedelta(hours=2),
              registered_count=3)
    add_event(db, title="公開前の訓練", kind="職業訓練", starts_at=start + dt.timedelta(days=5),
              publish_from=start - dt.timedelta(days=3))
    add_event(db, title="中止のセミナー", starts_at=start + dt.timedelta(days=1), cancelled=True)
    add_event(db, title="終わったセミナー", starts_at=NOW - dt.timedelta(days=3))
    html = text(staff_client.get("/console/events"))
    order = ["先の面談会", "中止のセミナー", "後のセミナー", "公開前の訓練", "終わったセミナー"]
    assert [html.index(t) for t in order] == sorted(html.index(t) for t in order)
    assert "1月15日(水) 13:30〜15:30" in html and "3 / 20名" in html and "0 / 定員なし" in html
    row = html[html.index("公開前の訓練"):]
    assert "公開前" in row[:300] and "2031-01-12 13:30から" in row[:400]
    assert '<span class="tag muted">中止</span>' in html and '<span class="tag muted">開始済み</span>' in html

    only = text(staff_client.get("/console/events", query_string={"kind": "事業所面談会"}))
    assert "先の面談会" in only and "後のセミナー" not in only and "終わったセミナー" not in only
    assert "後のセミナー" in text(staff_client.get("/console/events", query_string={"kind": "何か"}))


# ---- edit --------------------------------------------------------------------------------------

def test_edit_shows_japan_time_saves_changes_and_replaces_the_image(staff_client, staff_member, db, media):
    assert post(staff_client, NEW, valid(starts_at=jst(20, 10, 0), ends_at=""), image=(png(800, 600), "a.png")).status_code == 302
    event = stored(db)[0]
    first_image = event.image_name
    path = f"/console/events/{event.id}/edit"
    page = text(staff_client.get(path))
    assert f'value="{jst(20, 10, 0)}"' in page and 'value="面接対策セミナー"' in page
    assert f"/media/events/{first_image}" in page

    answer = post(staff_client, path, valid(title="面接対策セミナー（午後の部）", starts_at=jst(20, 14, 0), capacity="",
                                            publish_until=jst(19)), image=(png(1200, 400), "b.png"))
    assert answer.status_code == 302
    event = stored(db)[0]
    assert event.title == "面接対策セミナー（午後の部）" and event.capacity is None
    assert event.starts_at.astimezone(JST).hour == 14 and event.publish_until is not None
    assert event.image_name != first_image and files(media) == [event.image_name]  # the old file is gone
    [row] = audits(db, "event.update")
    assert row.staff_id == staff_member.id and row.target == f"event:{event.id}"
    assert {"title", "starts_at", "capacity", "publish_until", "image"} <= set(row.details["changed"])

    answer = post(staff_client, path, valid(**{**unchanged(event), "remove_image": "y"}))
    assert answer.status_code == 302 and stored(db)[0].image_name is None and files(media) == []
    assert audits(db, "event.update")[-1].details["changed"] == ["image"]


def test_edit_rules_capacity_below_registered_and_past_start(staff_client, db, media, monkeypatch):
    event_id = add_event(db, capacity=5, starts_at=NOW + dt.timedelta(days=3))
    register(db, event_id, *[(f"参加者{n}", "registered", NOW) for n in range(3)])
    with db.session() as s:
        event = s.get(Event, event_id)
    path = f"/console/events/{event_id}/edit"
    answer = post(staff_client, path, {**unchanged(event), "capacity": "2"})
    assert answer.status_code == 200 and "定員は、いまの申込者数（3人）より少なくできません。" in text(answer)
    answer = post(staff_client, path, {**unchanged(event), "starts_at": jst(-2)})
    assert "開始日時を過去の日時に変更することはできません。" in text(answer)
    assert stored(db)[0].capacity == 5 and audits(db, "event.update") == []
    # Checked again under the row lock, for a registration that arrives while the form is being sent.
    monkeypatch.setattr(EventForm, "validate_capacity", lambda form, field: None)
    answer = post(staff_client, path, {**unchanged(event), "capacity": "1"}, image=(png(20, 20), "new.png"))
    assert answer.status_code == 200 and "定員は、いまの申込者数（3人）より少なくできません。" in text(answer)
    assert stored(db)[0].capacity == 5 and files(media) == []  # nor is the new image kept

    # An event that has started may still be corrected, as long as its start stays as it was.
    started = add_event(db, title="始まった訓練", kind="職業訓練", starts_at=NOW - dt.timedelta(days=1, seconds=17),
                        publish_from=NOW - dt.timedelta(days=9))
    with db.session() as s:
        values = unchanged(s.get(Event, started))
    answer = post(staff_client, f"/console/events/{started}/edit", {**values, "body": "会場が変わりました。"})
    assert answer.status_code == 302, text(answer)
    assert stored(db)[1].body == "会場が変わりました。"


def test_unknown_event_is_404(staff_client):
    for path in ("/console/events/999/edit", "/console/events/999/cancel", "/console/events/999/registrants",
                 "/console/events/999/registrants.csv"):
        answer = staff_client.get(path)
        assert answer.status_code == 404 and "ページが見つかりません" in text(answer), path


# ---- cancel ------------------------------------------------------------------------------------

def test_cancel_after_confirming_hides_the_event_and_notifies_nobody(staff_client, staff_member, db):
    event_id = add_event(db, title="冬の合同面談会", kind="事業所面談会")
    register(db, event_id, ("大村 花子", "registered", NOW))
    path = f"/console/events/{event_id}/cancel"
    page = text(staff_client.get(path))
    assert "冬の合同面談会" in page and "申し込み済みの方には、自動ではお知らせしません。" in page
    assert stored(db)[0].cancelled is False  # the page alone changes nothing

    token = csrf_token(staff_client, path)
    answer = staff_client.post(path, data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/events"
    assert stored(db)[0].cancelled is True
    [row] = audits(db, "event.cancel")
    assert row.staff_id == staff_member.id and row.details == {"title": "冬の合同面談会", "registered": 1}
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # nothing queued for LINE
    assert "一斉配信から送ってください" in text(staff_client.get("/console/events"))

    staff_client.post(path, data={"csrf_token": token})  # again: nothing more happens
    assert len(audits(db, "event.cancel")) == 1
    assert "すでに中止になっています" in text(staff_client.get(path))


# ---- registrants -------------------------------------------------------------------------------

def test_registrants_page_and_csv_with_bom(staff_client, staff_member, db):
    event_id = add_event(db, title="パソコン講習")
    at = dt.datetime(2030, 5, 1, 0, 5, tzinfo=dt.timezone.utc)  # 09:05 in Japan
    register(db, event_id, ("大村 花子", "registered", at), ("長崎 次郎", "cancelled", at + dt.timedelta(days=1)),
             (None, "registered", at + dt.timedelta(days=2)))
    html = text(staff_client.get(f"/console/events/{event_id}/registrants"))
    assert [html.index(n) for n in ("大村 花子", "長崎 次郎", "（表示名なし）")] == \
        sorted(html.index(n) for n in ("大村 花子", "長崎 次郎", "（表示名なし）"))
    assert "2030-05-01 09:05" in html and "取り消し済み" in html and "申込 2人" in html
    assert audits(db, "event.export") == []  # looking is not exporting

    answer = staff_client.get(f"/console/events/{event_id}/registrants.csv")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="event-{event_id}-registrants.csv"' in answer.headers["Content-Disposition"]
    assert answer.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.data[3:].decode("utf-8"))))
    user = f"U{event_id:08d}" + "{:024x}"
    assert rows == [["申込日時", "表示名", "LINEユーザーID", "状態"],
                    ["2030-05-01 09:05", "大村 花子", user.format(0), "申込中"],
                    ["2030-05-02 09:05", "長崎 次郎", user.format(1), "取り消し済み"],
                    ["2030-05-03 09:05", "", user.format(2), "申込中"]]
    assert b"\r\n" in answer.data  # Excel's line ends
    [row] = audits(db, "event.export")
    assert row.staff_id == staff_member.id and row.target == f"event:{event_id}" and row.details["rows"] == 3


# ---- dashboard ---------------------------------------------------------------------------------

def test_dashboard_panel_shows_the_next_five_events(staff_client, db):
    first, *_ = [add_event(db, title=f"第{n + 1}回セミナー", starts_at=NOW + dt.timedelta(days=n + 1), capacity=20 + n)
                 for n in range(6)]
    add_event(db, title="中止の回", starts_at=NOW + dt.timedelta(hours=1), cancelled=True)
    add_event(db, title="済んだ回", starts_at=NOW - dt.timedelta(hours=1))
    register(db, first, *[(f"人{n}", "registered", NOW) for n in range(3)])
    html = text(staff_client.get("/console/"))
    panel = html[html.index('id="panel-upcoming_events"'):html.index('id="panel-scheduled_broadcasts"')]
    assert "準備中" not in panel and "今後のイベント" in panel
    assert [f"第{n}回セミナー" in panel for n in range(1, 7)] == [True] * 5 + [False]
    assert "中止の回" not in panel and "済んだ回" not in panel
    assert "3 / 20名" in panel and "0 / 24名" in panel and 'href="/console/events"' in panel


# ---- who may do what -----------------------------------------------------------------------------

def test_signed_out_people_are_sent_to_sign_in(client, db):
    event_id = add_event(db)
    for path in ("/console/events", NEW, f"/console/events/{event_id}/edit", f"/console/events/{event_id}/cancel",
                 f"/console/events/{event_id}/registrants", f"/console/events/{event_id}/registrants.csv"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/console/login?next="), path
    token = csrf_token(client)
    assert client.post(NEW, data={**valid(), "csrf_token": token}).status_code == 401
    assert client.post(f"/console/events/{event_id}/cancel", data={"csrf_token": token}).status_code == 401
    # The larger upload limit is for signed-in staff only.
    big = {**valid(), "csrf_token": token, "image": (io.BytesIO(b"\0" * (3 * 1024 * 1024)), "x.jpg")}
    assert client.post(NEW, data=big, content_type="multipart/form-data").status_code == 413
    assert stored(db)[0].cancelled is False and len(stored(db)) == 1 and audits(db, "event.export") == []


def test_posts_without_a_csrf_token_are_refused(staff_client, db, media):
    event_id = add_event(db)
    answer = post(staff_client, NEW, valid(title="トークンなし"), image=(png(10, 10), "a.png"), token=False)
    assert answer.status_code == 400 and "もう一度お試しください" in text(answer)
    answer = staff_client.post(f"/console/events/{event_id}/edit", data=valid(title="書き換え"))
    assert answer.status_code == 400
    answer = staff_client.post(f"/console/events/{event_id}/cancel", data={"csrf_token": "forged"})
    assert answer.status_code == 400
    [event] = stored(db)
    assert event.title == "応募書類の書き方セミナー" and event.cancelled is False and files(media) == []


def test_administrators_may_manage_events_too(admin_client, db, media):
    assert post(admin_client, NEW, valid(title="管理者の登録")).status_code == 302
    assert stored(db)[0].created_by == "kanri"


# ---- and in LINE -------------------------------------------------------------------------------

def test_an_event_created_in_the_console_appears_in_line(staff_client, db, media, line):
    answer = post(staff_client, NEW, valid(title="はじめての就職活動セミナー", capacity="15"),
                  image=(png(1600, 1040), "hero.png"))
    assert answer.status_code == 302
    event = stored(db)[0]
    user = line.new_user()
    line.follow(user)
    line.say(user, "セミナー")
    carousel = line.received(user)[-1]
    assert carousel["type"] == "flex" and carousel["contents"]["type"] == "carousel"
    [bubble] = carousel["contents"]["contents"]
    assert bubble["header"]["contents"][1]["text"] == "はじめての就職活動セミナー"
    assert bubble["hero"]["url"] == f"https://hw-omura.test/media/events/{event.image_name}"
    assert "定員15名・残り15名" in json.dumps(bubble, ensure_ascii=False)
