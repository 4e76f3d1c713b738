"""The plan to keep: ranked concerns with a next step each, a review date, and the short text (no Rasa)."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from signposting import plan as P
from signposting import sms

TODAY = date(2026, 11, 23)
CARER = {
    "role": "carer", "nation": "scotland", "what_matters": "Keeping Mum at home and not losing my job",
    "score_emotional": 6, "score_practical": "skipped", "score_financial": 9, "score_work": "8",
    "score_carer_wellbeing": 0, "journey_stage": "in_treatment",
    "concern_areas": ["physical", "housing", "spiritual"], "area_scores": {"physical": 5, "housing": 0},
    "top_concerns": ["physical", "score_financial"], "what_helps": "My sister rings every night",
}
TREATMENT_ADVICE = ("paracetamol", "ibuprofen", "painkiller", "dose", "tablet", "rest more", "drink plenty",
                    "eat more", "exercise", "you should take", "supplement", "remedy")


def build(slots, knowledge, **kwargs):
    return P.build_plan(slots, TODAY, knowledge, **kwargs)


def phone(knowledge, helpline):
    return knowledge.helplines[helpline]["phone"]


# --------------------------------------------------------------------------- ranking
def test_the_persons_top_picks_come_first_in_their_order_then_the_rest_by_score(knowledge):
    plan = build(CARER, knowledge)
    assert [i.area_id for i in plan.items] == ["physical", "financial", "work", "emotional", "spiritual"]
    assert [i.is_top for i in plan.items] == [True, True, False, False, False]
    assert [i.score for i in plan.items] == [5, 9, 8, 6, None]  # spiritual: picked, not rated, so last
    assert [i.area_name for i in plan.items[:3]] == ["Physical effects", "Money", "Work"]
    # scored 0: "not a worry right now"; skipped ("rather not say"): left out
    assert plan.not_now == ("Your own wellbeing", "Your home")
    assert "practical" not in [i.area_id for i in plan.items]
    text = P.as_text(plan, knowledge)
    assert text.index("Your top concerns") < text.index("1. Physical effects (5 out of 10)") \
        < text.index("2. Money (9 out of 10)") < text.index("Other things on your mind") \
        < text.index("3. Work (8 out of 10)") < text.index("4. How you're feeling (6 out of 10)") \
        < text.index("5. Faith, meaning and peace")
    assert "Not a worry right now: Your own wellbeing, Your home." in text


def test_without_top_picks_the_plan_is_ranked_by_score_with_ties_in_questionnaire_order(knowledge):
    plan = build({"role": "patient", "score_emotional": 7, "score_practical": 3, "score_financial": 7,
                  "score_work": None, "top_concerns": ["nonsense", 3]}, knowledge)
    assert [(i.area_id, i.score) for i in plan.items] == [("emotional", 7), ("financial", 7), ("practical", 3)]
    assert not plan.top
    assert "What's on your mind, most pressing first" in P.as_text(plan, knowledge)


def test_at_most_three_top_picks_and_a_picked_area_counts_even_if_scored_zero(knowledge):
    plan = build({"role": "patient", "score_emotional": 0, "score_financial": 4, "score_work": 9,
                  "area_scores": {"housing": 6},
                  "top_concerns": ["emotional", "housing", "housing", "financial", "work"]}, knowledge)
    assert [i.area_id for i in plan.top] == ["emotional", "housing", "financial"]
    assert plan.items[3].area_id == "work" and not plan.items[3].is_top
    assert plan.not_now == ()


def test_nothing_worrying_says_so_kindly(knowledge):
    plan = build({"role": "patient", "score_emotional": 0, "score_practical": 0}, knowledge)
    assert plan.items == ()
    text = P.as_text(plan, knowledge)
    assert knowledge.say("plan_nothing") in text
    assert phone(knowledge, "macmillan_support_line") in text and phone(knowledge, "samaritans") in text


# --------------------------------------------------------------------------- next steps
@pytest.mark.parametrize("role", ["patient", "carer", "professional"])
def test_physical_effects_always_go_to_the_clinical_team_never_treated(knowledge, role):
    plan = build({"role": role, "concern_areas": ["physical"], "area_scores": {"physical": 9}}, knowledge)
    (item,) = plan.items
    assert item.next_step_kind == "ask_team"
    assert "cancer team" in item.next_step and "GP" in item.next_step
    assert item.service_name is None
    words = " ".join((item.next_step, *item.more_steps)).lower()
    assert not [w for w in TREATMENT_ADVICE if w in words]
    assert "acute oncology" in words  # the 24-hour number on their alert card, if on treatment


def test_each_concern_gets_the_chats_own_next_step_with_numbers_from_knowledge(knowledge):
    plan = build(CARER, knowledge)
    money, work, feelings = plan.items[1], plan.items[2], plan.items[3]
    assert money.next_step_kind == "benefit_check"
    assert money.service_name == knowledge.helplines["macmillan_welfare_rights"]["name"]
    assert phone(knowledge, "macmillan_welfare_rights") in money.next_step
    assert feelings.next_step_kind == "service" and feelings.service_name == "Macmillan Support Line"
    assert work.next_step_kind == "self_help" and work.next_step.startswith("Ask your employer")
    assert len(money.more_steps) == 2
    assert not any("{" in step for item in plan.items for step in (item.next_step, *item.more_steps))


def test_what_helps_already_is_in_the_plan_in_their_own_words(knowledge):
    text = P.as_text(build(CARER, knowledge), knowledge)
    assert "What or who helps already" in text
    assert "\u201cMy sister rings every night\u201d" in text
    assert "\u201cKeeping Mum at home and not losing my job\u201d" in text
    skipped = build({**CARER, "what_helps": "skipped", "what_matters": "   "}, knowledge)
    assert skipped.what_helps is None and skipped.what_matters is None
    assert "What or who helps already" not in P.as_text(skipped, knowledge)


def test_the_stage_adds_its_prompt_services_and_questions_for_the_team(knowledge):
    plan = build(CARER, knowledge)
    assert plan.stage == "in_treatment" and plan.stage_label == "They're having treatment"
    assert plan.questions_for_team == tuple(next(s for s in knowledge.journey["stages"]
                                                 if s["id"] == "in_treatment")["questions_for_team"])
    text = P.as_text(plan, knowledge)
    assert "Where you are now: They're having treatment" in text
    assert "Who do I call, day or night, if I feel unwell?" in text
    # a carers-only stage is not put in a patient's plan
    assert build({"role": "patient", "journey_stage": "hospital_discharge"}, knowledge).stage is None
    assert build({"role": "patient", "journey_stage": "no_such_stage"}, knowledge).stage is None


# --------------------------------------------------------------------------- review date
def test_the_review_date_is_the_persons_choice_else_by_stage_and_scores(knowledge):
    calm = {"role": "patient", "score_emotional": 3, "journey_stage": "in_treatment"}
    assert build(calm, knowledge).review_on == TODAY + timedelta(weeks=P.DEFAULT_REVIEW_WEEKS) == date(2026, 12, 21)
    assert build({**calm, "journey_stage": "finished_treatment"}, knowledge).review_on == TODAY + timedelta(weeks=2)
    assert build({**calm, "score_emotional": 8}, knowledge).review_on == TODAY + timedelta(weeks=2)
    assert build({**calm, "followup_weeks": 6.0}, knowledge).review_on == TODAY + timedelta(weeks=6)
    assert build({**calm, "followup_weeks": "3"}, knowledge, review_weeks=8).review_on == TODAY + timedelta(weeks=3)
    assert build(calm, knowledge, review_weeks=8).review_on == TODAY + timedelta(weeks=8)
    for nonsense in (0, 100, "soon", True):
        assert build({**calm, "followup_weeks": nonsense}, knowledge).review_on == TODAY + timedelta(weeks=4)
    assert "Look at this plan again on 21 December 2026" in P.as_text(build(calm, knowledge), knowledge)


# --------------------------------------------------------------------------- short text
def test_the_short_text_has_the_top_concerns_a_step_each_the_review_date_and_the_helpline(knowledge):
    plan = build(CARER, knowledge)
    text = P.as_short_text(plan, knowledge)
    assert len(text) <= 459 and sms.is_gsm7(text) and sms.segments_needed(text) <= 3
    lines = text.splitlines()
    assert lines[0] == "Your Signpost plan (23 November 2026)"
    assert lines[-1] == (f"Talk to someone: Macmillan Support Line {phone(knowledge, 'macmillan_support_line')}. "
                         f"Need help now? Samaritans {phone(knowledge, 'samaritans')}.")
    assert any(line.startswith("1. Physical effects: Tell their cancer team") for line in lines)
    assert any(line.startswith("2. Money: Ask for a free benefits check") for line in lines)
    assert "Look at it again on 7 December 2026." in lines


@pytest.mark.parametrize("words", ["I am so worried about everything " * 60, "\U0001F622 " + "x" * 3000,
                                   "\u0623\u0631\u064a\u062f \u0627\u0644\u0645\u0633\u0627\u0639\u062f\u0629"])
def test_the_short_text_fits_even_with_long_own_words_and_never_loses_the_helpline(knowledge, words):
    top3 = {**CARER, "what_matters": words, "top_concerns": ["physical", "financial", "work"], "plan_code": "K7P2Q"}
    plan = build(top3, knowledge)
    text = P.as_short_text(plan, knowledge)
    assert len(text) <= 459 and sms.segments_needed(text) <= 3
    assert text.endswith(f"Samaritans {phone(knowledge, 'samaritans')}.")
    assert phone(knowledge, "macmillan_support_line") in text
    assert "1. Physical effects: " in text
    for limit in (300, 200, 120, 50):
        short = P.as_short_text(plan, knowledge, limit=limit)
        helpline = short.splitlines()[-1]
        assert helpline.startswith("Talk to someone: Macmillan Support Line") and helpline.endswith("116 123.")
        assert len(short) <= max(limit, len(helpline))
        assert "..." not in short or re.search(r"\w\.\.\.$", short, re.M)  # cut at a word, not mid-word


def test_the_short_text_keeps_short_own_words_when_there_is_room(knowledge):
    plan = build({**CARER, "top_concerns": ["financial"]}, knowledge)
    assert "What matters: Keeping Mum at home and not losing my job" in P.as_short_text(plan, knowledge)


# --------------------------------------------------------------------------- storing
def test_a_stored_plan_comes_back_the_same(knowledge):
    plan = build({**CARER, "plan_code": "K7P2Q", "what_matters": "Mum \U0001F499 \u0645\u0631\u062d\u0628\u0627"},
                 knowledge)
    stored = json.loads(json.dumps(P.to_dict(plan)))
    assert stored["created"] == "2026-11-23" and stored["items"][0]["next_step_kind"] == "ask_team"
    again = P.from_dict(stored)
    assert again == plan
    assert P.as_text(again, knowledge) == P.as_text(plan, knowledge)
    assert "Your plan code is K7P2Q." in P.as_text(again, knowledge)
    with pytest.raises(ValueError):
        P.from_dict({"created": "2026-11-23"})
    with pytest.raises(ValueError):
        P.from_dict({**stored, "items": [{**stored["items"][0], "next_step_kind": "surgery"}]})


# --------------------------------------------------------------------------- young carers
def test_a_young_carer_gets_their_own_words_and_young_carers_help_only(knowledge):
    slots = {"role": "carer", "age": 13, "nation": "wales", "journey_stage": "in_treatment",
             "score_emotional": 7, "score_financial": 9, "concern_areas": ["physical", "family_children"],
             "area_scores": {"family_children": 8}, "what_helps": "my teacher"}
    plan = build(slots, knowledge)
    assert plan.role == "young_carer" and plan.young
    # no money or work for a child: only the domains with young carers' words, and the areas in their words
    assert [(i.area_id, i.area_name) for i in plan.items] == [("family_children", "Home and family"),
                                                              ("emotional", "How you're feeling"),
                                                              ("physical", "Feeling ill or in pain")]
    assert "someone you trust" in plan.items[1].next_step
    assert plan.items[2].next_step_kind == "ask_team" and "tell an adult" in plan.items[2].next_step
    childline = knowledge.services["childline"]["phone"]
    assert plan.helpline.name == "Childline" and plan.helpline.phone == childline
    assert plan.crisis_line.phone == phone(knowledge, "emergency_999")
    text = P.as_text(plan, knowledge)
    assert knowledge.say("plan_intro_young") in text and "Who or what helps you already" in text
    assert "Something you can do: " in text
    assert phone(knowledge, "macmillan_support_line") not in text and phone(knowledge, "samaritans") not in text
    assert "Childline: " + childline in text
    short = P.as_short_text(plan, knowledge)
    assert short.endswith(f"Want to talk? Childline {childline}. If someone is badly hurt or very ill, call 999.")
    # an adult carer with the same answers gets the adult plan
    assert build({**slots, "age": 40}, knowledge).role == "carer"
    assert build({"role": "young_carer"}, knowledge).young


def test_every_plan_wording_key_exists_and_is_required_so_an_edit_cannot_drop_it(knowledge):
    from pathlib import Path

    from signposting.knowledge import REQUIRED_WORDING

    source = "".join(Path(P.__file__).with_name(n).read_text() for n in ("plan.py", "plan_pdf.py"))
    keys = set(re.findall(r"\"(plan_[a-z_]+)\"", source))
    assert len(keys) > 20 and not [k for k in keys if k not in knowledge.wording]
    assert not [k for k in keys if k not in REQUIRED_WORDING]


def test_young_carers_plan_words_are_short_and_plain(knowledge):
    young = {k: v for k, v in knowledge.wording.items() if k.startswith("plan_") and k.endswith("_young")}
    assert len(young) >= 8
    for key, text in young.items():
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            assert len(sentence.split()) <= 20, (key, sentence)
        assert not [w for w in ("eligible", "entitlement", "respite", "statutory", "local authority")
                    if w in text.lower()], key
