"""End to end (issue 9): the full needs check-in over time, with the real servers on 127.0.0.1.

A carer at hospital discharge, a young carer, a person at the end of treatment who keeps the plan and
comes back after two weeks (by the check-in message, and on another app with the plan code), and a
bereaved carer. What is checked is what each person would see: their own words back, the stage's
words, their own questions and services, the comparison with last time, the PDF, and that no message
is sent after they withdraw consent or say stop.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.support import servers

pytestmark = [pytest.mark.e2e, pytest.mark.model]


@pytest.fixture(scope="module")
def signpost(tmp_path_factory, trained_model):
    work = tmp_path_factory.mktemp("needs")
    database = f"sqlite:///{work / 'project.db'}"
    server = servers.start(work, extra_env={"DATABASE_URL": database})
    yield server, database
    server.stop()


def say(server: servers.Server, sender: str, *messages: str) -> str:
    """Send each message; the text of the replies to the last one (buttons as [title])."""
    replies: list[dict] = []
    for message in messages:
        replies = server.say(sender, message)
    return "\n".join((r.get("text") or "") + "".join(f" [{b['title']}]" for b in r.get("buttons") or [])
                     for r in replies)


def web_id() -> str:
    return "web-" + uuid.uuid4().hex


def tg_id() -> str:
    return "tg-" + uuid.uuid4().hex[:16]


def stage_text(knowledge, stage: str, role: str) -> str:
    from signposting import journey

    return journey.prompts_for(stage, role, None, knowledge).text


def test_a_carer_at_hospital_discharge_gets_a_plan_she_can_keep_as_a_pdf(signpost, knowledge):
    server, _ = signpost
    me = web_id()
    say(server, me, "/greet", "I look after my husband, he has lung cancer")
    offer = say(server, me, "He's coming home from hospital on friday and I don't know how I'll manage")
    # her own words told Signpost where she is: the stage's words, once, with the offer of the check-in
    assert stage_text(knowledge, "hospital_discharge", "carer")[:60] in offer
    start = say(server, me, "/start_assessment")
    assert knowledge.say("benefits_q_nation") in start   # where she lives next
    assert stage_text(knowledge, "hospital_discharge", "carer")[:60] not in start
    assert knowledge.say("ask_work_status") in say(server, me, "my postcode is SE5 9RS")
    assert "(1 of 5)" in say(server, me, '/inform{"choice":"working"}')
    areas = say(server, me, "7", "9", "6", "5", "8")
    assert knowledge.say("area_none") in areas and "Getting about" in areas
    more = say(server, me, "getting about and my home")   # two areas typed in one message
    assert knowledge.say("pick_area_more") in more and "Getting about" not in more and "Your home" not in more
    assert "(1 of 2)" in say(server, me, '/inform{"choice":"done"}')
    top = say(server, me, "6", "7")
    assert "Practical things (9)" in top and "Your home (7)" in top
    say(server, me, '/inform{"choice":"practical"}')
    assert "or who helps" in say(server, me, '/inform{"choice":"done"}')
    summary = say(server, me, "my daughter phones every day")
    assert "Other things on your mind" in summary and "Your home (7 out of 10)" in summary
    assert "\u201cmy daughter phones every day\u201d" in summary
    assert "What help will be in place when they come home?" in summary   # questions for the ward
    review = (datetime.now(timezone.utc) + timedelta(weeks=2)).date()      # an under-supported moment: 2 weeks
    assert f"{review.day} {review:%B %Y}" in summary
    assert "[Keep my plan for next time]" in summary and "Download my plan" in summary
    # the plan as a PDF from web chat, and in large print: real text, in her words
    for large in ("", "?large=1"):
        pdf = httpx.get(f"{server.base}/webhooks/webchat/plan/{me}{large}", timeout=60)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.content)
        assert "my daughter phones every day" in text and "Practical things" in text
        assert text.index("Your top concerns") < text.index("Practical things") < text.index("Other things")
        assert knowledge.helplines["macmillan_support_line"]["phone"] in text
    # social care, for her nation, with the community options beside the council's
    # social care for her nation (known from her postcode), with the community options beside the council's
    england = say(server, me, "what is a disabled facilities grant")
    assert "occupational therap" in england.lower() and "Red Cross" in england


def pdf_text(content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: scripts/browser-deps.sh installs it")
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return re.sub(r"[ \t]+", " ", result.stdout.decode())


def test_a_young_carer_gets_their_own_path(signpost, knowledge):
    server, _ = signpost
    me = tg_id()
    say(server, me, "/greet")
    welcome = say(server, me, '/inform{"role":"young_carer"}')
    childline = knowledge.services["childline"]["phone"]
    assert childline in welcome and "You matter too" in welcome
    say(server, me, "school is hard")
    say(server, me, "/start_assessment")
    stage = say(server, me, "she is having chemo")   # typed, not tapped: still their stage, not a crisis
    assert knowledge.say("benefits_q_nation") in stage and "999" not in stage
    first = say(server, me, "Wales")
    assert "(1 of 3)" in first
    areas = say(server, me, "7", "4", "8")
    assert "Home and family" in areas and "Money" not in areas and "Work" not in areas
    say(server, me, '/inform{"choice":"done"}', '/inform{"choice":"carer_wellbeing"}', '/inform{"choice":"done"}')
    plan = say(server, me, "my best friend")
    assert childline in plan and "\u201cmy best friend\u201d" in plan
    for adult in ("macmillan_support_line", "samaritans", "carers_uk"):
        if adult in knowledge.helplines:
            assert knowledge.helplines[adult]["phone"] not in plan, adult
    assert "Something you can do:" in plan


def test_end_of_treatment_kept_plan_check_in_message_after_two_weeks_and_a_comparison(signpost, knowledge):
    server, database = signpost
    me = tg_id()
    say(server, me, "/start_assessment", '/inform{"role":"patient"}')
    assert knowledge.say("benefits_q_nation") in say(server, me, "I finished my chemo last month and I feel lost")
    say(server, me, "skip", '/inform{"choice":"off_sick"}', "8", "3", "8", "6", '/inform{"choice":"done"}',
        '/inform{"choice":"financial"}', '/inform{"choice":"done"}')
    first = say(server, me, "skip")
    assert "Since your last check-in" not in first
    kept = say(server, me, "/keep_plan")
    code = re.search(r"plan code is ([A-Z0-9]{4}-[A-Z0-9]{4})", kept).group(1)
    booked = say(server, me, "/followup_offer", '/followup{"followup_weeks":2}')
    assert "I'll check in with you here on" in booked
    # two weeks later the scheduler (here with a recording stand-in for Telegram) sends the check-in
    sent = run_scheduler(database, days=15)
    assert [s[0] for s in sent] == [me] and knowledge.say("followup_checkin_button") in sent[0][2]
    assert run_scheduler(database, days=16) == []   # once only
    say(server, me, "/followup_checkin", '/inform{"choice":"finished_treatment"}', "skip", '/inform{"choice":"working"}',
        "4", "2", "4", "3", '/inform{"choice":"done"}', '/inform{"choice":"done"}')
    again = say(server, me, "going back to work slowly")
    assert "Since your last check-in on" in again
    assert "How you're feeling went from 8 to 4." in again and "Money went from 8 to 4." in again
    assert "On average, how much things bother you: 6.2 out of 10 last time, 3.2 now." in again
    assert knowledge.say("keep_plan_updated") in again
    # on another app, the code brings the plan back, and the next check-in compares with it
    other = tg_id()
    say(server, other, "/greet")
    found = say(server, other, f"my code is {code.lower()}")
    assert "found your plan" in found
    assert knowledge.say("ask_what_matters") in found   # the role came back with the plan: the next question
    say(server, other, "I want to get back to work", "/start_assessment", '/inform{"choice":"finished_treatment"}',
        "skip", '/inform{"choice":"working"}', "2", "2", "2", "2", '/inform{"choice":"done"}', '/inform{"choice":"done"}')
    compared = say(server, other, "skip")
    assert "How you're feeling went from 4 to 2." in compared


def run_scheduler(database: str, days: int) -> list[tuple]:
    from signposting import followup

    sent: list[tuple] = []
    scheduler = followup.Scheduler(lambda sender, channel, text, buttons: sent.append(
        (sender, channel, text + " " + " ".join(b["title"] for b in buttons))), url=database,
        now=lambda: datetime.now(timezone.utc) + timedelta(days=days))
    scheduler.run_once()
    return sent


def test_withdrawing_consent_or_saying_stop_means_no_check_in_message(signpost, knowledge):
    server, database = signpost
    for words in ("forget my plan", "stop"):
        me = tg_id()
        say(server, me, "/start_assessment", '/inform{"role":"carer"}', "skip", '/inform{"choice":"skipped"}',
            "skip", '/inform{"choice":"skipped"}', "5", "5", "5", "5", "5", '/inform{"choice":"done"}',
            '/inform{"choice":"done"}', "skip", "/keep_plan")
        assert "I'll check in" in say(server, me, '/followup{"followup_weeks":1}')
        reply = say(server, me, words)
        assert knowledge.say("forget_plan_done" if words != "stop" else "stop_followup_cancelled") in reply
        assert [s for s in run_scheduler(database, days=30) if s[0] == me] == []


def test_a_bereaved_carer(signpost, knowledge):
    server, _ = signpost
    me = tg_id()
    say(server, me, "/greet", '/inform{"role":"carer"}')
    offer = say(server, me, "My husband died in October. I looked after him for two years and now I feel lost")
    assert stage_text(knowledge, "bereaved", "carer")[:60] in offer
    say(server, me, "yes", "Northern Ireland")
    say(server, me, '/inform{"choice":"retired"}')   # no work question after this
    areas = say(server, me, "9", "2", "5", "7")
    assert knowledge.say("area_none") in areas
    say(server, me, '/inform{"choice":"social_loneliness"}', "that's all", "8")
    say(server, me, '/inform{"choice":"emotional"}', '/inform{"choice":"social_loneliness"}', '/inform{"choice":"done"}')
    plan = say(server, me, "my neighbour and the church")
    assert "Friends and feeling alone (8 out of 10)" in plan and "\u201cmy neighbour and the church\u201d" in plan
    befriend = say(server, me, "is there anyone who could visit for a chat, like a befriender")
    assert "befriender" in befriend.lower()
