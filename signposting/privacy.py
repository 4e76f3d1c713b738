"""Forget a conversation everywhere Signpost keeps it, and forget old conversations by themselves.

Where a conversation lives, and who removes it:

- **Rasa's tracker store** (SQL table ``events``: ``id, sender_id, type_name, timestamp,
  intent_name, action_name, data``, as written by Rasa 3.6's ``SQLTrackerStore``):
  :func:`delete_tracker_rows`, here.
- **The handoff queue** (requests, summaries, staff messages, consents):
  ``signposting.handoff.delete_conversation``, imported lazily (skipped with a log line if
  that module is absent).
- **Anything else** (channel state, outboxes...): modules that keep per-conversation data
  call :func:`register_deleter` when they are imported. ``signposting`` never imports
  ``channels``; the Rasa layer (``bot/tracker_store.py``) registers the channels' deleter.

"Delete my data" inside a conversation is carried out by ``bot/tracker_store.SignpostTrackerStore``
when it saves the turn in which ``action_delete_my_data`` ran: it calls
:func:`delete_conversation` *instead of* writing the turn. It has to be the store: Rasa writes
only the events after the ones already stored (by count), so rows deleted from outside during
a turn would all be written back at the end of it.

Staff use the CLI (``signposting privacy delete <sender_id>``), which runs in another process.
To make sure a turn that was already running cannot write the conversation back, a deletion
leaves a *tombstone* (a SHA-256 of the conversation id and the time, in the table
``signpost_forgotten``); the store refuses to save a tracker that was loaded before its
tombstone. Tombstones are removed by the retention job after a day.

Retention: :func:`purge` deletes, everywhere, every conversation whose last event is older
than ``SIGNPOST_RETENTION_DAYS`` days (default 90: long enough for someone to come back to a
check-in or a benefits guide over a few weeks of treatment, short enough that the store is not
an archive), and closed handoff requests closed longer ago than that. Run it daily
(``signposting privacy purge``, e.g. from cron).

No Rasa imports: SQLAlchemy Core only, so the CLI and tests need no model.
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, delete, func, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
RETENTION_ENV = "SIGNPOST_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
TOMBSTONE_SECONDS = 24 * 3600   # a running turn lasts seconds; a day is plenty
TRACKER_TABLE = "events"        # Rasa 3.6 SQLTrackerStore.SQLEvent.__tablename__

# (sender_id, requested_by) -> rows removed. requested_by: "person", "staff" or "retention".
Deleter = Callable[[str, str], int]

_metadata = MetaData()
_events = Table(  # only the columns we read; Rasa creates and owns the table
    TRACKER_TABLE, _metadata,
    Column("sender_id", String(255)),
    Column("timestamp", Float),
    extend_existing=True,
)
tombstones = Table(
    "signpost_forgotten", _metadata,
    Column("sender_key", String(64), primary_key=True),   # sha256 of the conversation id, never the id
    Column("forgotten_at", Float, nullable=False),         # unix time, like Rasa's event timestamps
)

_registry: dict[str, Deleter] = {}
_registry_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


# ------------------------------------------------------------------------------ reports


@dataclass(frozen=True)
class DeletionReport:
    """What was removed for one conversation: rows per place, and places that were skipped or failed."""

    sender_id: str
    removed: Mapping[str, int]
    skipped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    @property
    def complete(self) -> bool:
        """True when every place that exists was cleared."""
        return not self.failed

    def describe(self) -> str:
        parts = [f"{where}: {n}" for where, n in self.removed.items()]
        parts += [f"{where}: skipped" for where in self.skipped] + [f"{where}: FAILED" for where in self.failed]
        return ", ".join(parts)


@dataclass(frozen=True)
class PurgeReport:
    """What the retention job removed."""

    older_than_days: int
    conversations: int
    removed: Mapping[str, int] = field(default_factory=dict)
    failed: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.removed.values())


# ------------------------------------------------------------------------------ settings


def retention_days(env: Mapping[str, str] = os.environ) -> int:
    """``SIGNPOST_RETENTION_DAYS`` (whole days, at least 1), else 90. A bad value is an error, not a guess."""
    raw = env.get(RETENTION_ENV, "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV} must be a whole number of days, got {raw!r}") from None
    if days < 1:
        raise ValueError(f"{RETENTION_ENV} must be at least 1 day, got {days}")
    return days


def tracker_url(env: Mapping[str, str] = os.environ) -> str:
    """Where Rasa keeps conversations: ``SIGNPOST_TRACKER_URL`` (a SQLAlchemy URL, production), else the
    SQLite file ``SIGNPOST_TRACKER_DB`` (default ``.rasa/tracker.db``, as scripts/run.py uses)."""
    url = env.get("SIGNPOST_TRACKER_URL", "").strip()
    if url:
        return url
    path = env.get("SIGNPOST_TRACKER_DB", "").strip() or str(ROOT / ".rasa" / "tracker.db")
    return f"sqlite:///{path}"


def tracker_engine(url: Optional[str] = None) -> Engine:
    """One engine per URL per process."""
    url = url or tracker_url()
    with _engines_lock:
        if url not in _engines:
            if url.startswith("sqlite:///"):  # a fresh checkout has no .rasa/ yet: the tombstone still needs a home
                Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
            _engines[url] = create_engine(url, future=True, pool_pre_ping=True)
        return _engines[url]


def _engine(tracker: Union[Engine, str, None]) -> Engine:
    return tracker if isinstance(tracker, Engine) else tracker_engine(tracker)


def sender_key(sender_id: str) -> str:
    """What a tombstone stores instead of the conversation id."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------ registry


def register_deleter(name: str, deleter: Deleter) -> None:
    """Add a place that keeps per-conversation data. Registering the same name again replaces it."""
    if not name or not callable(deleter):
        raise ValueError("a deleter needs a name and a function (sender_id, requested_by) -> rows removed")
    with _registry_lock:
        _registry[name] = deleter


def unregister_deleter(name: str) -> None:
    with _registry_lock:
        _registry.pop(name, None)


def registered_deleters() -> dict[str, Deleter]:
    """The registered deleters plus the handoff queue's (when signposting.handoff exists).

    Importing signposting.consent registers consent records, kept plans and follow-ups, so that a
    deletion from any process (the CLI, the staff console) reaches them too."""
    try:
        importlib.import_module("signposting.consent")
    except ImportError:  # pragma: no cover - a trimmed install without those modules
        pass
    with _registry_lock:
        found = dict(_registry)
    handoff = _handoff_deleter()
    if handoff is not None:
        found.setdefault("handoff queue", handoff)
    return found


def _handoff_deleter() -> Optional[Deleter]:
    try:
        module = importlib.import_module("signposting.handoff")
        delete_conversation = module.delete_conversation
    except (ImportError, AttributeError) as exc:
        logger.info("Handoff queue not available (%s): nothing to delete there", exc)
        return None

    def deleter(sender_id: str, requested_by: str) -> int:
        return int(delete_conversation(sender_id, requested_by=requested_by) or 0)

    return deleter


# ------------------------------------------------------------------------------ the tracker store


def _has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def delete_tracker_rows(tracker: Union[Engine, str, None], sender_id: str, tombstone: bool = True,
                        now: Optional[float] = None) -> int:
    """Delete every stored event of ``sender_id``; leave a tombstone (see the module docstring)."""
    engine = _engine(tracker)
    with engine.begin() as conn:
        removed = 0
        if _has_table(engine, TRACKER_TABLE):
            removed = conn.execute(delete(_events).where(_events.c.sender_id == sender_id)).rowcount or 0
        if tombstone:
            tombstones.create(conn, checkfirst=True)
            key = sender_key(sender_id)
            conn.execute(delete(tombstones).where(tombstones.c.sender_key == key))
            conn.execute(tombstones.insert().values(sender_key=key, forgotten_at=time.time() if now is None else now))
    return removed


_TOMBSTONES_SEEN: set[str] = set()  # databases (by URL) where the tombstones table was found


def ensure_tombstones(tracker: Union[Engine, str, None]) -> None:
    """Create the tombstones table beside the tracker if it is not there (the tracker store does, at start).

    Until it exists, :func:`forgotten_at` has to look for it on every turn (a catalogue query).
    """
    engine = _engine(tracker)
    with engine.begin() as conn:
        tombstones.create(conn, checkfirst=True)
    _TOMBSTONES_SEEN.add(str(engine.url))


def forgotten_at(tracker: Union[Engine, Connection, str, None], sender_id: str) -> Optional[float]:
    """When this conversation was last deleted (unix time), if within the tombstone period.

    The tracker store asks on every turn, on the connection that then writes the turn; once the
    table has been seen in a database it is not looked for again (a catalogue query, about 1 ms on
    PostgreSQL), unless the query then fails. On a connection, a failed query is raised: its
    transaction is spoilt (PostgreSQL), so the caller rolls back and asks again with the engine.
    """
    conn_given = isinstance(tracker, Connection)
    engine = tracker.engine if conn_given else _engine(tracker)
    url = str(engine.url)
    if url not in _TOMBSTONES_SEEN:
        if not _has_table(engine, tombstones.name):
            return None
        _TOMBSTONES_SEEN.add(url)
    query = select(tombstones.c.forgotten_at).where(tombstones.c.sender_key == sender_key(sender_id))
    try:
        if conn_given:
            return tracker.execute(query).scalar()
        with engine.connect() as conn:
            return conn.execute(query).scalar()
    except (OperationalError, ProgrammingError):  # the table went since it was seen (a test database reset)
        _TOMBSTONES_SEEN.discard(url)
        if conn_given or _has_table(engine, tombstones.name):
            raise
        return None


def stored_event_count(tracker: Union[Engine, str, None], sender_id: str) -> int:
    engine = _engine(tracker)
    if not _has_table(engine, TRACKER_TABLE):
        return 0
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(_events).where(_events.c.sender_id == sender_id)).scalar()


# ------------------------------------------------------------------------------ everywhere


def delete_conversation(sender_id: str, tracker: Union[Engine, str, None] = None,
                        deleters: Optional[Mapping[str, Deleter]] = None, requested_by: str = "person") -> DeletionReport:
    """Remove ``sender_id``'s conversation from the tracker store and every other place.

    ``deleters`` defaults to :func:`registered_deleters`. A place that fails is reported (and
    logged) but does not stop the others: deleting as much as possible beats deleting nothing.
    """
    if not isinstance(sender_id, str) or not sender_id.strip():
        raise ValueError("a conversation id is needed (the sender id, e.g. from the staff console)")
    removed: dict[str, int] = {}
    failed: list[str] = []
    try:
        removed["conversation"] = delete_tracker_rows(tracker, sender_id)
    except Exception as exc:
        logger.error("Deleting the stored conversation failed: %s", exc)
        failed.append("conversation")
    for name, deleter in (registered_deleters() if deleters is None else dict(deleters)).items():
        try:
            removed[name] = int(deleter(sender_id, requested_by) or 0)
        except Exception as exc:
            logger.error("Deleting from %s failed: %s", name, exc)
            failed.append(name)
    report = DeletionReport(sender_id, removed, failed=tuple(failed))
    logger.info("Deleted a conversation (%s) at the %s's request", report.describe(), requested_by)
    return report


class DeletionIncomplete(RuntimeError):
    """Some place could not be cleared; the message names it. Never tell someone "done" in that case."""

    def __init__(self, report: DeletionReport) -> None:
        self.report = report
        super().__init__(f"could not delete everything ({report.describe()})")


def delete_everywhere(sender_id: str, requested_by: str = "person") -> DeletionReport:
    """What ``action_delete_my_data`` calls: :func:`delete_conversation` with the default places.

    Raises :class:`DeletionIncomplete` if any place failed, so the person is not told it is done.
    (Run from the action server this also removes the stored conversation; the tracker store then
    removes it again at the end of the turn, which is what stops Rasa writing it back.)
    """
    report = delete_conversation(sender_id, requested_by=requested_by)
    if not report.complete:
        raise DeletionIncomplete(report)
    return report


def stale_conversations(tracker: Union[Engine, str, None], older_than_days: int,
                        now: Optional[float] = None) -> list[str]:
    """Conversation ids whose most recent event is older than ``older_than_days`` days."""
    engine = _engine(tracker)
    if not _has_table(engine, TRACKER_TABLE):
        return []
    cutoff = (time.time() if now is None else now) - older_than_days * 86400
    last = func.max(_events.c.timestamp)
    query = select(_events.c.sender_id).group_by(_events.c.sender_id).having(last < cutoff).order_by(_events.c.sender_id)
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def purge(older_than_days: Optional[int] = None, tracker: Union[Engine, str, None] = None,
          deleters: Optional[Mapping[str, Deleter]] = None, now: Optional[float] = None) -> PurgeReport:
    """The retention job: delete, everywhere, conversations untouched for ``older_than_days`` days.

    Also removes closed handoff requests closed longer ago than that (when that module exists)
    and tombstones older than a day.
    """
    days = retention_days() if older_than_days is None else int(older_than_days)
    if days < 1:
        raise ValueError("older_than_days must be at least 1")
    now = time.time() if now is None else now
    engine = _engine(tracker)
    places = registered_deleters() if deleters is None else dict(deleters)
    removed: dict[str, int] = {}
    failed: set[str] = set()
    stale = stale_conversations(engine, days, now)
    for sender_id in stale:
        report = delete_conversation(sender_id, engine, places, requested_by="retention")
        for where, n in report.removed.items():
            removed[where] = removed.get(where, 0) + n
        failed.update(report.failed)
    if deleters is None:
        removed["closed handoff requests"] = _purge_closed_handoffs(days)
        removed.update(_purge_people(days))
    if _has_table(engine, tombstones.name):
        with engine.begin() as conn:
            conn.execute(delete(tombstones).where(tombstones.c.forgotten_at < now - TOMBSTONE_SECONDS))
    report = PurgeReport(days, len(stale), removed, tuple(sorted(failed)))
    logger.info("Retention: %d conversation(s) older than %d days deleted (%d rows)", len(stale), days, report.total)
    return report


def _purge_people(days: int) -> dict[str, int]:
    """Kept plans not updated and finished follow-ups older than the retention period."""
    from signposting import followup, records

    return {"kept plans": records.purge(days), "finished follow-ups": followup.purge(days)}


def _purge_closed_handoffs(days: int) -> int:
    try:
        from datetime import timedelta

        module = importlib.import_module("signposting.handoff")
        return int(module.purge_closed(timedelta(days=days)) or 0)
    except (ImportError, AttributeError) as exc:
        logger.info("Handoff queue not available (%s): no closed requests to purge", exc)
        return 0
