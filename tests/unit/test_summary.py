"""The conversation summary a person downloads and helpline staff read (no Rasa, no network)."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from signposting import assessment, benefits, hours, summary

NOW = datetime(2026, 11, 23, 21, 5, tzinfo=hours.UK)
CARER_CHECKIN = {
    "role": "carer", "nation": "scotland", "what_matters": "Money mostly. I've had to stop work",
    "score_emotional": 6, "score_practical": "skipped", "score_financial": 9, "score_work": "8",
    "score_carer_wellbeing": 0, "distress": None, "assessment_done": True,
}


def make(slots, **kwargs):
    return summary.from_slots(slots, kwargs.pop("user_texts", ()), kwargs.pop("knowledge"), now=NOW, **kwargs)


def test_a_carers_check_in_is_ranked_with_the_next_steps_and_numbers_given_in_the_chat(knowledge):
    result = make(CARER_CHECKIN, knowledge=knowledge)
    assert [(c.label, c.score) for c in result.concerns] == [("Money", 9), ("Work", 8), ("How you're feeling", 6)]
    assert result.skipped == ("Practical things",) and result.calm == ("Your own wellbeing",)
    assert result.offer_person  # a 9 is high
    # the same steps as the chat: assessment.next_steps, the carer's version, numbers filled from helplines.yml
    money = next(d for d in knowledge.assessment["domains"] if d["id"] == "financial")
    expected = [step["text"] for step in assessment.next_steps(money, "carer")]
    assert len(result.concerns[0].next_steps) == len(expected) == 3
    assert knowledge.helplines["carers_uk_helpline"]["phone"] in " ".join(result.concerns[0].next_steps)
    assert not any("{phone:" in step for c in result.concerns for step in c.next_steps)

    text = summary.as_text(result, knowledge)
    assert text.index("1. Money: 9 out of 10") < text.index("2. Work: 8 out of 10") < text.index("6 out of 10")
    assert "\u201cMoney mostly. I've had to stop work\u201d" in text
    assert "Skipped: Practical things." in text and "No worries right now: Your own wellbeing." in text
    assert "Made on 23 November 2026 at 9:05pm (UK time)." in text
    assert "signposting, not medical advice" in text
    assert "You look after someone with cancer." in text and "You live in Scotland." in text
    assert knowledge.helplines["macmillan_support_line"]["phone"] in text.split("Talk to someone")[1]
    urgent = text.split("If you need help now")[1]
    assert "999" in urgent and knowledge.helplines["samaritans"]["phone"] in urgent


def test_the_urgent_numbers_are_the_ones_for_where_they_live(knowledge):
    def urgent(nation):
        text = summary.as_text(make({"nation": nation}, knowledge=knowledge), knowledge)
        return text.split("If you need help now")[1]

    assert "NHS 24" in urgent("scotland") and "NHS 111" not in urgent("scotland")
    assert "NHS 111" in urgent("wales") and "NHS 24" not in urgent("wales")
    assert "NHS 111" not in urgent("northern_ireland") and "999" in urgent("northern_ireland")
    assert "NHS 111" in urgent(None) and "NHS 24" in urgent(None)  # not known: every nation's line


def test_nothing_done_yet_still_gives_ways_to_talk_to_someone(knowledge):
    result = make({}, knowledge=knowledge)
    assert result.empty
    text = summary.as_text(result, knowledge)
    assert "You haven't done the check-in yet" in text
    assert knowledge.helplines["macmillan_support_line"]["phone"] in text and "116 123" in text
    assert "What matters to you" not in text and "Benefits you checked" not in text


def test_a_skipped_what_matters_is_not_quoted(knowledge):
    result = make(dict(CARER_CHECKIN, what_matters=assessment.SKIPPED), knowledge=knowledge)
    assert result.what_matters is None and "What matters to you" not in summary.as_text(result, knowledge)


def test_a_crisis_gives_the_right_numbers_and_only_staff_see_the_flag(knowledge):
    from signposting import safety

    result = make({"crisis_kind": "suicide_self_harm", "nation": "wales"}, knowledge=knowledge,
                  user_texts=["/greet", "I can't go on"])
    person = summary.as_text(result, knowledge)
    staff = summary.as_text(result, knowledge, for_helpline=True)
    reply = safety.crisis_reply("suicide_self_harm", "wales")
    assert reply.split("\n\n")[1] in person  # the crisis answer's numbers, for Wales
    assert "When you're ready, you can carry on talking to me here." not in person  # a chat line, not a document's
    assert "Crisis screen" not in person and "I can't go on" not in person
    assert "!! Crisis screen: this conversation showed signs of suicide or self-harm" in staff
    assert staff.index("Crisis screen") < staff.index("About you")
    assert "> I can't go on" in staff and "/greet" not in staff


def test_their_own_messages_are_kept_for_staff_trimmed_and_latest_last(knowledge):
    texts = [f"message {n}" for n in range(40)] + ["/inform{\"role\":\"carer\"}", "x" * 2000, "  "]
    result = make({}, knowledge=knowledge, user_texts=texts)
    assert len(result.messages) == summary.MAX_MESSAGES
    assert result.messages[-1] == "x" * summary.MAX_MESSAGE_CHARS + "…"
    assert result.messages[0] == "message 11" and not any(m.startswith("/") for m in result.messages)


def test_topics_are_named_once_each_by_their_titles(knowledge):
    result = make({}, knowledge=knowledge, intents=["greet", "ask_financial_support", "out_of_scope", "inform",
                                                    "ask_travel_parking", "ask_financial_support", None])
    assert result.topics == (knowledge.topic("ask_financial_support")["title"],
                             knowledge.topic("ask_travel_parking")["title"])
    assert "- " + knowledge.topic("ask_travel_parking")["title"] in summary.as_text(result, knowledge)


def test_services_listed_in_the_chat_come_back_with_contacts_from_knowledge(knowledge):
    service = next(s for s in knowledge.active_services() if s.get("phone"))
    other = next(s for s in knowledge.active_services() if s.get("url") and s["name"] != service["name"])
    shown = (knowledge.say("services_intro") + f"\n\n1. {service['name']}: 0000 (edited in chat)\nWhy: x."
             + "\n\n2. Not A Real Service: 01234\nWhy: y.")
    more = knowledge.say("services_more_intro") + f"\n\n4. {other['name']}: {other['url']}\nWhy: z."
    unrelated = f"1. {other['name']}: said in some other answer"
    result = make({"service_search": {"intent": "ask_financial_support", "text": "food bank", "offset": 3}},
                  knowledge=knowledge, bot_texts=[unrelated, shown, more, shown])
    assert [s.name for s in result.services] == [service["name"], other["name"]]
    assert result.services[0].contact.startswith(service["phone"])  # from knowledge, not from the chat text
    assert result.services_searched == "Money worries, food bank"
    text = summary.as_text(result, knowledge)
    assert "You looked for: Money worries, food bank." in text and "Not A Real Service" not in text


BENEFIT_SLOTS = {"nation": "scotland", "role": "carer", "b_age": 40, "b_care_hours": 35.0,
                 "b_cared_for": "adp_daily_living", "b_earnings": "unknown", "b_terminal": None, "b_employment": None}


def test_a_benefits_check_is_told_back_in_bands_with_the_engines_results(knowledge):
    result = make({"role": "carer", "nation": "scotland"}, knowledge=knowledge, benefit_slots=BENEFIT_SLOTS)
    checked = result.benefits
    assert checked is not None
    figures = benefits.load_rules(NOW.date())
    pension = int(figures["pension_age"])
    # the age button sends 40 for "16 to 65": the summary says the band the person chose, never "40"
    assert f"Age: 16 to {pension - 1}" in checked.told and not any("40" in line for line in checked.told)
    assert "Where you live: Scotland" in checked.told and "Earnings: Don't know" in checked.told
    assert "Their benefits: Adult Disability Payment (daily living)" in checked.told
    outcomes = benefits.check(summary.benefit_answers(BENEFIT_SLOTS, NOW.date()))
    assert [line.split(":")[0] for line in checked.likely] == [o.name for o in outcomes if o.result == "likely"]
    assert [line.split(":")[0] for line in checked.possibly] == [o.name for o in outcomes if o.result == "possibly"]
    assert any("Carer Support Payment" in line for line in checked.likely + checked.possibly)
    text = summary.as_text(result, knowledge)
    assert f"Benefits you checked ({outcomes[0].tax_year}: a guide, not a decision)" in text
    assert "Carer's Allowance" not in text  # Scotland's benefit, not the one it replaced there


def test_no_benefits_section_without_a_benefits_guide(knowledge):
    assert make(CARER_CHECKIN, knowledge=knowledge).benefits is None


@pytest.mark.parametrize("slots", [
    {"nation": "wales", "role": "patient", "b_age": "52", "b_terminal": True, "b_employment": "self_employed"},
    {"nation": "unknown", "role": "carer", "b_age": 70, "b_care_hours": "unknown", "b_cared_for": "none",
     "b_earnings": 0.0},
    {"nation": "england", "role": "carer", "b_age": "not a number", "b_cared_for": "pip_daily_living",
     "b_earnings": 250.0, "b_care_hours": 50.0},
    {"nation": "northern_ireland", "role": "professional", "b_terminal": False, "b_employment": "unknown"},
])
def test_the_summary_reads_the_benefit_slots_exactly_as_the_benefits_form_does(slots):
    from actions.benefits import answers_from
    from tests.actions.conftest import make_tracker

    today = date.today()
    assert summary.benefit_answers(slots, today) == answers_from(make_tracker(slots=slots))


def test_an_editor_can_reword_a_heading_without_a_code_change(knowledge):
    reworded = dataclasses.replace(knowledge, wording={**knowledge.wording,
                                                       "summary_doc_title": "Your Signpost notes"})
    text = summary.as_text(make({}, knowledge=reworded), reworded)
    assert text.startswith("Your Signpost notes\n===================\n")


def test_the_full_check_in_is_there_for_the_person_and_for_staff(knowledge):
    slots = {**CARER_CHECKIN, "journey_stage": "hospital_discharge", "concern_areas": ["housing", "physical"],
             "area_scores": {"housing": 7, "physical": 0}, "top_concerns": ["housing", "score_financial"],
             "what_helps": "my sister Jo"}
    result = make(slots, knowledge=knowledge)
    assert result.stage == "They're coming out of hospital"
    assert result.other_areas == (("Your home", 7),) and result.top == ("Your home", "Money")
    for text in (summary.as_text(result, knowledge), summary.as_text(result, knowledge, for_helpline=True)):
        assert "Where you are now: They're coming out of hospital." in text
        assert "- Your home: 7 out of 10" in text and "Physical effects" not in text   # 0: not a worry
        assert "What you chose to start with: Your home, Money." in text
        assert "What or who helps already: \u201cmy sister Jo\u201d" in text


def test_a_young_carer_is_named_as_one(knowledge):
    result = make({"role": "young_carer", "score_emotional": 6, "assessment_done": True}, knowledge=knowledge)
    assert "You're under 18 and help look after someone with cancer." in summary.as_text(result, knowledge)
