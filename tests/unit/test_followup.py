"""Follow-ups: booked only with consent, sent once by a scheduler that survives restarts and races, never
after "stop", "delete my data" or a withdrawn consent, retried a few times and then marked failed."""
from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, update
from sqlalchemy.exc import OperationalError

from signposting import consent, followup, hours, privacy
from tests.support.people_db import database  # noqa: F401  (an empty database for each test)

SENDER = "web-" + "1" * 32
OTHER = "tg-" + "2" * 40
BOOKED = datetime(2026, 11, 23, 11, 0, tzinfo=timezone.utc)     # a Monday, 11am in London
DUE = BOOKED + timedelta(weeks=2)
POSTGRES = os.environ.get("SIGNPOST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class FakeDeliver:
    """Stands in for channels.outbound.deliver: records what would have been sent, or fails on purpose."""

    def __init__(self, fail: int = 0, delay: float = 0.0, side_effect=None) -> None:
        self.calls: list[tuple[str, str, str, list]] = []
        self.fail, self.delay, self.side_effect = fail, delay, side_effect
        self.lock = threading.Lock()

    def __call__(self, sender_id: str, channel: str, text: str, buttons: list) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.calls.append((sender_id, channel, text, buttons))
            failing = len(self.calls) <= self.fail
        if self.side_effect:
            self.side_effect(sender_id)
        if failing:
            raise ConnectionError("the provider did not answer")

    @property
    def senders(self) -> list[str]:
        return [call[0] for call in self.calls]



@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, database, monkeypatch):
    """The SQLite file, or a fresh schema on the test PostgreSQL server (skipped if it is not running)."""
    if request.param == "sqlite":
        yield database
        return
    schema = "followup_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES, future=True)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except OperationalError:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES}")
    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    try:
        yield url
    finally:
        consent.dispose_engines()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def agree(sender_id: str = SENDER) -> consent.ConsentRecord:
    return consent.give(sender_id, consent.FOLLOWUP, consent.SIGNPOST, "Can I check in with you in 2 weeks?", BOOKED)


def book(sender_id: str = SENDER, channel: str = "web", weeks: int = 2, now: datetime = BOOKED) -> followup.FollowUp:
    agree(sender_id)
    return followup.schedule(sender_id, channel, weeks, now)


# --------------------------------------------------------------------------- booking
def test_booking_needs_consent_and_stores_nothing_without_it():
    with pytest.raises(consent.ConsentRequired):
        followup.schedule(SENDER, "web", 2, BOOKED)
    assert followup.counts()["scheduled"] == 0 and followup.pending(SENDER) is None


def test_only_one_two_or_four_weeks():
    agree()
    for weeks in (0, 3, 52):
        with pytest.raises(ValueError):
            followup.schedule(SENDER, "web", weeks, BOOKED)


def test_a_follow_up_is_due_after_the_chosen_weeks_and_says_when():
    booked = book(weeks=2)
    assert booked.status == "scheduled" and booked.due_at == DUE and booked.attempts == 0
    assert booked.due_text() == "Monday 7 December"
    assert booked.consent_id == consent.active(SENDER, consent.FOLLOWUP).id
    assert followup.due(DUE - timedelta(minutes=1)) == []
    assert [f.id for f in followup.due(DUE)] == [booked.id]


def test_a_follow_up_due_at_night_waits_for_the_morning_uk_time():
    late = datetime(2026, 7, 1, 21, 30, tzinfo=hours.UK)       # asked at 9.30pm (BST)
    assert followup.due_time(late, 1) == datetime(2026, 7, 9, 10, 0, tzinfo=hours.UK)
    early = datetime(2026, 1, 7, 6, 0, tzinfo=timezone.utc)    # 6am in January
    assert followup.due_time(early, 4) == datetime(2026, 2, 4, 10, 0, tzinfo=hours.UK)


def test_booking_again_replaces_the_one_already_booked():
    first = book(weeks=1)
    second = followup.schedule(SENDER, "web", 4, BOOKED)
    assert followup.get(first.id).status == "cancelled" and followup.get(first.id).reason == "replaced"
    assert followup.pending(SENDER).id == second.id and followup.counts()["scheduled"] == 1


# --------------------------------------------------------------------------- sending
def test_the_scheduler_sends_a_due_follow_up_once_with_the_wording_and_buttons(any_db, knowledge):
    booked = book(channel="web")
    deliver = FakeDeliver()
    scheduler = followup.Scheduler(deliver, knowledge=knowledge)
    assert scheduler.run_once(DUE - timedelta(seconds=1)) == 0 and deliver.calls == []
    assert scheduler.run_once(DUE) == 1
    assert scheduler.run_once(DUE + timedelta(hours=1)) == 0
    assert deliver.calls == [(SENDER, "web", knowledge.say("followup_message"), [
        {"title": "Yes, check in", "payload": "/followup_checkin"}, {"title": "Not now", "payload": "/deny"},
        {"title": "Stop these messages", "payload": "/stop_followups"}])]
    sent = followup.get(booked.id)
    assert sent.status == "sent" and sent.sent_at == DUE and sent.attempts == 1
    assert followup.pending(SENDER) is None


def test_an_async_deliver_function_is_awaited():
    book()
    delivered = []

    async def deliver(sender_id, channel, text, buttons):
        await asyncio.sleep(0)
        delivered.append(sender_id)

    assert followup.Scheduler(deliver).run_once(DUE) == 1 and delivered == [SENDER]


def test_a_restarted_scheduler_sends_the_pending_follow_up_exactly_once(any_db):
    booked = book()
    deliver = FakeDeliver()
    assert followup.Scheduler(deliver).run_once(BOOKED + timedelta(days=1)) == 0
    consent.dispose_engines()                      # the process stops: every connection closed
    restarted = followup.Scheduler(deliver)        # and starts again, with a new engine, on the same database
    assert restarted.run_once(DUE + timedelta(days=1)) == 1
    consent.dispose_engines()
    assert followup.Scheduler(deliver).run_once(DUE + timedelta(days=2)) == 0
    assert deliver.senders == [SENDER] and followup.get(booked.id).status == "sent"


def test_a_scheduler_that_died_while_sending_is_taken_over_after_the_claim_times_out():
    booked = book()
    deliver = FakeDeliver()
    assert followup.Scheduler(deliver).claim(DUE) == [booked.id]     # ... and the process is killed
    consent.dispose_engines()
    restarted = followup.Scheduler(deliver)
    assert restarted.run_once(DUE + timedelta(minutes=1)) == 0        # it may still be sending
    assert restarted.run_once(DUE + followup.CLAIM_TIMEOUT + timedelta(minutes=1)) == 1
    assert deliver.senders == [SENDER]


def test_two_schedulers_racing_send_each_follow_up_once(any_db):
    people = [f"web-{i:032d}" for i in range(12)]
    for person in people:
        book(person)
    deliver = FakeDeliver(delay=0.01)
    schedulers = [followup.Scheduler(deliver, batch=5) for _ in range(2)]
    start = threading.Barrier(len(schedulers))
    sent: list[int] = []

    def run(scheduler):
        start.wait()
        sent.append(scheduler.run_once(DUE))

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(deliver.senders) == sorted(people)     # everyone once, nobody twice
    assert sum(sent) == len(people) and followup.counts()["sent"] == len(people)


# --------------------------------------------------------------------------- never after stop, delete, withdraw
def test_stop_opt_out_means_nothing_is_sent():
    stopped = book(OTHER, channel="telegram")
    book(SENDER)
    deliver = FakeDeliver()
    scheduler = followup.Scheduler(deliver, opted_out=lambda sender_id: sender_id == OTHER)
    assert scheduler.run_once(DUE) == 1 and deliver.senders == [SENDER]
    assert followup.get(stopped.id).status == "cancelled" and followup.get(stopped.id).reason == "opted out"


def test_stop_these_messages_cancels_the_follow_up():
    booked = book()
    assert followup.cancel(SENDER, "stopped") == 1
    deliver = FakeDeliver()
    assert followup.Scheduler(deliver).run_once(DUE) == 0 and deliver.calls == []
    assert followup.get(booked.id).reason == "stopped"


def test_delete_my_data_stops_a_scheduled_follow_up():
    booked = book()
    report = privacy.delete_everywhere(SENDER)
    assert report.removed["follow-ups"] == 1 and followup.get(booked.id) is None
    deliver = FakeDeliver()
    assert followup.Scheduler(deliver).run_once(DUE) == 0 and deliver.calls == []


def test_withdrawing_consent_stops_a_scheduled_follow_up(any_db):
    booked = book()
    consent.withdraw(SENDER, consent.FOLLOWUP)
    assert followup.get(booked.id).status == "cancelled" and followup.get(booked.id).reason == "consent withdrawn"
    deliver = FakeDeliver()
    assert followup.Scheduler(deliver).run_once(DUE) == 0 and deliver.calls == []


def test_consent_is_checked_again_right_before_sending():
    booked = book()
    with consent.engine().begin() as conn:   # withdrawn by another process whose hooks have not run yet
        conn.execute(update(consent.consent_table).values(withdrawn_at=BOOKED + timedelta(days=1)))
    deliver = FakeDeliver()
    assert followup.Scheduler(deliver).run_once(DUE) == 0 and deliver.calls == []
    assert followup.get(booked.id).reason == "consent withdrawn"


def test_a_follow_up_cancelled_after_it_was_claimed_is_not_sent():
    first = book(OTHER, now=BOOKED - timedelta(hours=1))
    second = book(SENDER)
    deliver = FakeDeliver(side_effect=lambda sender_id: followup.cancel(SENDER, "stopped"))
    assert followup.Scheduler(deliver).run_once(DUE) == 1      # both claimed; the second is stopped meanwhile
    assert deliver.senders == [OTHER]
    assert followup.get(first.id).status == "sent" and followup.get(second.id).status == "cancelled"


# --------------------------------------------------------------------------- failures
def test_a_failed_delivery_is_retried_with_growing_waits_then_marked_failed():
    booked = book()
    deliver = FakeDeliver(fail=99)
    scheduler = followup.Scheduler(deliver)
    moment = DUE
    assert scheduler.run_once(moment) == 0
    for wait in (timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=50)):
        retry = followup.get(booked.id)
        assert retry.status == "scheduled" and retry.due_at == moment + wait
        assert "ConnectionError" in retry.last_error
        assert scheduler.run_once(moment + wait - timedelta(seconds=1)) == 0    # not before its time
        moment += wait
        assert scheduler.run_once(moment) == 0
    failed = followup.get(booked.id)
    assert failed.status == "failed" and failed.attempts == followup.RETRIES + 1 == len(deliver.calls)
    assert scheduler.run_once(moment + timedelta(days=1)) == 0 and len(deliver.calls) == 4


def test_a_retry_that_gets_through_is_sent_once():
    booked = book()
    deliver = FakeDeliver(fail=1)
    scheduler = followup.Scheduler(deliver)
    assert scheduler.run_once(DUE) == 0
    assert scheduler.run_once(DUE + timedelta(minutes=2)) == 1
    assert followup.get(booked.id).status == "sent" and followup.get(booked.id).attempts == 2


def test_run_forever_sends_then_stops_when_asked():
    book()
    deliver = FakeDeliver()
    stop = threading.Event()
    scheduler = followup.Scheduler(deliver, poll_seconds=0.05, now=lambda: DUE)
    thread = threading.Thread(target=scheduler.run_forever, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while not deliver.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and deliver.senders == [SENDER]


def test_retention_removes_finished_follow_ups_only():
    sent = book()
    followup.Scheduler(FakeDeliver()).run_once(DUE)
    later = book(OTHER, now=DUE)
    assert followup.purge(30, now=DUE + timedelta(days=31)) == 1
    assert followup.get(sent.id) is None and followup.get(later.id).status == "scheduled"


# --------------------------------------------------------------------------- command line
def test_cli_lists_counts_and_sends_without_naming_anyone(monkeypatch):
    from signposting import cli_followup
    from signposting.cli import app

    book()
    deliver = FakeDeliver()
    monkeypatch.setattr(cli_followup, "real_deliver", deliver)
    monkeypatch.setattr(cli_followup, "real_opted_out", lambda sender_id: False)
    runner = CliRunner()
    listed = runner.invoke(app, ["followups", "list"])
    assert listed.exit_code == 0 and "scheduled: 1" in listed.output
    with consent.engine().begin() as conn:   # make it due now
        conn.execute(update(followup.followups_table).values(due_at=datetime.now(timezone.utc)))
    ran = runner.invoke(app, ["followups", "run", "--once"])
    assert ran.exit_code == 0, ran.output
    assert "1 sent" in ran.output and SENDER not in ran.output and deliver.senders == [SENDER]
    agreed = runner.invoke(app, ["consent", "list", SENDER])
    assert agreed.exit_code == 0 and "followup: shared with Signpost (this service)" in agreed.output
