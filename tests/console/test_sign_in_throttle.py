"""Failed sign-ins counted per client address: guessing across many accounts from one place."""
from __future__ import annotations

import datetime as dt
import threading

import time_machine
from sqlalchemy import func, select

from bot import housekeeping
from bot.models import SignInAttempt
from bot.models.staff import AuditLog
from console import auth

from .conftest import STAFF_PASSWORD, csrf_token, sign_in

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
ATTACKER = "198.51.100.23"
OFFICE = "203.0.113.7"


def page(answer) -> str:
    return answer.get_data(as_text=True)


def audit_count(db, action: str) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


def test_many_accounts_guessed_from_one_address_stop_that_address_only(client, db, staff_member):
    with time_machine.travel(T0, tick=False) as traveller:
        # Twenty different ids, one guess each: no account lock ever trips.
        for n in range(auth.ADDRESS_MAX_FAILURES):
            answer = sign_in(client, f"guess{n:02d}", "wrong-password!", address=ATTACKER)
            assert auth.SIGN_IN_FAILED in page(answer)
        # The twenty-first attempt from there is refused before any password is looked at, even the right one.
        refused = sign_in(client, "shokuin", STAFF_PASSWORD, address=ATTACKER)
        assert refused.status_code == 200 and auth.SIGN_IN_THROTTLED in page(refused)
        assert "15分ほどたってから" in page(refused)
        assert audit_count(db, "login.throttled") == 1 and audit_count(db, "login") == 0
        # Staff at another address are not affected.
        office = client.application.test_client()
        assert sign_in(office, "shokuin", STAFF_PASSWORD, address=OFFICE).status_code == 302
        # The window slides: fifteen minutes after the last failures, the address may try again.
        traveller.shift(auth.ADDRESS_WINDOW + dt.timedelta(seconds=1))
        later = client.application.test_client()
        assert sign_in(later, "shokuin", STAFF_PASSWORD, address=ATTACKER).status_code == 302
    with db.session() as s:  # the address's old rows went with that attempt
        assert s.scalar(select(func.count()).select_from(SignInAttempt)) == 0


def test_successful_sign_ins_do_not_count(client, db, staff_member):
    for _ in range(auth.ADDRESS_MAX_FAILURES + 5):
        other = client.application.test_client()
        assert sign_in(other, "shokuin", STAFF_PASSWORD, address=OFFICE).status_code == 302
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SignInAttempt)) == 0
    # Nineteen typos in the office still leave room for the right password.
    for _ in range(auth.ADDRESS_MAX_FAILURES - 1):
        sign_in(client, "nobody", "typo-password!", address=OFFICE)
    assert sign_in(client, "shokuin", STAFF_PASSWORD, address=OFFICE).status_code == 302


def test_ipv6_clients_are_counted_by_their_64_network():
    assert auth.address_key("2001:db8:1:2:aaaa::1") == auth.address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert auth.address_key("2001:db8:1:3::1") != auth.address_key("2001:db8:1:2::1")
    assert auth.address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert auth.address_key("203.0.113.7") == "203.0.113.7"
    assert auth.address_key(None) == auth.address_key("not an address") == "unknown"


def test_parallel_guesses_from_one_address_get_at_most_the_limit_through(app, db):
    """Forty wrong passwords at once from one address, each on its own connection: at most twenty
    are checked (attempts that overlap may all count each other, so fewer is possible), the rest are
    refused before any password is looked at, and every one is answered."""
    clients = []
    for _ in range(40):
        client = app.test_client()
        clients.append((client, csrf_token(client)))
    answers = []

    def guess(client, token):
        answers.append(client.post("/console/login", data={"csrf_token": token, "login_id": "nobody",
                                                            "password": "wrong-password-0000"},
                                   headers={"X-Forwarded-For": ATTACKER}))

    threads = [threading.Thread(target=guess, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 40
    checked = sum(auth.SIGN_IN_FAILED in page(a) for a in answers)
    throttled = sum(auth.SIGN_IN_THROTTLED in page(a) for a in answers)
    assert 1 <= checked <= auth.ADDRESS_MAX_FAILURES and checked + throttled == 40
    assert audit_count(db, "login.failed") == checked and audit_count(db, "login.throttled") == throttled


def test_nightly_job_forgets_old_attempts(app, db):
    now = dt.datetime.now(dt.timezone.utc)
    with db.session() as s:
        s.add_all([SignInAttempt(address=ATTACKER, at=now - dt.timedelta(days=2)),
                   SignInAttempt(address=ATTACKER, at=now - dt.timedelta(minutes=5))])
    assert housekeeping.purge_sign_in_attempts(app.extensions["bot"]) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SignInAttempt)) == 1
