"""Who is signed in to the console, for how long, and what they may do; `audit()` records changes."""
from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import re
import time

from flask import abort, current_app, flash, has_request_context, redirect, request, session, url_for
from flask_login import LoginManager, current_user, logout_user
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.models import utcnow
from bot.models.sign_in import SignInAttempt
from bot.models.staff import AuditLog, Staff
from console import bp

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = dt.timedelta(minutes=15)
# Guessing across many accounts from one place: the per-account lock never trips, so failures are also
# counted per client address. The office's staff share one address, hence a limit well above typos.
ADDRESS_MAX_FAILURES = 20
ADDRESS_WINDOW = dt.timedelta(minutes=15)
SESSION_MAX_AGE = dt.timedelta(hours=8)      # from sign-in, however busy
SESSION_IDLE_TIMEOUT = dt.timedelta(minutes=30)
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128  # hashing a megabyte-long "password" is a cheap way to burn our CPU
LOGIN_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")

# One message for every refused sign-in (wrong id, wrong password, inactive or locked account), so
# that the page never tells whether a login id exists.
SIGN_IN_FAILED = (f"ログインIDまたはパスワードが正しくありません。{MAX_FAILED_ATTEMPTS}回続けて間違えると、"
                  f"{int(LOCKOUT.total_seconds()) // 60}分間ログインできなくなります。"
                  f"ロックされた場合は、時間をおいてからお試しいただくか、管理者にご連絡ください。")

SIGN_IN_THROTTLED = (f"この接続元からのログインの失敗が続いたため、ログインを一時的に止めています。"
                     f"{int(ADDRESS_WINDOW.total_seconds()) // 60}分ほどたってから、もう一度お試しください。"
                     f"お急ぎの場合は、管理者にご連絡ください。")

SESSION_TOO_OLD = (f"ログインから{int(SESSION_MAX_AGE.total_seconds()) // 3600}時間が経ったため、ログアウトしました。"
                   "もう一度ログインしてください。")
SESSION_IDLE = (f"{int(SESSION_IDLE_TIMEOUT.total_seconds()) // 60}分間操作がなかったため、ログアウトしました。"
                "もう一度ログインしてください。")

_STARTED = "console_started"
_SEEN = "console_seen"

login_manager = LoginManager()


def _db():
    return current_app.extensions["bot"].db


# ---- passwords and login ids ------------------------------------------------------------------

def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt with a random salt


def normalize_login_id(login_id: str | None) -> str:
    return (login_id or "").strip().lower()


def login_id_problem(login_id: str) -> str | None:
    """What is wrong with a new login id (Japanese, for the form and the command), or None."""
    if not LOGIN_ID_PATTERN.fullmatch(login_id):
        return ("ログインIDは半角英小文字・数字と「.」「_」「-」で、3〜64文字にしてください"
                "（先頭は英字か数字）。")
    return None


def password_problem(password: str, login_id: str | None = None) -> str | None:
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"パスワードは{PASSWORD_MIN_LENGTH}文字以上にしてください。"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"パスワードは{PASSWORD_MAX_LENGTH}文字以内にしてください。"
    if login_id and login_id in password.lower():
        return "パスワードにログインIDを含めないでください。"
    return None


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


class TooManyAttempts(Exception):
    """Too many failed sign-ins from one client address lately (SIGN_IN_THROTTLED)."""


def address_key(address: str | None) -> str:
    """What failures are counted under: an IPv4 address, or the /64 network of an IPv6 one (a single
    client usually holds a whole /64, so counting single IPv6 addresses would count nothing)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _claim_attempt(address: str, now: dt.datetime) -> tuple[int, int]:
    """Records this attempt for its address and returns (its row id, attempts in the window).

    The row is committed before counting, so that parallel attempts all see each other: the n-th
    one to commit counts at least n, and no more than ADDRESS_MAX_FAILURES get through at once.
    """
    with _db().session() as s:
        s.execute(delete(SignInAttempt).where(SignInAttempt.address == address,
                                              SignInAttempt.at < now - ADDRESS_WINDOW))
        row = SignInAttempt(address=address, at=now)
        s.add(row)
        s.flush()
        row_id = row.id
    with _db().session() as s:
        count = s.scalar(select(func.count()).select_from(SignInAttempt).where(
            SignInAttempt.address == address, SignInAttempt.at >= now - ADDRESS_WINDOW))
    return row_id, count


def sign_in(login_id: str, password: str, address: str | None = None) -> Staff | None:
    """The staff member if the id and password are right and the account may sign in, else None.

    Counts failures per account and locks it for LOCKOUT after MAX_FAILED_ATTEMPTS in a row; counts
    failures per client address and raises TooManyAttempts past ADDRESS_MAX_FAILURES in
    ADDRESS_WINDOW, before any password is checked.
    """
    now = utcnow()
    attempt_id, attempts = _claim_attempt(address_key(address), now)
    if attempts > ADDRESS_MAX_FAILURES:
        audit("login.throttled", None, attempts=attempts)
        raise TooManyAttempts()
    staff = _check_credentials(normalize_login_id(login_id), password, now)
    if staff is not None:  # only failures count against the address
        with _db().session() as s:
            s.execute(delete(SignInAttempt).where(SignInAttempt.id == attempt_id))
    return staff


def _check_credentials(login_id: str, password: str, now: dt.datetime) -> Staff | None:
    with _db().session() as s:
        # FOR UPDATE (PostgreSQL): parallel guesses are counted one after the other, none lost.
        staff = s.scalar(select(Staff).where(Staff.login_id == login_id).with_for_update())
        if staff is None or not staff.active:
            # Hash anyway, so an unknown id takes as long as a wrong password.
            check_password_hash(_dummy_hash(), password)
            # The typed id is not kept: people type their password into the id field by mistake.
            audit("login.failed", None, session=s, reason="unknown or inactive")
            return None
        if staff.is_locked(now):
            audit("login.failed", f"staff:{staff.id}", session=s, reason="locked")
            return None
        if staff.locked_until is not None:  # a lock that has run out: start counting afresh
            staff.locked_until, staff.failed_attempts = None, 0
        if not check_password_hash(staff.password_hash, password):
            staff.failed_attempts += 1
            audit("login.failed", f"staff:{staff.id}", session=s, reason="password",
                  attempts=staff.failed_attempts)
            if staff.failed_attempts >= MAX_FAILED_ATTEMPTS:
                staff.locked_until = now + LOCKOUT
                audit("staff.locked", f"staff:{staff.id}", session=s, until=staff.locked_until.isoformat())
            return None
        staff.failed_attempts = 0
        staff.last_login_at = now
        return staff


# ---- the signed-in session --------------------------------------------------------------------

@login_manager.user_loader
def load_staff(user_id: str) -> Staff | None:
    staff_id, _, fingerprint = user_id.partition(".")
    if not staff_id.isdigit():
        return None
    with _db().session() as s:
        staff = s.get(Staff, int(staff_id))
        signed_out = staff is not None and _signed_out_since(s, staff.id, session.get(_STARTED, 0))
    # A deactivated account or a reset password ends the session at the next request.
    if staff is None or not staff.active or staff.password_fingerprint != fingerprint or signed_out:
        return None
    return staff


def _signed_out_since(s: Session, staff_id: int, started: float) -> bool:
    """Whether this person signed out after this session began. The session lives in a signed cookie
    that cannot be taken back, so a copy of it (a shared PC, a stolen cookie) would otherwise outlive
    the sign-out; the audit log's record of the sign-out is what ends it (in every browser)."""
    since = dt.datetime.fromtimestamp(started, dt.timezone.utc)
    return s.scalar(select(AuditLog.id).where(AuditLog.staff_id == staff_id, AuditLog.action == "logout",
                                              AuditLog.at >= since).limit(1)) is not None


def start_session() -> None:
    session[_STARTED] = session[_SEEN] = time.time()


@bp.before_request
def check_session_age():
    if request.endpoint in ("console.static", "console.login") or not current_user.is_authenticated:
        return None
    now = time.time()
    if now - session.get(_STARTED, 0) > SESSION_MAX_AGE.total_seconds():
        message = SESSION_TOO_OLD
    elif now - session.get(_SEEN, 0) > SESSION_IDLE_TIMEOUT.total_seconds():
        message = SESSION_IDLE
    else:
        session[_SEEN] = now
        return None
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("console.login"))


# ---- decorators for views ---------------------------------------------------------------------

def login_required(view):
    """Signed-in staff only: a page asks to sign in first; a form post (no page to come back to) is 401."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            if request.method in ("GET", "HEAD"):
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            abort(401)
        return view(*args, **kwargs)
    return wrapped


def admin_required(view):
    """Administrators only (staff accounts and settings); other staff get 403."""
    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def safe_next(target: str | None) -> str | None:
    """Only console paths on this site: `next=https://elsewhere` must not bounce people off-site."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


# ---- audit log --------------------------------------------------------------------------------

def audit(action: str, target: str | None = None, *, session: Session | None = None, **details) -> None:
    """Records a change made in the console (or by a command) in the audit log.

    `target` names what changed, e.g. "staff:12" or "broadcast:3"; `details` must be JSON-able
    (anything else is written as text) and must never hold passwords or tokens. Pass the caller's
    `session` so that the row is written in the same transaction as the change itself.
    """
    staff_id = ip = None
    if has_request_context():
        ip = request.remote_addr  # the client's, behind the proxy (ProxyFix)
        if current_user and current_user.is_authenticated:
            staff_id = current_user.id
    row = AuditLog(staff_id=staff_id, action=action, target=target and target[:200], ip=ip,
                   details=json.loads(json.dumps(details, ensure_ascii=False, default=str)))
    if session is not None:
        session.add(row)
        return
    with _db().session() as own:
        own.add(row)


def get_or_404(session, model, row_id: int, *, lock: bool = False):
    """The row a console URL names, or the console's 404 page."""
    row = session.get(model, row_id, with_for_update=lock)
    if row is None:
        abort(404)
    return row
