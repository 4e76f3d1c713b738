"""Handing a conversation to the helpline team: consent, the staff queue, callbacks, take over and close.

The person decides. Nothing reaches staff without a consent row that says they agreed to share
their summary with the helpline team, and every query staff use joins on that row: a conversation
without consent (or whose consent was withdrawn) is invisible to them, whatever else is stored.

One open request per conversation: asking again updates the same request (and keeps its place in
the queue). A request moves

    waiting -> taken (staff took over; the bot is paused) -> handed_back (the bot resumes) -> closed
    callback (out of hours: waiting for a call) --------------------------------------------> closed

and closing records an outcome. A phone number is stored only when the person agreed to it, and is
erased when the request closes ("I'd keep your phone number only until they've called").

Stored with SQLAlchemy Core in the project database: ``DATABASE_URL`` (PostgreSQL in the production
profile), else the SQLite file in ``.signpost/`` (``HANDOFF_DATABASE_URL`` puts it elsewhere). ``metadata`` holds every ``handoff_*``
table (staff accounts and sessions included, see signposting/staff.py) for Alembic.
No Rasa imports here: the actions and the staff console (channels/staff.py) call these functions.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import (Boolean, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text,
                        delete, func, insert, select, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.types import TypeDecorator

from signposting import hours
from signposting.phone import parse_uk_phone

HELPLINE_ID = "macmillan_support_line"   # whose hours decide "open now" (the team that answers the queue)
RECIPIENT = "helpline staff"
OUTCOMES = ("advice given", "referred", "callback made", "no answer", "other")
KINDS = ("chat", "callback")
OPEN_STATUSES = ("waiting", "taken", "handed_back", "callback")
# parts of the day a person can ask to be called in, UK time (start, end); anything else means any time
CALL_WINDOWS = {"morning": (time(8), time(12)), "afternoon": (time(12), time(17)), "evening": (time(17), time(21))}
MAX_STAFF_MESSAGE = 2000


class HandoffError(Exception):
    """Something staff or the bot asked for cannot be done; the message says why, in plain words."""


class ConsentError(HandoffError):
    """Nothing is shared or stored without the person's consent."""


# --------------------------------------------------------------------------- storage
class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no time zones) and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store aware datetimes only")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


metadata = MetaData()
consents_table = Table(
    "handoff_consents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(200), nullable=False, index=True),
    Column("share_summary", Boolean, nullable=False),
    Column("store_phone", Boolean, nullable=False),
    Column("scope", Text, nullable=False),          # what they agreed to, in the words they were shown
    Column("recipient", String(100), nullable=False),
    Column("given_at", UTCDateTime, nullable=False),
    Column("withdrawn_at", UTCDateTime),
)
requests_table = Table(
    "handoff_requests", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(200), nullable=False, index=True),
    Column("channel", String(40), nullable=False),
    Column("kind", String(10), nullable=False),      # chat | callback
    Column("status", String(12), nullable=False, index=True),
    Column("consent_id", Integer, ForeignKey("handoff_consents.id"), nullable=False),
    Column("summary_json", Text, nullable=False),
    Column("summary_text", Text, nullable=False),
    Column("phone", String(20)),                      # only with consent; erased on close
    Column("preferred_time", String(40)),
    Column("preferred_channel", String(20)),
    Column("call_from", UTCDateTime),                 # when staff expect to call (callbacks)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("taken_by", String(64)),
    Column("taken_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("closed_by", String(64)),
    Column("outcome", String(40)),
)
messages_table = Table(
    "handoff_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Integer, ForeignKey("handoff_requests.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sender_id", String(200), nullable=False, index=True),
    Column("staff", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("delivered", Boolean, nullable=False),
)
audit_table = Table(
    "handoff_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(200), index=True),
    Column("request_id", Integer),
    Column("staff", String(64)),
    Column("action", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
deletions_table = Table(   # anonymous on purpose: that a deletion happened, never whose
    "handoff_deletions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("requested_by", String(20), nullable=False),   # person | staff
    Column("rows_removed", Integer, nullable=False),
)

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def default_url() -> str:
    """HANDOFF_DATABASE_URL if set, else the project database (DATABASE_URL, else the SQLite file in
    .signpost/), the one Alembic migrates."""
    from signposting.directory import default_url as project_url

    return os.environ.get("HANDOFF_DATABASE_URL") or project_url()


def engine(url: str | None = None) -> Engine:
    """One engine per database URL per process, with the handoff tables created on first use."""
    from signposting import staff  # noqa: F401 - its tables (accounts, sessions) live in this metadata too
    from signposting.directory import make_engine   # same SQLite settings (WAL, foreign keys)

    url = url or default_url()
    with _engines_lock:
        if url not in _engines:
            created = make_engine(url)
            try:
                metadata.create_all(created)
            except (IntegrityError, OperationalError, ProgrammingError):
                metadata.create_all(created)   # another process created them at the same moment: now they exist
            _engines[url] = created
        return _engines[url]


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Consent:
    """What the person agreed to: shown to staff beside the summary, kept with every request."""

    share_summary: bool
    store_phone: bool
    scope: str
    recipient: str = RECIPIENT
    given_at: datetime = field(default_factory=now_utc)


@dataclass(frozen=True)
class HelplineStatus:
    """Whether the team answering the queue is open now (UK time, bank holidays), and until or from when."""

    open_now: bool
    closes_at: datetime | None
    next_open: datetime | None          # when it next opens (if open now: after this session closes)
    helpline: Mapping[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return str(self.helpline.get("name", ""))

    @property
    def phone(self) -> str | None:
        return self.helpline.get("phone")

    def closes_text(self) -> str:
        """'8pm' (or 'late' for a line open round the clock)."""
        return hours.clock(self.closes_at) if self.closes_at else "late"

    def next_open_text(self, now: datetime | None = None) -> str:
        """'at 8am tomorrow', 'at 9am on Monday'."""
        if self.next_open is None:
            return "soon"
        return hours.when(self.next_open, now or datetime.now(hours.UK))

    def describe(self, now: datetime | None = None) -> str:
        """'Open now until 8pm' or 'Closed, opens at 8am tomorrow', for the staff console."""
        now = now or datetime.now(hours.UK)
        if self.open_now:
            return f"Open now until {self.closes_text()}" if self.closes_at else "Open now"
        return f"Closed, opens {self.next_open_text(now)}" if self.next_open else "Closed"


@dataclass(frozen=True)
class Handoff:
    """One request to talk to a person, as staff (and the bot) see it."""

    id: int
    sender_id: str
    channel: str
    kind: str
    status: str
    summary: dict
    summary_text: str
    consent: Consent
    created_at: datetime
    updated_at: datetime
    taken_by: str | None = None
    taken_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None
    phone: str | None = None
    preferred_time: str | None = None
    preferred_channel: str | None = None
    call_from: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or now_utc()) - self.created_at


@dataclass(frozen=True)
class Callback:
    """A callback request, and when the person can expect the call."""

    handoff: Handoff
    call_from: datetime          # UK time: the first moment staff can call within the preferred time
    phone_stored: bool

    @property
    def id(self) -> int:
        return self.handoff.id

    def phone_ending(self) -> str | None:
        """'ending 123', for telling the person which number without repeating it in full."""
        return f"ending {self.handoff.phone[-3:]}" if self.handoff.phone else None

    def when_text(self, now: datetime | None = None) -> str:
        """'at 8am tomorrow', 'at 12pm on Monday'."""
        return hours.when(self.call_from, now or datetime.now(hours.UK))


@dataclass(frozen=True)
class StaffMessage:
    id: int
    request_id: int
    sender_id: str
    staff: str
    text: str
    sent_at: datetime
    delivered: bool


# --------------------------------------------------------------------------- hours
def _helpline(knowledge: Any = None) -> Mapping[str, Any]:
    if knowledge is None:
        from signposting import knowledge as kb

        knowledge = kb.current()
    return knowledge.helplines[HELPLINE_ID]


def helpline_status(now: datetime | None = None, knowledge: Any = None, nation: str | None = None) -> HelplineStatus:
    """Is the helpline team open now? Its hours come from knowledge/helplines.yml (UK time, bank holidays).

    Uses the same rules as every other "open now" Signpost says (signposting/hours.py), so the queue
    and the answers never disagree.
    """
    helpline = _helpline(knowledge)
    now = (now or datetime.now(hours.UK)).astimezone(hours.UK)
    state = hours.open_state(helpline, now, nation)
    next_open = state.opens_at
    if state.open_now and state.closes_at is not None:
        after = hours.open_state(helpline, state.closes_at + timedelta(seconds=1), nation)
        next_open = after.opens_at
    return HelplineStatus(state.open_now, state.closes_at, next_open, helpline)


def expected_call(preferred_time: str | None, now: datetime | None = None, knowledge: Any = None,
                  nation: str | None = None) -> datetime:
    """The first moment, from now, when the helpline is open and it is the part of the day they chose.

    "morning", "afternoon" or "evening" narrow the opening hours; anything else means any time they
    are open. If the choice never overlaps the hours (an evening call from a line that shuts at 5pm),
    the first opening is used rather than promising a call that cannot happen.
    """
    helpline = _helpline(knowledge)
    now = (now or datetime.now(hours.UK)).astimezone(hours.UK)
    window = CALL_WINDOWS.get((preferred_time or "").strip().lower())
    first_open: datetime | None = None
    for offset in range(0, 15):
        day = now.date() + timedelta(days=offset)
        for start, end in _day_sessions(helpline, day, nation):
            if end <= now:
                continue
            start = max(start, now)
            first_open = first_open or start
            if window is None:
                return start
            w_start = datetime.combine(day, window[0], hours.UK)
            w_end = datetime.combine(day, window[1], hours.UK)
            begin, finish = max(start, w_start), min(end, w_end)
            if begin < finish:
                return begin
    if first_open is not None:
        return first_open
    return now


def _day_sessions(helpline: Mapping[str, Any], day: date, nation: str | None) -> list[tuple[datetime, datetime]]:
    if helpline.get("open_24_7"):
        return [(datetime.combine(day, time(0), hours.UK), datetime.combine(day + timedelta(days=1), time(0), hours.UK))]
    return hours._sessions(dict(helpline), day, nation)   # noqa: SLF001 - the one place opening hours are read


# --------------------------------------------------------------------------- rows
def _consent_from(row: Mapping[str, Any]) -> Consent:
    return Consent(share_summary=row["share_summary"], store_phone=row["store_phone"], scope=row["scope"],
                   recipient=row["recipient"], given_at=row["given_at"])


def _handoff_from(row: Mapping[str, Any]) -> Handoff:
    try:
        summary = json.loads(row["summary_json"])
    except (TypeError, ValueError):
        summary = {}
    return Handoff(
        id=row["id"], sender_id=row["sender_id"], channel=row["channel"], kind=row["kind"], status=row["status"],
        summary=summary if isinstance(summary, dict) else {}, summary_text=row["summary_text"],
        consent=_consent_from(row), created_at=row["created_at"], updated_at=row["updated_at"],
        taken_by=row["taken_by"], taken_at=row["taken_at"], closed_at=row["closed_at"], closed_by=row["closed_by"],
        outcome=row["outcome"], phone=row["phone"], preferred_time=row["preferred_time"],
        preferred_channel=row["preferred_channel"], call_from=row["call_from"],
    )


def _visible():
    """Requests joined with a consent that allows staff to see them: the only way staff read requests."""
    joined = requests_table.join(consents_table, requests_table.c.consent_id == consents_table.c.id)
    columns = [*requests_table.c, consents_table.c.share_summary, consents_table.c.store_phone,
               consents_table.c.scope, consents_table.c.recipient, consents_table.c.given_at]
    return select(*columns).select_from(joined).where(
        consents_table.c.share_summary.is_(True), consents_table.c.withdrawn_at.is_(None))


def _check_consent(consent: Consent) -> None:
    if not isinstance(consent, Consent):
        raise TypeError("consent must be a handoff.Consent")
    if not consent.share_summary:
        raise ConsentError("The person has not agreed to share their summary, so nothing was sent to staff.")
    if consent.given_at.tzinfo is None:
        raise ValueError("Consent.given_at must be an aware datetime")
    if not consent.scope.strip():
        raise ValueError("Consent.scope must say what the person agreed to")


def _summary_json(summary: Mapping[str, Any]) -> str:
    if not isinstance(summary, Mapping):
        raise TypeError("summary must be a dict")
    return json.dumps(dict(summary), default=str, ensure_ascii=False, sort_keys=True)


def _audit(conn: Connection, action: str, sender_id: str | None, request_id: int | None = None,
           staff: str | None = None) -> None:
    conn.execute(insert(audit_table).values(sender_id=sender_id, request_id=request_id, staff=staff, action=action,
                                            at=now_utc()))


def _upsert_request(conn: Connection, sender_id: str, channel: str, values: dict[str, Any], consent: Consent) -> int:
    """Store the consent, then update the conversation's open request or open a new one."""
    if not sender_id or not isinstance(sender_id, str):
        raise ValueError("sender_id must be the conversation id")
    consent_id = conn.execute(insert(consents_table).values(
        sender_id=sender_id, share_summary=consent.share_summary, store_phone=consent.store_phone,
        scope=consent.scope.strip(), recipient=consent.recipient, given_at=consent.given_at,
    )).inserted_primary_key[0]
    stamp = now_utc()
    values = dict(values, consent_id=consent_id, channel=channel, updated_at=stamp)
    existing = conn.execute(
        select(requests_table.c.id, requests_table.c.status).where(
            requests_table.c.sender_id == sender_id, requests_table.c.status.in_(OPEN_STATUSES))
        .order_by(requests_table.c.id.desc())
    ).first()
    if existing is not None:
        if existing.status == "taken":     # already talking to someone: keep it that way
            values.pop("status", None)
        conn.execute(update(requests_table).where(requests_table.c.id == existing.id).values(**values))
        _audit(conn, "request updated", sender_id, existing.id)
        return existing.id
    request_id = conn.execute(insert(requests_table).values(sender_id=sender_id, created_at=stamp, **values)
                              ).inserted_primary_key[0]
    _audit(conn, "requested", sender_id, request_id)
    return request_id


def _get(conn: Connection, request_id: int) -> Handoff | None:
    row = conn.execute(_visible().where(requests_table.c.id == request_id)).mappings().first()
    return None if row is None else _handoff_from(row)


# --------------------------------------------------------------------------- the bot's side
def request_handoff(sender_id: str, channel: str, summary: Mapping[str, Any], summary_text: str,
                    consent: Consent, url: str | None = None) -> Handoff:
    """Queue the conversation for staff (status "waiting"). Asking again updates the same open request.

    Raises ConsentError (and stores nothing) unless the person agreed to share their summary.
    """
    _check_consent(consent)
    with engine(url).begin() as conn:
        request_id = _upsert_request(conn, sender_id, channel, {
            "kind": "chat", "status": "waiting", "summary_json": _summary_json(summary),
            "summary_text": str(summary_text or "").strip(), "phone": None, "preferred_time": None,
            "preferred_channel": None, "call_from": None}, consent)
        handoff = _get(conn, request_id)
    assert handoff is not None
    return handoff


def request_callback(sender_id: str, channel: str, summary: Mapping[str, Any], summary_text: str,
                     phone: str | None, preferred_time: str, preferred_channel: str, consent: Consent,
                     now: datetime | None = None, knowledge: Any = None, url: str | None = None) -> Callback:
    """Ask the team to call back. The phone number is stored only if consent.store_phone is True.

    A number that is not a UK phone number raises ValueError and stores nothing. Returns when the
    person can expect the call: the next opening within the part of the day they chose.
    """
    _check_consent(consent)
    digits: str | None = None
    if consent.store_phone and phone:
        digits = parse_uk_phone(phone)
        if digits is None:
            raise ValueError("That doesn't look like a UK phone number, so nothing was saved.")
    call_from = expected_call(preferred_time, now, knowledge)
    with engine(url).begin() as conn:
        request_id = _upsert_request(conn, sender_id, channel, {
            "kind": "callback", "status": "callback", "summary_json": _summary_json(summary),
            "summary_text": str(summary_text or "").strip(), "phone": digits,
            "preferred_time": (preferred_time or "any time")[:40], "preferred_channel": (preferred_channel or "")[:20],
            "call_from": call_from}, consent)
        handoff = _get(conn, request_id)
    assert handoff is not None
    return Callback(handoff, call_from.astimezone(hours.UK), digits is not None)


def is_taken_over(sender_id: str, url: str | None = None) -> bool:
    """True while a member of staff is talking to this person (the bot is paused: it must stay quiet)."""
    with engine(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(requests_table).where(
            requests_table.c.sender_id == sender_id, requests_table.c.status == "taken")).scalar_one() > 0


def open_request(sender_id: str, url: str | None = None) -> Handoff | None:
    """The conversation's open request that staff may see, if there is one (for the bot: "you're in the queue")."""
    with engine(url).connect() as conn:
        row = conn.execute(_visible().where(requests_table.c.sender_id == sender_id,
                                            requests_table.c.status.in_(OPEN_STATUSES))
                           .order_by(requests_table.c.id.desc())).mappings().first()
    return None if row is None else _handoff_from(row)


def _delete_requests(conn: Connection, sender_id: str) -> int:
    ids = [r.id for r in conn.execute(select(requests_table.c.id).where(requests_table.c.sender_id == sender_id))]
    if not ids:
        return 0
    removed = conn.execute(delete(messages_table).where(messages_table.c.request_id.in_(ids))).rowcount
    removed += conn.execute(delete(requests_table).where(requests_table.c.id.in_(ids))).rowcount
    return removed


def withdraw_consent(sender_id: str, url: str | None = None) -> int:
    """The person changed their mind: remove their requests, summaries, staff messages and phone numbers.

    The consent rows stay, marked withdrawn (a record of what was agreed and when, with nothing
    else in it). Returns how many rows were removed.
    """
    with engine(url).begin() as conn:
        removed = _delete_requests(conn, sender_id)
        conn.execute(update(consents_table).where(consents_table.c.sender_id == sender_id,
                                                  consents_table.c.withdrawn_at.is_(None))
                     .values(withdrawn_at=now_utc()))
        _audit(conn, "consent withdrawn", sender_id)
    return removed


def delete_conversation(sender_id: str, requested_by: str = "person", url: str | None = None) -> int:
    """"Delete my data": everything about this conversation here, leaving only an anonymous deletion record.

    (The conversation itself lives in Rasa's tracker store: signposting.privacy removes it there.)
    Returns how many rows were removed.
    """
    with engine(url).begin() as conn:
        removed = _delete_requests(conn, sender_id)
        removed += conn.execute(delete(consents_table).where(consents_table.c.sender_id == sender_id)).rowcount
        removed += conn.execute(delete(audit_table).where(audit_table.c.sender_id == sender_id)).rowcount
        conn.execute(insert(deletions_table).values(at=now_utc(), requested_by=requested_by[:20],
                                                    rows_removed=removed))
    return removed


# --------------------------------------------------------------------------- the staff side
def queue(statuses: Sequence[str] = OPEN_STATUSES, kinds: Sequence[str] = KINDS, limit: int = 500,
          url: str | None = None) -> list[Handoff]:
    """Requests staff may see, oldest first: only conversations whose person agreed to share."""
    with engine(url).connect() as conn:
        rows = conn.execute(_visible().where(requests_table.c.status.in_(list(statuses)),
                                             requests_table.c.kind.in_(list(kinds)))
                            .order_by(requests_table.c.created_at, requests_table.c.id).limit(limit)).mappings()
        return [_handoff_from(row) for row in rows]


def get(handoff_id: int, url: str | None = None) -> Handoff | None:
    """One request, or None if it does not exist or staff may not see it."""
    with engine(url).connect() as conn:
        return _get(conn, int(handoff_id))


def audit(action: str, handoff_id: int | None, staff: str | None, url: str | None = None) -> None:
    """Record what staff did (for example that they viewed a conversation): accountable access."""
    with engine(url).begin() as conn:
        sender = conn.execute(select(requests_table.c.sender_id).where(requests_table.c.id == handoff_id)).scalar()
        _audit(conn, action, sender, handoff_id, staff)


def audit_log(sender_id: str, url: str | None = None) -> list[dict]:
    with engine(url).connect() as conn:
        rows = conn.execute(select(audit_table).where(audit_table.c.sender_id == sender_id)
                            .order_by(audit_table.c.id)).mappings()
        return [dict(row) for row in rows]


def _visible_or_error(conn: Connection, handoff_id: int) -> Handoff:
    handoff = _get(conn, int(handoff_id))
    if handoff is None:
        raise HandoffError("That conversation is not in the queue (it may have been deleted).")
    return handoff


def take_over(handoff_id: int, staff: str, url: str | None = None) -> Handoff:
    """A member of staff takes the conversation: only one at a time, never a closed one."""
    with engine(url).begin() as conn:
        handoff = _visible_or_error(conn, handoff_id)
        if handoff.status == "taken" and handoff.taken_by == staff:
            return handoff
        if handoff.status == "taken":
            raise HandoffError(f"{handoff.taken_by} is already talking to this person.")
        if not handoff.open:
            raise HandoffError("This conversation is closed.")
        done = conn.execute(update(requests_table).where(
            requests_table.c.id == handoff.id, requests_table.c.status == handoff.status)
            .values(status="taken", taken_by=staff, taken_at=now_utc(), updated_at=now_utc())).rowcount
        if done != 1:   # someone else got there between our read and our write
            raise HandoffError("Someone else has just taken this conversation.")
        _audit(conn, "took over", handoff.sender_id, handoff.id, staff)
        return _visible_or_error(conn, handoff.id)


def release(handoff_id: int, staff: str, previous_status: str, url: str | None = None) -> None:
    """Undo a take over that could not pause the bot, so the request goes back where it was."""
    with engine(url).begin() as conn:
        conn.execute(update(requests_table).where(requests_table.c.id == int(handoff_id),
                                                  requests_table.c.status == "taken",
                                                  requests_table.c.taken_by == staff)
                     .values(status=previous_status, taken_by=None, taken_at=None, updated_at=now_utc()))


def hand_back(handoff_id: int, staff: str, url: str | None = None) -> Handoff:
    """Staff hand the conversation back to the bot; the request stays open until it is closed."""
    with engine(url).begin() as conn:
        handoff = _visible_or_error(conn, handoff_id)
        if handoff.status != "taken":
            raise HandoffError("Nobody has taken this conversation, so there is nothing to hand back.")
        conn.execute(update(requests_table).where(requests_table.c.id == handoff.id)
                     .values(status="handed_back", updated_at=now_utc()))
        _audit(conn, "handed back", handoff.sender_id, handoff.id, staff)
        return _visible_or_error(conn, handoff.id)


def close(handoff_id: int, outcome: str, staff: str, url: str | None = None) -> Handoff:
    """Close with an outcome (one of OUTCOMES). The phone number, if any, is erased now."""
    if outcome not in OUTCOMES:
        raise HandoffError(f"Choose an outcome: {', '.join(OUTCOMES)}.")
    with engine(url).begin() as conn:
        handoff = _visible_or_error(conn, handoff_id)
        if not handoff.open:
            raise HandoffError("This conversation is already closed.")
        stamp = now_utc()
        conn.execute(update(requests_table).where(requests_table.c.id == handoff.id).values(
            status="closed", outcome=outcome, closed_by=staff, closed_at=stamp, updated_at=stamp, phone=None))
        _audit(conn, f"closed: {outcome}", handoff.sender_id, handoff.id, staff)
        return _visible_or_error(conn, handoff.id)


def add_staff_message(handoff_id: int, staff: str, text: str, delivered: bool = True,
                      url: str | None = None) -> StaffMessage:
    """Record a message staff sent to the person (shown in the console's transcript)."""
    text = (text or "").strip()
    if not text:
        raise HandoffError("Type a message first.")
    if len(text) > MAX_STAFF_MESSAGE:
        raise HandoffError(f"That message is too long: keep it under {MAX_STAFF_MESSAGE} characters.")
    with engine(url).begin() as conn:
        handoff = _visible_or_error(conn, handoff_id)
        if handoff.status != "taken" or handoff.taken_by != staff:
            raise HandoffError("Take over the conversation before sending a message.")
        stamp = now_utc()
        message_id = conn.execute(insert(messages_table).values(
            request_id=handoff.id, sender_id=handoff.sender_id, staff=staff, text=text, sent_at=stamp,
            delivered=delivered)).inserted_primary_key[0]
        _audit(conn, "sent a message", handoff.sender_id, handoff.id, staff)
    return StaffMessage(message_id, handoff.id, handoff.sender_id, staff, text, stamp, delivered)


def staff_messages(handoff_id: int, url: str | None = None) -> list[StaffMessage]:
    with engine(url).connect() as conn:
        if _get(conn, int(handoff_id)) is None:
            return []
        rows = conn.execute(select(messages_table).where(messages_table.c.request_id == int(handoff_id))
                            .order_by(messages_table.c.sent_at, messages_table.c.id)).mappings()
        return [StaffMessage(r["id"], r["request_id"], r["sender_id"], r["staff"], r["text"], r["sent_at"],
                             r["delivered"]) for r in rows]


def purge_closed(older_than: timedelta, url: str | None = None) -> int:
    """Retention: remove closed requests (summaries, messages) closed longer ago than ``older_than``."""
    cutoff = now_utc() - older_than
    with engine(url).begin() as conn:
        ids = [r.id for r in conn.execute(select(requests_table.c.id).where(
            requests_table.c.status == "closed", requests_table.c.closed_at < cutoff))]
        if not ids:
            return 0
        removed = conn.execute(delete(messages_table).where(messages_table.c.request_id.in_(ids))).rowcount
        removed += conn.execute(delete(requests_table).where(requests_table.c.id.in_(ids))).rowcount
    return removed


def conversations(url: str | None = None, include_closed: bool = False) -> list[Handoff]:
    """For the CLI: every visible request, newest first."""
    statuses: Iterable[str] = (*OPEN_STATUSES, "closed") if include_closed else OPEN_STATUSES
    return list(reversed(queue(tuple(statuses), url=url)))


def age_text(delta: timedelta) -> str:
    """'just now', '5 min', '2 h 10 min', '3 days': how long someone has been waiting."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        rest = minutes % 60
        return f"{minutes // 60} h" + (f" {rest} min" if rest else "")
    return f"{minutes // (24 * 60)} days"


__all__ = [
    "Callback", "Consent", "ConsentError", "Handoff", "HandoffError", "HelplineStatus", "OUTCOMES", "StaffMessage",
    "add_staff_message", "audit", "close", "delete_conversation", "engine", "expected_call", "get", "hand_back",
    "helpline_status", "is_taken_over", "metadata", "open_request", "queue", "release", "request_callback",
    "request_handoff", "take_over", "withdraw_consent",
]
