"""Answers from knowledge, short answers, a person, control commands and fallback."""
from rasa_sdk.events import ActiveLoop, AllSlotsReset, SlotSet, UserUtteranceReverted

from actions import answers, control, fallback
from tests.actions.conftest import buttons, make_tracker, texts

DOMAIN: dict = {}


def test_topic_answer_asks_the_nation_when_it_matters(dispatcher, knowledge):
    events = answers.ActionAnswerTopic().run(
        dispatcher, make_tracker(text="do i have to pay for prescriptions", intent="ask_prescription_costs"), DOMAIN)
    assert SlotSet("pending_topic", "ask_prescription_costs") in events
    assert '/inform{"nation":"wales"}' in [b["payload"] for b in buttons(dispatcher)]


def test_topic_answer_uses_the_nation_version(dispatcher, knowledge):
    answers.ActionAnswerTopic().run(
        dispatcher, make_tracker(intent="ask_prescription_costs", slots={"nation": "scotland"}), DOMAIN)
    assert knowledge.topics["ask_prescription_costs"]["answer"]["scotland"][:50] in texts(dispatcher)
    assert not buttons(dispatcher)


def test_ended_schemes_are_explained_as_replaced(dispatcher, knowledge):
    answers.ActionAnswerTopic().run(
        dispatcher, make_tracker(text="can i still claim incapacity benefit", intent="ask_benefits_check"), DOMAIN)
    said = texts(dispatcher)
    assert "Employment and Support Allowance" in said or "Universal Credit" in said


def test_a_postcode_sets_the_nation_and_answers_what_was_waiting(dispatcher, knowledge):
    tracker = make_tracker(text="CF10 1AA", intent="inform", slots={"pending_topic": "ask_prescription_costs"})
    events = answers.ActionHandleInform().run(dispatcher, tracker, DOMAIN)
    assert SlotSet("postcode", "CF10") in events  # only the outward code is kept
    assert SlotSet("nation", "wales") in events and SlotSet("pending_topic", None) in events
    assert knowledge.topics["ask_prescription_costs"]["answer"]["wales"][:50] in texts(dispatcher)


def test_a_nation_button_sets_the_nation(dispatcher):
    tracker = make_tracker(text='/inform{"nation":"northern_ireland"}', intent="inform",
                           entities=[{"entity": "nation", "value": "northern_ireland"}])
    assert SlotSet("nation", "northern_ireland") in answers.ActionHandleInform().run(dispatcher, tracker, DOMAIN)
    assert "Northern Ireland" in texts(dispatcher)


def test_talk_to_a_person_gives_the_helpline_and_hours(dispatcher, knowledge):
    answers.ActionOfferHuman().run(dispatcher, make_tracker(intent="request_human"), DOMAIN)
    said = texts(dispatcher)
    assert knowledge.helplines["macmillan_support_line"]["phone"] in said and "8am to 8pm" in said


def test_crisis_answer_uses_the_kind_and_nation(dispatcher):
    tracker = make_tracker(intent="crisis", entities=[{"entity": "crisis_kind", "value": "treatment_red_flag"}],
                           slots={"nation": "wales"})
    events = answers.ActionCrisisResponse().run(dispatcher, tracker, DOMAIN)
    said = texts(dispatcher)
    assert "oncology" in said.lower() and "999" in said
    assert SlotSet("crisis_kind", "treatment_red_flag") in events


def test_crisis_answer_for_suicidal_thoughts_names_samaritans(dispatcher):
    answers.ActionCrisisResponse().run(dispatcher, make_tracker(
        intent="crisis", entities=[{"entity": "crisis_kind", "value": "suicide_self_harm"}]), DOMAIN)
    assert "116 123" in texts(dispatcher)


def test_yes_after_the_summary_opens_the_top_concern(dispatcher, knowledge):
    answers.ActionHandleAffirm().run(
        dispatcher, make_tracker(intent="affirm", slots={"offered_topic": "ask_work_support"}), DOMAIN)
    assert knowledge.topics["ask_work_support"]["answer"]["default"][:40] in texts(dispatcher)


def test_replies_come_from_wording(dispatcher, knowledge):
    answers.ActionReply().run(dispatcher, make_tracker(intent="goodbye"), DOMAIN)
    assert texts(dispatcher) == knowledge.say("goodbye")


def test_stop_closes_the_form(dispatcher):
    events = control.ActionStop().run(dispatcher, make_tracker(intent="stop", active_loop="assessment_form"), DOMAIN)
    assert ActiveLoop(None) in events


def test_start_again_and_delete_clear_everything(dispatcher):
    from actions.handoff import ActionDeleteMyData

    for action in (control.ActionStartAgain(), ActionDeleteMyData()):
        assert AllSlotsReset() in action.run(dispatcher, make_tracker(), DOMAIN)


def test_go_back_clears_the_previous_answer(dispatcher):
    tracker = make_tracker(intent="go_back", active_loop="assessment_form", slots={
        "role": "patient", "what_matters": "x", "score_emotional": 4, "score_practical": 5,
        "requested_slot": "score_financial"})
    events = control.ActionGoBack().run(dispatcher, tracker, DOMAIN)
    assert events == [SlotSet("score_practical", None), SlotSet("requested_slot", None)]


def test_go_back_on_the_first_question_says_so(dispatcher, knowledge):
    tracker = make_tracker(intent="go_back", active_loop="onboarding_form", slots={"requested_slot": "role"})
    assert control.ActionGoBack().run(dispatcher, tracker, DOMAIN) == []
    assert texts(dispatcher) == knowledge.say("go_back_first")


def test_unsure_offers_the_three_closest_topics_and_a_person(dispatcher, knowledge):
    tracker = make_tracker(text="the council wont help", intent="nlu_fallback", confidence=0.4, ranking=[
        ("nlu_fallback", 0.55), ("ask_practical_support", 0.3), ("greet", 0.2), ("ask_carer_support", 0.2),
        ("ask_financial_support", 0.1), ("ask_work_support", 0.05)])
    fallback.ActionDefaultAskAffirmation().run(dispatcher, tracker, DOMAIN)
    payloads = [b["payload"] for b in buttons(dispatcher)]
    assert payloads == ["/ask_practical_support", "/ask_carer_support", "/ask_financial_support",
                        "/request_human", "/deny"]
    assert texts(dispatcher) == knowledge.say("not_sure")


def test_last_fallback_gives_a_person_and_reverts(dispatcher, knowledge):
    events = fallback.ActionDefaultFallback().run(dispatcher, make_tracker(), DOMAIN)
    assert knowledge.helplines["macmillan_support_line"]["phone"] in texts(dispatcher)
    assert events == [UserUtteranceReverted()]
