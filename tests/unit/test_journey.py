"""The journey stages, the extra concern areas and the young carers' path: words people will read."""
from __future__ import annotations

import re

import pytest

from signposting import journey as j
from signposting import social_care as sc
from signposting.knowledge import NATIONS

STAGES = ("waiting_for_tests", "new_diagnosis", "in_treatment", "finished_treatment", "living_with_advanced_cancer",
          "end_of_life", "bereaved", "hospital_discharge", "caring_role_ending")
CARER_ONLY = ("hospital_discharge", "caring_role_ending")
UNDER_SUPPORTED = ("waiting_for_tests", "finished_treatment", "living_with_advanced_cancer", "end_of_life",
                   "bereaved", "hospital_discharge", "caring_role_ending")
AREAS = ("physical", "getting_about", "housing", "family_children", "social_loneliness", "spiritual", "information")

# The seeds' tone: normalise, give permission, never press.
NORMALISING = ("many people", "lots of", "that's normal", "it's normal", "that's very common", "you're not alone",
               "it's ok", "that's ok", "there's no right way")
PERMISSION = ("if you'd like", "when you're ready", "you don't have to", "it's ok", "you can")
PRESSING = ("you must", "you should", "you need to", "you have to", "you ought", "make sure you")

# Physical effects go to the clinical team: none of these may appear in what Signpost says about them.
TREATMENT_ADVICE = ("paracetamol", "ibuprofen", "painkiller", "dose", "dosage", "tablet", "medication",
                    "cream", "rest more", "get some rest", "drink plenty", "eat more", "eat little", "diet",
                    "exercise", "stretch", "breathing technique", "sleep hygiene", "caffeine", "alcohol", "try ",
                    "you should take", "stop taking", "supplement", "vitamin", "herbal", "remedy", "treat it",
                    "to treat", "hot water bottle", "ice pack", "lie down", "sit up", "fresh air")

# Words a young carer should not have to decode.
JARGON = ("eligible", "eligibility", "entitlement", "entitled", "statutory", "respite", "local authority",
          "provision", "holistic", "domiciliary", "means test", "safeguarding", "signpost", "outcomes",
          "personal budget", "direct payment", "adult social care", "multidisciplinary", "facilitate", "intervention",
          "palliative", "reablement", "continuing healthcare", "ombudsman", "discharge", "co-ordinate", "coordinate",
          "liaise", "referral", "criteria", "services provided")
# Official names a young carer may need to ask for: allowed only when the next sentence says what they are.
OFFICIAL = ("assessment", "young carer statement", "young carer grant", "id card")


def words_in(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9']+", text))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text) if s]


def young_carer_texts(knowledge) -> dict[str, str]:
    """Everything a young carer may be shown, by where it comes from."""
    texts = {f"messages.{key}": j.young_carer_message(key, knowledge) for key in knowledge.young_carers["messages"]}
    for stage, _ in j.stages("young_carer", knowledge):
        texts[f"stages.{stage}"] = j.prompts_for(stage, "young_carer", None, knowledge).text
    for nation in NATIONS:
        texts[f"nations.{nation}"] = j.young_carer_help(nation, knowledge).text
    for area in j.concern_areas("young_carer", None, knowledge):
        texts[f"concerns.{area.id}.label"] = area.label
        texts[f"concerns.{area.id}.question"] = area.question
        for i, step in enumerate(area.next_steps):
            texts[f"concerns.{area.id}.next_steps[{i}]"] = step
        texts.update({f"concerns.{area.id}.options.{o.id}": o.label for o in area.options})
    for key in knowledge.concerns["prompts"]:
        texts[f"concerns.prompts.{key}"] = j.concern_prompt(key, "young_carer", knowledge, area="this")
    return texts


# --------------------------------------------------------------------------- stages
def test_every_stage_the_issue_names_is_there_in_order(knowledge):
    assert [stage for stage, _ in j.stages("carer", knowledge)] == list(STAGES)
    assert [stage for stage, _ in j.stages("patient", knowledge)] == [s for s in STAGES if s not in CARER_ONLY]
    assert [stage for stage, _ in j.stages("young_carer", knowledge)] == list(STAGES)


@pytest.mark.parametrize("role", ["patient", "carer", "young_carer", "professional"])
def test_every_stage_has_a_prompt_for_every_role_it_is_for(knowledge, role):
    for stage, label in j.stages(role, knowledge):
        prompt = j.prompts_for(stage, role, None, knowledge)
        assert prompt.stage == stage and prompt.label == label and len(prompt.text) >= 60, (stage, role)
        assert prompt.role == ("patient" if role == "professional" else role)


def test_carer_only_moments_are_not_offered_to_patients(knowledge):
    for stage in CARER_ONLY:
        with pytest.raises(ValueError, match="is for carer, not patient"):
            j.prompts_for(stage, "patient", None, knowledge)
        assert j.prompts_for(stage, "carer", None, knowledge).text


def test_the_under_supported_moments_are_marked(knowledge):
    marked = {s for s, _ in j.stages("carer", knowledge) if j.prompts_for(s, "carer", None, knowledge).under_supported}
    assert marked == set(UNDER_SUPPORTED)


@pytest.mark.parametrize("role", ["patient", "carer"])
def test_prompts_normalise_give_permission_and_never_press(knowledge, role):
    for stage, _ in j.stages(role, knowledge):
        text = j.prompts_for(stage, role, None, knowledge).text.lower().replace("\u2019", "'")
        assert any(p in text for p in NORMALISING), (stage, role, "normalise: 'many people in your position...'")
        assert any(p in text for p in PERMISSION), (stage, role, "give permission: 'if you'd like...'")
        assert not [p for p in PRESSING if p in text], (stage, role)
        assert max(words_in(s) for s in sentences(text)) <= 20, (stage, role, "split long sentences")


def test_symptoms_in_a_stage_prompt_go_to_the_team_and_the_alert_card(knowledge):
    for role in ("patient", "carer"):
        text = j.prompts_for("in_treatment", role, None, knowledge).text
        assert "alert card" in text and "24-hour" in text, role
        assert not [w for w in TREATMENT_ADVICE if w in text.lower()], role


def test_signposts_fit_the_person_s_nation(knowledge):
    def services(stage, role, nation):
        return [s.id for s in j.prompts_for(stage, role, nation, knowledge).signposts if s.kind == "service"]

    scotland, england = services("bereaved", "carer", "scotland"), services("bereaved", "carer", "england")
    assert "cruse_scotland_helpline" in scotland and "cruse_helpline" not in scotland
    assert "cruse_helpline" in england and "cruse_scotland_helpline" not in england
    for stage, _ in j.stages("carer", knowledge):
        for nation in (None, *NATIONS):
            for sign in j.prompts_for(stage, "carer", nation, knowledge).signposts:
                if sign.kind == "service":
                    service = knowledge.services[sign.id]
                    assert service["status"] == "active"
                    assert (nation in service["nations"]) if nation else len(service["nations"]) == 4


def test_signposts_fit_the_person_s_role(knowledge):
    carer = {(s.kind, s.id) for s in j.prompts_for("new_diagnosis", "carer", "wales", knowledge).signposts}
    patient = {(s.kind, s.id) for s in j.prompts_for("new_diagnosis", "patient", "wales", knowledge).signposts}
    assert ("social_care", "carers_assessment") in carer and ("social_care", "carers_assessment") not in patient
    discharge = j.prompts_for("hospital_discharge", "carer", "england", knowledge)
    assert {("social_care", "reablement"), ("social_care", "carers_assessment")} <= \
        {(s.kind, s.id) for s in discharge.signposts}
    assert discharge.questions_for_team and all(q.endswith("?") for q in discharge.questions_for_team)


def test_every_signpost_leads_somewhere_that_exists(knowledge):
    for stage, _ in j.stages("carer", knowledge):
        for role in ("patient", "carer", "young_carer"):
            if stage in CARER_ONLY and role == "patient":
                continue
            for sign in j.prompts_for(stage, role, "england", knowledge).signposts:
                if sign.kind == "topic":
                    assert sign.id in knowledge.topics
                elif sign.kind == "social_care":
                    assert sc.social_care_answer(sign.id, "england", knowledge).text
                elif sign.kind == "concern":
                    assert j.concern_area(sign.id, role, "england", knowledge)
                else:
                    assert sign.phone or sign.url, sign


def test_people_s_own_words_find_the_stage(knowledge):
    said = {  # the seed digest's test utterances (seed-digest-000-001.md §3.4B)
        "I'm waiting for my scan results and I'm terrified": "waiting_for_tests",
        "Treatment's finished and suddenly nobody calls. I feel dropped.": "finished_treatment",
        "Mum's being discharged on Friday and I don't know how I'll cope": "hospital_discharge",
        "She died last month. Is there anything for me now?": "bereaved",
        "the cancer has come back and spread to his liver": "living_with_advanced_cancer",
        "I was just diagnosed last week": "new_diagnosis",
        "I'm on chemo at the moment": "in_treatment",
        "the doctors say he has weeks to live": "end_of_life",
        "dad has moved into a care home so I'm not a carer any more": "caring_role_ending",
    }
    for text, stage in said.items():
        assert j.find_stage(text, knowledge) == stage, text
    assert j.find_stage("what time is it", knowledge) is None


def test_unknown_stage_role_or_nation_is_a_clear_error(knowledge):
    with pytest.raises(ValueError, match="unknown journey stage 'remission'"):
        j.prompts_for("remission", "patient", None, knowledge)
    with pytest.raises(ValueError, match="unknown role 'neighbour'"):
        j.prompts_for("bereaved", "neighbour", None, knowledge)
    with pytest.raises(ValueError, match="unknown nation"):
        j.prompts_for("bereaved", "carer", "ireland", knowledge)


# --------------------------------------------------------------------------- concern areas
@pytest.mark.parametrize("role", ["patient", "carer"])
def test_the_extra_concern_areas_are_offered_with_a_question_options_and_next_steps(knowledge, role):
    areas = j.concern_areas(role, None, knowledge)
    assert [a.id for a in areas] == list(AREAS)
    assert not {"emotional", "practical", "financial", "work"} & {a.id for a in areas}, "assessment.yml has those"
    for area in areas:
        assert area.question and 2 <= len(area.options) <= 8 and 1 <= len(area.next_steps) <= 3, area.id
        assert all(not re.search(r"\{[a-z_]+:[a-z0-9_]+\}", step) for step in area.next_steps), "placeholders filled"
        assert area.signposts, area.id


def test_physical_effects_always_go_to_the_clinical_team_and_are_never_treated(knowledge):
    for role in ("patient", "carer", "young_carer", "professional"):
        area = j.concern_area("physical", role, "scotland", knowledge)
        assert area.clinical, role
        assert {o.id for o in area.options} >= {"tiredness", "pain", "eating", "sleep", "breathlessness"}
        said = " ".join((area.question, *area.next_steps)).lower()
        assert "cancer team" in said or "doctors and nurses" in said, role
        assert "999" in said, role
        if role != "young_carer":
            assert "24-hour acute oncology number" in said and "alert card" in said, role
        assert not [w for w in TREATMENT_ADVICE if w in said], (role, [w for w in TREATMENT_ADVICE if w in said])
    others = [a.id for a in j.concern_areas("patient", None, knowledge) if a.clinical]
    assert others == ["physical"]


def test_concern_prompts_ask_what_helps_and_for_the_top_three(knowledge):
    assert "What or who helps you already?" in j.concern_prompt("what_helps", "patient", knowledge)
    assert "one, two or three" in j.concern_prompt("choose_top", "carer", knowledge)
    assert "How much is your home bothering you?" in j.concern_prompt("rate", "patient", knowledge, area="your home")
    assert "0 to 10" in j.concern_prompt("rate", "carer", knowledge, area="x")


# --------------------------------------------------------------------------- young carers
def test_under_18_is_a_young_carer(knowledge):
    assert j.is_young_carer(17, knowledge) and j.is_young_carer(8, knowledge)
    assert not j.is_young_carer(18, knowledge) and not j.is_young_carer(None, knowledge)


def test_young_carer_wording_avoids_jargon_and_stays_short(knowledge):
    for where, text in young_carer_texts(knowledge).items():
        lower = text.lower()
        assert not [w for w in JARGON if w in lower], (where, [w for w in JARGON if w in lower])
        assert max(words_in(s) for s in sentences(text)) <= 20, (where, "a young carer's sentence over 20 words")
        parts = sentences(text)
        for i, sentence in enumerate(parts):
            for name in OFFICIAL:
                if name in sentence.lower():
                    following = parts[i + 1] if i + 1 < len(parts) else ""
                    assert following.startswith(("That's", "It shows")), (where, name, "say what it is next")


def test_a_young_carer_always_hears_about_childline(knowledge):
    childline = knowledge.services["childline"]
    help_now = j.young_carer_message("help_now", knowledge)
    assert "Childline" in help_now and childline["phone"] == "0800 1111" and "0800 1111" in help_now
    for nation in (None, *NATIONS):
        support = j.young_carer_help(nation, knowledge)
        assert "Childline" in support.help_now and "0800 1111" in support.help_now
        assert "childline" in [s["id"] for s in support.services], nation
        assert all(s["age"].get("max", 99) >= 17 or s["age"].get("min", 0) < 18 for s in support.services)


def test_young_carers_are_told_what_they_can_ask_for_where_they_live(knowledge):
    scotland = j.young_carer_help("scotland", knowledge)
    assert "young carer statement" in scotland.text and "Young Carer Grant" in scotland.text
    assert "young_carer_grant_scotland" in [s["id"] for s in scotland.services]
    assert "ID card" in j.young_carer_help("wales", knowledge).text
    assert "Health and Social Care Trust" in j.young_carer_help("northern_ireland", knowledge).text
    for nation in NATIONS:
        support = j.young_carer_help(nation, knowledge)
        ids = [s["id"] for s in support.services]
        assert "carers_trust_young_carers" in ids and len(ids) >= 3, nation
        assert all(nation in s["nations"] and s["status"] == "active" for s in support.services)
        assert all(src.url.startswith("https://") for src in support.sources)


def test_a_young_carer_is_never_made_responsible_and_is_told_it_is_not_their_fault(knowledge):
    assert "not your fault" in j.young_carer_message("too_much", knowledge)
    assert "not your fault" in j.prompts_for("new_diagnosis", "young_carer", None, knowledge).text
    physical = j.concern_area("physical", "young_carer", None, knowledge)
    assert "tell an adult" in " ".join(physical.next_steps) and "not your job" in " ".join(physical.next_steps)


def test_young_carers_are_pointed_to_young_people_s_services_only(knowledge):
    for_children_too = {"winstons_wish_helpline", "cruse_scotland_helpline"}  # bereavement help for all ages
    for stage, _ in j.stages("young_carer", knowledge):
        for nation in NATIONS:
            for sign in j.prompts_for(stage, "young_carer", nation, knowledge).signposts:
                age = knowledge.services[sign.id].get("age") or {}
                assert sign.kind == "service", (stage, sign)
                assert age.get("max", 99) <= 25 or sign.id in for_children_too, (stage, nation, sign.id)
    bereaved = [s.id for s in j.prompts_for("bereaved", "young_carer", "england", knowledge).signposts]
    assert "winstons_wish_helpline" in bereaved and "hope_again" in bereaved


# --------------------------------------------------------------------------- ended schemes
def _all_new_texts(knowledge):
    """Every text in the four new files, with where it is."""
    for name in ("social_care", "journey", "concerns", "young_carers"):
        for path, text in sc.text_items(getattr(knowledge, name)):
            yield f"{name}.yml:{'.'.join(map(str, path))}", text


def test_ended_schemes_are_never_offered_as_current(knowledge):
    """A mention of an ended scheme must say, in the same sentence, that it ended or was replaced."""
    ended_words = ("replaced", "ended", "closed", "no longer", "phased out", "doesn't use")
    for where, text in _all_new_texts(knowledge):
        for sentence in sentences(" ".join(text.split())):
            lower = sentence.lower()
            for scheme in knowledge.ended_schemes.values():
                for name in (scheme["name"], *scheme["synonyms"]):
                    if re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", lower):
                        assert any(w in lower for w in ended_words), (where, scheme["id"], sentence)
    ended_ids = set(knowledge.ended_schemes)
    for stage, _ in j.stages("carer", knowledge):
        assert not {s.id for s in j.prompts_for(stage, "carer", "england", knowledge).signposts} & ended_ids


def test_the_old_social_care_schemes_are_explained_as_replaced(knowledge):
    explained = {"facs_eligibility_bands": "Care Act 2014", "supporting_people": "housing", "carers_direct": "Carers UK",
                 "nhs_continuing_healthcare_scotland": "Hospital Based Complex Clinical Care",
                 "independent_living_fund_england_wales": "council", "social_fund_community_care_grants":
                 "Scottish Welfare Fund", "liverpool_care_pathway": "plan"}
    for scheme_id, now in explained.items():
        scheme = knowledge.ended_schemes[scheme_id]
        assert now in sc.fill(scheme["what_to_say"], knowledge), scheme_id
        assert scheme["replaced_by"] and scheme["source"].startswith("https://")
    for scheme in knowledge.ended_schemes.values():  # a scheme ended in one nation names it in every synonym
        if "scotland" in scheme["id"] or "england_wales" in scheme["id"]:
            nations = ("scotland",) if "scotland" in scheme["id"] else ("england", "wales", "welsh")
            assert all(any(n in s for n in nations) for s in scheme["synonyms"]), scheme["id"]
