"""Staff accounts: scrypt passwords, sessions that expire, CSRF tokens, failed-login limits, and the CLI."""
from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from signposting import handoff
from signposting import staff as accounts
from signposting.cli import app

PASSWORD = "plum tree at dawn 42"


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "staff.db"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SIGNPOST_TRACKER_DB", str(tmp_path / "tracker.db"))   # never the developer's own
    monkeypatch.delenv("SIGNPOST_TRACKER_URL", raising=False)
    return path


@pytest.fixture()
def sam() -> accounts.Staff:
    return accounts.add_staff("sam", "Sam Jones", PASSWORD)


# --------------------------------------------------------------------------- passwords
def test_passwords_are_salted_scrypt_hashes_never_the_password(sam, database):
    accounts.add_staff("alex", "Alex Smith", PASSWORD)
    with handoff.engine().connect() as conn:
        hashes = dict(conn.execute(select(accounts.staff_table.c.username, accounts.staff_table.c.password_hash)).all())
    assert hashes["sam"].startswith("scrypt$") and hashes["alex"].startswith("scrypt$")
    assert hashes["sam"] != hashes["alex"]  # same password, different salt
    assert PASSWORD.encode() not in database.read_bytes()
    assert accounts.verify_password(PASSWORD, hashes["sam"])
    assert not accounts.verify_password(PASSWORD + "x", hashes["sam"])
    assert not accounts.verify_password(PASSWORD, "not a hash")


@pytest.mark.parametrize("username, name, password, problem", [
    ("sam", "Sam", "short", "at least 12"),
    ("sam", "Sam", "sam-password-123", "user name"),
    ("sam", "Sam", "aaaaaaaaaaaaaaaa", "too easy"),
    ("Sam Jones", "Sam", PASSWORD, "User names"),
    ("sam", "   ", PASSWORD, "name people will see"),
])
def test_weak_or_malformed_accounts_are_refused_with_a_reason(username, name, password, problem):
    with pytest.raises(accounts.StaffError, match=problem):
        accounts.add_staff(username, name, password)
    assert accounts.list_staff() == []


def test_a_user_name_can_only_be_used_once(sam):
    with pytest.raises(accounts.StaffError, match="already an account"):
        accounts.add_staff("SAM", "Another Sam", PASSWORD)


# --------------------------------------------------------------------------- sessions
def test_login_gives_a_session_whose_token_is_not_stored(sam, database):
    current = accounts.login("sam", PASSWORD, "10.0.0.1")
    assert current.staff.username == "sam" and current.staff.first_name == "Sam"
    assert accounts.session(current.token).staff.id == sam.id
    assert current.token.encode() not in database.read_bytes()
    with sqlite3.connect(database) as conn:
        [(stored,)] = conn.execute("select token_hash from handoff_staff_sessions").fetchall()
    assert stored != current.token and len(stored) == 64


def test_a_session_ends_after_30_minutes_idle(sam):
    current = accounts.login("sam", PASSWORD)
    start = current.last_seen_at
    assert accounts.session(current.token, now=start + timedelta(minutes=29)) is not None
    # activity moved the deadline on: 29 + 29 minutes after login is still fine
    assert accounts.session(current.token, now=start + timedelta(minutes=58)) is not None
    assert accounts.session(current.token, now=start + timedelta(minutes=89)) is None
    assert accounts.session(current.token, now=start + timedelta(minutes=90)) is None  # and it is gone


def test_polling_does_not_keep_an_idle_session_alive(sam):
    current = accounts.login("sam", PASSWORD)
    start = current.last_seen_at
    assert accounts.session(current.token, now=start + timedelta(minutes=20), touch=False) is not None
    assert accounts.session(current.token, now=start + timedelta(minutes=31)) is None


def test_a_session_ends_after_8_hours_however_busy(sam):
    current = accounts.login("sam", PASSWORD)
    moment = current.created_at
    for _ in range(23):  # every 20 minutes for 7 h 40 min
        moment += timedelta(minutes=20)
        assert accounts.session(current.token, now=moment) is not None
    assert accounts.session(current.token, now=current.created_at + timedelta(hours=8, minutes=1)) is None


def test_logout_and_disabling_end_sessions(sam):
    first, second = accounts.login("sam", PASSWORD), accounts.login("sam", PASSWORD)
    accounts.logout(first.token)
    assert accounts.session(first.token) is None and accounts.session(second.token) is not None
    accounts.disable_staff("sam")
    assert accounts.session(second.token) is None
    with pytest.raises(accounts.LoginRefused, match="don't match an active account"):
        accounts.login("sam", PASSWORD)


def test_unknown_and_garbage_tokens_are_no_session(sam):
    assert accounts.session(None) is None
    assert accounts.session("") is None
    assert accounts.session("x" * 5000) is None
    assert accounts.session("made-up-token") is None


def test_csrf_token_must_match_the_session(sam):
    current = accounts.login("sam", PASSWORD)
    other = accounts.login("sam", PASSWORD)
    assert accounts.csrf_ok(current, current.csrf_token)
    assert not accounts.csrf_ok(current, other.csrf_token)
    assert not accounts.csrf_ok(current, "")
    assert not accounts.csrf_ok(current, None)
    assert not accounts.csrf_ok(None, current.csrf_token)
    assert not accounts.csrf_ok(current, current.csrf_token + "é")


# --------------------------------------------------------------------------- failed logins
def test_five_failures_lock_the_account_name_even_with_the_right_password(sam):
    for attempt in range(accounts.FAILED_LOGIN_LIMIT):
        with pytest.raises(accounts.LoginRefused, match="don't match"):
            accounts.login("sam", f"wrong {attempt}", f"10.0.0.{attempt}")
    with pytest.raises(accounts.LoginRefused, match="Too many failed attempts"):
        accounts.login("sam", PASSWORD, "10.9.9.9")
    later = handoff.now_utc() + accounts.FAILED_LOGIN_WINDOW + timedelta(seconds=1)
    assert not accounts.locked_out("sam", "10.9.9.9", now=later)


def test_five_failures_from_one_address_lock_that_address_only(sam):
    accounts.add_staff("alex", "Alex Smith", PASSWORD)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        with pytest.raises(accounts.LoginRefused):
            accounts.login(name, "guess", "203.0.113.5")
    with pytest.raises(accounts.LoginRefused, match="Too many"):
        accounts.login("alex", PASSWORD, "203.0.113.5")
    assert accounts.login("alex", PASSWORD, "198.51.100.7").staff.username == "alex"


def test_a_good_login_clears_the_names_earlier_failures(sam):
    for _ in range(accounts.FAILED_LOGIN_LIMIT - 1):
        with pytest.raises(accounts.LoginRefused):
            accounts.login("sam", "wrong", "10.0.0.1")
    accounts.login("sam", PASSWORD, "10.0.0.2")
    with pytest.raises(accounts.LoginRefused, match="don't match"):
        accounts.login("sam", "wrong again", "10.0.0.3")
    assert accounts.login("sam", PASSWORD, "10.0.0.3")


# --------------------------------------------------------------------------- the command line
def test_cli_adds_lists_and_disables_staff():
    runner = CliRunner()
    added = runner.invoke(app, ["staff", "add", "sam", "--name", "Sam Jones"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert "Created sam (Sam Jones)" in added.output and PASSWORD not in added.output
    mismatch = runner.invoke(app, ["staff", "add", "alex", "--name", "Alex"], input=f"{PASSWORD}\nother one 1234\n"
                             f"{PASSWORD}\n{PASSWORD}\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output.lower()
    weak = runner.invoke(app, ["staff", "add", "kim", "--name", "Kim", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1 and "at least 12" in weak.output
    listed = runner.invoke(app, ["staff", "list"])
    assert "sam" in listed.output and "alex" in listed.output and "kim" not in listed.output
    assert "active" in listed.output and "last login never" in listed.output
    disabled = runner.invoke(app, ["staff", "disable", "sam"])
    assert disabled.exit_code == 0 and "sessions have ended" in disabled.output
    assert "disabled" in runner.invoke(app, ["staff", "list"]).output
    missing = runner.invoke(app, ["staff", "disable", "nobody"])
    assert missing.exit_code == 1 and "no account called 'nobody'" in missing.output


def test_cli_lists_closes_and_deletes_handoffs(sam):
    sender = "web-" + "c" * 32
    consent = handoff.Consent(True, True, "helpline handoff")
    handoff.request_callback(sender, "webchat", {}, "Wants a call about money", "07700 900123", "morning", "call",
                             consent)
    runner = CliRunner()
    listed = runner.invoke(app, ["handoff", "list"])
    assert sender in listed.output and "callback" in listed.output
    assert "07700" not in listed.output and "money" not in listed.output  # the list never shows personal details
    bad = runner.invoke(app, ["handoff", "close", sender, "--outcome", "sorted", "--staff", "sam"])
    assert bad.exit_code == 2 and "callback made" in bad.output
    closed = runner.invoke(app, ["handoff", "close", sender, "--outcome", "callback made", "--staff", "sam"])
    assert closed.exit_code == 0, closed.output
    assert runner.invoke(app, ["handoff", "list"]).output.strip() == "Nobody is waiting."
    assert "callback made" in runner.invoke(app, ["handoff", "list", "--all"]).output
    refused = runner.invoke(app, ["handoff", "delete", sender], input="n\n")
    assert refused.exit_code == 1 and handoff.conversations(include_closed=True)
    deleted = runner.invoke(app, ["handoff", "delete", sender, "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert deleted.output.startswith(f"Deleted {sender}: ") and "handoff queue: " in deleted.output
    assert handoff.conversations(include_closed=True) == [] and handoff.audit_log(sender) == []
