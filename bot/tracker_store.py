"""Signpost's tracker store: Rasa's SQL store that never writes identifiers and honours "delete my data".

Use it by name in an endpoints file, with the same settings as Rasa's ``SQL`` store::

    tracker_store:
      type: bot.tracker_store.SignpostTrackerStore
      dialect: sqlite            # or postgresql, with host/port/username/password
      db: .rasa/tracker.db       # or, instead of dialect/db: url: postgresql://...

What it changes, and why here:

1. **Redaction before writing.** Each new event is written with identifiers removed
   (signposting/redact.py): what the person typed (``text``, ``parse_data.text``, entity
   values), channel ``metadata``, and slot values (free text such as "what matters most"
   and full postcodes, which become their outward code). Signpost's own messages are
   written with only the identifiers *the person* typed in this conversation removed (an
   echo of their words), so helpline numbers and service addresses stay readable for staff.
   The tracker used during the turn is not touched: an action in this turn still sees a
   phone number someone gave for a callback. Events sent to an event broker are redacted
   the same way.
2. **"Delete my data".** When the events being saved include ``action_delete_my_data``
   (see :attr:`SignpostTrackerStore.delete_actions`), the store deletes every stored row for
   that conversation, and everything registered with signposting.privacy (the handoff queue,
   channel state), instead of writing the turn. Rasa writes only the events after those already
   stored, counted per session, so rows deleted from outside during a turn would all be written
   back; doing it in ``save`` means nothing comes back. The next message starts a new, empty
   conversation.
3. **Deleted from outside.** A tracker loaded before a deletion made elsewhere (the staff
   CLI) is not written back (signposting.privacy tombstones). The tombstones table is created
   with the store, so each save looks in it without first asking whether it exists.
4. **Commits that do not wait for the disk.** Rasa's store talks to the database synchronously,
   so while a commit waits for the disk (2-3 ms a turn on PostgreSQL here) the whole Rasa server
   waits with it, every other conversation's turn included. On PostgreSQL the store's
   connections use ``synchronous_commit = off``: a turn that was answered survives any of
   Signpost's processes being killed or restarted, and PostgreSQL being restarted; only a crash of
   PostgreSQL's machine can lose the last moments (at most about 0.6 s), as PostgreSQL documents.
   This is the guarantee the embedded profile's SQLite store gives (see :func:`embedded_engine`).
   SIGNPOST_TRACKER_SYNCHRONOUS_COMMIT=on makes every commit wait for the disk again.

Creating the store also makes the Rasa server redact every log record (bot/log_redaction.py).
"""
from __future__ import annotations

import itertools
import json
import logging
import os
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import sessionmaker

from bot import log_redaction
from signposting import privacy
from signposting.redact import find, redact_data

logger = logging.getLogger(__name__)

DELETE_ACTIONS: FrozenSet[str] = frozenset({"action_delete_my_data"})
SYNCHRONOUS_COMMIT_ENV = "SIGNPOST_TRACKER_SYNCHRONOUS_COMMIT"  # "on": PostgreSQL commits wait for the disk
STORED_COUNT = "_signpost_stored_events"  # set by SignpostTrackerStore.retrieve on the tracker it returns


def _register_channel_state() -> None:
    """Let "delete my data" reach what the channels keep (channels/state.py), if that module exists."""
    try:
        from channels import state
    except ImportError:
        return
    forget = getattr(state, "forget", None)
    if callable(forget):
        privacy.register_deleter("channel state", lambda sender_id, requested_by: int(forget(sender_id) or 0))


def user_identifiers(events: Iterable[Dict[str, Any]]) -> Dict[str, str]:
    """Every identifier the person typed in these serialised events, as typed -> its placeholder."""
    found: Dict[str, str] = {}
    for data in events:
        if data.get("event") == "user":
            entities = (data.get("parse_data") or {}).get("entities") or []
            texts = [data.get("text") or ""] + [str(e.get("value")) for e in entities if isinstance(e, dict)]
        elif data.get("event") == "slot" and isinstance(data.get("value"), str):
            texts = [data["value"]]
        else:
            continue
        for text in texts:
            for item in find(text):
                if item.text.strip():
                    found[item.text] = item.replacement
    return found


def _remove(value: Any, secrets: Mapping[str, str]) -> Any:
    """``value`` (text, or dicts/lists of it) with each of the person's own identifiers replaced."""
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, secrets[secret])
        return value
    if isinstance(value, dict):
        return {k: _remove(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_remove(v, secrets) for v in value]
    return value


def redact_event(data: Dict[str, Any], secrets: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """A copy of one serialised Rasa event with identifiers removed (see the module docstring).

    ``secrets``: the person's own identifiers (from :func:`user_identifiers`), removed from
    Signpost's messages; Signpost's messages are otherwise kept as they were sent.
    """
    kind = data.get("event")
    out = dict(data)
    if kind == "user":  # text, parse_data (its text, entity values, metadata), metadata: all of it
        out = {k: (v if k in ("event", "timestamp", "input_channel", "message_id") else redact_data(v))
               for k, v in data.items()}
    elif kind == "slot":
        out["value"] = redact_data(data.get("value"))
    elif kind == "bot" and secrets:
        out["text"] = _remove(data.get("text"), secrets)
        out["data"] = _remove(data.get("data"), secrets)
    return out


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _asynchronous_commit(dbapi_connection: Any, _record: Any) -> None:
    """PostgreSQL: a commit returns before its log record is on disk (``synchronous_commit = off``)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO off")
    cursor.close()
    dbapi_connection.commit()  # psycopg2 opened a transaction for the SET: end it, the setting stays


def embedded_engine(url: Any) -> Any:
    """The SQLite engine of the embedded profile: connections kept, a write-ahead log.

    Why: SQLAlchemy 1.4 opens a new SQLite connection for every session (NullPool), about four a
    turn; a small pool keeps them (as SQLAlchemy 2.0 does). With SQLite's default rollback journal
    every commit waits for the disk twice (about 2 ms a turn here, bench/profile_turn.py); in WAL
    mode with ``synchronous=NORMAL`` a commit is an append to the log. A turn that was answered
    survives the Rasa server being killed or restarted (the restart tests), and only a power cut
    can lose the last moments, as SQLite documents. Readers in other processes (the staff tools,
    the plan download) no longer wait for a writer.
    """
    from sqlalchemy.pool import QueuePool

    engine = sa.create_engine(url, poolclass=QueuePool, pool_size=2, max_overflow=8,
                              connect_args={"check_same_thread": False})
    sa.event.listen(engine, "connect", _synchronous_normal)
    with engine.connect() as conn:  # the log mode is kept in the file: every process uses it from now on
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    return engine


class SignpostTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore, redacting what it writes and deleting on "delete my data"."""

    delete_actions: FrozenSet[str] = DELETE_ACTIONS

    def __init__(self, domain: Optional[Domain] = None, dialect: Text = "sqlite", host: Optional[Text] = None,
                 port: Optional[int] = None, db: Text = "rasa.db", username: Text = None, password: Text = None,
                 event_broker: Optional[EventBroker] = None, login_db: Optional[Text] = None,
                 query: Optional[Dict] = None, **kwargs: Dict[Text, Any]) -> None:
        log_redaction.install()
        super().__init__(domain, dialect, host, port, db, username, password, event_broker, login_db, query,
                         **kwargs)
        if self.engine.dialect.name == "sqlite" and (self.engine.url.database or ":memory:") != ":memory:":
            url = self.engine.url
            self.engine.dispose()
            self.engine = embedded_engine(url)
            self.sessionmaker = sessionmaker(bind=self.engine)
        elif self.engine.dialect.name == "postgresql" and os.environ.get(SYNCHRONOUS_COMMIT_ENV, "off") != "on":
            sa.event.listen(self.engine, "connect", _asynchronous_commit)
            self.engine.dispose()  # connections made before the listener (the table creation) are not reused
        try:
            privacy.ensure_tombstones(self.engine)
        except Exception as exc:  # noqa: BLE001 - Rasa's own store would still start; forgotten_at copes
            logger.warning("Could not create the tombstones table (%s); it is looked for on each turn", exc)
        self._making_new = False  # see create_tracker
        _register_channel_state()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """Rasa's retrieve, noting on the tracker how many of its events are stored already."""
        tracker = await super().retrieve(sender_id)
        if tracker is not None and getattr(tracker, "_max_event_history", 0) is None:  # it holds every stored event
            setattr(tracker, STORED_COUNT, len(tracker.events))
        return tracker

    async def create_tracker(self, sender_id: Text, append_action_listen: bool = True) -> DialogueStateTracker:
        """Rasa's create_tracker (a new conversation): the tracker it makes knows none of its events is stored."""
        self._making_new = True  # read by init_tracker, which Rasa's create_tracker calls before any await
        try:
            return await super().create_tracker(sender_id, append_action_listen)
        finally:
            self._making_new = False

    def init_tracker(self, sender_id: Text) -> DialogueStateTracker:
        tracker = super().init_tracker(sender_id)
        if self._making_new and getattr(tracker, "_max_event_history", 0) is None:
            self._making_new = False
            setattr(tracker, STORED_COUNT, 0)  # saves it without counting stored events (there are none)
        return tracker

    def _new_events(self, tracker: DialogueStateTracker) -> List[Event]:
        """The events not stored yet.

        Rasa counts the stored events of the current session with a query on every save (2-3 ms a
        turn). A tracker this store has just read says how many there were; the conversation's lock
        (in-process, or Redis in production) keeps anyone else from adding to it in between, so the
        count still holds. Any other tracker is counted the Rasa way.
        """
        known = getattr(tracker, STORED_COUNT, None)
        setattr(tracker, STORED_COUNT, None)  # once: a later save of this object counts again
        if known is not None and known <= len(tracker.events):
            return list(itertools.islice(tracker.events, known, len(tracker.events)))
        with self.session_scope() as session:
            return list(self._additional_events(session, tracker))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write this turn's events, redacted; or, after "delete my data", delete the conversation."""
        new_events = self._new_events(tracker)
        if any(isinstance(e, ActionExecuted) and e.action_name in self.delete_actions for e in new_events):
            report = privacy.delete_conversation(tracker.sender_id, self.engine, requested_by="person")
            logger.info("Delete my data: conversation removed (%s)", report.describe())
            return
        if not new_events:
            return
        secrets = user_identifiers(e.as_dict() for e in tracker.events if isinstance(e, (UserUttered, SlotSet)))
        redacted = [redact_event(event.as_dict(), secrets) for event in new_events]
        rows = [{"sender_id": tracker.sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                 "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                 "action_name": data.get("name"), "data": json.dumps(data)}
                for event, data in zip(new_events, redacted)]
        with self.session_scope() as session:
            forgotten = self._forgotten_at(session, tracker.sender_id)
            if forgotten is not None and tracker.events and (tracker.events[0].timestamp or 0) <= forgotten:
                logger.info("Not saving a turn of a conversation deleted while it was running")
                return
            if self.event_broker is not None:
                # Rasa's stream_events reads the whole conversation back from the database to find the new
                # events (about 4 ms a turn on PostgreSQL); they are already known here: the same slice
                self._publish(self.event_broker, [{"sender_id": tracker.sender_id, **data} for data in redacted])
            # one INSERT for the turn (Rasa's ORM writes, and on PostgreSQL sends, each event on its own)
            session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        logger.debug("Tracker %s stored (redacted)", tracker.sender_id)

    def _forgotten_at(self, session: Any, sender_id: Text) -> Optional[float]:
        """privacy.forgotten_at, asked on the session that will write the turn (one connection, not two)."""
        try:
            return privacy.forgotten_at(session.connection(), sender_id)
        except (OperationalError, ProgrammingError):  # the table went since it was seen (a test database reset)
            session.rollback()
            return privacy.forgotten_at(self.engine, sender_id)

    async def _stream_new_events(self, event_broker: EventBroker, new_events: List[Event], sender_id: Text) -> None:
        """Publish new events to the broker, redacted (Rasa's hook; `save` publishes what it stores)."""
        secrets = user_identifiers(e.as_dict() for e in new_events)
        self._publish(event_broker, [{"sender_id": sender_id, **redact_event(e.as_dict(), secrets)} for e in new_events])

    @staticmethod
    def _publish(event_broker: EventBroker, bodies: List[Dict[str, Any]]) -> None:
        """The turn as one message where the broker can (bot.event_broker), else one message per event."""
        publish_turn = getattr(event_broker, "publish_turn", None)
        if callable(publish_turn):
            publish_turn(bodies)
        else:
            for body in bodies:
                event_broker.publish(body)


__all__ = ["SignpostTrackerStore", "redact_event", "user_identifiers", "DELETE_ACTIONS"]
