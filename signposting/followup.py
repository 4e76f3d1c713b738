"""Follow-ups: a check-in message sent later (after 1, 2 or 4 weeks) on the person's own channel.

    fu = schedule(sender_id, "telegram", weeks=2)      # needs an active "followup" consent
    Scheduler(deliver, opted_out=...).run_forever(stop_event)

Follow-ups live in the project database (table ``followups``), so a scheduler that stops and starts
again (a deploy, a crash) sends what is due and nothing twice. A row moves

    scheduled -> sending (claimed by one scheduler) -> sent
                                                    -> scheduled again, later (delivery failed; up to
                                                       RETRIES more tries with growing waits) -> failed
    scheduled / sending -> cancelled (replaced, "stop", consent withdrawn)

Claiming is atomic: on PostgreSQL one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING id``; elsewhere a compare-and-set ``UPDATE ... WHERE id = ? AND status = 'scheduled'`` per
row. Two schedulers never both send one follow-up. Right before sending, the scheduler checks again
that the row is still theirs, that its consent is still active and that the person has not opted out
(an injected predicate: the SMS STOP list lives in channels/state.py, which the core does not
import). A scheduler that died while sending leaves its rows "sending": after CLAIM_TIMEOUT they are
tried again (a message may then arrive twice; far better than never).

"Delete my data" deletes the rows (privacy deleter); withdrawing the followup consent cancels them
(consent withdrawal hook). The sender id is kept because it is the only way to reach the person;
for SMS, WhatsApp and Telegram it is already an encrypted id (channels/identity.py).
No Rasa imports; the message and its buttons come from knowledge/wording.yml.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any, Callable, Optional

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from signposting import consent, hours, privacy
from signposting.handoff import UTCDateTime

logger = logging.getLogger(__name__)

WEEKS = (1, 2, 4)
STATUSES = ("scheduled", "sending", "sent", "cancelled", "failed")
RETRIES = 3                                  # tries after the first failed one
BACKOFF = timedelta(minutes=2)               # wait before retry n: BACKOFF * 5 ** (n - 1): 2, 10, 50 minutes
CLAIM_TIMEOUT = timedelta(minutes=15)        # a claim older than this belonged to a scheduler that died
SEND_FROM, SEND_UNTIL = time(9), time(20)    # UK time: a follow-up due at night waits for 10am
MORNING = time(10)
BUTTONS = (("followup_checkin_button", "/followup_checkin"), ("followup_not_now_button", "/deny"),
           ("followup_stop_button", "/stop_followups"))

# (sender_id, channel, text, buttons [{"title", "payload"}]) -> anything; may be a coroutine function
Deliver = Callable[[str, str, str, list], Any]

metadata = MetaData()
followups_table = Table(
    "followups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(200), nullable=False, index=True),   # needed to reach them: the channel's id
    Column("channel", String(40), nullable=False),
    Column("due_at", UTCDateTime, nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("status", String(12), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(200)),
    Column("reason", String(40)),                                    # why it was cancelled
    Column("consent_id", Integer, nullable=False),                   # consent_records.id
    Column("claimed_by", String(40)),
    Column("claimed_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
)


@dataclass(frozen=True)
class FollowUp:
    id: int
    sender_id: str
    channel: str
    due_at: datetime
    created_at: datetime
    status: str
    attempts: int
    consent_id: int
    last_error: Optional[str] = None
    reason: Optional[str] = None
    sent_at: Optional[datetime] = None

    def due_text(self) -> str:
        """'Monday 7 December', UK time, for telling the person when to expect it."""
        local = self.due_at.astimezone(hours.UK)
        return f"{local:%A} {local.day} {local:%B}"


def engine(url: Optional[str] = None) -> Engine:
    return consent.engine(url, metadata)


def _row(row: Any) -> FollowUp:
    return FollowUp(row["id"], row["sender_id"], row["channel"], row["due_at"], row["created_at"], row["status"],
                    int(row["attempts"] or 0), row["consent_id"], row["last_error"], row["reason"], row["sent_at"])


def due_time(now: datetime, weeks: int) -> datetime:
    """``weeks`` from now, moved to 10am UK time if that lands at night (before 9am or from 8pm)."""
    local = (now + timedelta(weeks=weeks)).astimezone(hours.UK)
    if local.time() < SEND_FROM:
        local = datetime.combine(local.date(), MORNING, hours.UK)
    elif local.time() >= SEND_UNTIL:
        local = datetime.combine(local.date() + timedelta(days=1), MORNING, hours.UK)
    return local.astimezone(timezone.utc)


# --------------------------------------------------------------------------- the bot's side
def schedule(sender_id: str, channel: str, weeks: int, now: Optional[datetime] = None,
             url: Optional[str] = None) -> FollowUp:
    """Book a check-in message ``weeks`` (1, 2 or 4) from now on ``channel``.

    Needs an active "followup" consent (ConsentRequired otherwise, and nothing is stored). One
    follow-up per person: booking again cancels the one already booked ("replaced").
    """
    if weeks not in WEEKS:
        raise ValueError(f"a follow-up is 1, 2 or 4 weeks away, not {weeks!r}")
    if not isinstance(sender_id, str) or not sender_id.strip():
        raise ValueError("a conversation id is needed")
    agreed = consent.active(sender_id, consent.FOLLOWUP, url=url)
    if agreed is None:
        raise consent.ConsentRequired("The person has not agreed to a follow-up message, so none was booked.")
    stamp = now or consent.now_utc()
    t = followups_table
    with engine(url).begin() as conn:
        _cancel(conn, sender_id, "replaced", stamp)
        new_id = conn.execute(insert(t).values(
            sender_id=sender_id, channel=(channel or "")[:40], due_at=due_time(stamp, weeks), created_at=stamp,
            updated_at=stamp, status="scheduled", attempts=0, consent_id=agreed.id)).inserted_primary_key[0]
        row = conn.execute(select(t).where(t.c.id == new_id)).mappings().one()
    return _row(row)


def _cancel(conn: Connection, sender_id: str, reason: str, stamp: datetime) -> int:
    t = followups_table
    return int(conn.execute(update(t).where(t.c.sender_id == sender_id, t.c.status.in_(("scheduled", "sending")))
                            .values(status="cancelled", reason=(reason or "cancelled")[:40], updated_at=stamp))
               .rowcount or 0)


def cancel(sender_id: str, reason: str = "stopped", now: Optional[datetime] = None, url: Optional[str] = None) -> int:
    """Cancel the person's booked follow-up ("stop these messages"); returns how many were cancelled."""
    with engine(url).begin() as conn:
        return _cancel(conn, sender_id, reason, now or consent.now_utc())


def pending(sender_id: str, url: Optional[str] = None) -> Optional[FollowUp]:
    """The person's booked follow-up, if any (for "you asked me to check in on ...")."""
    t = followups_table
    with engine(url).connect() as conn:
        row = conn.execute(select(t).where(t.c.sender_id == sender_id, t.c.status.in_(("scheduled", "sending")))
                           .order_by(t.c.id.desc())).mappings().first()
    return None if row is None else _row(row)


def due(now: Optional[datetime] = None, url: Optional[str] = None) -> list[FollowUp]:
    """Follow-ups waiting to be sent whose time has come, oldest first."""
    t = followups_table
    with engine(url).connect() as conn:
        rows = conn.execute(select(t).where(t.c.status == "scheduled", t.c.due_at <= (now or consent.now_utc()))
                            .order_by(t.c.due_at, t.c.id)).mappings()
        return [_row(row) for row in rows]


def get(followup_id: int, url: Optional[str] = None) -> Optional[FollowUp]:
    with engine(url).connect() as conn:
        row = conn.execute(select(followups_table).where(followups_table.c.id == followup_id)).mappings().first()
    return None if row is None else _row(row)


def counts(url: Optional[str] = None) -> dict[str, int]:
    """How many follow-ups are in each status (no personal data): for the CLI."""
    t = followups_table
    with engine(url).connect() as conn:
        found = dict(conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all())
    return {status: int(found.get(status, 0)) for status in STATUSES}


def delete_for(sender_id: str, requested_by: str = "person", url: Optional[str] = None) -> int:
    """"Delete my data": remove every follow-up of this conversation, whatever its status."""
    with engine(url).begin() as conn:
        return int(conn.execute(delete(followups_table).where(followups_table.c.sender_id == sender_id)).rowcount
                   or 0)


def purge(older_than_days: Optional[int] = None, now: Optional[datetime] = None, url: Optional[str] = None) -> int:
    """Retention: remove finished follow-ups (sent, cancelled, failed) last changed longer ago than
    ``older_than_days`` (default privacy.retention_days())."""
    days = privacy.retention_days() if older_than_days is None else int(older_than_days)
    if days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = (now or consent.now_utc()) - timedelta(days=days)
    t = followups_table
    with engine(url).begin() as conn:
        return int(conn.execute(delete(t).where(t.c.status.in_(("sent", "cancelled", "failed")),
                                                t.c.updated_at < cutoff)).rowcount or 0)


def message(knowledge: Any = None) -> tuple[str, list[dict]]:
    """The follow-up's text and buttons, from wording.yml."""
    if knowledge is None:
        from signposting import knowledge as kb

        knowledge = kb.current()
    return (knowledge.say("followup_message"),
            [{"title": knowledge.say(key), "payload": payload} for key, payload in BUTTONS])


# --------------------------------------------------------------------------- the scheduler
class Scheduler:
    """Sends due follow-ups. Any number may run at once, in any number of processes."""

    def __init__(self, deliver: Deliver, poll_seconds: float = 30, now: Callable[[], datetime] = consent.now_utc,
                 opted_out: Optional[Callable[[str], bool]] = None, knowledge: Any = None,
                 url: Optional[str] = None, batch: int = 20) -> None:
        self.deliver = deliver
        self.poll_seconds = poll_seconds
        self.now = now
        self.opted_out = opted_out or (lambda sender_id: False)
        self.knowledge = knowledge
        self.url = url
        self.batch = max(1, batch)
        self.name = "scheduler-" + uuid.uuid4().hex[:12]

    # ------------------------------------------------------------------ claiming
    def _recover(self, conn: Connection, now: datetime) -> None:
        """Rows left "sending" by a scheduler that died: due again now."""
        t = followups_table
        conn.execute(update(t).where(t.c.status == "sending", t.c.claimed_at < now - CLAIM_TIMEOUT).values(
            status="scheduled", claimed_by=None, claimed_at=None, last_error="interrupted while sending",
            updated_at=now))

    def claim(self, now: datetime) -> list[int]:
        """Take up to ``batch`` due follow-ups for this scheduler; no other scheduler gets them."""
        t = followups_table
        claimed = dict(status="sending", claimed_by=self.name, claimed_at=now, updated_at=now)
        made = engine(self.url)
        with made.begin() as conn:
            self._recover(conn, now)
        candidates = (select(t.c.id).where(t.c.status == "scheduled", t.c.due_at <= now)
                      .order_by(t.c.due_at, t.c.id).limit(self.batch))
        if made.dialect.name == "postgresql":
            with made.begin() as conn:
                rows = conn.execute(update(t).where(t.c.id.in_(candidates.with_for_update(skip_locked=True)
                                                               .scalar_subquery()))
                                    .values(**claimed).returning(t.c.id)).all()
            return sorted(row[0] for row in rows)
        with made.connect() as conn:
            ids = [row[0] for row in conn.execute(candidates)]
        taken = []
        for followup_id in ids:
            with made.begin() as conn:
                if conn.execute(update(t).where(t.c.id == followup_id, t.c.status == "scheduled")
                                .values(**claimed)).rowcount == 1:
                    taken.append(followup_id)
        return taken

    # ------------------------------------------------------------------ sending
    def _mine(self, conn: Connection, followup_id: int) -> Optional[FollowUp]:
        t = followups_table
        row = conn.execute(select(t).where(t.c.id == followup_id, t.c.status == "sending",
                                           t.c.claimed_by == self.name)).mappings().first()
        return None if row is None else _row(row)

    def _finish(self, followup_id: int, now: datetime, **values: Any) -> bool:
        t = followups_table
        with engine(self.url).begin() as conn:
            return conn.execute(update(t).where(t.c.id == followup_id, t.c.claimed_by == self.name,
                                                t.c.status == "sending")
                                .values(claimed_by=None, updated_at=now, **values)).rowcount == 1

    def _send_one(self, followup_id: int, now: datetime, text: str, buttons: list[dict]) -> bool:
        with engine(self.url).connect() as conn:
            followup = self._mine(conn, followup_id)
        if followup is None:   # cancelled or deleted since it was claimed
            return False
        if not consent.is_active(followup.consent_id, followup.sender_id, url=self.url):
            self._finish(followup_id, now, status="cancelled", reason="consent withdrawn")
            logger.info("Follow-up %d not sent: consent withdrawn", followup_id)
            return False
        try:
            stopped = bool(self.opted_out(followup.sender_id))
        except Exception as exc:   # cannot tell: do not send now, try again later
            self._retry(followup, now, f"opt-out check failed: {type(exc).__name__}")
            return False
        if stopped:
            self._finish(followup_id, now, status="cancelled", reason="opted out")
            logger.info("Follow-up %d not sent: the person opted out", followup_id)
            return False
        try:
            result = self.deliver(followup.sender_id, followup.channel, text, [dict(b) for b in buttons])
            if inspect.isawaitable(result):
                _run(result)
        except Exception as exc:
            self._retry(followup, now, f"{type(exc).__name__}: {exc}")
            return False
        self._finish(followup_id, now, status="sent", sent_at=now, attempts=followup.attempts + 1, last_error=None)
        logger.info("Follow-up %d sent on %s", followup_id, followup.channel or "its channel")
        return True

    def _retry(self, followup: FollowUp, now: datetime, error: str) -> None:
        attempts = followup.attempts + 1
        if attempts > RETRIES:
            self._finish(followup.id, now, status="failed", attempts=attempts, last_error=error[:200])
            logger.warning("Follow-up %d failed after %d tries (%s)", followup.id, attempts, error.split(":")[0])
            return
        wait = BACKOFF * 5 ** (attempts - 1)
        self._finish(followup.id, now, status="scheduled", attempts=attempts, last_error=error[:200],
                     due_at=now + wait, claimed_at=None)
        logger.warning("Follow-up %d not delivered (%s); trying again in %d min", followup.id, error.split(":")[0],
                       wait // timedelta(minutes=1))

    def run_once(self, now: Optional[datetime] = None) -> int:
        """Send every follow-up due at ``now``; returns how many were sent.

        Claims a batch at a time until a claim finds nothing left: a batch shared with another
        scheduler is smaller than ``batch`` but does not mean the work is done."""
        now = now or self.now()
        sent = 0
        text = buttons = None
        while True:
            ids = self.claim(now)
            if not ids:
                return sent
            if text is None:
                text, buttons = message(self.knowledge)
            for followup_id in ids:
                try:
                    sent += self._send_one(followup_id, now, text, buttons or [])
                except Exception as exc:   # the database went away mid-send: the claim times out and recovers
                    logger.error("Follow-up %d: %s", followup_id, type(exc).__name__)

    def run_forever(self, stop_event: threading.Event) -> None:
        """Poll every ``poll_seconds`` until ``stop_event`` is set; a failing round is logged, never fatal."""
        logger.info("Follow-up scheduler started (every %gs)", self.poll_seconds)
        while not stop_event.is_set():
            try:
                self.run_once()
            except Exception as exc:
                logger.error("Follow-up round failed (%s); trying again in %gs", type(exc).__name__,
                             self.poll_seconds)
            stop_event.wait(self.poll_seconds)
        logger.info("Follow-up scheduler stopped")


def _run(awaitable: Any) -> Any:
    """Run a coroutine to the end from this (non-async) thread."""
    async def wrapper() -> Any:
        return await awaitable

    return asyncio.run(wrapper())


# --------------------------------------------------------------------------- registration
privacy.register_deleter("follow-ups", lambda sender_id, requested_by: delete_for(sender_id, requested_by))
consent.register_withdrawal_hook("follow-ups", (consent.FOLLOWUP,),
                                 lambda sender_id, scope: cancel(sender_id, "consent withdrawn"))

__all__ = [
    "FollowUp", "Scheduler", "WEEKS", "cancel", "counts", "delete_for", "due", "due_time", "get", "message",
    "metadata", "pending", "purge", "schedule",
]
