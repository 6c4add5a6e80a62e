"""Settings from the environment, validated once at start-up.

With both LINE credentials set the bot runs in production mode and every setting must be present and
well-formed; a bad one stops start-up with one line naming the variable. With neither set it runs in
demo mode: SQLite under instance/, a generated channel secret and the built-in emulator.
"""
from __future__ import annotations

import dataclasses
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

DEMO_ACCESS_TOKEN = "demo-token"
DEMO_BASE_URL = "http://127.0.0.1:8000"
# Where the demo app mounts the emulator; the SDK is pointed here in demo mode.
EMULATOR_MOUNT = "/emulator"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    demo: bool
    channel_secret: str
    channel_access_token: str
    api_base_url: str
    data_api_base_url: str
    database_url: str
    secret_key: str
    public_base_url: str
    tz_name: str = "Asia/Tokyo"
    # Seconds the SDK waits for LINE before the call counts as a timeout.
    line_timeout: float = 10.0
    # Days an unfollowed friend's personal data is kept before the daily job deletes it (bot.privacy).
    retention_days: int = 180

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def _url(env, name: str, default: str | None, *, https_only: bool) -> str:
    value = env.get(name) or default
    if not value:
        raise ConfigError(f"{name} is required in production mode")
    parts = urlsplit(value)
    allowed = ("https",) if https_only else ("http", "https")
    if parts.scheme not in allowed or not parts.netloc:
        kind = "an https URL" if https_only else "an http(s) URL"
        raise ConfigError(f"{name} must be {kind}, got {value!r}")
    return value.rstrip("/")


def _database_url(env) -> str:
    value = env.get("DATABASE_URL")
    if not value:
        INSTANCE_DIR.mkdir(exist_ok=True)
        return f"sqlite:///{INSTANCE_DIR / 'bot.db'}"
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver named.
    value = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", value)
    if not re.match(r"^(sqlite|postgresql\+psycopg)://", value):
        raise ConfigError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
    return value


def _tz_name(env) -> str:
    name = env.get("TZ_NAME") or "Asia/Tokyo"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TZ_NAME is not a known time zone: {name!r}") from None
    return name


def _retention_days(env) -> int:
    value = (env.get("PERSONAL_DATA_RETENTION_DAYS") or "180").strip()
    # At least a day, so that an unfollow by mistake can be undone; at most ten years.
    if not value.isdigit() or not 1 <= int(value) <= 3650:
        raise ConfigError("PERSONAL_DATA_RETENTION_DAYS must be a whole number of days from 1 to 3650, "
                          f"got {value!r}")
    return int(value)


def load_settings(env=None) -> Settings:
    env = os.environ if env is None else env
    secret = env.get("LINE_CHANNEL_SECRET", "")
    token = env.get("LINE_CHANNEL_ACCESS_TOKEN", "")
    if not secret and not token:
        return _demo_settings(env)
    if not secret:
        raise ConfigError("LINE_CHANNEL_SECRET is required when LINE_CHANNEL_ACCESS_TOKEN is set")
    if not token:
        raise ConfigError("LINE_CHANNEL_ACCESS_TOKEN is required when LINE_CHANNEL_SECRET is set")
    if not re.fullmatch(r"[0-9a-f]{32}", secret):
        raise ConfigError("LINE_CHANNEL_SECRET must be the 32-character hex secret from the LINE console")
    if len(token) < 20 or any(c.isspace() for c in token):
        raise ConfigError("LINE_CHANNEL_ACCESS_TOKEN is malformed (too short or contains spaces)")
    secret_key = env.get("SECRET_KEY", "")
    if len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be set to a random string of at least 32 characters")
    return Settings(
        demo=False,
        channel_secret=secret,
        channel_access_token=token,
        api_base_url=_url(env, "LINE_API_BASE_URL", "https://api.line.me", https_only=False),
        data_api_base_url=_url(env, "LINE_DATA_API_BASE_URL", "https://api-data.line.me", https_only=False),
        database_url=_database_url(env),
        secret_key=secret_key,
        public_base_url=_url(env, "PUBLIC_BASE_URL", None, https_only=True),
        tz_name=_tz_name(env),
        retention_days=_retention_days(env),
    )


def demo_channel_secret() -> str:
    """Generated once and kept under instance/, so a script can sign webhooks for the demo bot."""
    path = INSTANCE_DIR / "demo-channel-secret"
    if not path.exists():
        INSTANCE_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_hex(16))
    return path.read_text().strip()


def _demo_settings(env) -> Settings:
    base = _url(env, "PUBLIC_BASE_URL", DEMO_BASE_URL, https_only=False)
    emulator = base + EMULATOR_MOUNT
    return Settings(
        demo=True,
        channel_secret=demo_channel_secret(),
        channel_access_token=DEMO_ACCESS_TOKEN,
        api_base_url=_url(env, "LINE_API_BASE_URL", emulator, https_only=False),
        data_api_base_url=_url(env, "LINE_DATA_API_BASE_URL", emulator, https_only=False),
        database_url=_database_url(env),
        secret_key=env.get("SECRET_KEY") or secrets.token_hex(32),
        public_base_url=base,
        tz_name=_tz_name(env),
        retention_days=_retention_days(env),
    )
