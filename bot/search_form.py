"""The job-search conditions form, opened from LINE by a signed, short-lived link bound to the user.

A plain mobile page (it also works inside LIFF). Submitting it runs the search and sends the results to
the person's LINE chat through the outbox; it can also save the conditions as one of their three.
"""
from __future__ import annotations

import unicodedata

from flask import Blueprint, current_app, render_template, request
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField, \
    SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from bot import messages, signed_links, users, web
from bot.jobs import reference, results, saved
from bot.jobs import search as job_search
from bot.jobs.catalogue import WAGE_UNITS
from bot.line import outbox

bp = Blueprint("search_form", __name__)
bp.after_request(web.page_headers)
PURPOSE = "search-form"
ANY = ("", "こだわらない")


def options(*pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WholeNumber(IntegerField):
    """An integer field whose parse error speaks plainly to a person (full-width digits accepted)."""

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0]:
            text = unicodedata.normalize("NFKC", valuelist[0]).replace(",", "").strip()
            if not text.isdigit():
                self.data = None
                raise ValueError("数字(半角または全角)だけで入力してください。")
            self.data = int(text)
        else:
            self.data = None


class SearchForm(FlaskForm):
    class Meta:
        locales = ("ja",)  # WTForms' own messages ("Not a valid choice") in Japanese

    municipalities = MultiCheckbox("働く場所", choices=options(*reference.MUNICIPALITIES.items()),
                                   # WTForms has no Japanese text for this one.
                                   invalid_choice_message="選択肢が正しくありません。一覧から選んでください。")
    occupation_major = SelectField("職種", choices=options(ANY, *reference.OCCUPATION_MAJORS.items()), default="")
    employment_type = SelectField("雇用形態", choices=options(ANY, *((t, t) for t in reference.EMPLOYMENT_TYPES)), default="")
    category = SelectField("求人区分", choices=options(ANY, *((c, c) for c in reference.CATEGORIES)), default="")
    # A radio group left out of a post means its default; Conditions checks the value itself.
    hours = RadioField("就業時間", choices=options(ANY, *job_search.HOURS.items()), default="",
                       validate_choice=False)
    min_wage = WholeNumber("賃金の下限(円)", validators=[Optional(), NumberRange(1, 10_000_000,
                            "賃金の下限は1円以上、1,000万円以下の数字で入力してください。")])
    wage_unit = SelectField("賃金の単位", choices=options(*((u, u) for u in WAGE_UNITS)), default="月給")
    weekends_off = BooleanField("土日祝休み")
    online_only = BooleanField("オンライン自主応募できる求人のみ")
    keywords = StringField("キーワード", validators=[Length(max=job_search.MAX_KEYWORDS_LENGTH,
                           message="キーワードは100文字以内で入力してください。")])
    sort = RadioField("並び順", choices=options(*job_search.SORTS.items()), default="new",
                      validate_choice=False)
    save_name = StringField("保存する名前(任意)", validators=[Length(max=saved.MAX_NAME,
                            message="名前は20文字以内で入力してください。")])
    search = SubmitField("この条件で検索する")
    save = SubmitField("検索して条件を保存する")

    def conditions(self) -> job_search.Conditions:
        return job_search.Conditions(
            municipalities=tuple(self.municipalities.data or ()),
            occupation_major=self.occupation_major.data or None,
            employment_type=self.employment_type.data or None,
            category=self.category.data or None,
            hours=self.hours.data or None,
            min_wage=self.min_wage.data,
            wage_unit=self.wage_unit.data,
            weekends_off=bool(self.weekends_off.data),
            online_only=bool(self.online_only.data),
            keywords=(self.keywords.data or "").strip(),
            sort=self.sort.data or "new",
        )


def _refuse(reason: str, status: int = 403):
    return render_template("web/message.html", title="ページを開けませんでした", message=reason), status


@bp.route("/search/form", methods=["GET", "POST"])
def form():
    services = current_app.extensions["bot"]
    token = request.values.get("t", "")
    try:
        line_user_id = signed_links.read(services.settings, PURPOSE, token)
    except signed_links.LinkError as exc:
        if exc.expired:
            return _refuse("このページの有効期限が切れました。お手数ですが、LINEのトーク画面から"
                           "もう一度「求人を探す」を開いてください。")
        return _refuse("このリンクは無効です。LINEのトーク画面から「求人を探す」を開いてください。")
    page = SearchForm()
    if not page.validate_on_submit():
        return render_template("web/search_form.html", form=page, token=token), 200 if request.method == "GET" \
            else 400
    try:
        conditions = page.conditions()
    except job_search.ConditionError as exc:
        getattr(page, exc.field, page.keywords).errors.append(exc.message)
        return render_template("web/search_form.html", form=page, token=token), 400
    with services.db.session() as session:
        user = users.find(session, line_user_id)
        if user is None or not user.is_following:
            return _refuse("このLINEアカウントの友だち登録が確認できませんでした。")
        note = ""
        if page.save.data:
            try:
                kept = saved.save(session, user.id, conditions, (page.save_name.data or "").strip() or None)
                note = f"検索条件を「{kept.name}」として保存しました。"
            except saved.Full:
                page.save_name.errors.append("保存できる検索条件は3件までです。LINEの「保存した条件」から"
                                             "不要な条件を削除するか置き換えてから、もう一度お試しください。")
                return render_template("web/search_form.html", form=page, token=token), 400
        replies = results.messages_for(session, user.id, conditions)
        if note:
            replies.insert(0, messages.text(note))
        outbox.push(session, line_user_id, replies[:5], source="search-form")
    return render_template("web/message.html", title="検索結果を送りました",
                           message=(note + "検索結果をLINEのトークに送りました。トーク画面に戻ってご確認ください。"))

