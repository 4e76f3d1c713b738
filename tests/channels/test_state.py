"""The channels' shared memory in SQL: what one instance stores, another reads; it expires and stays bounded.

Every test runs on SQLite and on the local PostgreSQL (a schema of its own, dropped afterwards).
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from channels import state as channel_state
from channels.state import ChannelState, SmsState, SqlPayloadStore
from signposting.telegram_render import render_telegram

POSTGRES = os.environ.get("SIGNPOST_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


class Clock:
    """A clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}", future=True)
        yield engine
        engine.dispose()
        return
    schema = "channels_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES, future=True)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES}")
    engine = create_engine(POSTGRES, future=True, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_every_table_has_the_channel_prefix_and_is_in_the_exported_metadata():
    assert sorted(channel_state.metadata.tables) == [
        "channel_opt_outs", "channel_seen_messages", "channel_sms_state", "channel_telegram_payloads",
        "channel_webchat_outbox"]


def test_what_one_instance_stores_another_reads(engine):
    one, two = ChannelState(engine=engine), ChannelState(engine=engine)  # tables created once, twice is fine
    options = [{"title": "Money worries", "payload": "/ask_financial_support"}]
    one.sms_put("sms-a", SmsState(options, "the rest 👋"))
    assert two.sms_get("sms-a") == SmsState(options, "the rest 👋")
    one.sms_put("sms-a", SmsState([], None))  # replaced, not added
    assert two.sms_get("sms-a") == SmsState() and two.sms_get("sms-unknown") == SmsState()
    store_one, store_two = SqlPayloadStore(one), SqlPayloadStore(two)
    payload = '/inform{"choice":"attendance_allowance","nation":"northern_ireland","x":"long"}'
    data = render_telegram([{"text": "Pick", "buttons": [{"title": "AA", "payload": payload}]}],
                           store_one)[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert store_two.resolve(data) == payload and store_two.resolve("p:" + "0" * 16) is None


def test_a_message_id_is_new_once(engine):
    one, two = ChannelState(engine=engine), ChannelState(engine=engine)
    assert one.first_time("twilio", "SM1") is True
    assert two.first_time("twilio", "SM1") is False and one.first_time("twilio", "SM1") is False
    assert one.first_time("telegram:123", "SM1") is True  # another channel's ids are its own


def test_rows_expire(engine):
    clock = Clock()
    state = ChannelState(engine=engine, ttl=3600, clock=clock)
    state.sms_put("sms-a", SmsState([{"title": "A", "payload": "/a"}], "more"))
    state.payload_put("p:1", "/payload")
    state.outbox_add("web-a", {"text": "hi", "buttons": []})
    clock.now += 3601
    assert state.sms_get("sms-a") == SmsState() and state.payload_get("p:1") is None
    assert state.outbox_take("web-a") == []
    assert state.prune() >= 3 and state.count(channel_state.sms_state_table) == 0


def test_tables_stay_within_their_capacity_oldest_first(engine):
    clock = Clock()
    state = ChannelState(engine=engine, capacity=5, prune_every=1, clock=clock)
    for n in range(12):
        clock.now += 1
        state.sms_put(f"sms-{n}", SmsState([], f"text {n}"))
        state.first_time("twilio", f"SM{n}")
    assert state.count(channel_state.sms_state_table) == 5
    assert state.count(channel_state.seen_messages_table) == 5
    assert state.sms_get("sms-11").more == "text 11" and state.sms_get("sms-0") == SmsState()


def test_the_outbox_keeps_order_and_a_bounded_number_per_chat(engine):
    state = ChannelState(engine=engine)
    for n in range(channel_state.OUTBOX_PER_SENDER + 5):
        state.outbox_add("web-a", {"text": f"message {n}", "buttons": []})
    state.outbox_add("web-b", {"text": "for b", "buttons": []})
    taken = ChannelState(engine=engine).outbox_take("web-a")
    assert len(taken) == channel_state.OUTBOX_PER_SENDER and taken[0]["text"] == "message 5"
    assert [m["text"] for m in taken] == [f"message {n}" for n in range(5, channel_state.OUTBOX_PER_SENDER + 5)]
    assert state.outbox_take("web-a") == [] and state.outbox_take("web-b") == [{"text": "for b", "buttons": []}]


def test_forget_removes_one_conversation_but_keeps_its_opt_out(engine):
    state = ChannelState(engine=engine)
    state.sms_put("sms-a", SmsState([], "more"))
    state.sms_put("sms-b", SmsState([], "more"))
    state.outbox_add("sms-a", {"text": "x", "buttons": []})
    state.opt_out("sms-a")
    assert state.forget("sms-a") == 2
    assert state.sms_get("sms-a") == SmsState() and state.sms_get("sms-b").more == "more"
    assert state.opted_out("sms-a") and state.opt_in("sms-a") and not state.opted_out("sms-a")
    assert state.opt_in("sms-a") is False


def test_the_default_state_follows_database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    first = channel_state.default()
    assert channel_state.default() is first
    first.sms_put("sms-x", SmsState([], "kept"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    assert channel_state.default() is not first and channel_state.default().sms_get("sms-x") == SmsState()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    assert channel_state.forget("sms-x") == 1


def test_two_pollers_at_once_never_get_the_same_message(engine):
    """The web chat page may poll two instances (or two threads) at the same moment."""
    from concurrent.futures import ThreadPoolExecutor

    writer = ChannelState(engine=engine)
    for n in range(40):
        writer.outbox_add("web-a", {"text": f"message {n}", "buttons": []})
    readers = [ChannelState(engine=engine) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        batches = list(pool.map(lambda reader: reader.outbox_take("web-a"), readers))
    taken = [m["text"] for batch in batches for m in batch]
    assert sorted(taken) == sorted(f"message {n}" for n in range(40))  # each exactly once
    for batch in batches:  # and each poller's share in order
        numbers = [int(m["text"].split()[1]) for m in batch]
        assert numbers == sorted(numbers)

