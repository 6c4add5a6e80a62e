"""Forms of the consultation-booking pages, with Japanese messages."""
from __future__ import annotations

import datetime as dt
import re

from flask_wtf import FlaskForm
import unicodedata

from wtforms import DateField, IntegerField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from bot.booking import rules as booking_rules
from bot.models.booking import ATTENDED, BOOKED, CANCELLED, NO_SHOW
from console.broadcast_forms import MultiCheckbox

STATUS_LABELS = {BOOKED: "予約中", CANCELLED: "取り消し", ATTENDED: "参加", NO_SHOW: "不参加"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _typed(valuelist) -> str:
    return unicodedata.normalize("NFKC", valuelist[0]).strip() if valuelist else ""


class Number(IntegerField):
    """A whole number; full-width digits accepted, anything else told in Japanese."""

    def process_formdata(self, valuelist):
        text = _typed(valuelist)
        self.data = None
        if text and not text.isdigit():
            raise ValueError(f"{self.label.text}は数字で入力してください。")
        if text:
            self.data = int(text)


class Day(DateField):
    def process_formdata(self, valuelist):
        text = _typed(valuelist)
        self.data = None
        if text:
            try:
                self.data = dt.date.fromisoformat(text.replace("/", "-"))
            except ValueError:
                raise ValueError("日付は「2026-12-01」のように入力してください。") from None


class MeetingForm(FlaskForm):
    """Zoom details, for a slot or one booking; all empty clears them."""
    zoom_url = StringField("ZoomのURL", filters=[_strip], validators=[
        Optional(), Length(max=500, message="URLは500文字以内にしてください。")])
    meeting_id = StringField("ミーティングID", filters=[_strip], validators=[Optional()])
    passcode = StringField("パスコード", filters=[_strip], validators=[
        Optional(), Length(max=40, message="パスコードは40文字以内にしてください。")])

    def validate_zoom_url(self, field):
        if field.data and not re.fullmatch(r"https://[^\s<>\"']+", field.data):
            raise ValidationError("ZoomのURLは https:// で始まる形で入力してください。")

    def validate_meeting_id(self, field):
        digits = (field.data or "").replace(" ", "")
        if field.data and not (digits.isdigit() and 9 <= len(digits) <= 11):
            raise ValidationError("ミーティングIDは数字(9〜11桁、空白で区切っても可)で入力してください。")

    def values(self) -> dict:
        return {"zoom_url": self.zoom_url.data or None, "meeting_id": self.meeting_id.data or None,
                "passcode": self.passcode.data or None}


class CapacityForm(FlaskForm):
    capacity = Number("定員", validators=[
        InputRequired("定員を入力してください。"), NumberRange(0, 20, "定員は0〜20人で入力してください。")])


class CancelForm(FlaskForm):
    reason = StringField("理由(本人へのお知らせに入ります・任意)", filters=[_strip], validators=[
        Length(max=100, message="理由は100文字以内にしてください。")])


class StatusForm(FlaskForm):
    status = SelectField("結果", choices=[SelectChoice(ATTENDED, "参加"), SelectChoice(NO_SHOW, "不参加"),
                                         SelectChoice(BOOKED, "未記録に戻す")], validate_choice=False)

    def validate_status(self, field):
        if field.data not in (ATTENDED, NO_SHOW, BOOKED):
            raise ValidationError("結果を選んでください。")


class ClosureForm(FlaskForm):
    day = Day("閉庁日", validators=[InputRequired("日付を入力してください。")],
                    render_kw={"placeholder": "2026-12-01"})
    reason = StringField("理由", filters=[_strip], validators=[
        Length(max=100, message="理由は100文字以内にしてください。")])

    def validate_day(self, field):
        if field.data and field.data < dt.date.today() - dt.timedelta(days=365):
            raise ValidationError("1年以上前の日付は登録できません。")


class RulesForm(FlaskForm):
    weekdays = MultiCheckbox("相談を行う曜日", coerce=int, validate_choice=False,
                           choices=[SelectChoice(i, f"{name}曜日") for i, name in enumerate(booking_rules.WEEKDAY_NAMES)])
    times = StringField("開始時刻(カンマ区切り)", filters=[_strip],
                        validators=[DataRequired("開始時刻を入力してください。")])
    length_minutes = Number("1回の長さ(分)", validators=[
        InputRequired("長さを入力してください。"), NumberRange(10, 120, "長さは10〜120分で入力してください。")])
    capacity = Number("定員(相談員の数)", validators=[
        InputRequired("定員を入力してください。"), NumberRange(1, 20, "定員は1〜20人で入力してください。")])
    weeks_ahead = Number("何週間先まで受け付けるか", validators=[
        InputRequired("週数を入力してください。"), NumberRange(1, 12, "週数は1〜12で入力してください。")])
    reminder_hour = Number("前日リマインドの時刻(時)", validators=[
        InputRequired("時刻を入力してください。"), NumberRange(8, 20, "前日リマインドは8〜20時の間にしてください。")])
    max_upcoming = Number("1人が持てる予約の数", validators=[
        InputRequired("予約の数を入力してください。"), NumberRange(1, 5, "予約の数は1〜5件で入力してください。")])

    def validate_weekdays(self, field):
        if not field.data or any(d not in range(7) for d in field.data):
            raise ValidationError("曜日を1つ以上選んでください。")

    def validate_times(self, field):
        try:
            times = booking_rules.parse_times(field.data or "")
        except ValueError:
            raise ValidationError("開始時刻は 10:00,11:00 のように、24時間制でカンマ区切りで入力してください。") from None
        if len(times) > 8:
            raise ValidationError("開始時刻は8つまでにしてください。")
        ends = [dt.datetime.combine(dt.date.today(), t) + dt.timedelta(minutes=self.length_minutes.data or 0)
                for t in times]
        if any(end.date() != dt.date.today() for end in ends):
            raise ValidationError("相談がその日のうちに終わる時刻にしてください。")

    def row_values(self) -> dict:
        times = booking_rules.parse_times(self.times.data)
        return {"weekdays": ",".join(str(d) for d in sorted(set(self.weekdays.data))),
                "times": ",".join(t.strftime("%H:%M") for t in times),
                "length_minutes": self.length_minutes.data, "capacity": self.capacity.data,
                "weeks_ahead": self.weeks_ahead.data, "reminder_hour": self.reminder_hour.data,
                "max_upcoming": self.max_upcoming.data}
