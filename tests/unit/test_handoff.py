"""The handoff core: consent first, the staff queue, callbacks, take over, close, withdraw and delete."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, insert, select

from signposting import handoff, hours

UK = hours.UK
SENDER = "web-" + "a" * 32
OTHER = "web-" + "b" * 32
SUMMARY = {"role": "carer", "what_matters": "money worries", "scores": {"financial": 9}}
SUMMARY_TEXT = "Carer. What matters most: money worries. Money 9/10."


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test gets its own empty handoff database."""
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    return url


def consent(phone: bool = False, share: bool = True) -> handoff.Consent:
    return handoff.Consent(share_summary=share, store_phone=phone, scope="helpline handoff",
                           recipient="helpline staff", given_at=datetime(2026, 11, 23, 10, 0, tzinfo=UK))


def rows(table) -> int:
    with handoff.engine().connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def line(days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), opens="08:00", closes="20:00",
         bank_holidays="same") -> SimpleNamespace:
    """A knowledge stand-in holding only the helpline whose hours decide 'open now'."""
    helpline = {"id": handoff.HELPLINE_ID, "name": "Test line", "phone": "0808 000 0000", "open_24_7": False,
                "hours": [{"days": list(days), "opens": opens, "closes": closes}], "bank_holidays": bank_holidays}
    return SimpleNamespace(helplines={handoff.HELPLINE_ID: helpline})


# --------------------------------------------------------------------------- opening hours
def test_open_now_uses_uk_time_and_says_when_it_closes(knowledge):
    # 07:30 UTC in July is 08:30 in London (BST): open, until 8pm
    status = handoff.helpline_status(datetime(2026, 7, 1, 7, 30, tzinfo=timezone.utc), knowledge)
    assert status.open_now and status.closes_text() == "8pm"
    assert status.describe() == "Open now until 8pm"
    # 07:30 UTC in January is 07:30 in London: not open yet
    early = handoff.helpline_status(datetime(2026, 1, 7, 7, 30, tzinfo=timezone.utc), knowledge)
    assert not early.open_now and early.next_open == datetime(2026, 1, 7, 8, 0, tzinfo=UK)


def test_closed_in_the_evening_says_when_it_next_opens(knowledge):
    now = datetime(2026, 11, 23, 21, 0, tzinfo=UK)  # a Monday, 9pm
    status = handoff.helpline_status(now, knowledge)
    assert not status.open_now
    assert status.next_open_text(now) == "at 8am tomorrow"
    assert status.describe(now) == "Closed, opens at 8am tomorrow"
    assert status.phone == knowledge.helplines[handoff.HELPLINE_ID]["phone"]


def test_bank_holidays_close_a_line_that_closes_on_them():
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=UK)
    closed = handoff.helpline_status(christmas, line(bank_holidays="closed"))
    assert not closed.open_now and closed.next_open == datetime(2026, 12, 27, 8, 0, tzinfo=UK)  # 26th is Boxing Day
    # a weekday line: Christmas is a Friday and Monday 28th is the substitute for Boxing Day on a Saturday
    weekdays = line(days=("mon", "tue", "wed", "thu", "fri"), bank_holidays="closed")
    assert handoff.helpline_status(christmas, weekdays).next_open == datetime(2026, 12, 29, 8, 0, tzinfo=UK)
    assert handoff.helpline_status(christmas, line(bank_holidays="same")).open_now
    # Scotland has 2 January as a bank holiday; England does not
    jan2 = datetime(2026, 1, 2, 10, 0, tzinfo=UK)
    assert not handoff.helpline_status(jan2, line(bank_holidays="closed"), nation="scotland").open_now
    assert handoff.helpline_status(jan2, line(bank_holidays="closed"), nation="england").open_now


# --------------------------------------------------------------------------- consent and the queue
def test_nothing_is_queued_or_stored_without_consent_to_share():
    with pytest.raises(handoff.ConsentError, match="not agreed"):
        handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent(share=False))
    with pytest.raises(handoff.ConsentError):
        handoff.request_callback(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, "07700 900123", "morning", "call",
                                 consent(phone=True, share=False))
    assert handoff.queue() == []
    assert rows(handoff.requests_table) == 0 and rows(handoff.consents_table) == 0


def test_a_consented_request_waits_in_the_queue_with_its_consent_and_summary():
    made = handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent())
    assert made.status == "waiting" and made.kind == "chat"
    [queued] = handoff.queue()
    assert queued.id == made.id and queued.sender_id == SENDER
    assert queued.summary == SUMMARY and queued.summary_text == SUMMARY_TEXT
    assert queued.consent.scope == "helpline handoff" and queued.consent.recipient == "helpline staff"
    assert queued.consent.given_at == datetime(2026, 11, 23, 10, 0, tzinfo=UK)
    assert not handoff.is_taken_over(SENDER)


def test_asking_again_keeps_one_request_and_its_place_with_the_newest_summary():
    first = handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent())
    handoff.request_handoff(OTHER, "telegram", {}, "Second person", consent())
    again = handoff.request_handoff(SENDER, "webchat", {"more": 1}, "Updated summary", consent())
    assert again.id == first.id and again.created_at == first.created_at
    assert [h.sender_id for h in handoff.queue()] == [SENDER, OTHER]
    assert handoff.get(first.id).summary_text == "Updated summary"
    assert rows(handoff.requests_table) == 2


def test_a_request_without_a_sharing_consent_row_is_invisible_to_staff():
    """Even if a request row exists (a bug, an old row), staff queries only return consented ones."""
    with handoff.engine().begin() as conn:
        consent_id = conn.execute(insert(handoff.consents_table).values(
            sender_id=OTHER, share_summary=False, store_phone=False, scope="asked not to share",
            recipient="helpline staff", given_at=handoff.now_utc())).inserted_primary_key[0]
        hidden_id = conn.execute(insert(handoff.requests_table).values(
            sender_id=OTHER, channel="webchat", kind="chat", status="waiting", consent_id=consent_id,
            summary_json="{}", summary_text="must never be seen", created_at=handoff.now_utc(),
            updated_at=handoff.now_utc())).inserted_primary_key[0]
    shown = handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent())
    assert [h.id for h in handoff.queue()] == [shown.id]
    assert handoff.get(hidden_id) is None
    assert handoff.open_request(OTHER) is None
    with pytest.raises(handoff.HandoffError):
        handoff.take_over(hidden_id, "sam")


def test_withdrawing_consent_removes_the_request_summary_and_phone():
    handoff.request_callback(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, "07700 900123", "morning", "call",
                             consent(phone=True))
    handoff.request_handoff(OTHER, "webchat", {}, "someone else", consent())
    removed = handoff.withdraw_consent(SENDER)
    assert removed == 1
    assert [h.sender_id for h in handoff.queue()] == [OTHER]
    with handoff.engine().connect() as conn:
        stored = conn.execute(select(handoff.requests_table.c.phone, handoff.requests_table.c.summary_text)).all()
        withdrawn = conn.execute(select(handoff.consents_table.c.withdrawn_at).where(
            handoff.consents_table.c.sender_id == SENDER)).scalars().all()
    assert all(phone is None for phone, _ in stored) and all("money" not in text for _, text in stored)
    assert withdrawn and all(when is not None for when in withdrawn)


# --------------------------------------------------------------------------- callbacks
def test_a_callback_keeps_the_number_only_with_consent_and_says_when():
    friday_night = datetime(2026, 11, 27, 21, 0, tzinfo=UK)
    kept = handoff.request_callback(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, "+44 7700 900123", "afternoon", "call",
                                    consent(phone=True), now=friday_night, knowledge=line())
    assert kept.phone_stored and kept.handoff.phone == "07700900123" and kept.phone_ending() == "ending 123"
    assert kept.call_from == datetime(2026, 11, 28, 12, 0, tzinfo=UK)
    assert kept.when_text(friday_night) == "at 12pm tomorrow"
    assert kept.handoff.status == "callback" and kept.handoff.kind == "callback"

    not_kept = handoff.request_callback(OTHER, "sms", SUMMARY, SUMMARY_TEXT, "07700 900456", "morning", "text",
                                        consent(phone=False), now=friday_night, knowledge=line())
    assert not not_kept.phone_stored and not_kept.handoff.phone is None
    with handoff.engine().connect() as conn:
        phones = conn.execute(select(handoff.requests_table.c.phone)).scalars().all()
    assert "07700900456" not in phones


def test_a_number_that_is_not_a_uk_phone_stores_nothing():
    with pytest.raises(ValueError, match="UK phone number"):
        handoff.request_callback(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, "call me maybe", "morning", "call",
                                 consent(phone=True))
    assert rows(handoff.requests_table) == 0


@pytest.mark.parametrize("preferred, expected", [
    ("morning", datetime(2026, 11, 28, 8, 0, tzinfo=UK)),
    ("afternoon", datetime(2026, 11, 28, 12, 0, tzinfo=UK)),
    ("any_time", datetime(2026, 11, 28, 8, 0, tzinfo=UK)),
    ("evening", datetime(2026, 11, 28, 17, 0, tzinfo=UK)),
])
def test_expected_call_time_falls_in_opening_hours_and_the_chosen_part_of_the_day(preferred, expected):
    friday_night = datetime(2026, 11, 27, 21, 0, tzinfo=UK)
    assert handoff.expected_call(preferred, friday_night, line()) == expected


def test_a_time_of_day_the_line_is_never_open_falls_back_to_the_next_opening():
    weekday_line = line(days=("mon", "tue", "wed", "thu", "fri"), opens="09:00", closes="17:00")
    friday_night = datetime(2026, 11, 27, 21, 0, tzinfo=UK)
    assert handoff.expected_call("evening", friday_night, weekday_line) == datetime(2026, 11, 30, 9, 0, tzinfo=UK)
    # while open, a call can come now
    monday_10 = datetime(2026, 11, 30, 10, 0, tzinfo=UK)
    assert handoff.expected_call("morning", monday_10, weekday_line) == monday_10


# --------------------------------------------------------------------------- staff actions
def test_take_over_hand_back_and_close_with_an_outcome():
    made = handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent())
    taken = handoff.take_over(made.id, "sam")
    assert taken.status == "taken" and taken.taken_by == "sam" and handoff.is_taken_over(SENDER)
    with pytest.raises(handoff.HandoffError, match="sam is already talking"):
        handoff.take_over(made.id, "alex")
    message = handoff.add_staff_message(made.id, "sam", "  Hello, I'm Sam.  ")
    assert message.text == "Hello, I'm Sam." and [m.text for m in handoff.staff_messages(made.id)] == ["Hello, I'm Sam."]
    with pytest.raises(handoff.HandoffError, match="Take over"):
        handoff.add_staff_message(made.id, "alex", "not mine to answer")
    back = handoff.hand_back(made.id, "sam")
    assert back.status == "handed_back" and not handoff.is_taken_over(SENDER)
    with pytest.raises(handoff.HandoffError, match="Choose an outcome"):
        handoff.close(made.id, "sorted it", "sam")
    closed = handoff.close(made.id, "advice given", "sam")
    assert closed.status == "closed" and closed.outcome == "advice given" and closed.closed_by == "sam"
    assert handoff.queue() == [] and handoff.open_request(SENDER) is None
    with pytest.raises(handoff.HandoffError, match="closed"):
        handoff.take_over(made.id, "sam")
    actions = [row["action"] for row in handoff.audit_log(SENDER)]
    assert actions == ["requested", "took over", "sent a message", "handed back", "closed: advice given"]


def test_closing_a_callback_erases_the_phone_number():
    made = handoff.request_callback(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, "07700 900123", "morning", "call",
                                    consent(phone=True))
    handoff.close(made.id, "callback made", "sam")
    with handoff.engine().connect() as conn:
        assert conn.execute(select(handoff.requests_table.c.phone)).scalar() is None


def test_only_one_of_two_staff_taking_at_the_same_moment_gets_it():
    made = handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent())
    results: list[str] = []
    barrier = threading.Barrier(6)

    def grab(name: str) -> None:
        barrier.wait()
        try:
            handoff.take_over(made.id, name)
            results.append(name)
        except handoff.HandoffError:
            results.append("refused")

    threads = [threading.Thread(target=grab, args=(f"staff{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r != "refused"]
    assert len(winners) == 1 and handoff.get(made.id).taken_by == winners[0]


def test_release_puts_a_request_back_when_the_bot_could_not_be_paused():
    made = handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent())
    handoff.take_over(made.id, "sam")
    handoff.release(made.id, "sam", "waiting")
    again = handoff.get(made.id)
    assert again.status == "waiting" and again.taken_by is None and not handoff.is_taken_over(SENDER)


def test_staff_messages_must_have_text_and_a_sensible_length():
    made = handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent())
    handoff.take_over(made.id, "sam")
    with pytest.raises(handoff.HandoffError, match="Type a message"):
        handoff.add_staff_message(made.id, "sam", "   ")
    with pytest.raises(handoff.HandoffError, match="too long"):
        handoff.add_staff_message(made.id, "sam", "x" * (handoff.MAX_STAFF_MESSAGE + 1))
    assert handoff.staff_messages(made.id) == []


# --------------------------------------------------------------------------- deletion and retention
def test_delete_my_data_removes_everything_but_an_anonymous_record():
    made = handoff.request_callback(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, "07700 900123", "morning", "call",
                                    consent(phone=True))
    handoff.take_over(made.id, "sam")
    handoff.add_staff_message(made.id, "sam", "Hello")
    handoff.audit("viewed", made.id, "sam")
    kept = handoff.request_handoff(OTHER, "webchat", {}, "someone else", consent())
    removed = handoff.delete_conversation(SENDER)
    assert removed >= 5
    assert handoff.get(made.id) is None and handoff.audit_log(SENDER) == [] and not handoff.is_taken_over(SENDER)
    with handoff.engine().connect() as conn:
        for table in (handoff.requests_table, handoff.messages_table, handoff.consents_table, handoff.audit_table):
            senders = conn.execute(select(table.c.sender_id)).scalars().all()
            assert SENDER not in senders, table.name
        [record] = conn.execute(select(handoff.deletions_table)).mappings().all()
    assert record["requested_by"] == "person" and record["rows_removed"] == removed
    assert SENDER not in str(dict(record))
    assert handoff.get(kept.id) is not None


def test_purge_removes_only_long_closed_requests():
    old = handoff.request_handoff(SENDER, "webchat", SUMMARY, SUMMARY_TEXT, consent())
    handoff.close(old.id, "referred", "sam")
    live = handoff.request_handoff(OTHER, "webchat", {}, "still waiting", consent())
    assert handoff.purge_closed(timedelta(days=30)) == 0
    assert handoff.purge_closed(timedelta(seconds=-1)) == 1
    assert handoff.get(old.id) is None and handoff.get(live.id) is not None


def test_age_is_said_in_words_staff_read_at_a_glance():
    assert handoff.age_text(timedelta(seconds=20)) == "just now"
    assert handoff.age_text(timedelta(minutes=5)) == "5 min"
    assert handoff.age_text(timedelta(hours=2, minutes=10)) == "2 h 10 min"
    assert handoff.age_text(timedelta(days=3)) == "3 days"
