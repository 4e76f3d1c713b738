"""The check-in's questions and validation, with rasa-sdk's CollectingDispatcher."""
import pytest
from rasa_sdk.events import SlotSet

from actions import forms
from tests.actions.conftest import buttons, make_tracker, texts

DOMAIN: dict = {}
ALL_SCORES = ["score_emotional", "score_practical", "score_financial", "score_work", "score_carer_wellbeing"]


def validate(slot, value, dispatcher, **tracker_args):
    method = getattr(forms.ValidateAssessmentForm(), f"validate_{slot}")
    return method(value, dispatcher, make_tracker(text=str(value), **tracker_args), DOMAIN)


@pytest.mark.asyncio
async def test_carers_get_their_own_wellbeing_question_patients_do_not(dispatcher):
    form = forms.ValidateAssessmentForm()
    carer = await form.required_slots([], dispatcher, make_tracker(slots={"role": "carer"}), DOMAIN)
    patient = await form.required_slots([], dispatcher, make_tracker(slots={"role": "patient"}), DOMAIN)
    needs = ["pick_area", "what_helps"]   # the full check-in: other areas, then what helps already
    assert carer == ["role", "what_matters", "journey_stage", "nation", "work_status", *ALL_SCORES, *needs]
    assert patient == ["role", "what_matters", "journey_stage", "nation", "work_status", *ALL_SCORES[:-1], *needs]


def test_free_answer_sets_the_score(dispatcher):
    assert validate("score_financial", "about a 6", dispatcher, intent="inform") == {"score_financial": 6}
    assert dispatcher.messages == []


def test_button_payload_uses_the_score_entity(dispatcher):
    result = validate("score_work", '/inform{"score":"9"}', dispatcher, intent="inform",
                      entities=[{"entity": "score", "value": "9"}])
    assert result == {"score_work": 9}


def test_distress_is_recorded_for_the_summary(dispatcher):
    result = validate("score_emotional", "10, I'm at breaking point", dispatcher, intent="ask_emotional_support")
    assert result == {"score_emotional": 10, "distress": True}


def test_skip_is_stored_as_skipped(dispatcher):
    assert validate("score_practical", "skip", dispatcher, intent="skip_question") == {"score_practical": "skipped"}


def test_unreadable_answer_is_asked_again_with_help(dispatcher, knowledge):
    assert validate("score_practical", "purple", dispatcher, intent="nlu_fallback", confidence=0.3) == {
        "score_practical": None}
    assert texts(dispatcher) == knowledge.say("score_help")


def test_a_question_mid_form_is_answered_then_the_form_asks_again(dispatcher, knowledge):
    result = validate("score_financial", "what benefits can i get", dispatcher, intent="ask_benefits_check",
                      confidence=0.95)
    assert result == {"score_financial": None}
    said = texts(dispatcher)
    assert knowledge.topics["ask_benefits_check"]["answer"]["default"][:40] in said
    assert said.endswith(knowledge.say("back_to_form"))


def test_role_from_buttons_and_from_words(dispatcher):
    form = forms.ValidateOnboardingForm()
    by_button = form.validate_role('/inform{"role":"carer"}', dispatcher,
                                   make_tracker(intent="inform", entities=[{"entity": "role", "value": "carer"}]), DOMAIN)
    by_words = form.validate_role("i look after my dad", dispatcher, make_tracker(text="i look after my dad",
                                                                                  intent="ask_carer_support"), DOMAIN)
    assert by_button == {"role": "carer"} and by_words == {"role": "carer"}


def test_what_matters_is_kept_in_their_own_words_without_a_detour(dispatcher):
    form = forms.ValidateOnboardingForm()
    words = "  Keeping things normal for the kids, and paying the rent  "
    result = form.validate_what_matters(words, dispatcher, make_tracker(text=words, intent="ask_financial_support",
                                                                        confidence=0.95), DOMAIN)
    assert result == {"what_matters": words.strip()}
    assert dispatcher.messages == []


def test_score_question_has_progress_and_buttons_0_to_10_plus_skip(dispatcher, knowledge):
    forms.AskScoreFinancial().run(dispatcher, make_tracker(slots={"role": "carer"}), DOMAIN)
    message = dispatcher.messages[0]
    assert message["text"].startswith("(3 of 5) ")
    payloads = [b["payload"] for b in buttons(dispatcher)]
    assert payloads[:11] == [f'/inform{{"score":"{n}"}}' for n in range(11)]
    assert payloads[11] == "/skip_question"


def test_carer_sees_carer_wording(dispatcher, knowledge):
    forms.AskScorePractical().run(dispatcher, make_tracker(slots={"role": "carer"}), DOMAIN)
    practical = next(d for d in knowledge.assessment["domains"] if d["id"] == "practical")
    assert practical["carer_question"][:30] in dispatcher.messages[0]["text"]


def test_summary_ranks_and_remembers_the_top_concern(dispatcher, knowledge):
    slots = {"role": "patient", "what_matters": "the kids", "score_emotional": 3, "score_practical": 0,
             "score_financial": 9, "score_work": "skipped"}
    events = forms.ActionAssessmentSummary().run(dispatcher, make_tracker(slots=slots), DOMAIN)
    said = texts(dispatcher)
    assert said.index("Money: 9 out of 10") < said.index("3 out of 10")
    assert knowledge.helplines["macmillan_support_line"]["phone"] in said
    assert SlotSet("assessment_done", True) in events
    assert SlotSet("offered_topic", "ask_financial_support") in events


def test_a_new_check_in_clears_the_last_scores(dispatcher):
    events = forms.ActionPrepareAssessment().run(
        dispatcher, make_tracker(slots={"assessment_done": True, "score_work": 5}), DOMAIN)
    assert SlotSet("score_work", None) in events and SlotSet("assessment_done", None) in events


def test_a_nation_mid_form_is_noted_and_the_question_asked_again(dispatcher):
    result = validate("score_work", "I'm in Wales", dispatcher, intent="inform",
                      entities=[{"entity": "nation", "value": "wales"}])
    assert result == {"score_work": None, "nation": "wales"}
    assert "Wales" in texts(dispatcher)


def test_mid_form_answers_do_not_ask_for_the_nation_with_buttons(dispatcher):
    validate("score_work", "do i have to pay for prescriptions", dispatcher, intent="ask_prescription_costs",
             confidence=0.97)
    assert not buttons(dispatcher)
