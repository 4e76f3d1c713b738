"""Helpline staff accounts for the staff console: passwords, sessions, CSRF tokens, failed-login limits.

- Passwords: hashlib.scrypt with a per-user random salt; checked with a constant-time compare, and an
  unknown user costs the same work as a known one (no way to probe for account names by timing).
- Sessions: a random token in an HttpOnly cookie; only its SHA-256 is stored, so a copy of the
  database does not let anyone log in. A session ends after 30 minutes idle or 8 hours in all
  (SIGNPOST_STAFF_IDLE_MINUTES, SIGNPOST_STAFF_SESSION_HOURS), on logout, or when the account is
  disabled. The console's background polling does not count as activity.
- CSRF: every session has its own token, which every form posts back; compared in constant time.
- Failed logins: 5 failures for one user name or one address in 15 minutes locks that name or
  address out for the rest of the 15 minutes.

Accounts are created from the command line (`signposting staff add`), never from the web.
Tables live in signposting.handoff.metadata (one metadata for Alembic).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from signposting.handoff import UTCDateTime, engine, metadata, now_utc

IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("SIGNPOST_STAFF_IDLE_MINUTES", "30")))
ABSOLUTE_TIMEOUT = timedelta(hours=int(os.environ.get("SIGNPOST_STAFF_SESSION_HOURS", "8")))
TOUCH_EVERY = timedelta(minutes=1)   # how often use moves the idle deadline on (at most a minute early)
FAILED_LOGIN_LIMIT = 5
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# scrypt cost: 16 MiB and ~50 ms per check on a laptop core; stored per account so it can be raised later
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1

staff_table = Table(
    "handoff_staff", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(120), nullable=False),
    Column("password_hash", String(200), nullable=False),   # scrypt$n$r$p$salt_hex$hash_hex
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),
)
sessions_table = Table(
    "handoff_staff_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", Integer, ForeignKey("handoff_staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)
failures_table = Table(
    "handoff_login_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, index=True),   # "user:<name>" or "addr:<ip>"
    Column("at", UTCDateTime, nullable=False),
)


class StaffError(Exception):
    """A clear, plain reason an account could not be created or changed."""


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    display_name: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None = None

    @property
    def first_name(self) -> str:
        """What the person is told: 'You're now talking to Sam from the helpline team'."""
        return self.display_name.split()[0] if self.display_name.strip() else self.username


@dataclass(frozen=True)
class Session:
    token: str          # the cookie value (never stored)
    csrf_token: str
    staff: Staff
    created_at: datetime
    last_seen_at: datetime


# --------------------------------------------------------------------------- passwords
def hash_password(password: str, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """scrypt with a fresh 16-byte salt: 'scrypt$n$r$p$salt$hash'."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against a stored scrypt hash."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r),
                                p=int(p), dklen=len(digest_hex) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


_DUMMY_HASH = hash_password("not a real password", salt=b"\0" * 16)


def check_password_strength(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if username and username.lower() in password.lower():
        raise StaffError("The password must not contain the user name.")
    if len(set(password)) < 5:
        raise StaffError("That password is too easy to guess: use a mix of words or characters.")


# --------------------------------------------------------------------------- accounts
def _staff_from(row: Mapping[str, Any]) -> Staff:
    return Staff(row["id"], row["username"], row["display_name"], row["active"], row["created_at"],
                 row["last_login_at"])


def add_staff(username: str, display_name: str, password: str, url: str | None = None) -> Staff:
    """Create an account (user names: lower case letters, digits, . _ -)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise StaffError("User names are 2-64 lower case letters, digits, dots, dashes or underscores.")
    display_name = " ".join(display_name.split())
    if not display_name:
        raise StaffError("Give the name people will see, for example 'Sam Jones'.")
    check_password_strength(password, username)
    try:
        with engine(url).begin() as conn:
            staff_id = conn.execute(insert(staff_table).values(
                username=username, display_name=display_name[:120], password_hash=hash_password(password),
                active=True, created_at=now_utc())).inserted_primary_key[0]
    except IntegrityError:
        raise StaffError(f"There is already an account called '{username}'.") from None
    found = get_staff(username, url)
    assert found is not None and found.id == staff_id
    return found


def get_staff(username: str, url: str | None = None) -> Staff | None:
    with engine(url).connect() as conn:
        row = conn.execute(select(staff_table).where(staff_table.c.username == username.strip().lower())
                           ).mappings().first()
    return None if row is None else _staff_from(row)


def list_staff(url: str | None = None) -> list[Staff]:
    with engine(url).connect() as conn:
        return [_staff_from(r) for r in conn.execute(select(staff_table).order_by(staff_table.c.username)).mappings()]


def disable_staff(username: str, url: str | None = None) -> Staff:
    """Disable an account and end its sessions at once."""
    staff = get_staff(username, url)
    if staff is None:
        raise StaffError(f"There is no account called '{username}'.")
    with engine(url).begin() as conn:
        conn.execute(update(staff_table).where(staff_table.c.id == staff.id).values(active=False))
        conn.execute(delete(sessions_table).where(sessions_table.c.staff_id == staff.id))
    return get_staff(username, url)  # type: ignore[return-value]


def set_password(username: str, password: str, url: str | None = None) -> None:
    staff = get_staff(username, url)
    if staff is None:
        raise StaffError(f"There is no account called '{username}'.")
    check_password_strength(password, staff.username)
    with engine(url).begin() as conn:
        conn.execute(update(staff_table).where(staff_table.c.id == staff.id)
                     .values(password_hash=hash_password(password)))
        conn.execute(delete(sessions_table).where(sessions_table.c.staff_id == staff.id))


# --------------------------------------------------------------------------- logging in
class LoginRefused(Exception):
    """Wrong name or password, a disabled account, or too many attempts: the message is safe to show."""


def _failure_keys(username: str, address: str | None) -> list[str]:
    keys = [f"user:{username.strip().lower()[:64]}"]
    if address:
        keys.append(f"addr:{address[:100]}")
    return keys


def locked_out(username: str, address: str | None, url: str | None = None, now: datetime | None = None) -> bool:
    since = (now or now_utc()) - FAILED_LOGIN_WINDOW
    with engine(url).connect() as conn:
        for key in _failure_keys(username, address):
            count = conn.execute(select(func.count()).select_from(failures_table).where(
                failures_table.c.key == key, failures_table.c.at > since)).scalar_one()
            if count >= FAILED_LOGIN_LIMIT:
                return True
    return False


def login(username: str, password: str, address: str | None = None, url: str | None = None) -> Session:
    """Check the password and start a session, or raise LoginRefused with a message safe to show."""
    if locked_out(username, address, url):
        raise LoginRefused("Too many failed attempts. Wait 15 minutes, then try again.")
    with engine(url).connect() as conn:
        row = conn.execute(select(staff_table).where(staff_table.c.username == username.strip().lower()[:64])
                           ).mappings().first()
    ok = verify_password(password, row["password_hash"] if row is not None else _DUMMY_HASH)
    if row is None or not ok or not row["active"]:
        with engine(url).begin() as conn:
            for key in _failure_keys(username, address):
                conn.execute(insert(failures_table).values(key=key, at=now_utc()))
        raise LoginRefused("That user name and password don't match an active account.")
    token, csrf, stamp = secrets.token_urlsafe(32), secrets.token_urlsafe(32), now_utc()
    with engine(url).begin() as conn:
        conn.execute(insert(sessions_table).values(token_hash=_token_hash(token), staff_id=row["id"],
                                                   csrf_token=csrf, created_at=stamp, last_seen_at=stamp))
        conn.execute(update(staff_table).where(staff_table.c.id == row["id"]).values(last_login_at=stamp))
        conn.execute(delete(failures_table).where(failures_table.c.key == _failure_keys(username, None)[0]))
    return Session(token, csrf, _staff_from(dict(row, last_login_at=stamp)), stamp, stamp)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session(token: str | None, url: str | None = None, now: datetime | None = None, touch: bool = True) -> Session | None:
    """The live session for a cookie value, or None (unknown, expired, or the account was disabled).

    Each use moves the idle deadline on; an expired session is deleted.
    """
    if not token or len(token) > 200:
        return None
    now = now or now_utc()
    key = _token_hash(token)
    joined = sessions_table.join(staff_table, sessions_table.c.staff_id == staff_table.c.id)
    columns = [sessions_table.c.csrf_token, sessions_table.c.created_at, sessions_table.c.last_seen_at,
               staff_table.c.id.label("staff_id"), staff_table.c.username, staff_table.c.display_name,
               staff_table.c.active, staff_table.c.created_at.label("staff_created_at"), staff_table.c.last_login_at]
    with engine(url).begin() as conn:
        row = conn.execute(select(*columns).select_from(joined).where(sessions_table.c.token_hash == key)
                           ).mappings().first()
        if row is None:
            return None
        expired = (now - row["last_seen_at"] > IDLE_TIMEOUT or now - row["created_at"] > ABSOLUTE_TIMEOUT
                   or not row["active"])
        if expired:
            conn.execute(delete(sessions_table).where(sessions_table.c.token_hash == key))
            return None
        touch = touch and now - row["last_seen_at"] >= TOUCH_EVERY   # one write a minute, not one per page
        if touch:
            conn.execute(update(sessions_table).where(sessions_table.c.token_hash == key).values(last_seen_at=now))
    staff = Staff(row["staff_id"], row["username"], row["display_name"], row["active"], row["staff_created_at"],
                  row["last_login_at"])
    return Session(token, row["csrf_token"], staff, row["created_at"], now if touch else row["last_seen_at"])


def logout(token: str | None, url: str | None = None) -> None:
    if token:
        with engine(url).begin() as conn:
            conn.execute(delete(sessions_table).where(sessions_table.c.token_hash == _token_hash(token)))


def csrf_ok(current: Session | None, submitted: str | None) -> bool:
    """The form's token matches the session's (constant time)."""
    if current is None or not submitted:
        return False
    return hmac.compare_digest(current.csrf_token.encode(), submitted.encode("utf-8", "replace"))


def expire_idle(url: str | None = None, now: datetime | None = None) -> int:
    """Delete sessions past either deadline (housekeeping; expired ones are refused anyway)."""
    now = now or now_utc()
    with engine(url).begin() as conn:
        return conn.execute(delete(sessions_table).where(
            (sessions_table.c.last_seen_at < now - IDLE_TIMEOUT) | (sessions_table.c.created_at < now - ABSOLUTE_TIMEOUT)
        )).rowcount
