"""Outcomes for managers: anonymous daily counts made from the conversation event stream.

Rasa publishes every conversation event to RabbitMQ (the production profile's event broker). The
consumer here reads them and keeps only aggregates, per day (UK time):

    conversations      per channel: one person on one channel on one day
    out_of_hours       those that began while the helpline people are handed to was closed
    messages           messages people sent, per channel
    assessments        check-ins completed (the summary was given)
    concern_score      per check-in domain: how many scores were given and their sum (so a mean)
    handoff_requests   times someone asked for a person; handoffs: times one was handed to the team
    services_shown     per directory category: services listed to someone
    fallbacks          messages the bot was not sure about

Never stored: a sender id, a message's text, or any slot value other than a 0-10 score or a
category. Counting is idempotent: each event is keyed by an HMAC-SHA256 of the whole event under a
secret key (SIGNPOST_OUTCOMES_KEY, else a random key kept in .signpost/outcomes.key), so a
redelivered event counts once and the key cannot be turned back into anything; conversation-days
are keyed the same way. Keys are kept for KEEP_KEYS_DAYS, only to recognise redeliveries.

Tables (SQLAlchemy Core, created by the Alembic migrations: `signposting db upgrade`):
``outcomes_seen`` (the keys) and ``outcomes_daily`` (the counts). No Rasa imports here.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

from sqlalchemy import Column, Date, Float, Integer, MetaData, String, Table, delete, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from signposting import hours

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
KEEP_KEYS_DAYS = 8
BATCH = 100       # messages (a turn's events, or one event) counted in one transaction
PREFETCH = 300    # messages RabbitMQ hands the consumer before it has acknowledged them
SCORE_PREFIX = "score_"
FALLBACK_INTENT = "nlu_fallback"
HANDOFF_REQUEST_INTENT = "request_human"
ASSESSMENT_DONE_ACTIONS = frozenset({"action_assessment_summary"})
HANDOFF_DONE_ACTIONS = frozenset({"action_handoff_done"})  # the request reached the helpline team's queue
NUMBERED_LINE = re.compile(r"^\d+\.\s+(.*)$")

metadata = MetaData()
seen_table = Table(
    "outcomes_seen", metadata,
    Column("key", String(64), primary_key=True),      # HMAC-SHA256 (hex) of an event or a conversation-day
    Column("day", Date, nullable=False, index=True),  # for pruning
)
daily_table = Table(
    "outcomes_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("metric", String(40), primary_key=True),
    Column("channel", String(40), primary_key=True),    # "" when the measure is not per channel
    Column("dimension", String(60), primary_key=True),  # a domain or a category; "" when none
    Column("count", Integer, nullable=False),
    Column("total", Float, nullable=False),             # the sum of the values (scores); 0 otherwise
)


# --------------------------------------------------------------------------- what an event counts as
@dataclass(frozen=True)
class Context:
    """What turning events into measures needs from the knowledge: helpline hours, services, domains."""

    helpline: Mapping[str, Any]
    service_categories: Mapping[str, tuple[str, ...]]  # service name -> its categories
    domains: Mapping[str, str]                          # score slot -> domain id

    @classmethod
    def from_knowledge(cls, knowledge: Any) -> "Context":
        helpline = knowledge.helplines[knowledge.assessment["offer_person_helpline"]]
        services: dict[str, tuple[str, ...]] = {}
        for service in knowledge.services.values():
            services.setdefault(service["name"], tuple(service.get("categories") or ()))
        domains = {d["slot"]: d["id"] for d in knowledge.assessment["domains"]}
        return cls(helpline, services, domains)


@dataclass(frozen=True)
class Measure:
    """One thing to add to a day's counts. `once`: count it only the first time this key is seen."""

    metric: str
    channel: str = ""
    dimension: str = ""
    value: float = 0.0
    once: Optional[str] = None


def event_day(event: Mapping[str, Any]) -> date:
    stamp = event.get("timestamp")
    moment = datetime.fromtimestamp(float(stamp), hours.UK) if isinstance(stamp, (int, float)) else datetime.now(hours.UK)
    return moment.date()


def _channel(event: Mapping[str, Any]) -> str:
    channel = event.get("input_channel")
    return str(channel)[:40] if channel else "unknown"


def _score(value: Any) -> Optional[float]:
    """A validated 0-10 score (the form stores the number; raw text and 'skipped' are not scores)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 <= value <= 10 else None


def shown_categories(text: str, service_categories: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The categories of the services listed in a bot message ('1. Name: phone ...' lines)."""
    found: list[str] = []
    for line in text.splitlines():
        match = NUMBERED_LINE.match(line.strip())
        if not match:
            continue
        rest = match.group(1)
        cut = rest.find(": ")
        while cut != -1:  # a service name may itself contain ': '
            categories = service_categories.get(rest[:cut])
            if categories is not None:
                found.extend(categories)
                break
            cut = rest.find(": ", cut + 2)
    return found


def measures(event: Mapping[str, Any], context: Context) -> list[Measure]:
    """What one Rasa event adds to the counts (pure: no database, no clock)."""
    kind = event.get("event")
    if kind == "user":
        channel = _channel(event)
        day = event_day(event)
        conversation = f"conversation|{event.get('sender_id')}|{day.isoformat()}|{channel}"
        stamp = event.get("timestamp")
        moment = datetime.fromtimestamp(float(stamp), hours.UK) if isinstance(stamp, (int, float)) else None
        found = [Measure("messages", channel), Measure("conversations", channel, once=conversation)]
        if moment is not None and not hours.open_state(dict(context.helpline), moment).open_now:
            found.append(Measure("out_of_hours", channel, once=conversation))
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == FALLBACK_INTENT:
            found.append(Measure("fallbacks"))
        elif intent == HANDOFF_REQUEST_INTENT:
            found.append(Measure("handoff_requests"))
        return found
    if kind == "slot":
        name = str(event.get("name") or "")
        score = _score(event.get("value"))
        if name.startswith(SCORE_PREFIX) and score is not None:
            return [Measure("concern_score", dimension=context.domains.get(name, name[len(SCORE_PREFIX):]),
                            value=score)]
        return []
    if kind == "action":
        name = event.get("name")
        if name in ASSESSMENT_DONE_ACTIONS:
            return [Measure("assessments")]
        if name in HANDOFF_DONE_ACTIONS:
            return [Measure("handoffs")]
        return []
    if kind == "bot" and isinstance(event.get("text"), str):
        return [Measure("services_shown", dimension=c) for c in shown_categories(event["text"],
                                                                                   context.service_categories)]
    return []


# --------------------------------------------------------------------------- keys
def outcomes_key(environ: Mapping[str, str] = os.environ, folder: Optional[Path] = None) -> bytes:
    """The HMAC key: SIGNPOST_OUTCOMES_KEY, else a random one made once and kept beside the code."""
    configured = environ.get("SIGNPOST_OUTCOMES_KEY")
    if configured:
        return configured.encode()
    path = (folder or ROOT / ".signpost") / "outcomes.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def digest(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def canonical(event: Mapping[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)


# --------------------------------------------------------------------------- storing
class MissingTables(RuntimeError):
    """The outcomes tables are not there yet: `signposting db upgrade` makes them."""


def _insert(conn: Connection) -> Callable[..., Any]:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


class Store:
    """The outcomes tables: record events idempotently, and read the counts back."""

    def __init__(self, engine: Engine, key: bytes) -> None:
        self.engine = engine
        self.key = key
        self._lock = threading.Lock()

    def check_tables(self) -> None:
        names = set(inspect(self.engine).get_table_names())
        missing = [t.name for t in metadata.sorted_tables if t.name not in names]
        if missing:
            raise MissingTables(f"the outcomes tables ({', '.join(missing)}) are missing: run "
                                "`python -m signposting db upgrade` first")

    def _first_time(self, conn: Connection, key: str, day: date) -> bool:
        insert = _insert(conn)(seen_table).values(key=key, day=day).on_conflict_do_nothing(index_elements=["key"])
        return conn.execute(insert).rowcount == 1

    def _add(self, conn: Connection, day: date, measure: Measure) -> None:
        insert = _insert(conn)(daily_table).values(day=day, metric=measure.metric, channel=measure.channel,
                                                   dimension=measure.dimension, count=1, total=measure.value)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["day", "metric", "channel", "dimension"],
            set_={"count": daily_table.c.count + insert.excluded.count,
                  "total": daily_table.c.total + insert.excluded.total}))

    def record(self, event: Mapping[str, Any], context: Context) -> Optional[int]:
        """Add one event's measures in one transaction: how many; None if this event was counted before."""
        return self.record_many([event], context)[0]

    def record_many(self, events: Iterable[Mapping[str, Any]], context: Context) -> list[Optional[int]]:
        """Add several events in one transaction (much faster than one each); per event as `record`."""
        with self._lock, self.engine.begin() as conn:
            return [self._record(conn, event, context) for event in events]

    def _record(self, conn: Connection, event: Mapping[str, Any], context: Context) -> Optional[int]:
        found = measures(event, context)
        if not found:  # most events (action_listen, most slots...) count towards nothing: no need to remember
            return 0   # them, a second delivery adds nothing either; this keeps the database out of their way
        day = event_day(event)
        if not self._first_time(conn, digest(self.key, "event|" + canonical(event)), day):
            return None
        once: dict[str, bool] = {}
        added = 0
        for measure in found:
            if measure.once is not None:
                if measure.once not in once:
                    once[measure.once] = self._first_time(conn, digest(self.key, measure.once), day)
                if not once[measure.once]:
                    continue
            self._add(conn, day, measure)
            added += 1
        return added

    def prune(self, today: Optional[date] = None) -> int:
        """Forget the keys of days long gone (they only served to recognise redeliveries)."""
        cutoff = (today or date.today()) - timedelta(days=KEEP_KEYS_DAYS)
        with self.engine.begin() as conn:
            return conn.execute(delete(seen_table).where(seen_table.c.day < cutoff)).rowcount

    def rows(self, since: date, until: date) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            query = select(daily_table).where(daily_table.c.day >= since, daily_table.c.day <= until)
            return [dict(row._mapping) for row in conn.execute(query)]


# --------------------------------------------------------------------------- the consumer
@dataclass(frozen=True)
class BrokerSettings:
    url: str = "amqp://guest:guest@127.0.0.1:5672/"
    exchange: str = "signpost-events"
    queue: str = "signpost-outcomes"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "BrokerSettings":
        return cls(environ.get("RABBITMQ_URL", cls.url), environ.get("SIGNPOST_EVENTS_EXCHANGE", cls.exchange),
                   environ.get("SIGNPOST_EVENTS_QUEUE", cls.queue))


@dataclass
class ConsumerStats:
    received: int = 0  # messages (one event each from Rasa's broker, a turn's events from Signpost's)
    events: int = 0    # the events in the readable ones
    counted: int = 0
    duplicates: int = 0
    unreadable: int = 0
    last_message: float = field(default_factory=time.monotonic)


def decode(body: bytes) -> Optional[list[dict[str, Any]]]:
    """The Rasa events in one message, or None if it holds none.

    A message is one event (Rasa's own PikaEventBroker) or a JSON array of them (one turn, from
    bot.event_broker.TurnPikaEventBroker); an array with anything but events in it is unreadable.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    events = data if isinstance(data, list) else [data]
    if events and all(isinstance(event, dict) and isinstance(event.get("event"), str) for event in events):
        return events
    return None


async def consume(settings: BrokerSettings, store: Store, context_of: Callable[[], Context], *,
                  stop_when_idle: Optional[float] = None, stop: Optional[asyncio.Event] = None,
                  on_ready: Optional[Callable[[], None]] = None) -> ConsumerStats:
    """Read events from RabbitMQ until stopped (or idle that long), counting each one once.

    Events are counted in batches (up to BATCH, or whatever came in 0.2 s), one transaction each.
    A message is acknowledged only after its counts are committed, so a crash loses nothing (the
    broker redelivers, and the event key makes the second delivery count nothing). A database
    error puts the batch back and waits before trying again; an unreadable message is dropped.
    """
    import aio_pika

    stats = ConsumerStats()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    waiting: list[Any] = []  # delivered, not yet counted
    full = asyncio.Event()
    connection = await aio_pika.connect_robust(settings.url)

    async def count(batch: list[Any]) -> None:
        """Count a batch in one transaction, then acknowledge it (or put it all back on a database error)."""
        decoded = [(message, decode(message.body)) for message in batch]
        events = [event for _, found in decoded if found is not None for event in found]
        try:
            results = await loop.run_in_executor(None, store.record_many, events, context_of()) if events else []
        except SQLAlchemyError as exc:
            logger.error("could not store outcomes (%s); %d event(s) go back to the queue", exc, len(batch))
            for message in batch:
                await message.nack(requeue=True)
            await asyncio.sleep(2)
            return
        stats.events += len(events)
        stats.unreadable += sum(1 for _, found in decoded if found is None)
        stats.duplicates += sum(1 for added in results if added is None)
        stats.counted += sum(1 for added in results if added is not None)
        for message, found in decoded:
            if found is None:
                logger.warning("dropped a message that is not a Rasa event (%d bytes)", len(message.body))
        if batch:  # one acknowledgement for the whole batch: it and every earlier delivery on this channel
            await batch[-1].ack(multiple=True)

    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        # the same declarations as Rasa's PikaEventBroker (a fanout exchange, a durable queue bound to it)
        exchange = await channel.declare_exchange(settings.exchange, aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(settings.queue, durable=True)
        await queue.bind(exchange, "")

        async def on_message(message: "aio_pika.abc.AbstractIncomingMessage") -> None:
            stats.received += 1
            stats.last_message = time.monotonic()
            waiting.append(message)
            if len(waiting) >= BATCH:
                full.set()

        tag = await queue.consume(on_message)
        if on_ready:
            on_ready()
        while True:
            try:
                await asyncio.wait_for(full.wait(), timeout=0.2)
            except asyncio.TimeoutError:
                pass
            full.clear()
            if waiting:
                batch = waiting[:]
                del waiting[:]
                await count(batch)
            idle = stop_when_idle is not None and time.monotonic() - stats.last_message > stop_when_idle
            if stop.is_set() or (idle and not waiting):
                break
        await queue.cancel(tag)
        if waiting:  # delivered after the last batch: count them rather than leave them unacknowledged
            await count(waiting[:])
    finally:
        await connection.close()
    return stats


def run_consumer(settings: BrokerSettings, store: Store, context_of: Callable[[], Context],
                 stop_when_idle: Optional[float] = None) -> ConsumerStats:
    """`consume` with SIGINT/SIGTERM stopping it cleanly (unacknowledged messages stay queued)."""

    async def main() -> ConsumerStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await consume(settings, store, context_of, stop_when_idle=stop_when_idle, stop=stop,
                             on_ready=lambda: logger.info("counting events from queue %s", settings.queue))

    try:  # uvloop (it comes with Sanic, under Rasa) handles the stream of small messages with less CPU
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


# --------------------------------------------------------------------------- the report
@dataclass
class Report:
    """The counts of a period, ready to print or plot."""

    since: date
    until: date
    conversations: dict[date, dict[str, int]]   # day -> channel -> conversations
    totals: dict[str, int]                      # metric -> count (all channels)
    by_channel: dict[str, int]                  # channel -> conversations
    scores: dict[str, tuple[int, float]]        # domain -> (scores given, mean)
    services: dict[str, int]                    # category -> services shown

    @property
    def out_of_hours_share(self) -> Optional[float]:
        total = self.totals.get("conversations", 0)
        return self.totals.get("out_of_hours", 0) / total if total else None


def build_report(rows: Iterable[Mapping[str, Any]], since: date, until: date) -> Report:
    conversations: dict[date, dict[str, int]] = {since + timedelta(days=i): {} for i in range((until - since).days + 1)}
    totals: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    score_sums: dict[str, list[float]] = {}
    services: dict[str, int] = {}
    for row in rows:
        metric, count = row["metric"], int(row["count"])
        totals[metric] = totals.get(metric, 0) + count
        if metric == "conversations":
            day = conversations.setdefault(row["day"], {})
            day[row["channel"]] = day.get(row["channel"], 0) + count
            by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + count
        elif metric == "concern_score":
            pair = score_sums.setdefault(row["dimension"], [0, 0.0])
            pair[0] += count
            pair[1] += float(row["total"])
        elif metric == "services_shown":
            services[row["dimension"]] = services.get(row["dimension"], 0) + count
    scores = {domain: (int(n), total / n) for domain, (n, total) in score_sums.items() if n}
    return Report(since, until, conversations, totals, by_channel, scores, services)


TOTAL_LINES = (
    ("conversations", "Conversations"),
    ("messages", "Messages from people"),
    ("assessments", "Check-ins completed"),
    ("handoff_requests", "Asked for a person"),
    ("handoffs", "Handed to the helpline team"),
    ("fallbacks", "Messages the bot was not sure about"),
)


def format_report(report: Report, domain_names: Optional[Mapping[str, str]] = None,
                  category_names: Optional[Mapping[str, str]] = None) -> str:
    """A plain-text table for managers."""
    domain_names, category_names = domain_names or {}, category_names or {}
    days = (report.until - report.since).days + 1
    lines = [f"Signpost outcomes, {report.since:%d %b %Y} to {report.until:%d %b %Y} ({days} day{'s' * (days != 1)})", ""]
    width = 38
    for metric, label in TOTAL_LINES:
        lines.append(f"{label:<{width}}{report.totals.get(metric, 0):>8}")
        if metric == "conversations":
            share = report.out_of_hours_share
            lines.append(f"{'  of which out of hours':<{width}}{report.totals.get('out_of_hours', 0):>8}"
                         + (f"  ({share:.0%})" if share is not None else ""))
    channels = sorted(report.by_channel)
    lines += ["", "Conversations per day, by channel"]
    header = f"{'Day':<12}" + "".join(f"{c[:12]:>13}" for c in channels) + f"{'Total':>8}"
    lines.append(header)
    for day in sorted(report.conversations):
        counts = report.conversations[day]
        lines.append(f"{day:%a %d %b} " + "".join(f"{counts.get(c, 0):>13}" for c in channels)
                     + f"{sum(counts.values()):>8}")
    lines += ["", "Mean concern score (0 = no worry, 10 = a great deal)"]
    if report.scores:
        for domain, (n, mean) in sorted(report.scores.items(), key=lambda item: -item[1][1]):
            lines.append(f"  {domain_names.get(domain, domain):<{width - 2}}{mean:>8.1f}  from {n} answer{'s' * (n != 1)}")
    else:
        lines.append("  (no check-in answers in this period)")
    lines += ["", "Services shown, by category"]
    if report.services:
        for category, count in sorted(report.services.items(), key=lambda item: -item[1]):
            lines.append(f"  {category_names.get(category, category):<{width - 2}}{count:>8}")
    else:
        lines.append("  (no services shown in this period)")
    return "\n".join(lines) + "\n"


def plot_report(report: Report, path: Path, domain_names: Optional[Mapping[str, str]] = None,
                category_names: Optional[Mapping[str, str]] = None) -> None:
    """A one-page PNG: conversations per day by channel, mean concern per domain, services per category."""
    domain_names, category_names = domain_names or {}, category_names or {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, left, right) = plt.subplots(3, 1, figsize=(9, 11), gridspec_kw={"height_ratios": [1.3, 1, 1]})
    days = sorted(report.conversations)
    channels = sorted(report.by_channel) or ["(none)"]
    bottom = [0] * len(days)
    for channel in channels:
        heights = [report.conversations[d].get(channel, 0) for d in days]
        top.bar([d.strftime("%d %b") for d in days], heights, bottom=bottom, label=channel)
        bottom = [b + h for b, h in zip(bottom, heights)]
    share = report.out_of_hours_share
    top.set_title("Conversations per day, by channel" + (f" ({share:.0%} out of hours)" if share is not None else ""))
    top.set_ylabel("conversations")
    top.legend(loc="upper left", fontsize="small")
    top.tick_params(axis="x", labelrotation=45, labelsize="small")

    domains = sorted(report.scores, key=lambda d: report.scores[d][1])
    left.barh([domain_names.get(d, d) for d in domains], [report.scores[d][1] for d in domains], color="#b5486a")
    left.set_xlim(0, 10)
    left.set_title("Mean concern score by area (0 to 10)")
    for index, domain in enumerate(domains):
        left.text(report.scores[domain][1] + 0.1, index, f"{report.scores[domain][1]:.1f} (n={report.scores[domain][0]})",
                  va="center", fontsize="small")

    categories = sorted(report.services, key=lambda c: report.services[c])
    right.barh([category_names.get(c, c) for c in categories], [report.services[c] for c in categories],
               color="#2f6f8f")
    right.set_title("Services shown, by category")
    for axis, empty in ((left, not domains), (right, not categories)):
        if empty:
            axis.text(0.5, 0.5, "nothing in this period", ha="center", va="center", transform=axis.transAxes)
    figure.suptitle(f"Signpost outcomes, {report.since:%d %b %Y} to {report.until:%d %b %Y}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def names_from_knowledge(knowledge: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Friendly names: domain id -> label, category id -> name."""
    domains = {d["id"]: d.get("label", d["id"]) for d in knowledge.assessment["domains"]}
    categories = {cid: c.get("name", cid) for cid, c in knowledge.categories.items()}
    return domains, categories


def period(days: int, today: Optional[date] = None) -> tuple[date, date]:
    until = today or datetime.now(hours.UK).date()
    return until - timedelta(days=days - 1), until
