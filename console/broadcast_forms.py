"""The broadcast composer's form: what to send, to whom, and when (Japan time)."""
from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateTimeLocalField, RadioField, SelectField, SelectMultipleField, StringField, SubmitField, \
    TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from bot.jobs import reference
from bot.line.limits import units
from bot.preferences import TOPIC_LABELS

MAX_TEXT = 5000  # LINE's limit on one text message
MAX_IMAGE_BYTES = 10 * 1024 * 1024


def _options(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BroadcastForm(FlaskForm):
    class Meta:
        locales = ("ja",)

    title = StringField("管理用の件名", filters=[lambda v: v.strip() if isinstance(v, str) else v], validators=[
        DataRequired("件名を入力してください(配信一覧で区別するためのもので、利用者には表示されません)。"),
        Length(max=60, message="件名は60文字以内にしてください。")])
    topic = SelectField("お知らせの種類(配信設定の区分)", choices=_options(TOPIC_LABELS.items()), default="events",
                        validate_choice=False)
    text = TextAreaField("本文", filters=[lambda v: v.strip() if isinstance(v, str) else v])
    image = FileField("画像(任意・JPEG/PNG/WebP、10MBまで)")
    event_id = SelectField("イベントの案内を添える(任意)", choices=[], default="", validate_choice=False)
    audience = RadioField("送信先", choices=_options([("all", "友だち全員"), ("segment", "条件で絞り込む")]),
                          default="all", validate_choice=False)
    municipalities = MultiCheckbox("お住まいの地域(配信設定で登録した地域)",
                                   choices=_options(reference.MUNICIPALITIES.items()),
                                   invalid_choice_message="地域を一覧から選んでください。")
    interests = MultiCheckbox("関心のある職種", choices=_options(reference.OCCUPATION_MAJORS.items()),
                              invalid_choice_message="職種を一覧から選んでください。")
    registrants_of = SelectField("イベントの申込者", choices=[], default="", validate_choice=False)
    submit = SubmitField("下書きを保存してプレビュー")

    def set_events(self, events) -> None:
        choices = [SelectChoice("", "選ばない")] + [SelectChoice(str(e.id), f"{e.kind}: {e.title}") for e in events]
        self.event_id.choices = choices
        self.registrants_of.choices = choices

    def validate_topic(self, field):
        if field.data not in TOPIC_LABELS:
            raise ValidationError("お知らせの種類を一覧から選んでください。")

    def validate_text(self, field):
        if field.data and units(field.data) > MAX_TEXT:
            raise ValidationError(f"本文は{MAX_TEXT:,}文字以内にしてください(絵文字は2文字として数えます)。")

    def validate_event_id(self, field):
        if field.data and field.data not in {c.value for c in field.choices}:
            raise ValidationError("イベントを一覧から選んでください。")

    def validate_registrants_of(self, field):
        if field.data and field.data not in {c.value for c in field.choices}:
            raise ValidationError("イベントを一覧から選んでください。")

    def validate_audience(self, field):
        if field.data not in ("all", "segment"):
            raise ValidationError("送信先を選んでください。")
        if field.data == "segment" and not (self.municipalities.data or self.interests.data
                                            or self.registrants_of.data):
            raise ValidationError("絞り込む場合は、地域・職種・イベントの申込者のいずれかを選んでください。")

    def segment(self) -> dict:
        if self.audience.data != "segment":
            return {}
        seg = {"municipalities": list(self.municipalities.data or []), "interests": list(self.interests.data or [])}
        if self.registrants_of.data:
            seg["event_id"] = int(self.registrants_of.data)
        return {k: v for k, v in seg.items() if v}


class ScheduleForm(FlaskForm):
    class Meta:
        locales = ("ja",)

    send_at = DateTimeLocalField("送信日時(日本時間)", format="%Y-%m-%dT%H:%M",
                                 validators=[Optional()])
    submit = SubmitField("予約する")

    def when(self, tz, now: dt.datetime) -> dt.datetime:
        """The chosen time in UTC; raises ValueError (Japanese) for a missing or past time."""
        if not self.send_at.data:
            raise ValueError("送信日時を入力してください。")
        at = self.send_at.data.replace(tzinfo=tz).astimezone(dt.timezone.utc)
        if at <= now + dt.timedelta(minutes=1):
            raise ValueError("送信日時には、現在より後の時刻を指定してください。")
        if at > now + dt.timedelta(days=90):
            raise ValueError("送信日時は90日以内で指定してください。")
        return at
