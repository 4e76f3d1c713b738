"""Returning users: a check-in kept only with consent, found again by conversation or short code, and
compared with the new one in plain sentences."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from signposting import consent, followup, privacy, records
from tests.support.people_db import database  # noqa: F401  (an empty database for each test)

SENDER = "web-" + "e" * 32
PHONE = "sms-" + "f" * 40
WHEN = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
NAMES = {"emotional": "Feelings", "practical": "Practical things", "financial": "Money", "work": "Work"}
CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")



def agree(sender_id: str = SENDER) -> None:
    consent.give(sender_id, consent.KEEP_PLAN, consent.SIGNPOST, "Keep my check-in so you can compare next time")


def count(table) -> int:
    with records.engine().connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --------------------------------------------------------------------------- comparison
def test_money_went_down_and_work_is_new(knowledge):
    result = records.compare({"financial": 8, "emotional": 5, "work": None},
                             {"financial": 4, "emotional": 5, "work": 6}, NAMES)
    assert records.describe(result, knowledge) == [
        "Things worrying you: 2 last time, 3 now.",
        "Money went from 8 to 4.",
        "Work is new since last time (6).",
        "Feelings stayed at 5.",
    ]


def test_changes_are_sorted_biggest_first_whichever_way_they_went():
    result = records.compare({"financial": 8, "emotional": 3, "practical": 5, "work": 2},
                             {"financial": 7, "emotional": 9, "practical": 1, "work": 2}, NAMES)
    assert [(c.id, c.kind, c.change) for c in result.changes] == [
        ("emotional", "worse", 6), ("practical", "better", -4), ("financial", "better", -1), ("work", "same", 0)]
    assert [c.id for c in result.better] == ["practical", "financial"] and [c.id for c in result.worse] == ["emotional"]


def test_counts_and_average_severity():
    result = records.compare({"financial": 8, "emotional": 6, "work": 0}, {"financial": 2, "emotional": 0}, NAMES)
    assert (result.count_before, result.count_after) == (2, 1)       # areas scored above 0
    assert (result.mean_before, result.mean_after) == (4.7, 1.0)      # (8+6+0)/3, (2+0)/2
    high = records.compare({"financial": 8, "emotional": 6}, {"financial": 7, "emotional": 9}, NAMES, threshold=7)
    assert (high.count_before, high.count_after) == (1, 2)           # only the big worries


def test_skipped_areas_and_slot_names(knowledge):
    result = records.compare({"score_financial": 8, "score_work": "skipped"},
                             {"score_financial": "skipped", "score_work": "3"}, NAMES)
    assert records.describe(result, knowledge)[1:] == [   # the higher score first
        "Money wasn't scored this time (it was 8 last time).", "Work is new since last time (3)."]


def test_an_area_first_scored_zero_says_nothing_and_nothing_scored_is_fine(knowledge):
    result = records.compare({}, {"work": 0}, NAMES)
    assert records.describe(result, knowledge) == ["Things worrying you: 0 last time, 0 now."]
    empty = records.compare({}, {}, NAMES)
    assert empty.changes == [] and empty.mean_before is None and empty.mean_after is None


def test_names_come_from_the_assessment_and_unknown_areas_keep_their_id(knowledge):
    names = records.domain_names(knowledge)
    assert names["financial"] == "Money"
    result = records.compare({"financial": 5, "housing": 2}, {"financial": 5, "housing": 4}, names)
    assert records.describe(result, knowledge)[1] == "housing went from 2 to 4."


def test_a_stored_plan_from_the_plan_module_gives_its_scores_and_names():
    plan = {"version": 1, "items": [
        {"area_id": "financial", "area_name": "Money", "score": 8, "next_step": "Check benefits"},
        {"area_id": "physical", "area_name": "Physical effects", "score": None, "next_step": "Ask your team"}]}
    agree()
    records.save_plan(SENDER, plan)
    kept = records.latest_plan(SENDER)
    assert kept.scores == {"financial": 8, "physical": None}
    assert kept.names == {"financial": "Money", "physical": "Physical effects"}


# --------------------------------------------------------------------------- keeping and finding
def test_nothing_is_kept_without_consent():
    with pytest.raises(consent.ConsentRequired):
        records.save_plan(SENDER, {"scores": {"financial": 8}})
    assert count(records.plans_table) == count(records.people_table) == count(records.senders_table) == 0
    assert records.latest_plan(SENDER) is None and records.history(SENDER) == []


def test_short_code_round_trip_forgiving_about_case_spaces_and_dashes():
    agree()
    code = records.save_plan(SENDER, {"scores": {"financial": 8}}, WHEN)
    assert CODE.match(code), code
    assert not set(code) & set("01OIL")
    for typed in (code, code.lower(), code.replace("-", " "), " " + code.replace("-", "").lower() + " "):
        found = records.plan_by_code(typed)
        assert found is not None and found.scores == {"financial": 8} and found.saved_at == WHEN
    assert records.plan_by_code("ABCD-EFGH") is None
    assert records.plan_by_code("0O1I-LLLL") is None and records.plan_by_code("") is None


def test_the_same_person_keeps_the_same_code_and_the_code_itself_is_not_stored(database):
    agree()
    first = records.save_plan(SENDER, {"scores": {"financial": 8}})
    second = records.save_plan(SENDER, {"scores": {"financial": 4}, "short_code": first})   # as plan.to_dict has it
    assert first == second
    assert records.latest_plan(SENDER).code == first
    path = Path(database[len("sqlite:///"):])
    raw = b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))   # the file and its WAL
    for form in (first, first.replace("-", "")):
        assert form.encode() not in raw


def test_the_code_depends_on_the_secret_key(monkeypatch):
    agree()
    code = records.save_plan(SENDER, {"scores": {}})
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", "another-key")
    assert records.plan_by_code(code) is None           # nobody can make up codes without the key


def test_history_is_newest_first_and_only_the_last_plans_are_kept():
    agree()
    for i in range(records.MAX_PLANS + 3):
        records.save_plan(SENDER, {"scores": {"financial": i}}, WHEN + timedelta(days=i))
    latest_two = records.history(SENDER, n=2)
    assert [p.scores["financial"] for p in latest_two] == [records.MAX_PLANS + 2, records.MAX_PLANS + 1]
    assert count(records.plans_table) == records.MAX_PLANS


def test_a_code_links_another_channel_which_needs_its_own_consent():
    agree()
    code = records.save_plan(SENDER, {"scores": {"work": 6}})
    with pytest.raises(consent.ConsentRequired):
        records.link_code(code, PHONE)
    assert records.latest_plan(PHONE) is None
    agree(PHONE)
    assert records.link_code("nonsense", PHONE) is False
    assert records.link_code(code.lower(), PHONE) is True
    assert records.latest_plan(PHONE).scores == {"work": 6}
    records.save_plan(PHONE, {"scores": {"work": 2}})                     # carries on by text message
    assert [p.scores["work"] for p in records.history(SENDER)] == [2, 6]  # one person, one history


def test_withdrawing_keep_plan_deletes_the_plans_and_the_code():
    agree()
    code = records.save_plan(SENDER, {"scores": {"work": 6}})
    consent.withdraw(SENDER, consent.KEEP_PLAN)
    assert records.plan_by_code(code) is None and records.latest_plan(SENDER) is None
    assert count(records.plans_table) == count(records.people_table) == count(records.senders_table) == 0


def test_delete_my_data_removes_everything_kept_about_the_person():
    agree()
    agree(PHONE)
    code = records.save_plan(SENDER, {"scores": {"work": 6}})
    records.link_code(code, PHONE)
    consent.give(SENDER, consent.FOLLOWUP, consent.SIGNPOST, "Send me a check-in")
    followup.schedule(SENDER, "web", 2)
    report = privacy.delete_everywhere(PHONE)          # asked from the linked channel
    assert report.complete and report.removed["kept plans"] == 4   # 1 plan, 2 links, the person
    assert records.plan_by_code(code) is None and records.latest_plan(SENDER) is None
    privacy.delete_everywhere(SENDER)
    assert consent.records(SENDER) == [] and followup.pending(SENDER) is None
    assert followup.counts()["scheduled"] == 0
    with records.engine().connect() as conn:
        assert conn.execute(select(func.count()).select_from(followup.followups_table)).scalar_one() == 0


def test_retention_removes_people_who_have_not_been_back():
    agree()
    records.save_plan(SENDER, {"scores": {"work": 6}}, WHEN)
    assert records.purge(90, now=WHEN + timedelta(days=89)) == 0
    assert records.purge(90, now=WHEN + timedelta(days=91)) == 3
    assert records.counts() == {"people": 0, "plans": 0}
