"""Configuration from the environment (see API.md, "Command line and configuration")."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

FEATURES = ("dynamic", "facilities", "homecare", "intake")


def instance_path() -> Path:
    """The instance folder: ELDERCARE_INSTANCE, default ./instance, created on first use."""
    path = Path(os.environ.get("ELDERCARE_INSTANCE", "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(folder: Path) -> str:
    """ELDERCARE_SECRET_KEY, or a key generated once and kept in the instance folder.

    Every worker process and host must sign with the same key, so a generated key is
    written to disk (mode 0600) rather than held in memory.
    """
    key = os.environ.get("ELDERCARE_SECRET_KEY")
    if key:
        return key
    key_file = folder / "secret_key"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


class Config:
    """Settings read once, when the app is created."""

    def __init__(self) -> None:
        folder = instance_path()
        self.INSTANCE_PATH = str(folder)
        self.SECRET_KEY = _secret_key(folder)
        # Keys of the personal data encrypted at rest (eldercare/crypto.py): both set, or
        # neither, and then both are derived from SECRET_KEY with HKDF (distinct labels).
        self.DATA_KEY = os.environ.get("ELDERCARE_DATA_KEY") or None
        self.INDEX_KEY = os.environ.get("ELDERCARE_INDEX_KEY") or None
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "DATABASE_URL", f"sqlite:///{folder / 'eldercare.db'}"
        )
        self.BASE_URL = os.environ.get("ELDERCARE_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
        # ELDERCARE_FEATURES="" runs the core alone (e.g. to generate its migrations).
        features = os.environ.get("ELDERCARE_FEATURES")
        self.FEATURES = (
            FEATURES
            if features is None
            else tuple(f.strip() for f in features.split(",") if f.strip())
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # API.md: uploads up to 16 MiB
        self.BABEL_DEFAULT_LOCALE = "zh"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.LANGUAGES = ("zh", "en")
        self._sign_in()
        self.SCHEDULER_ENABLED = os.environ.get("ELDERCARE_SCHEDULER", "0") == "1"
        self.DEMO_MODE = False

    def _sign_in(self) -> None:
        """Sessions, tokens, lock-outs, passwords and the second factor (ENGINEERING.md)."""
        # Sessions: ENGINEERING.md — idle 30 minutes, absolute 12 hours.
        self.SESSION_IDLE = timedelta(minutes=30)
        self.SESSION_ABSOLUTE = timedelta(hours=12)
        self.PERMANENT_SESSION_LIFETIME = self.SESSION_ABSOLUTE
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = self.BASE_URL.startswith("https://")
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.TOKEN_LIFETIME = timedelta(hours=12)
        self.LOGIN_MAX_FAILURES = 5
        self.LOGIN_LOCK = timedelta(minutes=15)
        # Password spraying (a few guesses at each of many accounts) never reaches an
        # account's lock: one address may fail 30 times in 15 minutes, then that address
        # (not the accounts it named) waits 15 minutes. README "Security" says why.
        self.LOGIN_ADDRESS_MAX_FAILURES = 30
        self.LOGIN_ADDRESS_WINDOW = timedelta(minutes=15)
        self.LOGIN_ADDRESS_LOCK = timedelta(minutes=15)
        # The proxies whose X-Forwarded-For names the client (nginx on the same host):
        # behind one, every request would otherwise come from 127.0.0.1.
        self.TRUSTED_PROXIES = tuple(
            p.strip()
            for p in os.environ.get("ELDERCARE_TRUSTED_PROXIES", "127.0.0.1,::1").split(",")
            if p.strip()
        )
        # the name of a hashing method, not a password
        self.PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105  # nosec B105
        # CSRF is checked by hand in one place (auth.csrf_guard): bearer-token API calls
        # carry no cookie and need none; everything else does.
        self.WTF_CSRF_CHECK_DEFAULT = False
        self.WTF_CSRF_TIME_LIMIT = None
        # MLPS 2.0 level 3: a second factor for the accounts that change the most and for
        # the auditors, who read every full ID number. "off" is for a laptop demo only.
        self.TOTP_REQUIRED_ROLES = (
            () if os.environ.get("ELDERCARE_TOTP") == "off" else ("admin", "manager", "auditor")
        )
