"""Outcomes: what a conversation event counts as, idempotent anonymous storage, the consumer through
the real RabbitMQ (events published by Rasa's own PikaEventBroker), and the managers' report.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from signposting import cli, cli_ops, hours, outcomes
from signposting import directory as d

ADMIN = "postgresql://root@127.0.0.1/test"
KEY = b"test-only-key"
TUESDAY_10AM = datetime(2026, 11, 24, 10, 0, tzinfo=hours.UK).timestamp()
TUESDAY_11PM = datetime(2026, 11, 24, 23, 0, tzinfo=hours.UK).timestamp()


def user(sender: str, when: float, intent: str = "greet", channel: str = "rest", text_: str = "hello") -> dict:
    return {"sender_id": sender, "event": "user", "timestamp": when, "text": text_, "input_channel": channel,
            "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "text": text_, "entities": []},
            "metadata": {}, "message_id": uuid.uuid4().hex}


def slot(sender: str, when: float, name: str, value: object) -> dict:
    return {"sender_id": sender, "event": "slot", "timestamp": when, "name": name, "value": value}


def action(sender: str, when: float, name: str) -> dict:
    return {"sender_id": sender, "event": "action", "timestamp": when, "name": name, "policy": None,
            "confidence": 1.0}


def bot(sender: str, when: float, text_: str) -> dict:
    return {"sender_id": sender, "event": "bot", "timestamp": when, "text": text_, "data": {}, "metadata": {}}


@pytest.fixture(scope="module")
def context(knowledge) -> outcomes.Context:
    return outcomes.Context.from_knowledge(knowledge)


def services_text(knowledge, *ids: str) -> str:
    lines = [f"{i}. {knowledge.services[s]['name']}: 0800 000 0000 (open)\nWhy: covers England." for i, s in
             enumerate(ids, start=1)]
    return "Here are some services that may help:\n\n" + "\n\n".join(lines)


# --------------------------------------------------------------------------- what events count as
def test_a_message_counts_the_conversation_once_and_out_of_hours_by_the_helpline(context):
    day = outcomes.measures(user("a", TUESDAY_10AM), context)
    night = outcomes.measures(user("a", TUESDAY_11PM, channel="twilio_sms"), context)
    assert [m.metric for m in day] == ["messages", "conversations"]
    assert [m.metric for m in night] == ["messages", "conversations", "out_of_hours"]
    assert {m.channel for m in night} == {"twilio_sms"} and night[1].once == night[2].once


def test_scores_count_only_as_validated_numbers(context):
    assert outcomes.measures(slot("a", TUESDAY_10AM, "score_financial", 9), context) == [
        outcomes.Measure("concern_score", dimension="financial", value=9.0)]
    for raw in ("about a 6", "9", "skipped", None, True, 11, -1):  # the text as typed, a skip, nonsense
        assert outcomes.measures(slot("a", TUESDAY_10AM, "score_financial", raw), context) == []
    assert outcomes.measures(slot("a", TUESDAY_10AM, "what_matters", 7), context) == []


def test_actions_fallbacks_and_handoffs(context):
    assert [m.metric for m in outcomes.measures(action("a", 1.0, "action_assessment_summary"), context)] == [
        "assessments"]
    assert [m.metric for m in outcomes.measures(action("a", 1.0, "action_handoff_done"), context)] == ["handoffs"]
    assert outcomes.measures(action("a", 1.0, "action_listen"), context) == []
    assert "fallbacks" in [m.metric for m in outcomes.measures(user("a", 1.0, "nlu_fallback"), context)]
    assert "handoff_requests" in [m.metric for m in outcomes.measures(user("a", 1.0, "request_human"), context)]


def test_services_shown_count_by_their_categories(context, knowledge):
    ids = list(knowledge.services)[:3]
    found = outcomes.measures(bot("a", 1.0, services_text(knowledge, *ids)), context)
    expected = [c for s in ids for c in knowledge.services[s]["categories"]]
    assert sorted(m.dimension for m in found) == sorted(expected) and {m.metric for m in found} == {"services_shown"}
    assert outcomes.measures(bot("a", 1.0, "1. Something we never listed: call us"), context) == []


# --------------------------------------------------------------------------- storing
@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/outcomes.db"
        cli_ops.upgrade(url)
        yield url
        return
    schema = f"test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN, future=True)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{ADMIN}?options=-csearch_path%3D{schema}"
    try:
        cli_ops.upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def conversation(sender: str, start: float, knowledge) -> list[dict]:
    """A check-in at `start`, then a services list, a person, and a message the bot was unsure of."""
    steps = [user(sender, start, "greet", text_="Hi, my name is Jo Bloggs, 07700 900123"),
             slot(sender, start + 1, "score_emotional", "about a 6"), slot(sender, start + 2, "score_emotional", 6),
             slot(sender, start + 3, "score_financial", 9), slot(sender, start + 4, "what_matters", "my job"),
             action(sender, start + 5, "action_assessment_summary"),
             bot(sender, start + 6, services_text(knowledge, next(iter(knowledge.services)))),
             user(sender, start + 7, "request_human", text_="talk to a person"),
             action(sender, start + 8, "action_handoff_done"), user(sender, start + 9, "nlu_fallback", text_="blorp")]
    return steps


def totals(store: outcomes.Store) -> dict:
    report = outcomes.build_report(store.rows(date(2026, 11, 1), date(2026, 12, 31)), date(2026, 11, 1),
                                   date(2026, 12, 31))
    return {"totals": report.totals, "scores": report.scores, "services": report.services,
            "channels": report.by_channel}


def test_each_event_counts_once_and_nothing_identifying_is_stored(database_url, context, knowledge):
    store = outcomes.Store(d.make_engine(database_url), KEY)
    events = conversation("whatsapp:+447700900123", TUESDAY_11PM, knowledge)
    events += conversation("whatsapp:+447700900123", TUESDAY_11PM + 3600 * 3, knowledge)  # same person, next day
    events += [user("web-2", TUESDAY_10AM, channel="webchat")]
    for event in events + events:  # every event delivered twice
        store.record(event, context)
    counted = totals(store)
    assert counted["totals"]["conversations"] == 3 and counted["totals"]["out_of_hours"] == 2
    assert counted["channels"] == {"rest": 2, "webchat": 1}
    assert counted["totals"]["messages"] == 7 and counted["totals"]["assessments"] == 2
    assert counted["totals"]["handoff_requests"] == 2 and counted["totals"]["handoffs"] == 2
    assert counted["totals"]["fallbacks"] == 2
    assert counted["scores"] == {"emotional": (2, 6.0), "financial": (2, 9.0)}
    assert sum(counted["services"].values()) == 2 * len(next(iter(knowledge.services.values()))["categories"])
    engine = create_engine(database_url, future=True)
    with engine.connect() as conn:
        stored = json.dumps([[list(map(str, row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
                             for table in ("outcomes_daily", "outcomes_seen")])
    engine.dispose()
    for secret in ("447700900123", "whatsapp", "web-2", "Jo Bloggs", "my job", "blorp", "talk to a person"):
        assert secret not in stored


def test_old_keys_are_forgotten_but_counts_stay(database_url, context):
    store = outcomes.Store(d.make_engine(database_url), KEY)
    store.record(user("a", TUESDAY_10AM), context)
    assert store.prune(today=date(2026, 11, 24) + timedelta(days=outcomes.KEEP_KEYS_DAYS + 1)) == 2
    assert totals(store)["totals"]["conversations"] == 1


def test_the_key_file_is_made_once_and_kept_private(tmp_path):
    first = outcomes.outcomes_key({}, tmp_path)
    assert outcomes.outcomes_key({}, tmp_path) == first and len(first) == 64
    assert (tmp_path / "outcomes.key").stat().st_mode & 0o777 == 0o600
    assert outcomes.outcomes_key({"SIGNPOST_OUTCOMES_KEY": "abc"}, tmp_path) == b"abc"


# --------------------------------------------------------------------------- through RabbitMQ
@pytest.fixture()
def broker():
    """A fanout exchange and a queue of their own on the real RabbitMQ, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    settings = outcomes.BrokerSettings("amqp://guest:guest@127.0.0.1:5672/", f"{name}-events", f"{name}-outcomes")
    yield settings

    async def delete() -> None:
        import aio_pika

        connection = await aio_pika.connect_robust(settings.url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(settings.queue)
            await channel.exchange_delete(settings.exchange)

    asyncio.run(delete())


async def publish_like_rasa(settings: outcomes.BrokerSettings, events: list[dict], raw: list[bytes] = ()) -> None:
    """Publish through Rasa's own PikaEventBroker, set up as bot/endpoints.production.yml sets it up."""
    import aio_pika
    import rasa.shared.core.events  # noqa: F401  (the broker uses it; a Rasa server has it loaded)
    from rasa.core.brokers.pika import PikaEventBroker

    broker = PikaEventBroker("amqp://127.0.0.1:5672", username="guest", password="guest",
                             queues=[settings.queue], exchange_name=settings.exchange)
    await broker.connect()
    for event in events:
        broker.publish(event)
    while broker._background_tasks:  # publishing is fire-and-forget in Rasa: wait for it here
        await asyncio.sleep(0.05)
    await broker.close()
    if raw:
        connection = await aio_pika.connect_robust(settings.url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(settings.exchange)
            for body in raw:
                await exchange.publish(aio_pika.Message(body), "")


def test_the_consumer_counts_what_rasa_publishes_once_even_when_redelivered(broker, database_url, context, knowledge):
    store = outcomes.Store(d.make_engine(database_url), KEY)
    events = conversation("rest-user-1", TUESDAY_10AM, knowledge)
    asyncio.run(publish_like_rasa(broker, events + events[:3], raw=[b"not json", b'{"no": "event"}']))
    stats = asyncio.run(outcomes.consume(broker, store, lambda: context, stop_when_idle=1.5))
    # events[:3] sent twice: two of them add to counts and are recognised; the third ("about a 6" in
    # a score slot) adds to nothing, so it is not remembered and its second delivery adds nothing either
    assert (stats.received, stats.events, stats.counted, stats.duplicates, stats.unreadable) == (
        len(events) + 5, len(events) + 3, len(events) + 1, 2, 2)
    counted = totals(store)["totals"]
    assert counted["conversations"] == 1 and counted["assessments"] == 1 and counted.get("out_of_hours", 0) == 0
    # a second consumer (a restart) finds the queue empty and the counts unchanged
    again = asyncio.run(outcomes.consume(broker, store, lambda: context, stop_when_idle=1.0))
    assert again.received == 0 and totals(store)["totals"] == counted


async def publish_turns(settings: outcomes.BrokerSettings, turns: list[list[dict]]) -> None:
    """Publish each turn as one message, through the broker bot/endpoints.production.yml names."""
    import rasa.shared.core.events  # noqa: F401
    from bot.event_broker import TurnPikaEventBroker

    broker = TurnPikaEventBroker("amqp://127.0.0.1:5672", username="guest", password="guest",
                                 queues=[settings.queue], exchange_name=settings.exchange)
    await broker.connect()
    for turn in turns:
        broker.publish_turn(turn)
    while broker._background_tasks:
        await asyncio.sleep(0.05)
    await broker.close()


def test_a_turn_published_as_one_message_counts_as_its_events_did_one_by_one(broker, database_url, context,
                                                                                knowledge, tmp_path):
    events = conversation("rest-user-2", TUESDAY_10AM, knowledge)
    cli_ops.upgrade(f"sqlite:///{tmp_path}/one-by-one.db")
    one_by_one = outcomes.Store(d.make_engine(f"sqlite:///{tmp_path}/one-by-one.db"), KEY)
    for event in events:
        one_by_one.record(event, context)
    expected = totals(one_by_one)["totals"]

    store = outcomes.Store(d.make_engine(database_url), KEY)
    turns = [events[i:i + 4] for i in range(0, len(events), 4)]
    asyncio.run(publish_turns(broker, turns))
    stats = asyncio.run(outcomes.consume(broker, store, lambda: context, stop_when_idle=1.5))
    assert (stats.received, stats.events, stats.unreadable) == (len(turns), len(events), 0)
    assert totals(store)["totals"] == expected and expected["assessments"] == 1


def test_a_message_is_one_event_or_an_array_of_them():
    event = {"event": "user", "text": "hello"}
    assert outcomes.decode(json.dumps(event).encode()) == [event]
    assert outcomes.decode(json.dumps([event, {"event": "bot"}]).encode()) == [event, {"event": "bot"}]
    for body in (b"not json", b"[]", b'{"no": "event"}', json.dumps([event, 3]).encode(), b"\xff"):
        assert outcomes.decode(body) is None


# --------------------------------------------------------------------------- the report
def test_report_table_and_chart(database_url, context, knowledge, tmp_path, monkeypatch):
    store = outcomes.Store(d.make_engine(database_url), KEY)
    today = datetime.now(hours.UK).replace(hour=12, minute=0, second=0, microsecond=0)
    for offset, channel in ((0, "rest"), (0, "twilio_sms"), (1, "telegram")):
        start = (today - timedelta(days=offset)).timestamp()
        for event in conversation(f"{channel}-{offset}", start, knowledge):
            event.update(input_channel=channel) if event["event"] == "user" else None
            store.record(event, context)
    monkeypatch.setenv("DATABASE_URL", database_url)
    png = tmp_path / "outcomes.png"
    result = CliRunner().invoke(cli.app, ["report", "--days", "7", "--png", str(png)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Conversations                                3" in out
    assert "Check-ins completed                          3" in out and "Handed to the helpline team" in out
    money = knowledge.assessment["domains"][[d_["id"] for d_ in knowledge.assessment["domains"]].index("financial")]
    assert f"{money['label']}" in out and "9.0  from 3 answers" in out
    assert "telegram" in out and "twilio_sms" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    bad = CliRunner().invoke(cli.app, ["report", "--days", "0"])
    assert bad.exit_code == 2 and "--days" in bad.output


def test_report_without_tables_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    result = CliRunner().invoke(cli.app, ["report"])
    assert result.exit_code == 1 and "signposting db upgrade" in result.output
