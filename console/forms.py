"""Console forms. Every one carries Flask-WTF's CSRF token; messages are written out in Japanese."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from bot.models.staff import ADMIN, STAFF
from console.auth import login_id_problem, normalize_login_id, password_problem

ROLE_LABELS = {STAFF: "職員", ADMIN: "管理者"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    login_id = StringField("ログインID", filters=[normalize_login_id],
                           validators=[DataRequired("ログインIDを入力してください。")])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。")])
    submit = SubmitField("ログイン")


class ActionForm(FlaskForm):
    """A button that changes something (sign out, deactivate, unlock): only the CSRF token."""


def _check_password(form, field):
    login_id = form.login_id.data if hasattr(form, "login_id") else getattr(form, "target_login_id", None)
    problem = password_problem(field.data or "", login_id)
    if problem:
        raise ValidationError(problem)


class _NewPassword:
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。"),
                                                     _check_password])
    confirm = PasswordField("パスワード（確認）", validators=[
        DataRequired("確認のため、同じパスワードをもう一度入力してください。"),
        EqualTo("password", "確認用のパスワードが一致しません。")])


class StaffCreateForm(FlaskForm, _NewPassword):
    login_id = StringField("ログインID", filters=[normalize_login_id],
                           validators=[DataRequired("ログインIDを入力してください。")])
    display_name = StringField("表示名", filters=[_strip], validators=[
        DataRequired("表示名を入力してください。"), Length(max=100, message="表示名は100文字以内にしてください。")])
    role = SelectField("権限", choices=[SelectChoice(value, label) for value, label in ROLE_LABELS.items()],
                       default=STAFF, validate_choice=False)  # checked below, with a Japanese message
    submit = SubmitField("作成する")

    def validate_login_id(self, field):
        problem = login_id_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_role(self, field):
        if field.data not in ROLE_LABELS:
            raise ValidationError("権限を一覧から選んでください。")


class PasswordResetForm(FlaskForm, _NewPassword):
    submit = SubmitField("パスワードを設定する")

    def __init__(self, target_login_id: str, *args, **kwargs):
        self.target_login_id = target_login_id
        super().__init__(*args, **kwargs)
