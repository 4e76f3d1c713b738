"""What the bot says, built from knowledge: filled placeholders, nation versions, summaries."""
import re
from datetime import datetime

import pytest

from signposting import assessment, hours, render
from signposting.knowledge import NATIONS

PHONE = re.compile(r"\b0\d{3} ?\d{3} ?\d{2} ?\d{2}\b|\b0\d{3} ?\d{3} ?\d{4}\b|\b116 ?123\b")
MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=hours.UK)
MONDAY_NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=hours.UK)


def _all_answers(knowledge):
    for intent in knowledge.topics:
        for nation in (None, *NATIONS):
            yield intent, nation, render.topic_answer(knowledge, intent, nation, MONDAY_NOON)


def test_no_placeholder_is_left_unfilled(knowledge):
    for intent, nation, messages in _all_answers(knowledge):
        for message in messages:
            assert not re.search(r"\{[a-z]+:[a-z0-9_]+\}", message.text), (intent, nation, message.text)


def test_every_phone_number_in_an_answer_comes_from_the_helplines_file(knowledge):
    known = {h.get("phone") for h in knowledge.helplines.values()} | {h.get("text") for h in knowledge.helplines.values()}
    known_digits = {re.sub(r"\D", "", k) for k in known if k}
    for intent, nation, messages in _all_answers(knowledge):
        for message in messages:
            for number in PHONE.findall(message.text):
                assert re.sub(r"\D", "", number) in known_digits, (intent, nation, number)


def test_nation_specific_answers_ask_where_you_live_until_they_know(knowledge):
    unknown = render.topic_answer(knowledge, "ask_prescription_costs", None, MONDAY_NOON)
    assert [b.payload for b in unknown[-1].buttons] == [
        '/inform{"nation":"england"}', '/inform{"nation":"scotland"}',
        '/inform{"nation":"wales"}', '/inform{"nation":"northern_ireland"}']
    wales = render.topic_answer(knowledge, "ask_prescription_costs", "wales", MONDAY_NOON)
    assert not any(m.buttons for m in wales)
    assert wales[0].text == knowledge.topics["ask_prescription_costs"]["answer"]["wales"] or "Wales" in wales[0].text


def test_helplines_for_other_nations_are_not_shown(knowledge):
    for intent, nation, messages in _all_answers(knowledge):
        if nation is None:
            continue
        shown = "\n".join(m.text for m in messages)
        for helpline in knowledge.helplines.values():
            if nation not in helpline["nations"] and helpline["id"] in knowledge.topics[intent].get("helplines", []):
                assert helpline["name"] + ":" not in shown, (intent, nation, helpline["id"])


def test_helpline_line_says_whether_it_is_open_now(knowledge):
    line = knowledge.helplines["macmillan_support_line"]
    assert "open now until 8pm" in render.helpline_line(line, MONDAY_NOON)
    assert "opens at 8am tomorrow" in render.helpline_line(line, MONDAY_NIGHT)


def test_person_offer_out_of_hours_gives_someone_to_talk_to_now(knowledge):
    text = render.offer_person(knowledge, MONDAY_NIGHT).text
    assert knowledge.helplines["samaritans"]["phone"] in text
    assert knowledge.helplines["samaritans"]["phone"] not in render.offer_person(knowledge, MONDAY_NOON).text


def test_summary_lists_concerns_most_pressing_first_with_next_steps(knowledge):
    summary = assessment.summarise(
        {"score_emotional": 4, "score_practical": 0, "score_financial": 8, "score_work": "skipped"},
        knowledge.assessment, role="patient", what_matters="paying the rent")
    messages = render.summary_messages(summary, knowledge, MONDAY_NOON)
    text = "\n".join(m.text for m in messages)
    assert '"paying the rent"' in text
    assert text.index("Money: 8 out of 10") < text.index("feeling: 4 out of 10")
    assert "Skipped: Work." in text and "No worries right now: Practical things." in text
    money = next(d for d in knowledge.assessment["domains"] if d["id"] == "financial")
    assert render.fill(money["next_steps"][0]["text"], knowledge) in text
    assert knowledge.helplines["macmillan_support_line"]["phone"] in text  # 8 >= 7: a person is offered
    last = messages[-1]
    assert last.buttons[0].payload == "/ask_financial_support"
    assert [b.payload for b in last.buttons[1:]] == ["/request_human", "/start_again"]


def test_wording_fields_are_filled(knowledge):
    assert knowledge.say("checkin_offer", count=4).count("4 quick questions") == 1
    assert "{" not in knowledge.say("something_went_wrong")
