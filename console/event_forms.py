"""The event form: what staff type for a seminar, interview fair or training course, and its limits.

Staff type times in the office's time zone (Asia/Tokyo); the form turns them into aware datetimes and
the database keeps them in UTC. Messages are written out in Japanese.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectField, StringField, \
    TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from bot import images
from bot.models import Event, utcnow
from bot.models.event import KINDS

TITLE_MAX, BODY_MAX, PLACE_MAX, URL_MAX = 60, 2000, 200, 500
CAPACITY_MAX = 10_000
APPLY_LABELS = {"line": "LINEで申し込み", "link": "外部の申し込みページ", "none": "申し込み不要"}
# What a datetime-local input sends first; people typing by hand get the other spellings.
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M")
# Fields copied to the Event as they are (the times and the image are handled on their own).
PLAIN_FIELDS = ("kind", "title", "body", "place", "online_url", "capacity", "apply_method", "apply_url")
TIME_FIELDS = ("starts_at", "ends_at", "publish_from", "publish_until")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(value):
    # Browsers send CRLF from a textarea: count a line break as one character, as people see it.
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def _at_most(limit: int, what: str):
    def check(form, field):
        if field.data and len(field.data) > limit:
            raise ValidationError(f"{what}は{limit:,}文字以内にしてください（いま{len(field.data):,}文字です）。")
    return check


def _https_url(what: str):
    def check(form, field):
        if not field.data:
            return
        if len(field.data) > URL_MAX:
            raise ValidationError(f"{what}は{URL_MAX}文字以内にしてください。")
        parts = urlsplit(field.data)
        if (parts.scheme != "https" or not parts.hostname
                or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in field.data)):
            raise ValidationError(f"{what}は「https://」で始まるアドレスを入力してください（空白は含めないでください）。")
    return check


class LocalTime(DateTimeLocalField):
    """A time in the office's zone as typed; `data` is naive (the form adds the zone)."""

    def __init__(self, label, **kwargs):
        super().__init__(label, format=list(TIME_FORMATS), **kwargs)

    def process_formdata(self, valuelist):
        text = unicodedata.normalize("NFKC", valuelist[0]).strip() if valuelist else ""
        self.data = None
        if not text:
            return
        for time_format in TIME_FORMATS:
            try:
                self.data = dt.datetime.strptime(text, time_format)
                return
            except ValueError:
                continue
        raise ValueError(f"{self.label.text}は「2026-12-03 13:30」のように、日付と時刻で入力してください。")


class Count(IntegerField):
    """A whole number, full-width digits and commas accepted; empty is None."""

    def process_formdata(self, valuelist):
        text = unicodedata.normalize("NFKC", valuelist[0]).replace(",", "").strip() if valuelist else ""
        self.data = None
        if text and not text.isdigit():
            raise ValueError("定員は数字だけで入力してください（半角・全角どちらでも構いません）。")
        if text:
            self.data = int(text)


class EventForm(FlaskForm):
    class Meta:
        locales = ("ja",)

    kind = SelectField("種類", choices=[SelectChoice(k, k) for k in KINDS], default=KINDS[0],
                       validate_choice=False)  # checked below, with a Japanese message
    title = StringField("タイトル", filters=[_strip], validators=[
        DataRequired("タイトルを入力してください。"), _at_most(TITLE_MAX, "タイトル")])
    body = TextAreaField("内容", filters=[_text], validators=[_at_most(BODY_MAX, "内容")])
    starts_at = LocalTime("開始日時")
    ends_at = LocalTime("終了日時")
    place = StringField("会場", filters=[_strip], validators=[_at_most(PLACE_MAX, "会場")])
    online_url = StringField("オンライン参加のURL", filters=[_strip], validators=[_https_url("オンライン参加のURL")])
    capacity = Count("定員")
    apply_method = RadioField("申し込み方法", choices=[SelectChoice(k, v) for k, v in APPLY_LABELS.items()],
                              default="line", validate_choice=False)
    apply_url = StringField("申し込みページのURL", filters=[_strip], validators=[_https_url("申し込みページのURL")])
    publish_from = LocalTime("公開開始")
    publish_until = LocalTime("公開終了")
    image = FileField("画像")
    remove_image = BooleanField("いまの画像を削除する")

    def __init__(self, *args, tz: ZoneInfo, event: Event | None = None, now: dt.datetime | None = None, **kwargs):
        self.tz, self.event, self.now = tz, event, now or utcnow()
        self.image_jpeg: bytes | None = None  # the cleaned upload, once validated
        super().__init__(*args, **kwargs)

    @staticmethod
    def initial(event: Event, tz: ZoneInfo) -> dict:
        """The event's values as the form shows them (times in the office's zone)."""
        data = {name: getattr(event, name) for name in PLAIN_FIELDS}
        for name in TIME_FIELDS:
            value = getattr(event, name)
            data[name] = value.astimezone(tz).replace(tzinfo=None) if value else None
        return data

    def at(self, name: str) -> dt.datetime | None:
        """A typed time as an aware datetime in the office's zone."""
        value = getattr(self, name).data
        return value.replace(tzinfo=self.tz) if value else None

    # ---- one field at a time -------------------------------------------------------------------

    def validate_kind(self, field):
        if field.data not in KINDS:
            raise ValidationError("種類を一覧から選んでください。")

    def validate_apply_method(self, field):
        if field.data not in APPLY_LABELS:
            raise ValidationError("申し込み方法を選んでください。")

    def validate_capacity(self, field):
        if field.data is None:
            return
        if not 1 <= field.data <= CAPACITY_MAX:
            raise ValidationError(f"定員は1〜{CAPACITY_MAX:,}人で入力してください。定員を設けない場合は空欄にしてください。")
        if self.event is not None and field.data < self.event.registered_count:
            raise ValidationError(below_registered(self.event.registered_count))

    def validate_image(self, field):
        if not field.data:
            return
        data = field.data.read(images.MAX_BYTES + 1)
        try:
            self.image_jpeg = images.clean(data)
        except images.ImageError as exc:
            raise ValidationError(exc.message) from None

    # ---- fields together ---------------------------------------------------------------------

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        self._check_times()
        if self.apply_method.data == "link" and not self.apply_url.data and not self.apply_url.errors:
            self.apply_url.errors.append("申し込み方法が「外部の申し込みページ」のときは、申し込みページのURLを入力してください。")
        return not any(field.errors for field in self)

    def _changed(self, name: str, value: dt.datetime | None) -> bool:
        return self.event is None or not _same_minute(getattr(self.event, name), value)

    def _check_times(self) -> None:
        start, end = self.at("starts_at"), self.at("ends_at")
        opens, closes = self.at("publish_from"), self.at("publish_until")
        if start is None:
            if not self.starts_at.errors:
                self.starts_at.errors.append("開始日時を入力してください。")
        else:
            if start <= self.now and self._changed("starts_at", start):
                self.starts_at.errors.append(
                    "開始日時が過去になっています。これから開催する日時を入力してください。" if self.event is None
                    else "開始日時を過去の日時に変更することはできません。")
            if end is not None and end <= start:
                self.ends_at.errors.append("終了日時は開始日時より後にしてください。")
            if opens is not None and opens >= start:
                self.publish_from.errors.append("公開開始は開始日時より前にしてください。")
            if closes is not None and closes > start:
                self.publish_until.errors.append("公開終了は開始日時まで（または空欄）にしてください。"
                                                 "開始日時を過ぎたイベントは、LINEに自動で表示されなくなります。")
        if closes is not None and not self.publish_until.errors:
            if opens is not None and closes <= opens:
                self.publish_until.errors.append("公開終了は公開開始より後にしてください。")
            elif closes <= self.now and self._changed("publish_until", closes):
                self.publish_until.errors.append("公開終了が過去の日時になっています。これから先の日時を入力するか、空欄にしてください。")

    def apply(self, event: Event) -> list[str]:
        """Copies the typed values onto the event (UTC times); returns the names of those that changed."""
        values = {name: getattr(self, name).data for name in PLAIN_FIELDS}
        values["body"] = values["body"] or ""
        for name in ("place", "online_url", "apply_url"):
            values[name] = values[name] or None
        for name in TIME_FIELDS:
            typed = self.at(name)
            values[name] = getattr(event, name) if _same_minute(getattr(event, name), typed) \
                else typed and typed.astimezone(dt.timezone.utc)
        if values["publish_from"] is None:  # empty: shown in LINE from now on
            unchanged = event.publish_from is not None and event.publish_from <= self.now
            values["publish_from"] = event.publish_from if unchanged else self.now
        changed = [name for name, value in values.items() if getattr(event, name) != value]
        for name in changed:
            setattr(event, name, values[name])
        return changed


def _same_minute(before: dt.datetime | None, typed: dt.datetime | None) -> bool:
    # The form shows whole minutes: a stored 13:30:15 sent back as 13:30 is no change (and is kept).
    return before is not None and typed is not None and typed == before.replace(second=0, microsecond=0)


def below_registered(count: int) -> str:
    return f"定員は、いまの申込者数（{count:,}人）より少なくできません。"
