"""Deleting a conversation everywhere, and the retention job (signposting/privacy.py).

Real databases: the tracker table is created by Rasa's own SQLTrackerStore (so the table and
column names are Rasa's), on a SQLite file and on a PostgreSQL schema; the handoff queue is the
real signposting.handoff on its own SQLite file.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from signposting import privacy

DAY = 86400.0
NOW = time.time()


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_db(request, tmp_path) -> Iterator[str]:
    """A database URL where Rasa's SQLTrackerStore has created its table."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
        admin = schema = None
    else:
        schema = f"test_priv_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine("postgresql://root@127.0.0.1/test")
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = f"postgresql://root@127.0.0.1/test?options=-csearch_path%3D{schema}"
    store = SQLTrackerStore(Domain.empty(), host=url)
    store.engine.dispose()
    try:
        yield url
    finally:
        privacy.tracker_engine(url).dispose()
        privacy._engines.pop(url, None)
        if admin is not None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()


@pytest.fixture
def handoff_db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    return url


async def converse(url: str, sender_id: str, last_event_at: float, turns: int = 2) -> int:
    """Store a conversation through Rasa's own store, its events ending at ``last_event_at``."""
    store = SQLTrackerStore(Domain.empty(), host=url)
    tracker = DialogueStateTracker(sender_id, [])
    events: list[Any] = [SessionStarted(timestamp=last_event_at - 60)]
    for i in range(turns):
        events += [UserUttered(f"message {i}", timestamp=last_event_at - 30 + i),
                   ActionExecuted("action_listen", timestamp=last_event_at - 29 + i)]
    events[-1] = ActionExecuted("action_listen", timestamp=last_event_at)
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    store.engine.dispose()
    return len(events)


def queue_handoff(sender_id: str) -> None:
    from signposting import handoff

    consent = handoff.Consent(share_summary=True, store_phone=False, scope="share my summary with the helpline team")
    handoff.request_handoff(sender_id, "webchat", {"what_matters": "money"}, "Worried about money.", consent)


def handoff_rows(sender_id: str) -> int:
    from signposting import handoff

    return len([h for h in handoff.conversations(include_closed=True) if h.sender_id == sender_id])


# ------------------------------------------------------------------------------ settings


@pytest.mark.parametrize("value, days", [(None, 90), ("", 90), ("30", 30), (" 365 ", 365), ("1", 1)])
def test_retention_days_setting(value, days) -> None:
    env = {} if value is None else {privacy.RETENTION_ENV: value}
    assert privacy.retention_days(env) == days


@pytest.mark.parametrize("value", ["ninety", "0", "-5", "1.5"])
def test_a_bad_retention_setting_is_a_clear_error(value) -> None:
    with pytest.raises(ValueError, match=privacy.RETENTION_ENV):
        privacy.retention_days({privacy.RETENTION_ENV: value})


def test_tracker_url_follows_run_py_and_production_settings(tmp_path) -> None:
    assert privacy.tracker_url({"SIGNPOST_TRACKER_URL": "postgresql://x/y"}) == "postgresql://x/y"
    assert privacy.tracker_url({"SIGNPOST_TRACKER_DB": str(tmp_path / "t.db")}) == f"sqlite:///{tmp_path / 't.db'}"
    assert privacy.tracker_url({}).endswith("/.rasa/tracker.db")


# ------------------------------------------------------------------------------ delete


async def test_delete_removes_the_conversation_and_the_handoff_request_only(tracker_db, handoff_db) -> None:
    n = await converse(tracker_db, "web-gone", NOW)
    await converse(tracker_db, "web-stays", NOW)
    queue_handoff("web-gone")
    queue_handoff("web-stays")
    report = privacy.delete_conversation("web-gone", tracker_db, requested_by="staff")
    assert report.removed["conversation"] == n
    assert report.removed["handoff queue"] >= 1 and report.complete
    assert privacy.stored_event_count(tracker_db, "web-gone") == 0 and handoff_rows("web-gone") == 0
    assert privacy.stored_event_count(tracker_db, "web-stays") == n and handoff_rows("web-stays") == 1
    assert privacy.forgotten_at(tracker_db, "web-gone") is not None, "a tombstone stops a running turn writing it back"
    with privacy.tracker_engine(tracker_db).connect() as conn:
        keys = [r[0] for r in conn.execute(sa.text("SELECT sender_key FROM signpost_forgotten"))]
    assert keys == [privacy.sender_key("web-gone")] and "web-gone" not in keys[0], "the tombstone holds no id"


async def test_deleting_twice_or_an_unknown_conversation_is_fine(tracker_db, handoff_db) -> None:
    await converse(tracker_db, "web-twice", NOW)
    assert privacy.delete_conversation("web-twice", tracker_db).removed["conversation"] > 0
    again = privacy.delete_conversation("web-twice", tracker_db)
    assert again.removed["conversation"] == 0 and again.complete
    assert privacy.delete_conversation("never-seen", tracker_db).total == 0


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_no_conversation_id_is_a_clear_error(bad, tmp_path) -> None:
    with pytest.raises(ValueError, match="conversation id"):
        privacy.delete_conversation(bad, f"sqlite:///{tmp_path / 'x.db'}", deleters={})  # type: ignore[arg-type]


async def test_registered_places_are_cleared_and_a_failing_one_does_not_stop_the_rest(tracker_db, monkeypatch) -> None:
    monkeypatch.setattr(privacy, "_registry", {})
    monkeypatch.setattr(privacy, "_handoff_deleter", lambda: None)
    cleared: list[str] = []

    def broken(sender_id: str, by: str) -> int:
        raise RuntimeError("database down")

    privacy.register_deleter("outbox", lambda sender_id, by: cleared.append(sender_id) or 2)
    privacy.register_deleter("broken", broken)
    await converse(tracker_db, "web-partial", NOW)
    report = privacy.delete_conversation("web-partial", tracker_db)
    assert cleared == ["web-partial"] and report.removed["outbox"] == 2
    assert report.failed == ("broken",) and not report.complete and "broken: FAILED" in report.describe()
    assert privacy.stored_event_count(tracker_db, "web-partial") == 0
    with pytest.raises(ValueError):
        privacy.register_deleter("", lambda s, b: 0)


def test_without_the_handoff_module_it_says_so_and_carries_on(tmp_path, monkeypatch, caplog) -> None:
    import importlib

    real = importlib.import_module

    def no_handoff(name: str, *args: Any) -> Any:
        if name == "signposting.handoff":
            raise ImportError("No module named 'signposting.handoff'")
        return real(name, *args)

    monkeypatch.setattr(privacy.importlib, "import_module", no_handoff)
    monkeypatch.setattr(privacy, "_registry", {})
    with caplog.at_level(logging.INFO, logger="signposting.privacy"):
        report = privacy.delete_conversation("web-x", f"sqlite:///{tmp_path / 'x.db'}")
    assert "handoff queue" not in report.removed and report.complete
    assert "Handoff queue not available" in caplog.text


# ------------------------------------------------------------------------------ retention


async def test_purge_deletes_only_conversations_older_than_the_setting(tracker_db, handoff_db) -> None:
    old = await converse(tracker_db, "web-old", NOW - 100 * DAY)
    await converse(tracker_db, "web-89-days", NOW - 89 * DAY)
    await converse(tracker_db, "web-today", NOW)
    queue_handoff("web-old")
    assert privacy.stale_conversations(tracker_db, 90, NOW) == ["web-old"]
    report = privacy.purge(90, tracker_db, now=NOW)
    assert report.conversations == 1 and report.removed["conversation"] == old and report.removed["handoff queue"] >= 1
    assert privacy.stored_event_count(tracker_db, "web-old") == 0 and handoff_rows("web-old") == 0
    assert privacy.stored_event_count(tracker_db, "web-89-days") > 0 and privacy.stored_event_count(tracker_db, "web-today") > 0
    # a shorter setting reaches further
    assert privacy.purge(30, tracker_db, now=NOW).conversations == 1
    assert privacy.stored_event_count(tracker_db, "web-89-days") == 0


async def test_purge_uses_the_environment_setting_and_clears_old_tombstones(tracker_db, handoff_db, monkeypatch) -> None:
    monkeypatch.setenv(privacy.RETENTION_ENV, "7")
    await converse(tracker_db, "web-week", NOW - 8 * DAY)
    privacy.delete_tracker_rows(tracker_db, "long-ago", now=NOW - 2 * DAY)
    privacy.delete_tracker_rows(tracker_db, "just-now", now=NOW)
    report = privacy.purge(tracker=tracker_db, now=NOW)
    assert report.older_than_days == 7 and report.conversations == 1
    assert privacy.forgotten_at(tracker_db, "long-ago") is None
    assert privacy.forgotten_at(tracker_db, "just-now") == pytest.approx(NOW)


def test_purge_on_an_empty_database_does_nothing(tmp_path) -> None:
    report = privacy.purge(90, f"sqlite:///{tmp_path / 'empty.db'}", deleters={})
    assert report.conversations == 0 and report.total == 0
    with pytest.raises(ValueError):
        privacy.purge(0, f"sqlite:///{tmp_path / 'empty.db'}", deleters={})


# ------------------------------------------------------------------------------ the staff CLI


def cli(*args: str, input: str | None = None):
    from click.testing import CliRunner

    from signposting.cli import app

    return CliRunner().invoke(app, ["privacy", *args], input=input)


async def test_cli_delete_asks_then_deletes_everywhere(tracker_db, handoff_db) -> None:
    await converse(tracker_db, "sms-cli", NOW)
    queue_handoff("sms-cli")
    refused = cli("delete", "sms-cli", "--tracker-url", tracker_db, input="n\n")
    assert refused.exit_code != 0 and privacy.stored_event_count(tracker_db, "sms-cli") > 0, "no means no"
    done = cli("delete", "sms-cli", "--tracker-url", tracker_db, input="y\n")
    assert done.exit_code == 0, done.stderr
    assert "Deleted sms-cli: conversation: " in done.stdout and "handoff queue: " in done.stdout
    assert privacy.stored_event_count(tracker_db, "sms-cli") == 0 and handoff_rows("sms-cli") == 0
    again = cli("delete", "sms-cli", "--tracker-url", tracker_db, "--yes")
    assert again.exit_code == 0 and "Nothing to delete" in again.stdout


async def test_cli_purge_counts_then_deletes(tracker_db, handoff_db) -> None:
    await converse(tracker_db, "web-ancient", NOW - 400 * DAY)
    await converse(tracker_db, "web-new", NOW)
    dry = cli("purge", "--older-than-days", "365", "--tracker-url", tracker_db, "--dry-run")
    assert dry.exit_code == 0 and "1 conversation(s) older than 365 days would be deleted" in dry.stdout
    assert privacy.stored_event_count(tracker_db, "web-ancient") > 0
    done = cli("purge", "--older-than-days", "365", "--tracker-url", tracker_db)
    assert done.exit_code == 0 and "Deleted 1 conversation(s) older than 365 days" in done.stdout
    assert privacy.stored_event_count(tracker_db, "web-ancient") == 0 and privacy.stored_event_count(tracker_db, "web-new") > 0


def test_cli_bad_input_gets_a_clear_error_and_changes_nothing(tmp_path, monkeypatch, handoff_db) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert "Invalid value" in cli("purge", "--older-than-days", "0", "--tracker-url", url).stderr
    monkeypatch.setenv(privacy.RETENTION_ENV, "soon")
    bad_env = cli("purge", "--tracker-url", url)
    assert bad_env.exit_code != 0 and "SIGNPOST_RETENTION_DAYS must be a whole number" in bad_env.stderr
    blank = cli("delete", "  ", "--tracker-url", url, "--yes")
    assert blank.exit_code != 0 and "conversation id" in blank.stderr
    unreachable = cli("delete", "web-1", "--tracker-url", "postgresql://nobody:secret@127.0.0.1:1/none", "--yes")
    assert unreachable.exit_code == 1 and "Could not delete" in unreachable.stderr and "secret" not in unreachable.stderr


async def test_delete_everywhere_is_what_the_action_calls_and_never_claims_success_falsely(
        tracker_db, handoff_db, monkeypatch) -> None:
    monkeypatch.setenv("SIGNPOST_TRACKER_URL", tracker_db)
    await converse(tracker_db, "web-action", NOW)
    queue_handoff("web-action")
    report = privacy.delete_everywhere("web-action")
    assert report.complete and privacy.stored_event_count(tracker_db, "web-action") == 0 and handoff_rows("web-action") == 0

    def broken(sender_id: str, by: str) -> int:
        raise RuntimeError("database down")

    privacy.register_deleter("broken place", broken)
    try:
        with pytest.raises(privacy.DeletionIncomplete, match="broken place: FAILED"):
            privacy.delete_everywhere("web-action")
    finally:
        privacy.unregister_deleter("broken place")


def test_a_deletion_is_still_seen_when_the_tombstones_table_goes_and_comes_back(tmp_path):
    """forgotten_at stops looking for the table once seen; a table dropped since must not break a turn."""
    from sqlalchemy import create_engine as make

    engine = make(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    assert privacy.forgotten_at(engine, "web-a") is None  # no table yet
    privacy.delete_tracker_rows(engine, "web-a", now=1000.0)
    assert privacy.forgotten_at(engine, "web-a") == 1000.0
    assert privacy.forgotten_at(engine, "web-b") is None
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE " + privacy.tombstones.name)
    assert privacy.forgotten_at(engine, "web-a") is None
    privacy.delete_tracker_rows(engine, "web-a", now=2000.0)
    assert privacy.forgotten_at(engine, "web-a") == 2000.0
    engine.dispose()
