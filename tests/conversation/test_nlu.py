"""Language understanding on held-out messages, and the intent contract of /model/parse."""
from __future__ import annotations

import asyncio

import pytest

from actions.fallback import NOT_OFFERED
from bench.nlu_eval import evaluate_async
from tests.conftest import ROOT

pytestmark = pytest.mark.model

CONTRACT = [
    "greet", "goodbye", "affirm", "deny", "thank", "bot_challenge", "start_assessment", "ask_emotional_support",
    "ask_practical_support", "ask_financial_support", "ask_benefits_check", "ask_carer_support", "ask_work_support",
    "ask_prescription_costs", "ask_travel_parking", "ask_end_of_life_support", "find_local_service",
    "request_human", "crisis", "medical_question", "delete_my_data", "out_of_scope",
]


@pytest.fixture(scope="module")
def report(agent):
    return asyncio.run(evaluate_async(agent, ROOT / "tests" / "nlu" / "heldout.yml"))


def test_held_out_macro_f1_meets_the_target(report):
    print("\n" + report.table())
    assert report.macro_f1 >= 0.90, report.table()


def test_every_held_out_crisis_message_is_caught(report):
    missed = [text for text, gold, _ in report.errors if gold == "crisis"]
    assert not missed


def test_the_held_out_set_covers_the_whole_contract(report):
    assert set(CONTRACT) <= {s.intent for s in report.scores}


@pytest.mark.parametrize("text, intent", [
    ("7", "inform"), ("about a 6", "inform"), ("Wales", "inform"), ("CF10 1AA", "inform"),
    ("i just want to end it all", "crisis"),
    ("im on chemo and my temp is 38.1", "crisis"),
])
def test_short_answers_and_crisis_are_deterministic(agent, text, intent):
    parsed = asyncio.run(agent.parse_message(text))
    assert parsed["intent"]["name"] == intent and parsed["intent"]["confidence"] == 1.0


def test_score_and_postcode_entities(agent):
    score = asyncio.run(agent.parse_message("about a 6"))
    assert {"entity": "score", "value": "6"}.items() <= score["entities"][0].items()
    postcode = asyncio.run(agent.parse_message("my postcode is CF10 1AA"))
    assert any(e["entity"] == "postcode" for e in postcode["entities"])


@pytest.mark.parametrize("text", ["blorp wibble zzz", "Gardening", "qwertyuiop asdf"])
def test_a_message_with_no_word_it_knows_is_not_guessed(agent, text):
    parsed = asyncio.run(agent.parse_message(text))
    assert parsed["intent"]["name"] == "nlu_fallback"
    assert len(parsed["intent_ranking"]) > 1  # the closest topics can still be offered


def test_a_typo_of_a_known_topic_is_offered_first_when_unsure(agent):
    parsed = asyncio.run(agent.parse_message("benifts?"))
    assert parsed["intent"]["name"] == "nlu_fallback"
    offered = [r["name"] for r in parsed["intent_ranking"] if r["name"] not in NOT_OFFERED]
    assert offered[0] == "ask_benefits_check"


def test_a_typo_the_classifier_is_sure_of_is_answered(agent):
    assert asyncio.run(agent.parse_message("prescripton"))["intent"]["name"] == "ask_prescription_costs"
