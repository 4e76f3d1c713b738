"""SignpostTrackerStore on real databases (SQLite file and PostgreSQL schema, one per test).

What a person would notice: what they typed is stored without their phone number, email or
address; Signpost's helpline numbers in its answers are still readable; "delete my data" leaves
nothing behind, and nothing comes back on the next message, even when the deletion was made by
staff while a turn was running.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import log_redaction
from bot.tracker_store import SYNCHRONOUS_COMMIT_ENV, SignpostTrackerStore, redact_event, user_identifiers
from signposting import privacy

PHONE, EMAIL, NHS = "07700 900123", "jo.bloggs@example.com", "943 476 5919"
MACMILLAN = "0808 808 00 00"
DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [inform, delete_my_data]
entities: [postcode]
slots:
  postcode: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  what_matters: {type: text, influence_conversation: false, mappings: [{type: custom}]}
actions: [action_delete_my_data, action_handle_inform]
""")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_config(request, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Settings for the store, as an endpoints file would give them."""
    if request.param == "sqlite":
        yield {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
        return
    schema = f"test_ts_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine("postgresql://root@127.0.0.1/test")
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL on 127.0.0.1 is part of this project's machines: {exc}")
    try:
        yield {"url": f"postgresql://root@127.0.0.1/test?options=-csearch_path%3D{schema}"}
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(autouse=True)
def restore_log_records():
    """Creating the store redacts every log record in this process; put logging back afterwards."""
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


@pytest.fixture
def no_other_deleters(monkeypatch):
    """Only the tracker store and what a test registers: keep the developer's own handoff database out."""
    monkeypatch.setattr(privacy, "_handoff_deleter", lambda: None)
    monkeypatch.setattr(privacy, "_registry", {})


@pytest.fixture
def store(store_config, no_other_deleters) -> Iterator[SignpostTrackerStore]:
    created = TrackerStore.create(EndpointConfig(type="bot.tracker_store.SignpostTrackerStore", **store_config),
                                  domain=DOMAIN)
    yield created
    created.engine.dispose()


def rows(store: SQLTrackerStore, sender_id: str | None = None) -> list[dict[str, Any]]:
    """What is really in the table, read with plain SQL."""
    query = "SELECT sender_id, type_name, data FROM events" + (" WHERE sender_id = :s" if sender_id else "") + " ORDER BY id"
    with store.engine.connect() as conn:
        return [{"sender_id": r[0], "type": r[1], "data": json.loads(r[2])}
                for r in conn.execute(sa.text(query), {"s": sender_id})]


def first_turn(sender_id: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender_id, DOMAIN.slots)
    tracker.update_with_events([
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        UserUttered(
            f"call me on {PHONE} or {EMAIL}, I live at 12 Acacia Avenue, G12 8QQ, NHS no {NHS}",
            intent={"name": "inform", "confidence": 0.9},
            entities=[{"entity": "postcode", "value": "G12 8QQ", "start": 70, "end": 77}],
            metadata={"from": PHONE, "page": "web"},
        ),
        SlotSet("postcode", "G12 8QQ"),
        SlotSet("what_matters", f"money, and call me on {PHONE}"),
        ActionExecuted("action_handle_inform"),
        BotUttered(f"Thanks. I'll note {PHONE}. You can call Macmillan on {MACMILLAN}.",
                   data={"buttons": [{"title": f"Call {PHONE}", "payload": "/call"}]}),
        ActionExecuted("action_listen"),
    ], DOMAIN)
    return tracker


# ------------------------------------------------------------------------------ set-up


async def test_the_store_loads_by_name_with_the_sql_settings(store) -> None:
    """A typo or an import error in bot/tracker_store.py would make Rasa fall back to memory silently."""
    assert type(store) is SignpostTrackerStore and isinstance(store, SQLTrackerStore)
    assert log_redaction.installed(), "creating the store makes the server's logs redacted"


# ------------------------------------------------------------------------------ redaction


async def test_stored_text_has_no_identifiers_but_keeps_what_is_needed(store) -> None:
    tracker = first_turn("web-redact")
    await store.save(tracker)
    stored = json.dumps([r["data"] for r in rows(store, "web-redact")])
    for secret in (PHONE, EMAIL, "12 Acacia Avenue", "8QQ", NHS):
        assert secret not in stored, secret
    assert "[phone]" in stored and "[email]" in stored and "[address]" in stored and "[NHS number]" in stored
    assert MACMILLAN in stored, "Signpost's own helpline number stays readable"
    user = next(r["data"] for r in rows(store, "web-redact") if r["type"] == "user")
    assert user["text"] == "call me on [phone] or [email], I live at [address], G12, NHS no [NHS number]"
    assert user["parse_data"]["entities"][0]["value"] == "G12"
    assert user["metadata"] == {"from": "[phone]", "page": "web"}
    bot = next(r["data"] for r in rows(store, "web-redact") if r["type"] == "bot")
    assert bot["text"] == f"Thanks. I'll note [phone]. You can call Macmillan on {MACMILLAN}."
    assert bot["data"]["buttons"][0]["title"] == "Call [phone]"
    # the turn's own tracker is untouched: an action in this turn still had the number
    assert PHONE in tracker.latest_message.text and tracker.get_slot("postcode") == "G12 8QQ"


async def test_the_next_turn_sees_the_redacted_values_and_rows_are_not_duplicated(store) -> None:
    await store.save(first_turn("web-turns"))
    again = await store.retrieve("web-turns")
    assert again is not None
    assert again.get_slot("postcode") == "G12", "the outward code is what later turns need"
    assert again.get_slot("what_matters") == "money, and call me on [phone]"
    before = len(rows(store, "web-turns"))
    again.update_with_events([UserUttered(f"my email is {EMAIL}", intent={"name": "inform", "confidence": 1.0}),
                              ActionExecuted("action_listen")], DOMAIN)
    await store.save(again)
    stored = rows(store, "web-turns")
    assert len(stored) == before + 2, "only the new events are written, once"
    assert [r["data"]["text"][:11] for r in stored if r["type"] == "user"] == ["call me on ", "my email is"]
    assert stored[-2]["data"]["text"] == "my email is [email]"


# ------------------------------------------------------------------------------ delete my data


async def test_delete_my_data_removes_everything_and_nothing_comes_back(store) -> None:
    removed_elsewhere: list[tuple[str, str]] = []
    privacy.register_deleter("test place", lambda sender, by: removed_elsewhere.append((sender, by)) or 3)
    await store.save(first_turn("web-delete"))
    await store.save(first_turn("web-other"))
    tracker = await store.retrieve("web-delete")
    assert tracker is not None
    tracker.update_with_events([
        UserUttered("delete my data", intent={"name": "delete_my_data", "confidence": 1.0}),
        ActionExecuted("action_delete_my_data"),
        BotUttered("Done: I've deleted what you told me."),
        ActionExecuted("action_listen"),
    ], DOMAIN)
    await store.save(tracker)
    assert rows(store, "web-delete") == []
    assert removed_elsewhere == [("web-delete", "person")], "the handoff queue and channel state are asked too"
    assert len(rows(store, "web-other")) == len(first_turn("web-other").events), "other people's are untouched"
    assert await store.retrieve("web-delete") is None
    # the next message starts afresh, and none of the old conversation is written back
    fresh = await store.get_or_create_tracker("web-delete")
    fresh.update_with_events([UserUttered("hello", intent={"name": "inform", "confidence": 1.0}),
                              ActionExecuted("action_listen")], DOMAIN)
    await store.save(fresh)
    assert [r["data"]["text"] for r in rows(store, "web-delete") if r["type"] in ("user", "bot")] == ["hello"]


async def test_a_deletion_by_staff_during_a_turn_is_not_undone(store) -> None:
    await store.save(first_turn("sms-staff"))
    running = await store.retrieve("sms-staff")  # a turn has started...
    assert running is not None
    report = privacy.delete_conversation("sms-staff", store.engine, requested_by="staff")  # ...staff delete it
    assert report.removed["conversation"] == len(first_turn("sms-staff").events) and report.complete
    running.update_with_events([UserUttered("7", intent={"name": "inform", "confidence": 1.0}),
                                ActionExecuted("action_listen")], DOMAIN)
    await store.save(running)  # ...and the turn ends
    assert rows(store, "sms-staff") == [], "Rasa would have written the whole conversation back"
    later = await store.get_or_create_tracker("sms-staff")
    later.update_with_events([UserUttered("hi again", intent={"name": "inform", "confidence": 1.0})], DOMAIN)
    await store.save(later)
    assert [r["data"].get("text") for r in rows(store, "sms-staff") if r["type"] == "user"] == ["hi again"]


# ------------------------------------------------------------------------------ event broker


class CollectingBroker(EventBroker):
    """Rasa's event-broker interface, keeping what is published (the production broker is RabbitMQ)."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)

    def is_ready(self) -> bool:
        return True


class TurnCollectingBroker(CollectingBroker):
    """Like bot.event_broker.TurnPikaEventBroker: a turn's events in one message."""

    def __init__(self) -> None:
        super().__init__()
        self.turns: list[list[dict[str, Any]]] = []

    def publish_turn(self, events: list[dict[str, Any]]) -> None:
        self.turns.append(events)
        self.published.extend(events)


BROKERS = pytest.mark.parametrize("broker_class", [CollectingBroker, TurnCollectingBroker], ids=["event", "turn"])


@BROKERS
async def test_events_sent_to_the_broker_are_redacted_too(store_config, no_other_deleters, broker_class) -> None:
    broker = broker_class()
    store = TrackerStore.create(EndpointConfig(type="bot.tracker_store.SignpostTrackerStore", **store_config),
                                domain=DOMAIN, event_broker=broker)
    try:
        await store.save(first_turn("web-broker"))
    finally:
        store.engine.dispose()
    sent = json.dumps(broker.published)
    assert broker.published and all(e["sender_id"] == "web-broker" for e in broker.published)
    assert PHONE not in sent and EMAIL not in sent and "[phone]" in sent and MACMILLAN in sent


@BROKERS
async def test_each_event_goes_to_the_broker_once_turn_after_turn(store_config, no_other_deleters,
                                                                  broker_class) -> None:
    """What the outcomes consumer counts: every event of every turn, none twice, none missed."""
    broker = broker_class()
    store = TrackerStore.create(EndpointConfig(type="bot.tracker_store.SignpostTrackerStore", **store_config),
                                domain=DOMAIN, event_broker=broker)
    try:
        tracker = first_turn("web-twice")
        await store.save(tracker)
        first = len(broker.published)
        assert first == len(tracker.events)
        tracker = await store.retrieve("web-twice")
        tracker.update_with_events([UserUttered("thanks", intent={"name": "thank", "confidence": 0.9}),
                                    ActionExecuted("action_reply"), BotUttered("You're welcome."),
                                    ActionExecuted("action_listen")], DOMAIN)
        await store.save(tracker)
        tracker.update_with_events([UserUttered("bye", intent={"name": "goodbye", "confidence": 0.9})], DOMAIN)
        await store.save(tracker)  # the same object saved again: counted again, nothing written twice
        assert len(rows(store, "web-twice")) == first + 5
        assert [e.type_name for e in (await store.retrieve("web-twice")).events][-6:] == [
            "action", "user", "action", "bot", "action", "user"]
    finally:
        store.engine.dispose()
    second = broker.published[first:first + 4]
    assert [e["event"] for e in second] == ["user", "action", "bot", "action"]
    assert second[0]["text"] == "thanks" and second[2]["text"] == "You're welcome."
    if isinstance(broker, TurnCollectingBroker):  # one message a save, in order
        assert [len(turn) for turn in broker.turns] == [first, 4, 1]


# ------------------------------------------------------------------------------ pieces


def test_redact_event_leaves_other_events_alone() -> None:
    action = ActionExecuted("action_listen").as_dict()
    assert redact_event(action) == action
    slot = SlotSet("b_age", 52).as_dict()
    assert redact_event(slot) == slot, "numbers the benefits check needs are kept"


def test_user_identifiers_are_what_the_person_typed() -> None:
    events = [e.as_dict() for e in first_turn("x").events]
    found = user_identifiers(events)
    assert found[PHONE] == "[phone]" and found[EMAIL] == "[email]" and found[" 8QQ"] == ""
    assert MACMILLAN not in found, "numbers only Signpost said are not the person's"


def test_sqlite_file_really_holds_no_phone_number(tmp_path: Path, no_other_deleters) -> None:
    """Belt and braces: read the SQLite file's bytes, not just the rows."""
    import asyncio

    store = SignpostTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    asyncio.run(store.save(first_turn("web-bytes")))
    store.engine.dispose()
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute("VACUUM")
    conn.close()
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("t.db*"))  # the write-ahead log too, if any
    assert PHONE.encode() not in raw and EMAIL.encode() not in raw and MACMILLAN.encode() in raw


def test_the_embedded_store_commits_to_a_write_ahead_log_and_keeps_every_turn(tmp_path: Path, no_other_deleters) -> None:
    """A turn's commit need not wait for the disk twice; a second store (a restarted server) reads it all."""
    import asyncio

    store = SignpostTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    asyncio.run(store.save(first_turn("web-wal")))
    again = SignpostTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))  # store not closed: as if killed
    tracker = asyncio.run(again.retrieve("web-wal"))
    saved = [e.type_name for e in first_turn("web-wal").events]
    assert [e.type_name for e in tracker.events] == saved[1:]  # from the session start on, as Rasa reads it
    with sqlite3.connect(tmp_path / "t.db") as other:  # another process (the staff tools) sees the same file
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_logging_made_by_the_store_module_is_redacted(caplog) -> None:
    log_redaction.install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("rasa.core.processor").info("Received user message 'call me on %s'", PHONE)
    assert PHONE not in caplog.text and "[phone]" in caplog.text


# ------------------------------------------------------------------------------ what the store sets up


@pytest.mark.parametrize("setting", [None, "on"])
def test_the_tombstones_table_is_made_with_the_store_and_commits_wait_for_the_disk_only_if_asked(
        store_config, monkeypatch, setting) -> None:
    if setting is None:
        monkeypatch.delenv(SYNCHRONOUS_COMMIT_ENV, raising=False)
    else:
        monkeypatch.setenv(SYNCHRONOUS_COMMIT_ENV, setting)
    store = TrackerStore.create(EndpointConfig(type="bot.tracker_store.SignpostTrackerStore", **store_config),
                                domain=DOMAIN)
    try:
        assert sa.inspect(store.engine).has_table(privacy.tombstones.name)  # no catalogue query on each save
        if store.engine.dialect.name == "postgresql":
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == ("on" if setting else "off")
    finally:
        store.engine.dispose()


async def test_a_new_conversation_is_stored_once_from_its_first_event(store_config, no_other_deleters) -> None:
    """Rasa makes the tracker of a new conversation (get_or_create_tracker); each of its events is written once."""
    store = TrackerStore.create(EndpointConfig(type="bot.tracker_store.SignpostTrackerStore", **store_config),
                                domain=DOMAIN)
    try:
        tracker = await store.get_or_create_tracker("web-new")
        assert [r["type"] for r in rows(store, "web-new")] == ["action"]  # Rasa's first action_listen
        tracker.update_with_events([UserUttered("hello", intent={"name": "greet", "confidence": 1.0}),
                                    ActionExecuted("action_greet"), BotUttered("Hello"),
                                    ActionExecuted("action_listen")], DOMAIN)
        await store.save(tracker)
        again = await store.get_or_create_tracker("web-new")  # found now: not made again
        assert [r["type"] for r in rows(store, "web-new")] == ["action", "user", "action", "bot", "action"]
        assert [e.type_name for e in again.events] == ["action", "user", "action", "bot", "action"]
    finally:
        store.engine.dispose()


async def test_a_turn_is_still_written_when_the_tombstones_table_went_meanwhile(store_config, no_other_deleters):
    store = TrackerStore.create(EndpointConfig(type="bot.tracker_store.SignpostTrackerStore", **store_config),
                                domain=DOMAIN)
    try:
        tracker = await store.get_or_create_tracker("web-reset")
        with store.engine.begin() as conn:  # e.g. a test database reset while the server runs
            conn.exec_driver_sql(f"DROP TABLE {privacy.tombstones.name}")
        tracker.update_with_events([UserUttered("hello", intent={"name": "greet", "confidence": 1.0})], DOMAIN)
        await store.save(tracker)
        assert [r["type"] for r in rows(store, "web-reset")] == ["action", "user"]
    finally:
        store.engine.dispose()


@BROKERS
async def test_an_identifier_echoed_in_a_reply_is_redacted_in_the_stream_as_in_the_store(
        store_config, no_other_deleters, broker_class) -> None:
    """A reply echoing what the person typed (in the same turn: later turns only ever see "[phone]")."""
    broker = broker_class()
    store = TrackerStore.create(EndpointConfig(type="bot.tracker_store.SignpostTrackerStore", **store_config),
                                domain=DOMAIN, event_broker=broker)
    try:
        tracker = first_turn("web-echo")
        tracker.update_with_events([BotUttered(f"We will call {PHONE}. {MACMILLAN} is open now."),
                                    ActionExecuted("action_listen")], DOMAIN)
        await store.save(tracker)
        stored = [r["data"]["text"] for r in rows(store, "web-echo") if r["type"] == "bot"][-1]
    finally:
        store.engine.dispose()
    streamed = [e["text"] for e in broker.published if e["event"] == "bot"][-1]
    assert streamed == stored and PHONE not in stored and "[phone]" in stored and MACMILLAN in stored
