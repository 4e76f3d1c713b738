"""Social care explained per nation: what a person reading at 11pm needs to know to ask tomorrow."""
from __future__ import annotations

import re
from datetime import date

import pytest

from signposting import social_care as sc
from signposting.knowledge import NATIONS

# The topics the issue asks for, in plain words (issue 9, "Social care explained, per nation").
TOPICS = ("needs_assessment", "financial_assessment", "personal_budgets", "equipment_adaptations", "reablement",
          "continuing_healthcare", "carers_assessment", "carer_breaks", "waiting_times", "community_support",
          "complaints")
ASK_NATION = "Which nation do you live in: England, Scotland, Wales or Northern Ireland?"
CHECKED_ON = date(2026, 11, 23)
# Organisations that are the state, not the voluntary sector: never offered as the "community" option.
STATUTORY_ORGANISATIONS = {"uk_government", "dwp", "nhs_england", "nhsbsa", "scottish_government",
                           "social_security_scotland", "nhs_24", "welsh_government", "nhs_wales", "betsi_cadwaladr_uhb",
                           "department_for_communities", "nidirect", "public_health_agency_ni", "glasgow_city_council",
                           "glasgow_city_hscp", "nhs_greater_glasgow_and_clyde", "lambeth_council"}
# Terms a reader may not know: the first time one is used, it is explained right there.
GLOSSARY = ("needs assessment", "financial assessment", "means test", "personal budget", "direct payment",
            "self-directed support", "occupational therapist", "disabled facilities grant", "scheme of assistance",
            "reablement", "nhs continuing healthcare", "continuing nhs healthcare", "hospital based complex clinical care",
            "fast-track", "carer's assessment", "carer's needs assessment", "adult carer support plan",
            "young carer statement", "ombudsman", "befriender", "sitting service", "personal care",
            "palliative care", "treatment summary", "personal assistant")
EXPLAINED_AFTER = re.compile(r"^(\s*\(|,? (is|means) |[^.?!]*[.?!]\s+(That's|That means|This means|This is) )")


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text) if s]


def answers(knowledge, nations=(None, *NATIONS)):
    for topic in sc.topic_ids(knowledge):
        for nation in nations:
            yield topic, nation, sc.social_care_answer(topic, nation, knowledge)


def test_every_topic_the_issue_asks_for_is_there(knowledge):
    assert set(TOPICS) <= set(sc.topic_ids(knowledge))


@pytest.mark.parametrize("nation", NATIONS)
def test_every_nation_has_a_sourced_dated_answer_for_every_topic(knowledge, nation):
    for topic in sc.topic_ids(knowledge):
        answer = sc.social_care_answer(topic, nation, knowledge)
        assert answer.nation == nation and len(answer.text) >= 80, topic
        assert answer.text != sc.social_care_answer(topic, None, knowledge).text, f"{topic}: {nation} is the default"
        assert answer.sources, topic
        for source in answer.sources:
            assert source.url.startswith("https://"), (topic, source)
            checked, review_by = date.fromisoformat(source.checked), date.fromisoformat(source.review_by)
            assert checked <= CHECKED_ON < review_by, (topic, source)
            assert (review_by - checked).days <= 366, f"{topic}: review within 12 months of checking"


def test_without_a_nation_the_answer_is_short_and_asks_which_nation(knowledge):
    for topic in sc.topic_ids(knowledge):
        answer = sc.social_care_answer(topic, None, knowledge)
        assert answer.text.endswith(ASK_NATION), topic
        assert all(len(s["nations"]) == 4 for s in answer.services), "only UK-wide services before we know the nation"


def test_answers_fit_a_text_message_and_read_at_about_age_ten(knowledge):
    for topic, nation, answer in answers(knowledge):
        assert len(answer.text) <= 600, (topic, nation)
        longest = max(len(re.findall(r"[A-Za-z0-9']+", s)) for s in sentences(answer.text))
        assert longest <= 20, f"{topic}/{nation}: a sentence of {longest} words; split it"
        assert not re.search(r"\b0\d{3,4} ?\d{3}", answer.text), f"{topic}/{nation}: a typed phone number"


def unexplained_terms(text: str) -> list[str]:
    """Glossary terms whose first use is not explained: in brackets, "called ...", or "That's ..." next."""
    lower, missing = text.lower(), []
    for term in GLOSSARY:
        at = lower.find(term)
        if at < 0:
            continue
        sentence_start = max(lower.rfind(". ", 0, at), lower.rfind("? ", 0, at), 0)
        inside_brackets = lower.rfind("(", 0, at) > lower.rfind(")", 0, at)
        named = "called" in lower[sentence_start:at] or "that's" in lower[sentence_start:at]
        after = text[at + len(term):]
        after = after[after.find(" ") if after[:1].isalpha() else 0:]  # "fast-track|ed" -> what follows
        if not (inside_brackets or named or EXPLAINED_AFTER.match(after)):
            missing.append(term)
    return missing


def test_the_term_check_catches_an_unexplained_term():
    assert unexplained_terms("Ask the council for a direct payment today.") == ["direct payment"]
    assert unexplained_terms("Ask for a direct payment (money paid to you).") == []
    assert unexplained_terms("Ask for a direct payment. That's money paid to you.") == []
    assert unexplained_terms("You choose. This is called Self-directed Support.") == []
    assert unexplained_terms("A befriender is a volunteer who visits.") == []


def test_a_term_is_explained_the_first_time_it_is_used(knowledge):
    unexplained = [f"{topic}/{nation}: {term!r}" for topic, nation, answer in answers(knowledge)
                   for text in (answer.text, answer.community) for term in unexplained_terms(text)]
    assert not unexplained, unexplained


def test_asking_is_free_and_is_not_saying_you_cannot_cope(knowledge):
    for nation in NATIONS:
        text = sc.social_care_answer("needs_assessment", nation, knowledge).text
        assert "free" in text and "doesn't mean you're not coping" in text, nation


def test_each_nation_names_its_own_law(knowledge):
    say = lambda topic, nation: sc.social_care_answer(topic, nation, knowledge).text  # noqa: E731
    assert "Care Act 2014" in say("needs_assessment", "england")
    assert "Care Act 2014" in say("carers_assessment", "england")
    assert "Social Services and Well-being (Wales) Act 2014" in say("needs_assessment", "wales")
    assert "Social Services and Well-being (Wales) Act 2014" in say("carers_assessment", "wales")
    assert "Self-directed Support" in say("needs_assessment", "scotland")
    assert "Carers (Scotland) Act 2016" in say("carers_assessment", "scotland")
    assert "young carer statement" in say("carers_assessment", "scotland")
    facts = {nation: sc.nation_facts(nation, knowledge) for nation in NATIONS}
    assert "Social Care (Self-directed Support) (Scotland) Act 2013" in facts["scotland"]["law"]
    assert "Health and Social Care Trust" in facts["northern_ireland"]["law"]


def test_scotland_explains_the_four_self_directed_support_options(knowledge):
    text = sc.social_care_answer("personal_budgets", "scotland", knowledge).text
    assert all(f"Option {n}" in text for n in (1, 2, 3, 4))


def test_in_northern_ireland_people_ask_the_trust_never_the_council(knowledge):
    for topic in sc.topic_ids(knowledge):
        answer = sc.social_care_answer(topic, "northern_ireland", knowledge)
        assert "council" not in answer.full_text.lower(), topic
        if topic not in ("continuing_healthcare",):
            assert "Trust" in answer.text, topic


def test_statutory_answers_always_come_with_community_options_for_that_nation(knowledge):
    for topic, nation, answer in answers(knowledge):
        care = next(t for t in knowledge.social_care["topics"] if t["id"] == topic)
        if care["statutory"]:
            for words in ("befriender", "sitting service", "Volunteer drivers", "Faith and community groups"):
                assert words in answer.community, (topic, nation, words)
            assert answer.full_text.endswith(answer.community)
        assert answer.services and answer.categories, (topic, nation)
        for service in answer.services:
            assert service["status"] == "active"
            assert nation is None or nation in service["nations"], (topic, nation, service["id"])
            assert service["organisation"] not in STATUTORY_ORGANISATIONS, (topic, nation, service["id"])
        assert set(answer.categories) <= set(knowledge.categories)


def test_equipment_names_the_grant_each_nation_really_has(knowledge):
    for nation in ("england", "wales", "northern_ireland"):
        text = sc.social_care_answer("equipment_adaptations", nation, knowledge).text
        assert "Disabled Facilities Grant" in text and "occupational therapist" in text.lower(), nation
    scotland = sc.social_care_answer("equipment_adaptations", "scotland", knowledge).text
    assert "scheme of assistance" in scotland and "Disabled Facilities Grant" not in scotland
    assert "Housing Executive" in sc.social_care_answer("equipment_adaptations", "northern_ireland", knowledge).text


def test_help_after_hospital_is_free_for_up_to_six_weeks_in_england_and_wales(knowledge):
    for nation in ("england", "wales"):
        text = sc.social_care_answer("reablement", nation, knowledge).text
        assert "free for up to 6 weeks" in text and "carer's" in text, nation


def test_nhs_funded_care_and_the_fast_track_differ_by_nation(knowledge):
    england = sc.social_care_answer("continuing_healthcare", "england", knowledge).text
    assert "NHS Continuing Healthcare" in england and "fast-track" in england and "isn't based on money" in england
    scotland = sc.social_care_answer("continuing_healthcare", "scotland", knowledge).text
    assert "Hospital Based Complex Clinical Care" in scotland and "was replaced in 2015" in scotland
    assert "fast-track" in sc.social_care_answer("continuing_healthcare", "wales", knowledge).text
    assert "doesn't use NHS Continuing Healthcare" in sc.social_care_answer("continuing_healthcare",
                                                                            "northern_ireland", knowledge).text


def test_carers_get_their_own_assessment_and_breaks_from_a_few_hours_to_short_stays(knowledge):
    for nation in NATIONS:
        assessment = sc.social_care_answer("carers_assessment", nation, knowledge).text
        assert "your own" in assessment or "affects you" in assessment, nation
        breaks = sc.social_care_answer("carer_breaks", nation, knowledge).text
        assert "few hours" in breaks and ("short stay" in breaks), nation
        assert "isn't letting anyone down" in breaks
    assert "any carer who seems to need support can ask" in sc.social_care_answer("carers_assessment", "england",
                                                                                  knowledge).text


def test_waiting_times_are_honest_and_say_what_to_do_meanwhile(knowledge):
    for nation in NATIONS:
        text = sc.social_care_answer("waiting_times", nation, knowledge).text
        assert "several weeks or longer" in text and "urgent" in text and "Meanwhile" in text, nation


def test_complaints_go_to_the_right_ombudsman(knowledge):
    ombudsman = {"england": "Local Government and Social Care Ombudsman",
                 "scotland": "Scottish Public Services Ombudsman",
                 "wales": "Public Services Ombudsman for Wales",
                 "northern_ireland": "Northern Ireland Public Services Ombudsman"}
    for nation, name in ombudsman.items():
        assert name in sc.social_care_answer("complaints", nation, knowledge).text
        facts = sc.nation_facts(nation, knowledge)
        assert facts["ombudsman"] == name and facts["ombudsman_url"].startswith("https://")


def test_people_s_own_words_find_the_topic(knowledge):
    said = {
        "what's a direct payment?": "personal_budgets",
        "can I get a stairlift put in": "equipment_adaptations",
        "Mum's coming home from hospital on Friday": "reablement",
        "how do I complain to the ombudsman": "complaints",
        "do I have to pay for care": "financial_assessment",
        "I need a break from caring": "carer_breaks",
        "The council said I'm not eligible. Is there anything else?": "community_support",
        "can I get a carer's assessment": "carers_assessment",
        "it's been weeks and nobody has called": "waiting_times",
        "what is the fast track for end of life care": "continuing_healthcare",
        "how do i get social services to help": "needs_assessment",
    }
    for text, topic in said.items():
        assert sc.find_topic(text, knowledge) == topic, text
    assert sc.find_topic("what's the weather like", knowledge) is None


def test_service_placeholders_are_filled_from_the_directory(knowledge):
    assert sc.fill("Call {service_name:childline} on {service_phone:childline}.", knowledge) == \
        f"Call Childline on {knowledge.services['childline']['phone']}."


def test_a_wrong_topic_or_nation_is_a_clear_error(knowledge):
    with pytest.raises(sc.UnknownTopic, match="needs_assessment"):
        sc.social_care_answer("social_care_please", "england", knowledge)
    with pytest.raises(ValueError, match="unknown nation 'france'"):
        sc.social_care_answer("needs_assessment", "france", knowledge)


def test_answers_are_the_same_every_time(knowledge):
    first = [a for _, _, a in answers(knowledge)]
    assert first == [a for _, _, a in answers(knowledge)]
