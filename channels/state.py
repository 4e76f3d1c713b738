"""What the SMS, WhatsApp, Telegram and web chat channels remember between turns, in SQL.

Several Rasa instances may run behind a load balancer, and any of them must be able to serve the
next message, so nothing here lives in process memory:

* ``channel_sms_state``: per conversation, the numbered options last sent ("Reply 1 for ...") and
  the text kept back for "MORE";
* ``channel_telegram_payloads``: button payloads too long for Telegram's 64-byte callback data,
  under a short id derived from the payload;
* ``channel_seen_messages``: Twilio ``MessageSid`` and Telegram ``update_id`` values already
  handled, so a replayed or retried webhook gets no second turn;
* ``channel_webchat_outbox``: messages sent later to a web chat (a staff reply), until the page
  collects them;
* ``channel_opt_outs``: SMS and WhatsApp conversations that said STOP and have not written since,
  so nothing sent later reaches them (never expired: an opt-out must not lapse by itself).

SQLAlchemy Core on the same database as the directory (``DATABASE_URL``, else SQLite in
``.signpost/``); the tables are created on first use, and :data:`metadata` is what migrations
include. Rows expire (24 hours by default) and each table is capped, oldest first, so a busy or
abusive day cannot grow them without bound. Nothing here holds a phone number or chat id: rows are
keyed by the encrypted conversation id (``channels/identity.py``).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import (Column, Float, Integer, MetaData, String, Table, Text, create_engine, delete, event, func,
                        insert, select, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.pool import QueuePool

from signposting import directory
from signposting.telegram_render import PayloadStore

logger = logging.getLogger(__name__)

DAY = 24 * 60 * 60
DEFAULT_TTL = DAY
DEFAULT_CAPACITY = 100_000  # rows per table
OUTBOX_PER_SENDER = 50      # messages waiting for one web chat
PRUNE_EVERY = 200           # writes between two clean-ups

metadata = MetaData()
sms_state_table = Table(
    "channel_sms_state", metadata,
    Column("sender_id", String(128), primary_key=True),
    Column("options", Text, nullable=False),     # JSON list of {"title", "payload"}
    Column("more", Text),                        # the rest of a long answer, for "MORE"
    Column("updated_at", Float, nullable=False, index=True),  # Unix seconds
)
telegram_payloads_table = Table(
    "channel_telegram_payloads", metadata,
    Column("id", String(32), primary_key=True),  # "p:" + hex digest of the payload
    Column("payload", Text, nullable=False),
    Column("updated_at", Float, nullable=False, index=True),
)
seen_messages_table = Table(
    "channel_seen_messages", metadata,
    Column("channel", String(40), primary_key=True),      # "twilio", "telegram:<bot id>"
    Column("message_id", String(128), primary_key=True),  # MessageSid, update_id
    Column("seen_at", Float, nullable=False, index=True),
)
webchat_outbox_table = Table(
    "channel_webchat_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(128), nullable=False, index=True),
    Column("message", Text, nullable=False),     # JSON {"text", "buttons"}
    Column("created_at", Float, nullable=False, index=True),
)
opt_outs_table = Table(
    "channel_opt_outs", metadata,
    Column("sender_id", String(128), primary_key=True),  # said STOP and has not written since
    Column("opted_out_at", Float, nullable=False),
)
_TIMED = ((sms_state_table, "updated_at"), (telegram_payloads_table, "updated_at"),
          (seen_messages_table, "seen_at"), (webchat_outbox_table, "created_at"))


@dataclass
class SmsState:
    """The numbered options last sent to a conversation and the text kept back for MORE."""

    options: list[dict[str, str]] = field(default_factory=list)
    more: str | None = None


class ChannelState:
    """The channels' shared memory in one SQL database. Safe to use from several processes."""

    def __init__(self, url: str | None = None, engine: Engine | None = None, ttl: float = DEFAULT_TTL,
                 capacity: int = DEFAULT_CAPACITY, prune_every: int = PRUNE_EVERY,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine or make_engine(url or directory.default_url())
        self.ttl, self.capacity, self.prune_every, self.clock = ttl, capacity, max(1, prune_every), clock
        self._writes = 0
        self._lock = threading.Lock()
        self._create()

    def _create(self) -> None:
        """Create the tables if missing; another instance creating them at the same moment is fine."""
        try:
            metadata.create_all(self.engine)
        except (IntegrityError, OperationalError, ProgrammingError):
            metadata.create_all(self.engine)  # lost a race with another instance: now they exist

    # ------------------------------------------------------------------ SMS / WhatsApp
    def sms_get(self, sender_id: str) -> SmsState:
        """The options and MORE text for a conversation (empty when none, or older than the expiry)."""
        t = sms_state_table
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.options, t.c.more).where(
                t.c.sender_id == sender_id, t.c.updated_at >= self._cutoff())).first()
        if row is None:
            return SmsState()
        try:
            options = [o for o in json.loads(row.options) if isinstance(o, dict)]
        except (TypeError, ValueError):
            options = []
        return SmsState(options, row.more)

    def sms_put(self, sender_id: str, state: SmsState) -> None:
        with self.engine.begin() as conn:
            _upsert(conn, sms_state_table, {"sender_id": sender_id},
                    {"options": json.dumps(state.options, ensure_ascii=False), "more": state.more,
                     "updated_at": self.clock()})
        self._wrote()

    def sms_forget(self, sender_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sms_state_table).where(sms_state_table.c.sender_id == sender_id))

    # ------------------------------------------------------------------ Telegram button payloads
    def payload_put(self, key: str, payload: str) -> None:
        with self.engine.begin() as conn:
            _upsert(conn, telegram_payloads_table, {"id": key}, {"payload": payload, "updated_at": self.clock()})
        self._wrote()

    def payload_get(self, key: str) -> str | None:
        t = telegram_payloads_table
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.payload).where(t.c.id == key, t.c.updated_at >= self._cutoff())).scalar()

    # ------------------------------------------------------------------ replays
    def first_time(self, channel: str, message_id: str) -> bool:
        """True the first time a channel's message id is seen; False for a replay or a retry."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(seen_messages_table).values(
                    channel=channel[:40], message_id=str(message_id)[:128], seen_at=self.clock()))
        except IntegrityError:
            return False
        self._wrote()
        return True

    # ------------------------------------------------------------------ STOP
    def opt_out(self, sender_id: str) -> None:
        with self.engine.begin() as conn:
            _upsert(conn, opt_outs_table, {"sender_id": sender_id}, {"opted_out_at": self.clock()})

    def opt_in(self, sender_id: str) -> bool:
        """Forget an opt-out (the person wrote again); True if there was one."""
        with self.engine.begin() as conn:
            return conn.execute(delete(opt_outs_table).where(opt_outs_table.c.sender_id == sender_id)).rowcount > 0

    def opted_out(self, sender_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(opt_outs_table.c.sender_id).where(
                opt_outs_table.c.sender_id == sender_id)).first() is not None

    # ------------------------------------------------------------------ web chat outbox
    def outbox_add(self, sender_id: str, message: dict[str, Any]) -> None:
        """Queue a message for a web chat; only the newest OUTBOX_PER_SENDER are kept."""
        t = webchat_outbox_table
        with self.engine.begin() as conn:
            conn.execute(insert(t).values(sender_id=sender_id, message=json.dumps(message, ensure_ascii=False),
                                          created_at=self.clock()))
            oldest_kept = conn.execute(select(t.c.id).where(t.c.sender_id == sender_id).order_by(t.c.id.desc())
                                       .offset(OUTBOX_PER_SENDER - 1).limit(1)).scalar()
            if oldest_kept is not None:
                conn.execute(delete(t).where(t.c.sender_id == sender_id, t.c.id < oldest_kept))
        self._wrote()

    def outbox_take(self, sender_id: str) -> list[dict[str, Any]]:
        """The messages waiting for a web chat, oldest first, removed as they are returned.

        Each row is deleted on its own and only returned if this call deleted it, so two instances
        polling at once never deliver the same message twice.
        """
        t = webchat_outbox_table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.id, t.c.message).where(
                t.c.sender_id == sender_id, t.c.created_at >= self._cutoff()).order_by(t.c.id)).all()
        taken = []
        for row in rows:
            with self.engine.begin() as conn:
                if conn.execute(delete(t).where(t.c.id == row.id)).rowcount != 1:
                    continue
            try:
                taken.append(json.loads(row.message))
            except ValueError:
                logger.warning("Dropped an unreadable web chat outbox message for %s", sender_id)
        return taken

    # ------------------------------------------------------------------ privacy and upkeep
    def forget(self, sender_id: str) -> int:
        """Remove what is kept for one conversation ("delete my data"); returns rows removed.

        An opt-out is kept: it is what stops later messages reaching someone who said STOP.
        """
        removed = 0
        with self.engine.begin() as conn:
            removed += conn.execute(delete(sms_state_table).where(sms_state_table.c.sender_id == sender_id)).rowcount
            removed += conn.execute(delete(webchat_outbox_table).where(
                webchat_outbox_table.c.sender_id == sender_id)).rowcount
        return removed

    def prune(self) -> int:
        """Delete expired rows, then the oldest rows of any table over capacity; returns rows removed."""
        removed, cutoff = 0, self._cutoff()
        with self.engine.begin() as conn:
            for table, column in _TIMED:
                when = table.c[column]
                removed += conn.execute(delete(table).where(when < cutoff)).rowcount
                newest_dropped = conn.execute(select(when).order_by(when.desc())
                                              .offset(self.capacity).limit(1)).scalar()
                if newest_dropped is not None:
                    removed += conn.execute(delete(table).where(when <= newest_dropped)).rowcount
        return removed

    def count(self, table: Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)

    def _cutoff(self) -> float:
        return self.clock() - self.ttl

    def _wrote(self) -> None:
        with self._lock:
            self._writes += 1
            due = self._writes % self.prune_every == 0
        if due:
            try:
                self.prune()
            except Exception as exc:  # upkeep must never cost someone their answer
                logger.warning("Pruning channel state failed: %s", type(exc).__name__)


def make_engine(url: str) -> Engine:
    """The engine for a database URL. SQLite gets a pool of open connections and WAL with
    ``synchronous=NORMAL``: a turn's four small statements then cost milliseconds, not tens of
    them (a fresh connection and a full fsync each). Losing the last second of this state in a
    power cut only costs a "Reply MORE" or a button; nothing here is a record that must survive."""
    if not url.startswith("sqlite"):
        return directory.make_engine(url)
    engine = create_engine(url, future=True, poolclass=QueuePool, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine


def _upsert(conn: Connection, table: Table, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert or replace one row, atomically on SQLite and PostgreSQL."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        statement = dialect_insert(table).values(**keys, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=values))
        return
    match = [table.c[name] == value for name, value in keys.items()]
    if conn.execute(update(table).where(*match).values(**values)).rowcount == 0:
        conn.execute(insert(table).values(**keys, **values))


class SqlPayloadStore(PayloadStore):
    """Telegram's short-id map for long button payloads, shared by every instance through SQL."""

    def __init__(self, state: ChannelState) -> None:
        super().__init__()
        self.state = state

    def save(self, key: str, payload: str) -> None:
        self.state.payload_put(key, payload)

    def load(self, key: str) -> str | None:
        return self.state.payload_get(key)

    def __len__(self) -> int:
        return self.state.count(telegram_payloads_table)


_defaults: dict[str, ChannelState] = {}
_defaults_lock = threading.Lock()


def default() -> ChannelState:
    """The shared state for the current ``DATABASE_URL`` (one per URL per process)."""
    url = directory.default_url()
    state = _defaults.get(url)
    if state is None:
        with _defaults_lock:
            state = _defaults.get(url)
            if state is None:
                state = _defaults[url] = ChannelState(url=url)
    return state


def forget(sender_id: str) -> int:
    """Remove what the channels keep for one conversation, in the default database (for "delete my data")."""
    return default().forget(sender_id)
