"""The benefits engine: every rule at its boundaries, the data checks, the CLI and the figures' provenance."""
from __future__ import annotations

import json
import random
import re
import statistics
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from signposting import benefits as b
from signposting.cli import app

ROOT = Path(__file__).resolve().parents[2]
YEAR = ROOT / "knowledge" / "benefits" / "2026-27"
TODAY = date(2026, 11, 23)
RULES = b.load_rules(TODAY)

CARER = dict(nation="wales", role="carer", age=40, care_hours_per_week=40.0,
             cared_for_benefits=("pip_daily_living_standard",), weekly_net_earnings=100.0, in_full_time_education=False)
PATIENT = dict(nation="england", role="patient", age=50, terminal_illness=False, employment="employed",
               household_size=1, savings=1000.0, weekly_income_after_housing=200.0)


def outcomes(**answers) -> dict[str, b.Outcome]:
    return {o.id: o for o in b.check(b.Answers(date=TODAY, **answers), RULES)}


def outcome(benefit: str, **answers) -> b.Outcome | None:
    return outcomes(**answers).get(benefit)


def money_rates() -> set[float]:
    data = yaml.safe_load((YEAR / "rates.yml").read_text())
    return {float(r["amount"]) for r in data["rates"] if r["unit"] in b.MONEY_UNITS}


# --------------------------------------------------------------------------- carer benefits
@pytest.mark.parametrize("nation, benefit", [("england", "carers_allowance"), ("wales", "carers_allowance"),
                                             ("northern_ireland", "carers_allowance"),
                                             ("scotland", "carer_support_payment")])
@pytest.mark.parametrize("change, result", [
    ({}, "likely"),
    ({"weekly_net_earnings": 204.00}, "likely"),      # exactly the limit is allowed
    ({"weekly_net_earnings": 204.01}, "unlikely"),
    ({"weekly_net_earnings": 0.0}, "likely"),
    ({"care_hours_per_week": 35.0}, "likely"),
    ({"care_hours_per_week": 34.0}, "unlikely"),
    ({"care_hours_per_week": 34.99}, "unlikely"),
    ({"care_hours_per_week": 168.0}, "likely"),
    ({"age": 16}, "likely"),
    ({"age": 15}, "unlikely"),
    ({"age": 80}, "likely"),
    ({"cared_for_benefits": ()}, "unlikely"),
    ({"cared_for_benefits": ("dla_care_highest", "pip_daily_living_enhanced")}, "likely"),
])
def test_carers_allowance_and_carer_support_payment_boundaries(nation, benefit, change, result):
    found = outcome(benefit, **{**CARER, "nation": nation, **change})
    assert found is not None and found.result == result, found
    assert found.weekly_amount == ((86.45, 86.45) if result != "unlikely" else None)
    assert found.reasons and found.unknown == ()


@pytest.mark.parametrize("benefit", ["attendance_allowance_lower", "attendance_allowance_higher",
                                     "pip_daily_living_standard", "pip_daily_living_enhanced", "dla_care_middle",
                                     "dla_care_highest", "adp_daily_living_standard", "adp_daily_living_enhanced",
                                     "armed_forces_independence_payment"])
def test_every_qualifying_benefit_counts_for_carers_allowance(benefit):
    assert outcome("carers_allowance", **{**CARER, "cared_for_benefits": (benefit,)}).result == "likely"


def test_carers_allowance_reasons_say_why_in_plain_english():
    over = outcome("carers_allowance", **{**CARER, "weekly_net_earnings": 204.01})
    assert over.reasons == ("You earn more than the £204 a week limit after tax, National Insurance and allowable "
                            "expenses. Going even a little over stops the payment for that week.",)
    few = outcome("carers_allowance", **{**CARER, "care_hours_per_week": 34.0})
    assert any("at least 35 hours" in r for r in few.reasons)
    yes = outcome("carers_allowance", **CARER)
    assert "You care for 35 hours a week or more." in yes.reasons


def test_full_time_education_rules_out_carers_allowance_but_not_always_carer_support_payment():
    assert outcome("carers_allowance", **{**CARER, "in_full_time_education": True}).result == "unlikely"
    scotland = {**CARER, "nation": "scotland", "in_full_time_education": True}
    assert outcome("carer_support_payment", **{**scotland, "age": 20}).result == "likely"
    young = outcome("carer_support_payment", **{**scotland, "age": 19})
    assert young.result == "possibly" and young.unknown == () and any("university" in r for r in young.reasons)
    assert outcome("carer_support_payment", **{**scotland, "age": None}).unknown == ("age",)


@pytest.mark.parametrize("benefit, nation", [("carers_allowance", "england"), ("carer_support_payment", "scotland")])
@pytest.mark.parametrize("field", ["age", "care_hours_per_week", "cared_for_benefits", "weekly_net_earnings",
                                   "in_full_time_education"])
def test_one_unknown_answer_gives_possibly_naming_it(benefit, nation, field):
    answers = {**CARER, "nation": nation, field: None}
    if benefit == "carer_support_payment" and field == "in_full_time_education":
        answers["age"] = 18  # from 20, full-time students can get it anyway
    found = outcome(benefit, **answers)
    assert found.result == "possibly" and found.unknown == (field,), found
    assert found.weekly_amount == (86.45, 86.45)


def test_uc_carer_element_has_no_earnings_limit_but_is_means_tested():
    found = outcome("uc_carer_element", **{**CARER, "weekly_net_earnings": 900.0, "savings": 100.0})
    assert found.result == "possibly" and found.unknown == ()
    assert found.weekly_amount == (48.31, 48.31)  # £209.34 a month x 12 / 52
    assert any("£209.34 a month" in r for r in found.reasons)
    assert outcome("uc_carer_element", **{**CARER, "care_hours_per_week": 34.0}).result == "unlikely"
    assert outcome("uc_carer_element", **{**CARER, "savings": 16000.01}).result == "unlikely"
    assert outcome("uc_carer_element", **{**CARER, "age": 66}).result == "unlikely"
    assert outcome("uc_carer_element", **{**CARER, "cared_for_benefits": ()}).result == "unlikely"


@pytest.mark.parametrize("nation, words", [
    ("england", ["Care Act 2014", "carer's assessment"]),
    ("wales", ["Social Services and Well-being (Wales) Act 2014"]),
    ("scotland", ["Carers (Scotland) Act 2016", "adult carer support plan"]),
    ("northern_ireland", ["Carers and Direct Payments Act (Northern Ireland) 2002", "Health and Social Care Trust"]),
    (None, ["Every carer in the UK"]),
])
def test_carers_assessment_names_each_nations_law(nation, words):
    found = outcome("carers_assessment", nation=nation, role="carer")
    assert found.result == "likely" and found.source.startswith("https://www.legislation.gov.uk/")
    text = " ".join(found.reasons) + " " + found.how_to_claim
    assert all(word in text for word in words), text


# --------------------------------------------------------------------------- nations and roles
@pytest.mark.parametrize("nation, present, absent", [
    ("england", {"carers_allowance"}, {"carer_support_payment"}),
    ("wales", {"carers_allowance"}, {"carer_support_payment"}),
    ("northern_ireland", {"carers_allowance"}, {"carer_support_payment"}),
    ("scotland", {"carer_support_payment"}, {"carers_allowance"}),
])
def test_carer_benefit_by_nation(nation, present, absent):
    found = outcomes(**{**CARER, "nation": nation})
    assert present <= set(found) and not absent & set(found)


@pytest.mark.parametrize("nation, present, absent", [
    ("england", {"pip", "attendance_allowance"}, {"adult_disability_payment", "pension_age_disability_payment"}),
    ("wales", {"pip", "attendance_allowance"}, {"adult_disability_payment", "pension_age_disability_payment"}),
    ("northern_ireland", {"pip", "attendance_allowance"},
     {"adult_disability_payment", "pension_age_disability_payment"}),
    ("scotland", {"adult_disability_payment", "pension_age_disability_payment"}, {"pip", "attendance_allowance"}),
])
def test_disability_benefit_by_nation(nation, present, absent):
    found = outcomes(**{**PATIENT, "nation": nation})
    assert present <= set(found) and not absent & set(found)


def test_unknown_nation_keeps_both_variants_as_possibly():
    found = outcomes(**{**CARER, "nation": None})
    for benefit in ("carers_allowance", "carer_support_payment"):
        assert found[benefit].result == "possibly" and found[benefit].unknown == ("nation",)
    found = outcomes(**{**PATIENT, "nation": None, "terminal_illness": True})
    assert found["pip"].result == found["adult_disability_payment"].result == "possibly"
    assert "nation" in found["pip"].unknown


def test_roles_leave_out_the_other_sides_benefits_and_unknown_role_keeps_both():
    carer_only = {"carers_allowance", "carer_support_payment", "uc_carer_element", "carers_assessment"}
    patient_only = {"attendance_allowance", "pension_age_disability_payment", "pip", "adult_disability_payment",
                    "special_rules_end_of_life", "uc_health_element", "statutory_sick_pay", "access_to_work",
                    "blue_badge", "macmillan_grant"}
    assert not carer_only & set(outcomes(**PATIENT))
    assert not patient_only & set(outcomes(**CARER))
    found = outcomes(nation="england")
    assert (carer_only - {"carer_support_payment"}) <= set(found) and patient_only - {
        "adult_disability_payment", "pension_age_disability_payment"} <= set(found)
    assert found["carers_assessment"].result == "possibly" and found["carers_assessment"].unknown == ("role",)


def test_every_benefit_id_can_come_out():
    seen = set()
    for nation in b.NATIONS:
        for role in b.ROLES:
            seen |= set(outcomes(nation=nation, role=role))
    assert seen == set(b.BENEFIT_IDS)


# --------------------------------------------------------------------------- disability and end of life
@pytest.mark.parametrize("nation, older, younger", [("england", "attendance_allowance", "pip"),
                                                     ("scotland", "pension_age_disability_payment",
                                                      "adult_disability_payment")])
@pytest.mark.parametrize("age, older_result, younger_result", [
    (65, "unlikely", "possibly"), (66, "possibly", "unlikely"), (16, "unlikely", "possibly"),
    (15, "unlikely", "unlikely"), (90, "possibly", "unlikely")])
def test_state_pension_age_splits_the_disability_benefits(nation, older, younger, age, older_result, younger_result):
    found = outcomes(**{**PATIENT, "nation": nation, "age": age})
    assert found[older].result == older_result and found[younger].result == younger_result


def test_state_pension_age_is_data_with_a_source():
    assert RULES.rates["pension_age"].amount == 66 and RULES.rates["pension_age"].source == \
        "https://www.gov.uk/state-pension-age"
    assert "rising to 67" in (YEAR / "rates.yml").read_text()


def test_terminal_illness_makes_disability_benefits_likely_at_the_higher_rate():
    aa = outcome("attendance_allowance", **{**PATIENT, "age": 70, "terminal_illness": True})
    assert aa.result == "likely" and aa.weekly_amount == (114.60, 114.60)
    assert outcome("attendance_allowance", **{**PATIENT, "age": 70}).weekly_amount == (76.70, 114.60)
    pip = outcome("pip", **{**PATIENT, "terminal_illness": True})
    assert pip.result == "likely" and pip.weekly_amount == (114.60, 194.60)
    assert outcome("pip", **PATIENT).weekly_amount == (30.30, 194.60)
    unknown = outcome("pip", **{**PATIENT, "terminal_illness": None})
    assert unknown.result == "possibly" and unknown.unknown == ("terminal_illness",)


@pytest.mark.parametrize("terminal, result, unknown", [(True, "likely", ()), (False, "unlikely", ()),
                                                       (None, "possibly", ("terminal_illness",))])
def test_special_rules_for_end_of_life(terminal, result, unknown):
    found = outcome("special_rules_end_of_life", **{**PATIENT, "terminal_illness": terminal})
    assert (found.result, found.unknown) == (result, unknown)
    if result != "unlikely":
        assert found.weekly_amount == (114.60, round(114.60 + 99.18, 2))
        assert any("£429.80 a month" in r for r in found.reasons) and any("£114.60" in r for r in found.reasons)
    assert "SR1" in found.how_to_claim
    scotland = outcome("special_rules_end_of_life", **{**PATIENT, "nation": "scotland", "terminal_illness": True})
    assert "BASRiS" in scotland.how_to_claim


@pytest.mark.parametrize("terminal, amount", [(True, (99.18, 99.18)), (False, (50.14, 99.18)),
                                              (None, (50.14, 99.18))])
def test_uc_health_element_two_tiers(terminal, amount):
    found = outcome("uc_health_element", **{**PATIENT, "terminal_illness": terminal})
    assert found.result == "possibly" and found.weekly_amount == amount  # £429.80 / £217.26 a month x 12 / 52
    assert outcome("uc_health_element", **{**PATIENT, "savings": 16000.01}).result == "unlikely"
    assert outcome("uc_health_element", **{**PATIENT, "age": 66}).result == "unlikely"


# --------------------------------------------------------------------------- work
@pytest.mark.parametrize("employment, ssp, access", [("employed", "likely", "likely"),
                                                     ("self_employed", "unlikely", "likely"),
                                                     ("not_working", "unlikely", "unlikely"),
                                                     (None, "possibly", "possibly")])
def test_statutory_sick_pay_and_access_to_work_by_employment(employment, ssp, access):
    found = outcomes(**{**PATIENT, "employment": employment})
    assert found["statutory_sick_pay"].result == ssp and found["access_to_work"].result == access
    if employment is None:
        assert found["statutory_sick_pay"].unknown == ("employment",)
    if employment == "self_employed":
        reason = " ".join(found["statutory_sick_pay"].reasons)
        assert "self-employed" in reason and "Universal Credit" in reason and "New Style" in reason


def test_statutory_sick_pay_amount():
    assert outcome("statutory_sick_pay", **PATIENT).weekly_amount == (123.25, 123.25)
    low = outcome("statutory_sick_pay", **{**PATIENT, "weekly_net_earnings": 100.0})
    assert low.weekly_amount == (80.0, 123.25)  # 80% of pay when that is less


def test_access_to_work_in_northern_ireland_is_its_own_scheme():
    found = outcome("access_to_work", **{**PATIENT, "nation": "northern_ireland"})
    assert found.result == "likely" and "Access to Work (NI)" in found.how_to_claim
    assert outcome("access_to_work", **{**PATIENT, "age": 15}).result == "unlikely"


# --------------------------------------------------------------------------- health costs
@pytest.mark.parametrize("answers, result, unknown", [
    (dict(nation="england", role="patient"), "likely", ()),
    (dict(nation="scotland", role="patient"), "likely", ()),
    (dict(nation="wales", role="carer", age=30), "likely", ()),
    (dict(nation="northern_ireland", role="carer", age=30), "likely", ()),
    (dict(nation="england", role="carer", age=30), "unlikely", ()),
    (dict(nation="england", role="carer", age=59), "unlikely", ()),
    (dict(nation="england", role="carer", age=60), "likely", ()),
    (dict(nation="england", role="carer", age=15), "likely", ()),
    (dict(nation="england", role="carer", age=17, in_full_time_education=True), "likely", ()),
    (dict(nation="england", role="carer", age=18, in_full_time_education=True), "likely", ()),
    (dict(nation="england", role="carer", age=19, in_full_time_education=True), "unlikely", ()),
    (dict(nation="england", role="carer", age=17, in_full_time_education=False), "unlikely", ()),
    (dict(nation="england", role="carer", age=17), "possibly", ("in_full_time_education",)),
    (dict(nation="england", role="carer"), "possibly", ("age",)),
    (dict(nation="england"), "possibly", ("role",)),
    (dict(role="patient"), "possibly", ("nation",)),
])
def test_free_prescriptions(answers, result, unknown):
    found = outcome("free_prescriptions", **answers)
    assert (found.result, found.unknown) == (result, unknown), found


def test_prescriptions_in_england_need_the_fp92a_and_elsewhere_are_free():
    england = outcome("free_prescriptions", nation="england", role="patient")
    assert "FP92A" in england.how_to_claim and any("medical exemption certificate" in r for r in england.reasons)
    for nation, name in (("scotland", "Scotland"), ("wales", "Wales"), ("northern_ireland", "Northern Ireland")):
        found = outcome("free_prescriptions", nation=nation, role="patient")
        assert found.reasons == (f"Prescriptions are free for everyone in {name}.",)


@pytest.mark.parametrize("nation, fee", [("england", "up to £10"), ("scotland", "up to £20"), ("wales", "free"),
                                         ("northern_ireland", "costs £10")])
def test_blue_badge_is_possibly_with_the_criteria_and_each_nations_fee(nation, fee):
    found = outcome("blue_badge", **{**PATIENT, "nation": nation})
    assert found.result == "possibly" and found.unknown == ()
    text = " ".join(found.reasons)
    assert fee in text and '8 points or more for "moving around"' in text
    assert not any("faster" in r for r in found.reasons)
    terminal = outcome("blue_badge", **{**PATIENT, "nation": nation, "terminal_illness": True})
    assert any("faster" in r for r in terminal.reasons)


def test_hospital_travel_costs_names_the_benefits_and_covers_escorts():
    patient = outcome("hospital_travel_costs", **PATIENT)
    assert patient.result == "possibly" and "Healthcare Travel Costs Scheme" in patient.reasons[0]
    assert "Pension Credit Guarantee Credit" in patient.reasons[0]
    carer = outcome("hospital_travel_costs", **CARER)
    assert carer.result == "possibly" and any("someone with them" in r for r in carer.reasons)
    scotland = outcome("hospital_travel_costs", **{**PATIENT, "nation": "scotland"})
    assert "Highlands and Islands" in scotland.reasons[0]


# --------------------------------------------------------------------------- Macmillan Grant
@pytest.mark.parametrize("household, savings, income, result, unknown", [
    (1, 6000.00, 322.99, "likely", ()),
    (1, 6000.01, 100.00, "unlikely", ()),
    (1, 100.00, 323.00, "unlikely", ()),
    (2, 8000.00, 441.99, "likely", ()),
    (2, 8000.01, 100.00, "unlikely", ()),
    (2, 100.00, 442.00, "unlikely", ()),
    (4, 7000.00, 400.00, "likely", ()),
    (None, 5000.00, 300.00, "likely", ()),
    (None, 7000.00, 300.00, "possibly", ("household_size",)),
    (None, 100.00, 400.00, "possibly", ("household_size",)),
    (None, 9000.00, 100.00, "unlikely", ()),
    (None, 100.00, 442.00, "unlikely", ()),
    (1, None, 100.00, "possibly", ("savings",)),
    (None, None, None, "possibly", ("household_size", "savings", "weekly_income_after_housing")),
])
def test_macmillan_grant_limits_by_household_size(household, savings, income, result, unknown):
    found = outcome("macmillan_grant", **{**PATIENT, "household_size": household, "savings": savings,
                                           "weekly_income_after_housing": income})
    assert (found.result, found.unknown) == (result, unknown), found
    assert "health or social care professional" in found.how_to_claim


def test_macmillan_grant_is_for_adults():
    assert outcome("macmillan_grant", **{**PATIENT, "age": 17}).result == "unlikely"
    assert outcome("macmillan_grant", **{**PATIENT, "age": 18}).result == "likely"


# --------------------------------------------------------------------------- parsing answers
@pytest.mark.parametrize("data, field", [
    ({"colour": "red"}, "colour"),
    ({"age": "forty"}, "age"), ({"age": -1}, "age"), ({"age": 121}, "age"), ({"age": 40.5}, "age"),
    ({"age": True}, "age"),
    ({"care_hours_per_week": -1}, "care_hours_per_week"), ({"care_hours_per_week": 168.5}, "care_hours_per_week"),
    ({"weekly_net_earnings": -0.01}, "weekly_net_earnings"), ({"savings": "lots"}, "savings"),
    ({"weekly_income_after_housing": float("nan")}, "weekly_income_after_housing"),
    ({"nation": "france"}, "nation"), ({"role": "doctor"}, "role"), ({"employment": "retired"}, "employment"),
    ({"cared_for_benefits": ["pip"]}, "cared_for_benefits"),
    ({"cared_for_benefits": "pip_daily_living_standard"}, "cared_for_benefits"),
    ({"date": "2026-13-01"}, "date"), ({"date": "yesterday"}, "date"),
    ({"terminal_illness": "yes"}, "terminal_illness"), ({"in_full_time_education": 1}, "in_full_time_education"),
    ({"household_size": 0}, "household_size"),
])
def test_parse_errors_name_the_field(data, field):
    with pytest.raises(b.AnswerError) as caught:
        b.parse_answers(data)
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")
    assert len(str(caught.value)) > len(field) + 10  # says what is wrong and how to fix it


def test_parse_accepts_unknown_and_friendly_spellings():
    answers = b.parse_answers({"nation": "Northern Ireland", "role": "unknown", "age": None,
                               "employment": "self-employed", "cared_for_benefits": "none", "date": "2026-11-23", "care_hours_per_week": 35,
                               "household_size": 2.0, "terminal_illness": False})
    assert answers == b.Answers(date=TODAY, nation="northern_ireland", employment="self_employed",
                                cared_for_benefits=(), care_hours_per_week=35.0, household_size=2,
                                terminal_illness=False)
    assert b.parse_answers({}) == b.Answers()
    with pytest.raises(b.AnswerError):
        b.parse_answers(["not", "an", "object"])


# --------------------------------------------------------------------------- tax years and data
@pytest.mark.parametrize("on", [date(2026, 4, 6), TODAY, date(2027, 4, 5)])
def test_tax_year_is_picked_by_date(on):
    rules = b.load_rules(on)
    assert rules.tax_year == "2026/27" and rules.covers(on) and rules is RULES  # cached


@pytest.mark.parametrize("on", [date(2026, 4, 5), date(2027, 4, 6), date(2030, 1, 1)])
def test_a_date_with_no_folder_is_a_clear_error(on):
    with pytest.raises(b.NoRulesForDate) as caught:
        b.load_rules(on)
    assert on.isoformat() in str(caught.value) and "tax year" in str(caught.value)
    with pytest.raises(b.NoRulesForDate):
        b.check(b.Answers(date=on))


def test_outcomes_carry_tax_year_source_and_how_to_claim():
    for found in outcomes().values():
        data = found.as_dict()
        assert list(data) == ["id", "name", "result", "reasons", "unknown", "weekly_amount", "how_to_claim",
                              "source", "tax_year"]
        assert data["tax_year"] == "2026/27" and data["source"].startswith("https://") and data["how_to_claim"]
        assert data["result"] in b.RESULTS and json.dumps(data)


def test_check_is_deterministic_and_rules_are_a_mapping_of_rates():
    answers = b.Answers(date=TODAY, **CARER)
    assert b.check(answers) == b.check(answers, RULES)
    assert RULES["earnings_limit"] == 204 and RULES["care_hours"] == 35 and RULES["pension_age"] == 66


def test_the_shipped_files_are_valid():
    assert b.validate_year(YEAR) == []
    assert b.check_tree(ROOT / "knowledge", TODAY) == []


def _copy_year(knowledge_copy: Path) -> Path:
    return knowledge_copy / "benefits" / "2026-27"


def test_check_tree_finds_a_missing_rule(knowledge_copy):
    path = _copy_year(knowledge_copy) / "disability.yml"
    data = yaml.safe_load(path.read_text())
    data["rules"] = [r for r in data["rules"] if r["id"] != "pip"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    problems = b.check_tree(knowledge_copy, TODAY)
    assert any(p.startswith("benefits/2026-27: pip: no rule") for p in problems), problems
    with pytest.raises(b.BenefitsDataError) as caught:
        b.load_rules(TODAY, knowledge_copy / "benefits")
    assert any("pip" in p for p in caught.value.problems)


def test_check_tree_finds_an_unknown_rate_and_an_unknown_figure(knowledge_copy):
    path = _copy_year(knowledge_copy) / "carers.yml"
    text = path.read_text()
    path.write_text(text.replace("weekly: carers_allowance_weekly", "weekly: carers_allowance_weekley", 1)
                        .replace("You are {min_age} or over.", "You are {minimum_age} or over.", 1))
    problems = b.check_tree(knowledge_copy, TODAY)
    unknown_rate = [p for p in problems if "unknown rate 'carers_allowance_weekley'" in p]
    assert unknown_rate and re.match(r"^benefits/2026-27/carers\.yml:\d+: rules\[0\]\.rates\.weekly: ", unknown_rate[0])
    assert any("unknown figure {minimum_age}" in p for p in problems), problems
    assert b.validate_year(_copy_year(knowledge_copy)) == problems


def test_check_tree_finds_schema_errors_missing_source_and_old_review_dates(knowledge_copy):
    path = _copy_year(knowledge_copy) / "rates.yml"
    text = path.read_text()
    text = text.replace("    amount: 86.45\n", "    amount: lots\n", 1)
    text = text.replace("    source: https://www.gov.uk/pip/eligibility\n", "", 1)
    path.write_text(text)
    problems = b.check_tree(knowledge_copy, TODAY)
    assert any("rates.yml:" in p and "rates[0].amount" in p for p in problems), problems
    assert not any("unknown rate" in p or "no rule" in p for p in problems), problems  # no knock-on noise
    assert any(re.search(r"rates\[\d+\]\.source: missing", p) for p in problems), problems
    later = b.check_tree(ROOT / "knowledge", date(2027, 3, 2))
    assert later and all("is in the past" in p for p in later)
    assert any("no rules for today's tax year" in p for p in b.check_tree(ROOT / "knowledge", date(2027, 4, 6)))


def test_rates_must_be_reviewed_before_the_next_tax_year(knowledge_copy):
    path = _copy_year(knowledge_copy) / "rates.yml"
    path.write_text(path.read_text().replace('review_by: "2027-03-01"', 'review_by: "2027-04-06"', 1))
    assert any("must be before 2027-04-06" in p for p in b.validate_year(_copy_year(knowledge_copy)))


def test_a_misspelt_reason_and_a_missing_text_are_reported(knowledge_copy):
    path = _copy_year(knowledge_copy) / "grants.yml"
    path.write_text(path.read_text().replace("      what_it_is:\n", "      what_it_was:\n", 1))
    problems = b.validate_year(_copy_year(knowledge_copy))
    assert any("'what_it_was' is not used" in p for p in problems)
    assert any("'what_it_is' needs a 'info' text" in p for p in problems)


# --------------------------------------------------------------------------- figures come from the rates file
def _answer_sets(count: int = 400) -> list[b.Answers]:
    rng = random.Random(11)
    return [b.Answers(date=TODAY, **{f: (None if rng.random() < 0.3 else rng.choice(RULES.samples[f]))
                                     for f in b.ASK_ORDER}) for _ in range(count)]


def test_every_pound_figure_said_comes_from_the_rates_file():
    allowed = money_rates()
    said: set[float] = set()
    for answers in _answer_sets() + [b.Answers(date=TODAY, nation=n, role=r) for n in b.NATIONS for r in b.ROLES]:
        for found in b.check(answers, RULES):
            for text in (found.name, found.how_to_claim, *found.reasons):
                for figure in re.findall(r"£([\d,]+(?:\.\d+)?)", text):
                    said.add(float(figure.replace(",", "")))
    assert said and said <= allowed, sorted(said - allowed)
    assert {204.0, 6000.0, 8000.0, 323.0, 442.0, 209.34, 429.80, 217.26, 114.60, 16000.0, 123.25, 10.0,
            20.0} <= said


def test_no_figures_are_typed_into_texts_or_code():
    for path in YEAR.glob("*.yml"):
        if path.name == "rates.yml":
            continue
        assert "£" not in path.read_text(), f"{path.name}: write {{name}} and map it under rates:"
    code = (ROOT / "signposting" / "benefits.py").read_text()
    assert not re.search(r"£\d", code)


# --------------------------------------------------------------------------- questions that matter
def test_questions_for_a_carer_in_scotland_start_with_what_matters_and_drop_once_known():
    answers = b.Answers(date=TODAY, nation="scotland", role="carer")
    asked = b.questions_that_matter(answers)
    assert asked[:3] == ["age", "care_hours_per_week", "cared_for_benefits"]
    assert {"weekly_net_earnings", "in_full_time_education"} <= set(asked)
    assert not {"nation", "role", "terminal_illness", "employment"} & set(asked)
    answers = replace(answers, age=40)  # full-time students aged 20+ can get Carer Support Payment
    assert "age" not in b.questions_that_matter(answers)
    assert "in_full_time_education" not in b.questions_that_matter(answers)
    assert b.questions_that_matter(replace(answers, age=17))[-2:] == ["in_full_time_education", "savings"]
    assert b.questions_that_matter(replace(answers, care_hours_per_week=10.0)) == []  # nothing left to change


def test_questions_follow_the_asking_order_and_start_with_nation_and_role():
    asked = b.questions_that_matter(b.Answers(date=TODAY))
    assert asked[:2] == ["nation", "role"]
    assert asked == [f for f in b.ASK_ORDER if f in asked]
    patient = b.questions_that_matter(b.Answers(date=TODAY, nation="england", role="patient"))
    assert "care_hours_per_week" not in patient and "terminal_illness" in patient
    assert b.questions_that_matter(b.Answers(date=TODAY, **{**PATIENT, "household_size": None})) == []


def test_household_size_matters_once_savings_are_between_the_limits():
    answers = b.Answers(date=TODAY, **{**PATIENT, "household_size": None, "weekly_income_after_housing": 100.0})
    assert b.questions_that_matter(replace(answers, savings=7000.0)) == ["household_size"]
    assert b.questions_that_matter(replace(answers, savings=1000.0)) == []


def test_every_unknown_an_outcome_names_is_a_question_that_matters():
    for answers in _answer_sets(300):
        asked = set(b.questions_that_matter(answers, RULES))
        for found in b.check(answers, RULES):
            assert set(found.unknown) <= asked, (found, answers)


def test_speed():
    sets = _answer_sets(200)
    start = time.perf_counter()
    for answers in sets:
        b.check(answers, RULES)
    check_ms = (time.perf_counter() - start) * 1000 / len(sets)
    times = []
    for answers in sets:
        start = time.perf_counter()
        b.questions_that_matter(answers, RULES)
        times.append((time.perf_counter() - start) * 1000)
    assert check_ms <= 5, check_ms
    assert statistics.fmean(times) < 50 and max(times) < 200, (statistics.fmean(times), max(times))


# --------------------------------------------------------------------------- the command line
def test_cli_reads_json_from_stdin():
    result = CliRunner().invoke(app, ["benefits", "check"], input=json.dumps({**CARER, "cared_for_benefits": [
        "pip_daily_living_standard"], "weekly_net_earnings": 204}))
    assert result.exit_code == 0, result.output
    found = {o["id"]: o for o in json.loads(result.stdout)}
    assert found["carers_allowance"]["result"] == "likely" and found["carers_allowance"]["weekly_amount"] == [86.45,
                                                                                                           86.45]
    assert "carer_support_payment" not in found and found["carers_assessment"]["tax_year"] == "2026/27"


def test_cli_reads_flags():
    result = CliRunner().invoke(app, ["benefits", "check", "--nation", "scotland", "--role", "carer", "--age", "19",
                                      "--care-hours", "40", "--earnings", "204.01", "--education",
                                      "--cared-for-benefit", "adp_daily_living_standard", "--cared-for-benefit",
                                      "dla_care_middle", "--date", "2027-04-05"])
    assert result.exit_code == 0, result.output
    found = {o["id"]: o for o in json.loads(result.stdout)}
    assert found["carer_support_payment"]["result"] == "unlikely"
    assert any("£204" in r for r in found["carer_support_payment"]["reasons"])
    patient = CliRunner().invoke(app, ["benefits", "check", "--nation", "england", "--role", "patient", "--terminal",
                                       "--employment", "self_employed", "--household-size", "2", "--savings", "100",
                                       "--income-after-housing", "unknown", "--no-education"])
    assert patient.exit_code == 0, patient.output
    found = {o["id"]: o for o in json.loads(patient.stdout)}
    assert found["special_rules_end_of_life"]["result"] == "likely"
    assert found["statutory_sick_pay"]["result"] == "unlikely"
    assert found["macmillan_grant"]["unknown"] == ["age", "weekly_income_after_housing"]


@pytest.mark.parametrize("args, stdin, message", [
    (["--age", "-3"], None, "error: age: "),
    (["--age", "old"], None, "error: age: "),
    (["--care-hours", "200"], None, "error: care_hours_per_week: "),
    (["--nation", "france"], None, "error: nation: "),
    (["--cared-for-benefit", "pip"], None, "error: cared_for_benefits: "),
    (["--date", "2030-01-01"], None, "error: date: "),
    ([], '{"colour": "red"}', "error: colour: "),
    ([], '{"savings": -5}', "error: savings: "),
    ([], '{"nation": ', "error: (input): not valid JSON"),
])
def test_cli_bad_input_exits_2_naming_the_field(args, stdin, message):
    result = CliRunner().invoke(app, ["benefits", "check", *args], input=stdin)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message), result.stderr
    assert result.stdout == ""


def test_a_broken_edit_keeps_the_last_good_rules_in_a_running_bot(tmp_path):
    import os
    import shutil
    import time

    from signposting import benefits as engine

    folder = tmp_path / "benefits"
    shutil.copytree(engine.benefits_dir(), folder)
    on = date(2026, 11, 23)
    good = engine.load_rules(on, folder)
    rates = folder / "2026-27" / "rates.yml"
    rates.write_text(rates.read_text().replace("amount: 86.45", "amount: lots", 1))
    os.utime(rates, (time.time() + 5, time.time() + 5))
    assert engine.load_rules(on, folder) is good
