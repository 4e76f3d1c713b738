"""The benefits check form: only questions that change the answer, 'don't know' accepted, a guide at the end."""
from __future__ import annotations

import asyncio
import re

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import benefits as form
from tests.actions.conftest import buttons, make_tracker, texts

DOMAIN: dict = {}


def next_slots(slots: dict) -> list[str]:
    tracker = make_tracker(slots=slots, active_loop="benefits_form")
    return asyncio.run(form.ValidateBenefitsForm().required_slots(form.FORM_SLOTS, CollectingDispatcher(),
                                                                    tracker, DOMAIN))


def run_check(answers: dict) -> tuple[list[str], dict]:
    """Answer each question the form asks with the persona's value; return the order asked and the slots."""
    slots: dict = {}
    asked = []
    for _ in range(12):
        todo = [slot for slot in next_slots(slots) if slots.get(slot) is None]
        if not todo:
            break
        asked.append(todo[0])
        slots[todo[0]] = answers.get(todo[0], form.UNKNOWN)
    return asked, slots


def test_what_is_already_known_is_not_asked_again():
    asked, _ = run_check({"nation": "scotland", "role": "carer", "b_care_hours": 40.0})
    known = next_slots({"nation": "scotland", "role": "carer"})
    assert known[:2] == ["nation", "role"] and "b_age" in known  # listed so they are validated, not asked
    assert asked[:2] == ["nation", "role"]


def test_a_patient_is_never_asked_about_caring():
    asked, _ = run_check({"nation": "wales", "role": "patient", "b_age": 45, "b_terminal": False,
                          "b_employment": "self_employed"})
    assert "b_care_hours" not in asked and "b_cared_for" not in asked


def test_a_carer_is_asked_about_hours_and_the_cared_for_persons_benefits():
    asked, _ = run_check({"nation": "scotland", "role": "carer", "b_age": 50, "b_care_hours": 40.0,
                          "b_cared_for": "pip_daily_living", "b_earnings": 0.0})
    assert "b_care_hours" in asked and "b_cared_for" in asked


def test_never_more_questions_than_the_form_has():
    asked, _ = run_check({})
    assert len(asked) == len(set(asked)) <= len(form.FORM_SLOTS)


@pytest.mark.parametrize("slot, text, value", [
    ("b_care_hours", "about 40 hours", 40.0),
    ("b_care_hours", "5 hours a day", 35.0),
    ("b_care_hours", "no idea", "unknown"),
    ("b_earnings", "£150 a week", 150.0),
    ("b_earnings", "nothing, I had to stop work", 0.0),
    ("b_earnings", "no idea", "unknown"),
    ("b_terminal", "yes", True),
    ("b_terminal", "not sure", "unknown"),
    ("b_cared_for", "she gets attendance allowance", "attendance_allowance"),
    ("b_cared_for", "no none of those", "none"),
    ("b_employment", "I'm self employed", "self_employed"),
    ("b_age", "I'm 70", 70),
    ("nation", "CF10", "wales"),
])
def test_typed_answers_are_understood(slot, text, value):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text=text, intent="inform", slots={"requested_slot": slot}, active_loop="benefits_form")
    validate = getattr(form.ValidateBenefitsForm(), f"validate_{slot}")
    assert validate(text, dispatcher, tracker, DOMAIN) == {slot: value}


def test_a_button_choice_is_understood():
    tracker = make_tracker(text='/inform{"choice":"self_employed"}', intent="inform",
                           entities=[{"entity": "choice", "value": "self_employed"}], active_loop="benefits_form")
    assert form.ValidateBenefitsForm().validate_b_employment(
        '/inform{"choice":"self_employed"}', CollectingDispatcher(), tracker, DOMAIN) == {"b_employment": "self_employed"}


def test_an_answer_that_makes_no_sense_asks_again_plainly(knowledge):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="purple", intent="nlu_fallback", active_loop="benefits_form")
    assert form.ValidateBenefitsForm().validate_b_care_hours("purple", dispatcher, tracker, DOMAIN) == {
        "b_care_hours": None}
    assert knowledge.say("benefits_not_understood") in texts(dispatcher)


def test_every_question_offers_dont_know_and_figures_come_from_the_rates(knowledge):
    figures = form.figures()
    for slot in form.FORM_SLOTS:
        dispatcher = CollectingDispatcher()
        action = next(a for a in form._AskBenefitQuestion.__subclasses__() if a.slot == slot) \
            if slot != "role" else None
        if action is None:
            continue
        action().run(dispatcher, make_tracker(slots={"role": "carer"}), DOMAIN)
        assert '/inform{"choice":"unknown"}' in [b["payload"] for b in buttons(dispatcher)]
    earnings = CollectingDispatcher()
    form.ActionAskBEarnings().run(earnings, make_tracker(), DOMAIN)
    limit = f"{figures['earnings_limit']:,.2f}".replace(".00", "")
    assert any(f"£{limit}" in b["title"] for b in buttons(earnings))


def test_the_guide_says_it_is_a_guide_with_sources_tax_year_and_an_adviser(knowledge):
    dispatcher = CollectingDispatcher()
    slots = {"nation": "scotland", "role": "carer", "b_age": 50, "b_care_hours": 40.0,
             "b_cared_for": "pip_daily_living", "b_earnings": 0.0, "b_terminal": False, "b_employment": "not_working"}
    form.ActionBenefitsSummary().run(dispatcher, make_tracker(slots=slots), DOMAIN)
    said = texts(dispatcher)
    assert "guide, not a decision" in said and "2026/27" in said
    assert "Carer Support Payment" in said and "Carer's Allowance" not in said.split("Probably not")[0]
    assert "https://" in said and knowledge.helplines["macmillan_welfare_rights"]["phone"] in said


@pytest.mark.parametrize("persona, expected", [
    ({"nation": "scotland", "role": "carer", "b_age": 40, "b_care_hours": 35.0, "b_cared_for": "adp_daily_living",
      "b_earnings": 0.0}, ["nation", "role", "b_age", "b_care_hours", "b_cared_for", "b_earnings"]),
    ({"nation": "wales", "role": "patient", "b_age": 40, "b_terminal": False, "b_employment": "self_employed"},
     ["nation", "role", "b_age", "b_terminal", "b_employment"]),
    ({"nation": "england", "role": "patient", "b_age": 40, "b_terminal": True, "b_employment": "employed"},
     ["nation", "role", "b_age", "b_terminal", "b_employment"]),
    ({"nation": "northern_ireland", "role": "patient", "b_age": 71, "b_terminal": False,
      "b_employment": "not_working"}, ["nation", "role", "b_age", "b_terminal", "b_employment"]),
])
def test_the_four_people_in_the_test_stories_are_asked_exactly_this(persona, expected):
    """tests/stories/test_benefits.yml has one form turn per question listed here."""
    assert run_check(persona)[0] == expected


def test_special_rules_in_england_are_likely_with_the_sr1(knowledge):
    dispatcher = CollectingDispatcher()
    slots = {"nation": "england", "role": "patient", "b_age": 40, "b_terminal": True, "b_employment": "employed"}
    form.ActionBenefitsSummary().run(dispatcher, make_tracker(slots=slots), DOMAIN)
    likely = texts(dispatcher).split("You might be able to get")[0]
    assert "SR1" in likely and "Statutory Sick Pay" in likely


def test_go_back_in_the_benefits_check_clears_the_previous_answer(knowledge):
    from actions import control

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"nation": "wales", "role": "patient", "requested_slot": "b_age"},
                           active_loop="benefits_form")
    events = control.ActionGoBack().run(dispatcher, tracker, DOMAIN)
    assert {"event": "slot", "timestamp": None, "name": "role", "value": None} in events
