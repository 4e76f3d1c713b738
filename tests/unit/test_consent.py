"""Consent records: each agreement has its own row (scope, recipient, words, time); withdrawing is honoured
everywhere (follow-ups cancelled, kept plans and handoff summaries removed); "delete my data" removes them."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from signposting import consent, followup, handoff, privacy, records
from tests.support.people_db import database  # noqa: F401  (an empty database for each test)

SENDER = "web-" + "c" * 32
OTHER = "web-" + "d" * 32
WHEN = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)



def count(table) -> int:
    with consent.engine().connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_consent_record_keeps_scope_recipient_words_and_time():
    given = consent.give(SENDER, consent.FOLLOWUP, consent.SIGNPOST, "Can I send you a check-in in 2 weeks?", WHEN)
    assert given.active and given.scope == "followup" and given.recipient == "Signpost (this service)"
    found = consent.active(SENDER, consent.FOLLOWUP)
    assert found == given and found.given_at == WHEN and found.wording == "Can I send you a check-in in 2 weeks?"
    assert consent.active(SENDER, consent.KEEP_PLAN) is None      # one scope never stands in for another
    assert consent.active(OTHER, consent.FOLLOWUP) is None        # nor one person for another


def test_the_conversation_id_itself_is_never_stored(database):
    consent.give(SENDER, consent.KEEP_PLAN, consent.SIGNPOST, "Keep my check-in")
    path = Path(database[len("sqlite:///"):])
    raw = b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))   # the file and its WAL
    assert SENDER.encode() not in raw
    with consent.engine().connect() as conn:
        assert conn.execute(select(consent.consent_table.c.sender_key)).scalar_one() == privacy.sender_key(SENDER)


def test_unknown_scopes_and_empty_wording_are_refused():
    with pytest.raises(ValueError):
        consent.give(SENDER, "marketing", consent.SIGNPOST, "Yes")
    with pytest.raises(ValueError):
        consent.give(SENDER, consent.FOLLOWUP, consent.SIGNPOST, "  ")
    with pytest.raises(ValueError):
        consent.withdraw(SENDER, "marketing")
    assert count(consent.consent_table) == 0


def test_what_have_i_agreed_to_lists_every_record_including_withdrawn_ones():
    consent.give(SENDER, consent.KEEP_PLAN, consent.SIGNPOST, "Keep my check-in", WHEN)
    consent.give(SENDER, consent.HANDOFF, consent.HELPLINE_STAFF, "Share my summary with the helpline team", WHEN)
    assert consent.withdraw(SENDER, consent.KEEP_PLAN) == 1
    listed = consent.records(SENDER)
    assert [(r.scope, r.recipient, r.active) for r in listed] == [
        ("keep_plan", "Signpost (this service)", False), ("handoff", "helpline staff", True)]
    assert listed[0].withdrawn_at is not None


def test_withdrawing_one_scope_leaves_the_others():
    consent.give(SENDER, consent.KEEP_PLAN, consent.SIGNPOST, "Keep my check-in")
    consent.give(SENDER, consent.FOLLOWUP, consent.SIGNPOST, "Send me a check-in")
    consent.withdraw(SENDER, consent.FOLLOWUP)
    assert consent.active(SENDER, consent.FOLLOWUP) is None
    assert consent.active(SENDER, consent.KEEP_PLAN) is not None


def test_withdrawing_cancels_follow_ups_deletes_kept_plans_and_handoff_summaries():
    consent.give(SENDER, consent.KEEP_PLAN, consent.SIGNPOST, "Keep my check-in")
    consent.give(SENDER, consent.FOLLOWUP, consent.SIGNPOST, "Send me a check-in")
    consent.give(SENDER, consent.HANDOFF, consent.HELPLINE_STAFF, "Share my summary")
    records.save_plan(SENDER, {"scores": {"financial": 8}})
    booked = followup.schedule(SENDER, "web", 1)
    handoff.request_handoff(SENDER, "web", {"scores": {"financial": 8}}, "Money 8/10.",
                            handoff.Consent(True, False, "Share my summary"))
    assert handoff.open_request(SENDER) is not None

    assert consent.withdraw(SENDER) == 3
    assert consent.active(SENDER, consent.KEEP_PLAN) is None
    assert followup.get(booked.id).status == "cancelled" and followup.get(booked.id).reason == "consent withdrawn"
    assert records.latest_plan(SENDER) is None and count(records.plans_table) == 0
    assert handoff.open_request(SENDER) is None       # staff can no longer see the summary


def test_someone_elses_records_are_untouched_by_a_withdrawal():
    for person in (SENDER, OTHER):
        consent.give(person, consent.KEEP_PLAN, consent.SIGNPOST, "Keep my check-in")
        records.save_plan(person, {"scores": {"work": 3}})
    consent.withdraw(SENDER)
    assert records.latest_plan(OTHER) is not None and records.latest_plan(SENDER) is None


def test_a_failing_hook_does_not_stop_the_others_and_is_not_reported_as_done():
    calls = []

    def broken(sender_id, scope):
        raise RuntimeError("down")

    consent.register_withdrawal_hook("zz broken", (consent.FOLLOWUP,), broken)
    consent.register_withdrawal_hook("zz counting", (consent.FOLLOWUP,), lambda s, scope: calls.append(scope) or 1)
    try:
        consent.give(SENDER, consent.FOLLOWUP, consent.SIGNPOST, "Send me a check-in")
        with pytest.raises(RuntimeError, match="zz broken"):
            consent.withdraw(SENDER, consent.FOLLOWUP)
        assert calls == ["followup"]
        assert consent.active(SENDER, consent.FOLLOWUP) is None   # the withdrawal itself stands
    finally:
        consent.unregister_withdrawal_hook("zz broken")
        consent.unregister_withdrawal_hook("zz counting")


def test_delete_my_data_removes_consent_rows_leaving_only_an_anonymous_count():
    consent.give(SENDER, consent.KEEP_PLAN, consent.SIGNPOST, "Keep my check-in")
    consent.give(SENDER, consent.FOLLOWUP, consent.SIGNPOST, "Send me a check-in")
    consent.give(OTHER, consent.FOLLOWUP, consent.SIGNPOST, "Send me a check-in")
    report = privacy.delete_everywhere(SENDER)
    assert report.removed["consent records"] == 2
    assert consent.records(SENDER) == [] and len(consent.records(OTHER)) == 1
    with consent.engine().connect() as conn:
        row = conn.execute(select(consent.deletions_table)).mappings().one()
    assert row["rows_removed"] == 2 and row["requested_by"] == "person" and SENDER not in str(dict(row))


def test_withdrawing_everything_leaves_no_trace_in_the_handoff_audit_of_someone_who_never_asked_for_staff():
    consent.give(SENDER, consent.FOLLOWUP, consent.SIGNPOST, "Send me a check-in")
    consent.withdraw(SENDER)
    assert handoff.audit_log(SENDER) == []
