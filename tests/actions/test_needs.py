"""The full needs check-in's questions (actions/needs.py): which are asked, and how answers are read."""
import pytest

from actions import forms, needs
from signposting import assessment
from tests.actions.conftest import buttons, make_tracker, texts

DOMAIN: dict = {}


def validate(slot, value, dispatcher, **tracker_args):
    method = getattr(forms.ValidateAssessmentForm(), f"validate_{slot}")
    return method(value, dispatcher, make_tracker(text=str(value), **tracker_args), DOMAIN)


async def required(dispatcher, **slots):
    return await forms.ValidateAssessmentForm().required_slots([], dispatcher, make_tracker(slots=slots), DOMAIN)


@pytest.mark.asyncio
async def test_which_questions_are_asked_depends_on_the_person(dispatcher):
    retired = await required(dispatcher, role="patient", work_status="retired")
    assert "score_work" not in retired and "work_status" in retired          # no work question when retired
    young = await required(dispatcher, role="young_carer")
    assert young == ["role", "what_matters", "journey_stage", "nation", "score_emotional", "score_practical",
                     "score_carer_wellbeing", "pick_area", "what_helps"]       # no money, work or job questions
    picked = await required(dispatcher, role="carer", concern_areas=["housing"], score_emotional=6, score_financial=8)
    assert picked[-4:] == ["pick_area", "area_score", "pick_top", "what_helps"]
    one = await required(dispatcher, role="carer", score_emotional=6, score_financial=0)
    assert "pick_top" not in one                                               # one concern: nothing to choose


def test_the_stage_from_a_button_or_their_own_words_and_its_words_said(dispatcher, knowledge):
    result = validate("journey_stage", "I finished chemo in the summer", dispatcher, slots={"role": "patient"})
    assert result == {"journey_stage": "finished_treatment"}
    assert texts(dispatcher).split()[:3] == " ".join(knowledge.journey["stages"][3]["prompts"]["patient"].split()).split()[:3]
    dispatcher.messages.clear()
    assert validate("journey_stage", '/inform{"choice":"hospital_discharge"}', dispatcher, slots={"role": "carer"},
                    entities=[{"entity": "choice", "value": "hospital_discharge"}]) == {"journey_stage": "hospital_discharge"}
    dispatcher.messages.clear()
    assert validate("journey_stage", "skip", dispatcher, slots={"role": "carer"}) == {"journey_stage": "skipped"}
    assert validate("journey_stage", "purple", dispatcher, slots={"role": "carer"}) == {"journey_stage": None}
    assert knowledge.say("stage_help") in texts(dispatcher)


def test_a_stage_said_already_is_not_said_twice(dispatcher):
    events = [{"event": "slot", "name": "journey_stage", "value": "in_treatment"}, {"event": "user", "text": "x"}]
    assert validate("journey_stage", "in_treatment", dispatcher, slots={"role": "patient"}, events=events) == {
        "journey_stage": "in_treatment"}
    assert dispatcher.messages == []


@pytest.mark.asyncio
async def test_where_they_live_is_asked_once_and_can_be_skipped(dispatcher, knowledge):
    assert validate("nation", "CF10 3AT", dispatcher) == {"postcode": "CF10", "nation": "wales"}
    assert validate("nation", '/inform{"nation":"scotland"}', dispatcher,
                    entities=[{"entity": "nation", "value": "scotland"}]) == {"nation": "scotland"}
    assert validate("nation", "I'd rather not say", dispatcher) == {"nation": None, "nation_skipped": True}
    assert validate("nation", "the moon", dispatcher) == {"nation": None}
    assert knowledge.say("nation_help") in texts(dispatcher)
    skipped = await required(dispatcher, role="patient", nation_skipped=True)
    assert "nation" not in skipped


def test_work_from_words(dispatcher):
    assert validate("work_status", "I'm signed off sick at the moment", dispatcher) == {"work_status": "off_sick"}
    assert validate("work_status", "I retired last year", dispatcher) == {"work_status": "retired"}
    assert validate("work_status", "part time in a shop", dispatcher) == {"work_status": "working"}


def test_areas_picked_by_button_or_typed_several_at_once(dispatcher):
    typed = validate("pick_area", "my home and getting about", dispatcher, slots={"role": "carer"})
    assert typed == {"concern_areas": ["housing", "getting_about"], "pick_area": None}   # asked again: any more?
    tapped = validate("pick_area", '/inform{"choice":"spiritual"}', dispatcher,
                      slots={"role": "carer", "concern_areas": ["housing"]},
                      entities=[{"entity": "choice", "value": "spiritual"}])
    assert tapped == {"concern_areas": ["housing", "spiritual"], "pick_area": None}
    assert validate("pick_area", "that's all", dispatcher, slots={"role": "carer", "concern_areas": ["housing"]}) == {
        "pick_area": needs.DONE, "concern_areas": ["housing"]}


def test_each_area_is_rated_and_physical_effects_go_to_the_clinical_team(dispatcher, knowledge):
    slots = {"role": "patient", "concern_areas": ["physical", "housing"]}
    first = validate("area_score", "6", dispatcher, slots=slots)
    assert first == {"area_scores": {"physical": 6}, "area_score": None}
    assert "cancer team" in texts(dispatcher) and "acute oncology" in texts(dispatcher)
    dispatcher.messages.clear()
    last = validate("area_score", "a lot", dispatcher, slots={**slots, "area_scores": {"physical": 6}})
    assert last["area_scores"] == {"physical": 6, "housing": 8} and last["area_score"] == needs.DONE
    assert validate("area_score", "whatever", dispatcher, slots=slots) == {"area_score": None}


def test_top_ones_are_chosen_in_order_up_to_three(dispatcher):
    slots = {"role": "carer", "score_financial": 9, "score_emotional": 4, "concern_areas": ["housing"],
             "area_scores": {"housing": 7}, "score_work": 2}
    assert validate("pick_top", "my home", dispatcher, slots=slots) == {"top_concerns": ["housing"], "pick_top": None}
    full = validate("pick_top", '/inform{"choice":"work"}', dispatcher,
                    slots={**slots, "top_concerns": ["housing", "financial"]},
                    entities=[{"entity": "choice", "value": "work"}])
    assert full == {"top_concerns": ["housing", "financial", "work"], "pick_top": needs.DONE}


def test_the_top_question_offers_what_was_scored_highest_first(dispatcher, knowledge):
    tracker = make_tracker(slots={"role": "carer", "score_financial": 9, "score_emotional": 4,
                                  "concern_areas": ["housing"], "area_scores": {"housing": 7}})
    needs.ActionAskPickTop().run(dispatcher, tracker, DOMAIN)
    assert [b["title"] for b in buttons(dispatcher)] == ["Money (9)", "Your home (7)", "How you're feeling (4)",
                                                        knowledge.say("top_done")]


def test_what_helps_is_kept_in_their_words(dispatcher):
    assert validate("what_helps", "my sister and our church", dispatcher) == {"what_helps": "my sister and our church"}
    assert validate("what_helps", "skip", dispatcher) == {"what_helps": assessment.SKIPPED}


def test_a_young_carer_is_welcomed_once_with_childline(dispatcher, knowledge):
    result = validate("role", "I'm 13 and I look after my dad", dispatcher)
    assert result == {"role": "young_carer"}
    assert knowledge.services["childline"]["phone"] in texts(dispatcher)
