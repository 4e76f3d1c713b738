"""Consent records: what a person agreed to share or let Signpost keep, with whom, and when.

Every use of personal information beyond the conversation itself has its own row here:

* ``keep_plan``: keep their check-in so a later one can be compared (signposting/records.py);
* ``followup``: keep their conversation id to send a check-in message later (signposting/followup.py);
* ``handoff``: share their summary with the helpline team (signposting/handoff.py keeps its own
  consent rows as well; call :func:`give` with this scope beside it so "what have I agreed to?"
  lists it).

A row says the scope, the recipient ("Signpost (this service)", "helpline staff"), the exact words
the person was shown, when they agreed and, once they change their mind, when they withdrew.
Rows are keyed by :func:`signposting.privacy.sender_key` (a SHA-256 of the conversation id), never
the conversation id itself.

Withdrawing is honoured everywhere: :func:`withdraw` marks the rows withdrawn, then runs the
withdrawal hooks that other modules register (follow-ups are cancelled, kept plans deleted) and,
for the handoff scope, ``signposting.handoff.withdraw_consent``. "Delete my data"
(``privacy.delete_everywhere``) removes the rows altogether, leaving only an anonymous count.

Stored with SQLAlchemy Core in the project database (``handoff.default_url()``: HANDOFF_DATABASE_URL,
else DATABASE_URL, else the SQLite file in .signpost/); tables are created on first use and
``metadata`` is what Alembic migrates. No Rasa imports.
"""
from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from signposting import privacy
from signposting.handoff import RECIPIENT as HELPLINE_STAFF
from signposting.handoff import UTCDateTime

logger = logging.getLogger(__name__)

KEEP_PLAN = "keep_plan"
FOLLOWUP = "followup"
HANDOFF = "handoff"
SCOPES = (KEEP_PLAN, FOLLOWUP, HANDOFF)
SIGNPOST = "Signpost (this service)"
RECIPIENTS = (SIGNPOST, HELPLINE_STAFF)
# modules that register withdrawal hooks and privacy deleters when imported: loaded before a withdrawal
COMPANIONS = ("signposting.records", "signposting.followup")

# (sender_id, scope or None for every scope) -> rows changed
WithdrawalHook = Callable[[str, Optional[str]], int]

metadata = MetaData()
consent_table = Table(
    "consent_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_key", String(64), nullable=False, index=True),   # privacy.sender_key(sender_id)
    Column("scope", String(20), nullable=False),
    Column("recipient", String(100), nullable=False),
    Column("wording", Text, nullable=False),                         # the words they agreed to
    Column("given_at", UTCDateTime, nullable=False),
    Column("withdrawn_at", UTCDateTime),
)
deletions_table = Table(   # anonymous on purpose, as in handoff_deletions: that rows went, never whose
    "consent_deletions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("requested_by", String(20), nullable=False),
    Column("rows_removed", Integer, nullable=False),
)


class ConsentRequired(Exception):
    """Nothing is kept or sent without the person's consent; the message says which."""


@dataclass(frozen=True)
class ConsentRecord:
    id: int
    scope: str
    recipient: str
    wording: str
    given_at: datetime
    withdrawn_at: Optional[datetime] = None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


# --------------------------------------------------------------------------- storage
_engines: dict[str, Engine] = {}
_created: set[tuple[str, int]] = set()
_lock = threading.RLock()


def default_url() -> str:
    from signposting import handoff

    return handoff.default_url()


def engine(url: Optional[str] = None, tables: Optional[MetaData] = None) -> Engine:
    """One engine per database URL per process, shared by consent, records and follow-ups, with
    this module's tables (and ``tables``, another module's metadata) created on first use."""
    from signposting.directory import make_engine   # same SQLite settings (WAL, foreign keys)

    url = url or default_url()
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        made = _engines[url]
        for meta in (metadata, tables):
            if meta is not None and (url, id(meta)) not in _created:
                try:
                    meta.create_all(made)
                except (IntegrityError, OperationalError, ProgrammingError):
                    meta.create_all(made)   # another process created them at the same moment
                _created.add((url, id(meta)))
        return made


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests; a process that forks)."""
    with _lock:
        for made in _engines.values():
            made.dispose()
        _engines.clear()
        _created.clear()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _record(row: Any) -> ConsentRecord:
    return ConsentRecord(row["id"], row["scope"], row["recipient"], row["wording"], row["given_at"],
                         row["withdrawn_at"])


def _key(sender_id: str) -> str:
    if not isinstance(sender_id, str) or not sender_id.strip():
        raise ValueError("a conversation id is needed")
    return privacy.sender_key(sender_id)


# --------------------------------------------------------------------------- API
def give(sender_id: str, scope: str, recipient: str, wording: str, now: Optional[datetime] = None,
         url: Optional[str] = None) -> ConsentRecord:
    """Record that the person agreed to ``wording`` (what they were shown) for ``scope``, sharing with
    ``recipient``. Each agreement is a row of its own; the newest active one is what counts."""
    if scope not in SCOPES:
        raise ValueError(f"unknown consent scope {scope!r}: use one of {', '.join(SCOPES)}")
    recipient = (recipient or "").strip()
    wording = (wording or "").strip()
    if not recipient or not wording:
        raise ValueError("a consent record needs the recipient and the words the person agreed to")
    stamp = now or now_utc()
    with engine(url).begin() as conn:
        new_id = conn.execute(insert(consent_table).values(
            sender_key=_key(sender_id), scope=scope, recipient=recipient[:100], wording=wording,
            given_at=stamp)).inserted_primary_key[0]
    return ConsentRecord(int(new_id), scope, recipient[:100], wording, stamp)


def active(sender_id: str, scope: str, url: Optional[str] = None) -> Optional[ConsentRecord]:
    """The newest consent for ``scope`` that has not been withdrawn, or None."""
    t = consent_table
    with engine(url).connect() as conn:
        row = conn.execute(select(t).where(t.c.sender_key == _key(sender_id), t.c.scope == scope,
                                           t.c.withdrawn_at.is_(None)).order_by(t.c.id.desc())).mappings().first()
    return None if row is None else _record(row)


def is_active(consent_id: int, sender_id: str, url: Optional[str] = None) -> bool:
    """True while this very consent row exists, belongs to ``sender_id`` and is not withdrawn."""
    t = consent_table
    with engine(url).connect() as conn:
        return conn.execute(select(t.c.id).where(t.c.id == consent_id, t.c.sender_key == _key(sender_id),
                                                 t.c.withdrawn_at.is_(None))).first() is not None


def records(sender_id: str, url: Optional[str] = None) -> list[ConsentRecord]:
    """Everything this person agreed to, oldest first, withdrawn ones included ("what have I agreed to?")."""
    t = consent_table
    with engine(url).connect() as conn:
        rows = conn.execute(select(t).where(t.c.sender_key == _key(sender_id)).order_by(t.c.id)).mappings()
        return [_record(row) for row in rows]


# --------------------------------------------------------------------------- withdrawal
_hooks: dict[str, tuple[tuple[str, ...], WithdrawalHook]] = {}


def register_withdrawal_hook(name: str, scopes: tuple[str, ...], hook: WithdrawalHook) -> None:
    """Run ``hook(sender_id, scope)`` whenever consent for one of ``scopes`` (or every scope) is
    withdrawn. Registering the same name again replaces it."""
    if not name or not callable(hook) or not scopes or any(s not in SCOPES for s in scopes):
        raise ValueError("a withdrawal hook needs a name, known scopes and a function (sender_id, scope) -> int")
    with _lock:
        _hooks[name] = (tuple(scopes), hook)


def unregister_withdrawal_hook(name: str) -> None:
    with _lock:
        _hooks.pop(name, None)


def _load_companions() -> None:
    for name in COMPANIONS:
        try:
            importlib.import_module(name)
        except ImportError as exc:   # a module not built yet: nothing of it to withdraw
            logger.info("%s not available (%s)", name, exc)


def withdraw(sender_id: str, scope: Optional[str] = None, now: Optional[datetime] = None,
             url: Optional[str] = None) -> int:
    """The person changed their mind about ``scope`` (None: about everything).

    Marks their active consent rows withdrawn, then stops what depended on them: follow-ups are
    cancelled and kept plans deleted (the registered hooks) and, for the handoff scope, their handoff
    requests and summaries are removed (``handoff.withdraw_consent``). Returns how many consent
    records were withdrawn. A hook that fails is logged and the error raised after the others ran:
    the person must not be told it is done when it is not.
    """
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"unknown consent scope {scope!r}: use one of {', '.join(SCOPES)}")
    _load_companions()
    t = consent_table
    conditions = [t.c.sender_key == _key(sender_id), t.c.withdrawn_at.is_(None)]
    if scope is not None:
        conditions.append(t.c.scope == scope)
    with engine(url).begin() as conn:
        withdrawn = conn.execute(update(t).where(*conditions).values(withdrawn_at=now or now_utc())).rowcount
    with _lock:
        hooks = dict(_hooks)
    failures: list[str] = []
    for name, (scopes, hook) in hooks.items():
        if scope is None or scope in scopes:
            try:
                hook(sender_id, scope)
            except Exception as exc:
                logger.error("Withdrawing consent: %s failed (%s)", name, type(exc).__name__)
                failures.append(name)
    if scope in (None, HANDOFF):
        try:
            from signposting import handoff

            if _has_handoff(handoff, sender_id, url):   # otherwise nothing to withdraw (and no audit row made)
                handoff.withdraw_consent(sender_id, url=url)
        except Exception as exc:
            logger.error("Withdrawing consent: the handoff queue failed (%s)", type(exc).__name__)
            failures.append("handoff queue")
    if failures:
        raise RuntimeError(f"consent was withdrawn but {', '.join(failures)} could not be updated")
    return int(withdrawn or 0)


def _has_handoff(handoff: Any, sender_id: str, url: Optional[str]) -> bool:
    t, r = handoff.consents_table, handoff.requests_table
    with handoff.engine(url).connect() as conn:
        consented = conn.execute(select(t.c.id).where(t.c.sender_id == sender_id,
                                                      t.c.withdrawn_at.is_(None))).first() is not None
        return consented or conn.execute(select(r.c.id).where(r.c.sender_id == sender_id)).first() is not None


# --------------------------------------------------------------------------- delete my data
def delete_records(sender_id: str, requested_by: str = "person", url: Optional[str] = None) -> int:
    """Remove every consent row of this person, leaving an anonymous count (privacy deleter)."""
    with engine(url).begin() as conn:
        removed = conn.execute(delete(consent_table).where(consent_table.c.sender_key == _key(sender_id))).rowcount
        if removed:
            conn.execute(insert(deletions_table).values(at=now_utc(), requested_by=(requested_by or "person")[:20],
                                                        rows_removed=removed))
    return int(removed or 0)


privacy.register_deleter("consent records", lambda sender_id, requested_by: delete_records(sender_id, requested_by))
_load_companions()   # importing any of consent, records, followup registers all three (deleters and hooks)

__all__ = [
    "ConsentRecord", "ConsentRequired", "FOLLOWUP", "HANDOFF", "HELPLINE_STAFF", "KEEP_PLAN", "SCOPES", "SIGNPOST",
    "active", "delete_records", "engine", "give", "is_active", "metadata", "records", "register_withdrawal_hook",
    "withdraw",
]
