"""応募の記録 in the console: counter referrals, status changes, and the notice pushed to the person."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.models import Application, AuditLog, User
from tests.factories import add_jobs, job
from tests.test_dispatcher import dispatch


def token(client, path="/console/applications"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def seeker(line, db):
    user = line.new_user("<b>大村</b> 花子")
    line.follow(user)
    with db.session() as s:
        return user, s.scalar(select(User.id).where(User.line_user_id == user))


def test_record_a_counter_referral_and_change_its_status(staff_client, db, line, seeker, app):
    add_jobs(db, job(job_number="42040-00000701", occupation="介護職員"))
    line_user, user_id = seeker
    answer = staff_client.post("/console/applications", data={"csrf_token": token(staff_client),
                                                               "user": f"#{user_id}", "job": "4204000000701"})
    assert answer.status_code == 302
    with db.session() as s:
        application = s.scalar(select(Application))
        assert (application.route, application.status, application.recorded_by) == ("counter", "応募中", "shokuin")
    page = staff_client.get("/console/applications").get_data(as_text=True)
    assert "&lt;b&gt;大村&lt;/b&gt; 花子" in page and "<b>大村</b>" not in page
    answer = staff_client.post(f"/console/applications/{application.id}/status",
                               data={"csrf_token": token(staff_client), "status": "面接予定"})
    assert answer.status_code == 302
    dispatch(app)
    notice = line.received(line_user)[-1]["text"]
    assert "【応募状況のお知らせ】" in notice and "「面接予定」" in notice and "42040-00000701" in notice
    with db.session() as s:
        assert {a for a in s.scalars(select(AuditLog.action))} >= {"application.record", "application.status"}


@pytest.mark.parametrize("user, job_field, message", [
    ("#999999", "42040-00000801", "この利用者番号の求職者は見つかりません"),
    (None, "42040-99999999", "この求人番号の求人は見つかりません"),
    (None, "abc", "この求人番号の求人は見つかりません"),
    ("", "42040-00000801", "利用者番号を入力してください"),
])
def test_bad_referrals_get_form_errors(staff_client, db, seeker, user, job_field, message):
    add_jobs(db, job(job_number="42040-00000801"))
    data = {"csrf_token": token(staff_client), "user": user if user is not None else str(seeker[1]), "job": job_field}
    answer = staff_client.post("/console/applications", data=data)
    assert answer.status_code == 200 and message in answer.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(Application)) is None


def test_a_second_referral_to_the_same_job_is_refused(staff_client, db, seeker):
    add_jobs(db, job(job_number="42040-00000901"))
    data = {"csrf_token": token(staff_client), "user": str(seeker[1]), "job": "42040-00000901"}
    staff_client.post("/console/applications", data=data)
    answer = staff_client.post("/console/applications", data={**data, "csrf_token": token(staff_client)})
    assert "すでにこの求人に応募しています" in answer.get_data(as_text=True)


def test_the_notice_honours_the_persons_settings(staff_client, db, line, seeker, app):
    add_jobs(db, job(job_number="42040-00001001"))
    line_user, user_id = seeker
    line.tap(line_user, "v=1&a=settings.topic&t=notices&on=0")
    staff_client.post("/console/applications", data={"csrf_token": token(staff_client), "user": str(user_id),
                                                      "job": "42040-00001001"})
    with db.session() as s:
        application_id = s.scalar(select(Application.id))
    before = len(line.received(line_user))
    staff_client.post(f"/console/applications/{application_id}/status",
                      data={"csrf_token": token(staff_client), "status": "採用"})
    dispatch(app)
    assert len(line.received(line_user)) == before
    with db.session() as s:
        assert s.get(Application, application_id).finished


def test_status_post_without_csrf_changes_nothing(staff_client, db, seeker):
    add_jobs(db, job(job_number="42040-00001101"))
    staff_client.post("/console/applications", data={"csrf_token": token(staff_client), "user": str(seeker[1]),
                                                      "job": "42040-00001101"})
    with db.session() as s:
        application_id = s.scalar(select(Application.id))
    answer = staff_client.post(f"/console/applications/{application_id}/status", data={"status": "不採用"})
    assert answer.status_code == 400
    with db.session() as s:
        assert s.get(Application, application_id).status == "応募中"
