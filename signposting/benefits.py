"""The benefits check: an explainable rules engine over cited, dated rates and rules.

Pure Python (no Rasa). The figures live in ``knowledge/benefits/<YYYY-YY>/rates.yml`` and the
plain-English words in the other files of that folder; this module only decides, for each benefit,
which of its conditions are met, not met or not known yet:

* any condition not met            -> ``unlikely`` (the reasons say which)
* otherwise, anything unknown or
  only "maybe" (assessed, means-tested) -> ``possibly`` (``unknown`` names the questions that would tell)
* otherwise                         -> ``likely``

A benefit that cannot apply (wrong nation or role) is left out; while the nation or role is not known
both variants are kept as ``possibly``. Nothing here is a decision: only the benefit office decides.

    >>> answers = parse_answers({"nation": "wales", "role": "carer", "care_hours_per_week": 40})
    >>> [(o.id, o.result) for o in check(answers)][:1]
    [('carers_allowance', 'possibly')]
"""
from __future__ import annotations

import logging

import dataclasses
import datetime as _dt
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_NAME = "benefits.schema.json"
RATES_FILE = "rates.yml"

NATIONS = ("england", "scotland", "wales", "northern_ireland")
NATION_NAMES = {"england": "England", "scotland": "Scotland", "wales": "Wales", "northern_ireland": "Northern Ireland"}
ROLES = ("patient", "carer")
EMPLOYMENT = ("employed", "self_employed", "not_working")
CARED_FOR_BENEFITS = (
    "attendance_allowance_lower", "attendance_allowance_higher", "pip_daily_living_standard",
    "pip_daily_living_enhanced", "dla_care_middle", "dla_care_highest", "adp_daily_living_standard",
    "adp_daily_living_enhanced", "armed_forces_independence_payment",
)
BENEFIT_IDS = (
    "carers_allowance", "carer_support_payment", "attendance_allowance", "pension_age_disability_payment", "pip",
    "adult_disability_payment", "special_rules_end_of_life", "uc_health_element", "uc_carer_element",
    "statutory_sick_pay", "access_to_work", "free_prescriptions", "blue_badge", "hospital_travel_costs",
    "macmillan_grant", "carers_assessment",
)
# the order to ask in: what most often settles an answer first
ASK_ORDER = (
    "nation", "role", "age", "terminal_illness", "care_hours_per_week", "cared_for_benefits", "weekly_net_earnings",
    "in_full_time_education", "employment", "household_size", "savings", "weekly_income_after_housing",
)
RESULTS = ("likely", "possibly", "unlikely")
STATES = ("met", "not_met", "unknown", "maybe", "info")
MONEY_UNITS = ("gbp_week", "gbp_month", "gbp")
_YEAR_DIR = re.compile(r"^(\d{4})-(\d{2})$")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


# --------------------------------------------------------------------------- errors
class AnswerError(ValueError):
    """An answer the engine cannot use. ``str()`` is "<field>: <what is wrong and how to fix it>"."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class BenefitsDataError(Exception):
    """The rules or rates files have problems; ``problems`` lists every one (file:line: field: message)."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class NoRulesForDate(BenefitsDataError, LookupError):
    """No tax-year folder covers the date asked about."""

    def __init__(self, on: _dt.date, message: str):
        self.date = on
        super().__init__(message)


# --------------------------------------------------------------------------- answers
@dataclass(frozen=True)
class Answers:
    """What the person has told us. ``None`` means not known (yet); every field is optional."""

    date: Optional[_dt.date] = None
    nation: Optional[str] = None
    age: Optional[int] = None
    role: Optional[str] = None  # "patient" | "carer"
    care_hours_per_week: Optional[float] = None
    weekly_net_earnings: Optional[float] = None
    in_full_time_education: Optional[bool] = None
    cared_for_benefits: Optional[tuple[str, ...]] = None  # () means "none"
    terminal_illness: Optional[bool] = None
    employment: Optional[str] = None  # "employed" | "self_employed" | "not_working"
    household_size: Optional[int] = None
    savings: Optional[float] = None
    weekly_income_after_housing: Optional[float] = None


FIELDS = tuple(f.name for f in dataclasses.fields(Answers))


def _unknown_value(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in ("unknown", "", "dont_know", "don't know"))


def _word(field: str, raw: Any, allowed: tuple[str, ...], aliases: Mapping[str, str] | None = None) -> str:
    if not isinstance(raw, str):
        raise AnswerError(field, f"must be text, one of {', '.join(allowed)} (or \"unknown\"); got {raw!r}")
    word = re.sub(r"[\s\-]+", "_", raw.strip().lower())
    word = (aliases or {}).get(word, word)
    if word not in allowed:
        raise AnswerError(field, f"'{raw}' is not one of {', '.join(allowed)}; use one of those (or \"unknown\")")
    return word


def _number(field: str, raw: Any, low: float = 0.0, high: float | None = None, what: str = "a number") -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise AnswerError(field, f"must be {what}, like 35 or 35.5 (or \"unknown\"); got {raw!r}")
    value = float(raw)
    if not math.isfinite(value):
        raise AnswerError(field, f"must be {what}, not {raw!r}")
    if value < low:
        raise AnswerError(field, f"{raw!r} is below {low:g}; it can't be negative")
    if high is not None and value > high:
        raise AnswerError(field, f"{raw!r} is more than {high:g}, which isn't possible; check the number")
    return value


def _whole(field: str, raw: Any, low: int, high: int, what: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (isinstance(raw, float) and not raw.is_integer()):
        raise AnswerError(field, f"must be a whole number of {what}, like {max(low, 1) + 1}; got {raw!r}")
    value = int(raw)
    if value < low or value > high:
        raise AnswerError(field, f"{raw!r} is not possible; use a number of {what} from {low} to {high}")
    return value


def _flag(field: str, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise AnswerError(field, f"must be true or false (or \"unknown\"); got {raw!r}")
    return raw


def _parse_date(field: str, raw: Any) -> _dt.date:
    if isinstance(raw, _dt.datetime):
        return raw.date()
    if isinstance(raw, _dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return _dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise AnswerError(field, f"{raw!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-23")


def _parse_benefits(field: str, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str) and raw.strip().lower() == "none":
        return ()
    if not isinstance(raw, (list, tuple)):
        raise AnswerError(field, f"must be a list of benefit names ([] or \"none\" for none); got {raw!r}")
    found: list[str] = []
    for item in raw:
        name = _word(field, item, CARED_FOR_BENEFITS)
        if name not in found:
            found.append(name)
    return tuple(found)


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "date": _parse_date,
    "nation": lambda f, v: _word(f, v, NATIONS, {"ni": "northern_ireland", "n_ireland": "northern_ireland"}),
    "age": lambda f, v: _whole(f, v, 0, 120, "years"),
    "role": lambda f, v: _word(f, v, ROLES),
    "care_hours_per_week": lambda f, v: _number(f, v, 0, 168, "a number of hours a week (0 to 168)"),
    "weekly_net_earnings": lambda f, v: _number(f, v, 0, None, "an amount in pounds a week"),
    "in_full_time_education": _flag,
    "cared_for_benefits": _parse_benefits,
    "terminal_illness": _flag,
    "employment": lambda f, v: _word(f, v, EMPLOYMENT),
    "household_size": lambda f, v: _whole(f, v, 1, 30, "people"),
    "savings": lambda f, v: _number(f, v, 0, None, "an amount in pounds"),
    "weekly_income_after_housing": lambda f, v: _number(f, v, 0, None, "an amount in pounds a week"),
}


def parse_answers(data: Mapping[str, Any]) -> Answers:
    """Answers from JSON-like data; "unknown" or null means not known. Raises AnswerError naming the field."""
    if not isinstance(data, Mapping):
        raise AnswerError("(answers)", 'must be an object of answers, like {"nation": "wales", "age": 40}')
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in _PARSERS:
            raise AnswerError(str(key), f"unknown field; check the spelling (fields: {', '.join(FIELDS)})")
        if _unknown_value(raw):
            values[key] = None
        else:
            values[key] = _PARSERS[key](key, raw)
    return Answers(**values)


# --------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Outcome:
    """One benefit's result for these answers, with its reasons in plain English."""

    id: str
    name: str
    result: str  # "likely" | "possibly" | "unlikely"
    reasons: tuple[str, ...]
    unknown: tuple[str, ...]  # Answers fields whose value would change the result
    weekly_amount: Optional[tuple[float, float]]  # pounds a week, (min, max)
    how_to_claim: str
    source: str
    tax_year: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "result": self.result, "reasons": list(self.reasons),
            "unknown": list(self.unknown), "weekly_amount": list(self.weekly_amount) if self.weekly_amount else None,
            "how_to_claim": self.how_to_claim, "source": self.source, "tax_year": self.tax_year,
        }


# --------------------------------------------------------------------------- rates and rules
@dataclass(frozen=True)
class Rate:
    id: str
    name: str
    amount: float
    unit: str
    source: str
    compares: Optional[str] = None

    @property
    def weekly(self) -> float:
        """Pounds a week (monthly amounts x 12 / 52, to the penny)."""
        return round(self.amount * 12 / 52, 2) if self.unit == "gbp_month" else self.amount

    @property
    def text(self) -> str:
        """How the figure is written in a sentence: money with a pound sign, pence only when there are
        some, and commas in thousands; counts (hours, years, points) as plain numbers."""
        if self.unit in MONEY_UNITS:
            written = f"£{self.amount:,.2f}"
            return written[:-3] if written.endswith(".00") else written
        return f"{self.amount:g}"


@dataclass(frozen=True)
class Rule:
    """One benefit's rule as an editor wrote it, with its texts' figures already filled in."""

    id: str
    name: str
    nations: tuple[str, ...]
    roles: tuple[str, ...]
    rates: Mapping[str, Rate]  # name used in the texts -> rate
    qualifying_benefits: frozenset[str]
    reasons: Mapping[str, Mapping[str, Mapping[str, str]]]  # key -> state -> nation or "default" -> text
    how_to_claim: Mapping[str, str]
    source: str
    sources: Mapping[str, str]
    file: str

    def n(self, slot: str) -> float:
        return self.rates[slot].amount

    def weekly(self, slot: str) -> float:
        return self.rates[slot].weekly

    def say(self, key: str, state: str, nation: Optional[str]) -> str:
        texts = self.reasons[key][state]
        return texts.get(nation or "default") or texts["default"]


class RuleSet(Mapping[str, float]):
    """Every rule and rate for one tax year. As a mapping: rate id -> amount (e.g. rules["earnings_limit"])."""

    def __init__(self, tax_year: str, starts: _dt.date, ends: _dt.date, rates: dict[str, Rate],
                 rules: dict[str, Rule], folder: Path):
        self.tax_year = tax_year
        self.starts = starts
        self.ends = ends
        self.rates = rates
        self.rules = rules  # in BENEFIT_IDS order
        self.folder = folder
        self.samples = _samples(rates)  # values either side of every threshold, per Answers field

    def __getitem__(self, rate_id: str) -> float:
        return self.rates[rate_id].amount

    def __iter__(self) -> Iterator[str]:
        return iter(self.rates)

    def __len__(self) -> int:
        return len(self.rates)

    def __repr__(self) -> str:
        return f"RuleSet({self.tax_year}, {len(self.rules)} rules, {len(self.rates)} rates, {self.folder})"

    def covers(self, on: _dt.date) -> bool:
        return self.starts <= on <= self.ends


def _samples(rates: Mapping[str, Rate]) -> dict[str, tuple[Any, ...]]:
    """Representative values of each Answers field, derived from the thresholds in the rates file."""
    numbers: dict[str, set[float]] = {}
    for rate in rates.values():
        if rate.compares is None:
            continue
        values = numbers.setdefault(rate.compares, set())
        step = 0.01 if rate.unit in MONEY_UNITS else 1
        values.update(v for v in (rate.amount - step, rate.amount, rate.amount + step) if v >= 0)
    samples: dict[str, tuple[Any, ...]] = {
        "nation": NATIONS, "role": ROLES, "terminal_illness": (True, False), "in_full_time_education": (True, False),
        "employment": EMPLOYMENT, "cared_for_benefits": ((),) + tuple((b,) for b in CARED_FOR_BENEFITS),
    }
    whole = {"age", "household_size"}
    for field in ("age", "care_hours_per_week", "weekly_net_earnings", "household_size", "savings",
                  "weekly_income_after_housing"):
        values = numbers.get(field, set()) | ({1.0, 2.0} if field == "household_size" else {0.0})
        if field == "age":
            values.discard(0.0)
            values.add(40.0)
        samples[field] = tuple(sorted(int(v) if field in whole else round(v, 2) for v in values))
    return samples


# --------------------------------------------------------------------------- evaluation
class _Eval:
    """The conditions a rule checked for one set of answers: (reason key, state, fields that would tell)."""

    __slots__ = ("items", "amount")

    def __init__(self) -> None:
        self.items: list[tuple[str, str, tuple[str, ...]]] = []
        self.amount: Optional[tuple[float, float]] = None

    def met(self, key: str) -> None:
        self.items.append((key, "met", ()))

    def not_met(self, key: str) -> None:
        self.items.append((key, "not_met", ()))

    def unknown(self, key: str, *fields: str) -> None:
        self.items.append((key, "unknown", fields))

    def maybe(self, key: str) -> None:
        self.items.append((key, "maybe", ()))

    def info(self, key: str) -> None:
        self.items.append((key, "info", ()))

    def check(self, key: str, ok: Optional[bool], *fields: str) -> None:
        """met if ok, not met if not ok, unknown (naming the fields that would tell) if ok is None."""
        if ok is None:
            self.unknown(key, *fields)
        else:
            self.items.append((key, "met" if ok else "not_met", ()))

    @property
    def result(self) -> str:
        states = {state for _, state, _ in self.items}
        if "not_met" in states:
            return "unlikely"
        if "unknown" in states or "maybe" in states:
            return "possibly"
        return "likely"


@dataclass(frozen=True)
class _Spec:
    """What the engine needs from a rule's data: its figures and the texts it may say."""

    func: Callable[[Answers, Rule, _Eval], None]
    fields: frozenset[str]  # Answers fields the rule reads (nation and role gating are added for it)
    slots: tuple[str, ...]
    reasons: Mapping[str, tuple[str, ...]]
    qualifying: bool


_SPECS: dict[str, _Spec] = {}
_MNU = "met not_met unknown"


def _rule(benefit_id: str, fields: str = "", slots: str = "", reasons: Mapping[str, str] | None = None,
          qualifying: bool = False) -> Callable:
    def register(func: Callable[[Answers, Rule, _Eval], None]) -> Callable:
        _SPECS[benefit_id] = _Spec(func, frozenset(fields.split()), tuple(slots.split()),
                                   {k: tuple(v.split()) for k, v in (reasons or {}).items()}, qualifying)
        return func
    return register


def _at_least(value: Optional[float], threshold: float) -> Optional[bool]:
    return None if value is None else value >= threshold


def _at_most(value: Optional[float], limit: float) -> Optional[bool]:
    return None if value is None else value <= limit


def _below(value: Optional[float], limit: float) -> Optional[bool]:
    return None if value is None else value < limit


def _qualifies(a: Answers, r: Rule) -> Optional[bool]:
    if a.cared_for_benefits is None:
        return None
    return any(b in r.qualifying_benefits for b in a.cared_for_benefits)


def _not(value: Optional[bool]) -> Optional[bool]:
    return None if value is None else not value


def _carer_core(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.check("age", _at_least(a.age, r.n("min_age")), "age")
    ev.check("hours", _at_least(a.care_hours_per_week, r.n("care_hours")), "care_hours_per_week")
    ev.check("qualifying_benefit", _qualifies(a, r), "cared_for_benefits")
    ev.check("earnings", _at_most(a.weekly_net_earnings, r.n("earnings_limit")), "weekly_net_earnings")


@_rule("carers_allowance", "age care_hours_per_week cared_for_benefits weekly_net_earnings in_full_time_education",
       "weekly earnings_limit care_hours min_age study_hours pension_age",
       {"age": _MNU, "hours": _MNU, "qualifying_benefit": _MNU, "earnings": _MNU, "education": _MNU,
        "pension_overlap": "info"}, qualifying=True)
def _carers_allowance(a: Answers, r: Rule, ev: _Eval) -> None:
    _carer_core(a, r, ev)
    ev.check("education", _not(a.in_full_time_education), "in_full_time_education")
    if a.age is not None and a.age >= r.n("pension_age"):
        ev.info("pension_overlap")
    ev.amount = (r.weekly("weekly"),) * 2


@_rule("carer_support_payment", "age care_hours_per_week cared_for_benefits weekly_net_earnings in_full_time_education",
       "weekly earnings_limit care_hours min_age student_age",
       {"age": _MNU, "hours": _MNU, "qualifying_benefit": _MNU, "earnings": _MNU, "education": "met unknown",
        "student": "met maybe unknown"}, qualifying=True)
def _carer_support_payment(a: Answers, r: Rule, ev: _Eval) -> None:
    _carer_core(a, r, ev)
    studying, student_age = a.in_full_time_education, r.n("student_age")
    old_enough = _at_least(a.age, student_age)
    if studying is False:
        ev.met("education")
    elif old_enough:  # full-time students aged 20+ can get it on any course
        ev.met("student")
    elif studying is None:
        ev.unknown("education", "in_full_time_education")
    elif old_enough is None:
        ev.unknown("student", "age")
    else:
        ev.maybe("student")  # 16-19: at university or on an HNC/HND, or in exceptional circumstances
    ev.amount = (r.weekly("weekly"),) * 2


@_rule("uc_carer_element", "age care_hours_per_week cared_for_benefits savings",
       "monthly care_hours capital_limit pension_age",
       {"age": _MNU, "hours": _MNU, "qualifying_benefit": _MNU, "savings": _MNU, "means_tested": "maybe",
        "amount": "info"}, qualifying=True)
def _uc_carer_element(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.check("age", _below(a.age, r.n("pension_age")), "age")
    ev.check("hours", _at_least(a.care_hours_per_week, r.n("care_hours")), "care_hours_per_week")
    ev.check("qualifying_benefit", _qualifies(a, r), "cared_for_benefits")
    ev.check("savings", _at_most(a.savings, r.n("capital_limit")), "savings")
    ev.maybe("means_tested")  # no earnings limit, but Universal Credit is means-tested
    ev.info("amount")
    ev.amount = (r.weekly("monthly"),) * 2


def _pension_age_disability(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.check("age", _at_least(a.age, r.n("pension_age")), "age")
    if a.terminal_illness:
        ev.met("needs")  # special rules: higher rate straight away
        ev.amount = (r.n("higher"),) * 2
        return
    if a.terminal_illness is None:
        ev.unknown("needs", "terminal_illness")
    else:
        ev.maybe("needs")  # depends on care needs: not asked here
    ev.info("rates")
    ev.amount = (r.n("lower"), r.n("higher"))


_PENSION_AGE = dict(fields="age terminal_illness", slots="lower higher pension_age months",
                    reasons={"age": _MNU, "needs": "met maybe unknown", "rates": "info"})
_rule("attendance_allowance", **_PENSION_AGE)(_pension_age_disability)
_rule("pension_age_disability_payment", **_PENSION_AGE)(_pension_age_disability)


def _working_age_disability(a: Answers, r: Rule, ev: _Eval) -> None:
    in_range = None if a.age is None else r.n("min_age") <= a.age < r.n("pension_age")
    ev.check("age", in_range, "age")
    most = r.n("daily_enhanced") + r.n("mobility_enhanced")
    if a.terminal_illness:
        ev.met("needs")  # special rules: enhanced daily living straight away
        ev.amount = (r.n("daily_enhanced"), round(most, 2))
        return
    if a.terminal_illness is None:
        ev.unknown("needs", "terminal_illness")
    else:
        ev.maybe("needs")  # depends on an assessment of daily living and mobility
    ev.info("rates")
    ev.amount = (r.n("mobility_standard"), round(most, 2))


_WORKING_AGE = dict(fields="age terminal_illness",
                    slots="daily_standard daily_enhanced mobility_standard mobility_enhanced min_age pension_age "
                          "months",
                    reasons={"age": _MNU, "needs": "met maybe unknown", "rates": "info"})
_rule("pip", **_WORKING_AGE)(_working_age_disability)
_rule("adult_disability_payment", **_WORKING_AGE)(_working_age_disability)


@_rule("special_rules_end_of_life", "terminal_illness", "months daily_enhanced lcwra_protected",
       {"terminal": _MNU, "higher_rate": "info", "universal_credit": "info", "on_behalf": "info"})
def _special_rules(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.check("terminal", a.terminal_illness, "terminal_illness")
    ev.info("higher_rate")
    ev.info("universal_credit")
    ev.info("on_behalf")
    ev.amount = (r.n("daily_enhanced"), round(r.n("daily_enhanced") + r.weekly("lcwra_protected"), 2))


@_rule("uc_health_element", "age savings terminal_illness", "protected new_claimant capital_limit pension_age months",
       {"age": _MNU, "savings": _MNU, "means_tested": "maybe", "protected_rate": "info", "two_rates": "info"})
def _uc_health_element(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.check("age", _below(a.age, r.n("pension_age")), "age")
    ev.check("savings", _at_most(a.savings, r.n("capital_limit")), "savings")
    ev.maybe("means_tested")
    if a.terminal_illness:
        ev.info("protected_rate")
        ev.amount = (r.weekly("protected"),) * 2
    else:  # protected rate for claims (and assessment requests) before 6 April 2026; we don't ask when
        ev.info("two_rates")
        ev.amount = (r.weekly("new_claimant"), r.weekly("protected"))


@_rule("statutory_sick_pay", "employment weekly_net_earnings nation", "weekly percent max_weeks",
       {"employed": "met unknown", "self_employed": "not_met", "not_working": "not_met", "amount": "info",
        "from_day_one": "info"})
def _statutory_sick_pay(a: Answers, r: Rule, ev: _Eval) -> None:
    if a.employment is None:
        ev.unknown("employed", "employment")
    elif a.employment == "employed":
        ev.met("employed")
    else:
        ev.not_met(a.employment)  # self_employed or not_working: each says what may help instead
    ev.info("amount")
    ev.info("from_day_one")
    rate = r.weekly("weekly")
    low = rate
    if a.weekly_net_earnings is not None:  # the lower of the rate and a percentage of average pay
        low = min(rate, round(a.weekly_net_earnings * r.n("percent") / 100, 2))
    ev.amount = (low, rate)


@_rule("access_to_work", "employment age nation", "min_age",
       {"in_work": _MNU, "age": _MNU, "no_payback": "info"})
def _access_to_work(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.check("in_work", None if a.employment is None else a.employment != "not_working", "employment")
    ev.check("age", _at_least(a.age, r.n("min_age")), "age")
    ev.info("no_payback")


@_rule("free_prescriptions", "nation role age in_full_time_education",
       "free_age child_age student_max_age certificate_years",
       {"nation": "unknown", "free_for_everyone": "met", "role": "unknown", "cancer_exemption": "met",
        "pay_and_reclaim": "info", "carer_age": "met unknown", "student": "met unknown", "carer_pays": "not_met"})
def _free_prescriptions(a: Answers, r: Rule, ev: _Eval) -> None:
    if a.nation is None:
        ev.unknown("nation", "nation")
    elif a.nation != "england":
        ev.met("free_for_everyone")
    elif a.role is None:
        ev.unknown("role", "role")
    elif a.role == "patient":
        ev.met("cancer_exemption")  # medical exemption certificate (FP92A)
        ev.info("pay_and_reclaim")
    elif a.age is None:
        ev.unknown("carer_age", "age")
    elif a.age < r.n("child_age") or a.age >= r.n("free_age"):
        ev.met("carer_age")
    elif a.age <= r.n("student_max_age") and a.in_full_time_education is not False:
        ev.check("student", a.in_full_time_education, "in_full_time_education")
    else:
        ev.not_met("carer_pays")


@_rule("blue_badge", "terminal_illness nation", "fee_england fee_scotland fee_northern_ireland moving_points "
       "journeys_points years months", {"criteria": "maybe", "fast_track": "info", "fee": "info"})
def _blue_badge(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.maybe("criteria")  # automatic only with certain benefit awards, which we don't ask about
    if a.terminal_illness:
        ev.info("fast_track")
    ev.info("fee")


@_rule("hospital_travel_costs", "role nation", "", {"low_income": "maybe", "escort": "info"})
def _hospital_travel_costs(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.maybe("low_income")
    if a.role == "carer":
        ev.info("escort")


@_rule("macmillan_grant", "age household_size savings weekly_income_after_housing",
       "min_age savings_one savings_more income_one income_more",
       {"age": _MNU, "savings": _MNU, "income": _MNU, "what_it_is": "info"})
def _macmillan_grant(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.check("age", _at_least(a.age, r.n("min_age")), "age")
    household = a.household_size
    for key, value, one, more, within in (
            ("savings", a.savings, r.n("savings_one"), r.n("savings_more"), _at_most),
            ("income", a.weekly_income_after_housing, r.n("income_one"), r.n("income_more"), _below)):
        field = "savings" if key == "savings" else "weekly_income_after_housing"
        if value is None:
            ev.unknown(key, *(("household_size", field) if household is None else (field,)))
        elif household is None:  # within the one-person limit is fine for any household; over the other, for none
            ev.check(key, True if within(value, one) else (False if not within(value, more) else None),
                     "household_size")
        else:
            ev.check(key, within(value, one if household == 1 else more))
    ev.info("what_it_is")


@_rule("carers_assessment", "nation", "", {"right": "met", "what_it_is": "info"})
def _carers_assessment(a: Answers, r: Rule, ev: _Eval) -> None:
    ev.met("right")
    ev.info("what_it_is")


def _fields(rule: Rule) -> frozenset[str]:
    """Answers fields this rule's result can depend on."""
    extra = set()
    if len(rule.nations) < len(NATIONS):
        extra.add("nation")
    if len(rule.roles) < len(ROLES):
        extra.add("role")
    return _SPECS[rule.id].fields | extra


def _evaluate(rule: Rule, a: Answers) -> Optional[_Eval]:
    """None when the benefit cannot apply (wrong nation or role)."""
    if a.nation is not None and a.nation not in rule.nations:
        return None
    if a.role is not None and a.role not in rule.roles:
        return None
    ev = _Eval()
    if a.nation is None and len(rule.nations) < len(NATIONS):
        ev.unknown("nation", "nation")
    if a.role is None and len(rule.roles) < len(ROLES):
        ev.unknown("role", "role")
    _SPECS[rule.id].func(a, rule, ev)
    return ev


def _result(rule: Rule, a: Answers) -> str:
    ev = _evaluate(rule, a)
    return "absent" if ev is None else ev.result


def _outcome(rule: Rule, ev: _Eval, a: Answers, rules: RuleSet) -> Outcome:
    result = ev.result
    nation = a.nation
    if result == "unlikely":
        shown = [(k, s) for k, s, _ in ev.items if s == "not_met"]
        unknown: tuple[str, ...] = ()
    else:
        shown = [(k, s) for k, s, _ in ev.items]
        wanted = {f for _, s, fields in ev.items if s == "unknown" for f in fields}
        unknown = tuple(f for f in ASK_ORDER if f in wanted)
    reasons = tuple(dict.fromkeys(rule.say(k, s, nation) for k, s in shown))
    return Outcome(
        id=rule.id, name=rule.name, result=result, reasons=reasons, unknown=unknown,
        weekly_amount=None if result == "unlikely" else ev.amount,
        how_to_claim=rule.how_to_claim.get(nation or "default") or rule.how_to_claim["default"],
        source=rule.sources.get(nation or "", rule.source), tax_year=rules.tax_year,
    )


def _rules_for(answers: Answers, rules: Optional[RuleSet]) -> RuleSet:
    return rules if rules is not None else load_rules(answers.date or _dt.date.today())


def check(answers: Answers, rules: Optional[RuleSet] = None) -> list[Outcome]:
    """Every benefit that could apply, with likely / possibly / unlikely and why. Deterministic."""
    rules = _rules_for(answers, rules)
    outcomes = []
    for rule in rules.rules.values():
        ev = _evaluate(rule, answers)
        if ev is not None:
            outcomes.append(_outcome(rule, ev, answers, rules))
    return outcomes


def _with(a: Answers, field: str, value: Any) -> Answers:
    values = dict(a.__dict__)
    values[field] = value
    changed = object.__new__(Answers)
    object.__setattr__(changed, "__dict__", values)
    return changed


_RANK = {"absent": -1, "unlikely": 0, "possibly": 1, "likely": 2}


def _score(rule: Rule, a: Answers) -> tuple[int, int]:
    """How good a result is for the person: its rank, then how little is left unsettled."""
    ev = _evaluate(rule, a)
    if ev is None:
        return (-1, 0)
    return (_RANK[ev.result], -sum(1 for _, state, _ in ev.items if state in ("unknown", "maybe")))


def _varies(rule: Rule, a: Answers, field: str, samples: Mapping[str, tuple]) -> bool:
    """Does knowing ``field`` (any sample value, or staying unknown) change this rule's result?"""
    first = _result(rule, a)
    return any(_result(rule, _with(a, field, value)) != first for value in samples[field])


def questions_that_matter(answers: Answers, rules: Optional[RuleSet] = None) -> list[str]:
    """The unknown fields, in asking order, whose value would change at least one result.

    Derived from the rules by trying values either side of every threshold in the rates file. For
    each benefit, a field matters if one of its values changes the result:
      1. with everything else as it is now; or
      2. once the benefit's other unknown fields are known at their most favourable values (so a
         question is not dropped just because other unknowns keep the answer at "possibly"); or
      3. as in 2, with any one other field at any of its values (e.g. household size matters once
         savings are known to be between the one-person and the family limit).
    """
    rules = _rules_for(answers, rules)
    unknown = [f for f in ASK_ORDER if getattr(answers, f) is None]
    samples = rules.samples
    matters: set[str] = set()
    for rule in rules.rules.values():
        fields = [f for f in unknown if f in _fields(rule)]
        pending = [f for f in fields if f not in matters]
        if not pending:
            continue
        matters.update(f for f in pending if _varies(rule, answers, f, samples))
        pending = [f for f in pending if f not in matters]
        if not pending:
            continue
        best = {f: max(samples[f], key=lambda value, f=f: _score(rule, _with(answers, f, value))) for f in fields}

        def completed(*leave: str) -> Answers:
            done = answers
            for other in fields:
                if other not in leave:
                    done = _with(done, other, best[other])
            return done

        matters.update(f for f in pending if _varies(rule, completed(f), f, samples))
        for field in [f for f in pending if f not in matters]:
            if any(_varies(rule, _with(completed(field, other), other, value), field, samples)
                   for other in fields if other != field for value in samples[other]):
                matters.add(field)
    return [f for f in unknown if f in matters]


# --------------------------------------------------------------------------- tax years
def tax_year_start(on: _dt.date) -> int:
    """The calendar year a date's tax year starts in (tax years run 6 April to 5 April)."""
    return on.year if on >= _dt.date(on.year, 4, 6) else on.year - 1


def year_folder_name(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def benefits_dir() -> Path:
    """knowledge/benefits, or $SIGNPOST_KNOWLEDGE_DIR/benefits."""
    return Path(os.environ.get("SIGNPOST_KNOWLEDGE_DIR", ROOT / "knowledge")).resolve() / "benefits"


def _schema_path(year_folder: Path) -> Path:
    beside = year_folder.parent.parent / "schemas" / SCHEMA_NAME
    return beside if beside.is_file() else ROOT / "knowledge" / "schemas" / SCHEMA_NAME


_CACHE: dict[tuple, RuleSet] = {}


def _fingerprint(year_folder: Path, schema: Path) -> tuple:
    entries = []
    for path in [*sorted(year_folder.glob("*.yml")), schema]:
        stat = path.stat()
        entries.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


def load_rules(on: _dt.date, folder: Optional[Path] = None) -> RuleSet:
    """The rules and rates for the tax year that ``on`` falls in (cached; re-read when a file changes).

    Raises NoRulesForDate naming the date if no folder covers it, and BenefitsDataError listing every
    problem if the year's files are incomplete or invalid.
    """
    base = Path(folder) if folder is not None else benefits_dir()
    start = tax_year_start(on)
    year_folder = base / year_folder_name(start)
    if not year_folder.is_dir():
        have = sorted(p.name for p in base.glob("*") if p.is_dir() and _YEAR_DIR.match(p.name)) if base.is_dir() else []
        raise NoRulesForDate(on, (
            f"no benefits rules cover {on.isoformat()}: it is in the {start}/{(start + 1) % 100:02d} tax year "
            f"(6 April {start} to 5 April {start + 1}) and there is no folder {year_folder}; "
            f"add one (folders there: {', '.join(have) or 'none'})"))
    schema = _schema_path(year_folder)
    key = (str(year_folder.resolve()), _fingerprint(year_folder, schema))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    loaded = _load_year(year_folder, schema)
    if loaded.rules is None:
        previous = next((rules for k, rules in _CACHE.items() if k[0] == key[0]), None)
        if previous is not None:  # an edit that fails the checks: keep serving the last good rules
            logging.getLogger(__name__).error(
                "Benefits rules reload failed; still using the previous rules:\n%s",
                "\n".join(str(p) for p in loaded.problems))
            return previous
        raise BenefitsDataError([str(p) for p in loaded.problems])
    for old in [k for k in _CACHE if k[0] == key[0]]:
        del _CACHE[old]
    _CACHE[key] = loaded.rules
    return loaded.rules


# --------------------------------------------------------------------------- reading and checking files
@dataclass(frozen=True)
class _Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}" if self.line else \
            f"{self.file}: {self.field}: {self.message}"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that keeps dates as the strings the editor wrote."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def _lines(node: Optional[yaml.Node], path: tuple = (), into: Optional[dict] = None) -> dict[tuple, int]:
    into = {} if into is None else into
    if node is None:
        return into
    into[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _lines(value, path + (key.value,), into)
            into[path + (key.value,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, path + (index,), into)
    return into


def _line(lines: Mapping[tuple, int], path: Iterable) -> int:
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _path_str(path: Iterable) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out or "(top)"


@dataclass
class _File:
    rel: str
    data: Any
    lines: dict[tuple, int]
    valid: bool


@dataclass
class _Year:
    problems: list[_Problem]
    files: dict[str, _File]
    rules: Optional[RuleSet]


def _read(path: Path, rel: str) -> tuple[Optional[_File], list[_Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [_Problem(rel, 1, "(file)", f"cannot be read ({exc.strerror}); check the file exists")]
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc)
        return None, [_Problem(rel, mark.line + 1 if mark else 1, "(yaml)",
                               f"not valid YAML: {what}; check indentation and quotes")]
    return _File(rel, data, _lines(node), True), []


def _schema_problems(file: _File, schema: dict) -> list[_Problem]:
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    problems = []
    for error in sorted(validator.iter_errors(file.data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(allowed)):
                problems.append(_Problem(file.rel, _line(file.lines, path + [key]), _path_str(path + [key]),
                                         f"unknown field '{key}'; check the spelling (allowed: {', '.join(allowed)})"))
            if allowed:
                continue
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else "?"
            hint = "add the https:// page that states this" if missing in ("source",) else "add it"
            problems.append(_Problem(file.rel, _line(file.lines, path), _path_str(path + [missing]),
                                     f"missing; {hint}"))
            continue
        if error.validator in ("oneOf", "anyOf") and error.schema.get("description"):
            message = f"{error.instance!r} is not right here: {error.schema['description']}"
        elif error.validator == "enum":
            message = f"{error.message}; use one of {error.validator_value}"
        elif error.validator in ("format", "pattern"):
            message = f"{error.message}; check the format (dates are \"YYYY-MM-DD\" in quotes, links start https://)"
        else:
            message = f"{error.message}; see knowledge/schemas/{SCHEMA_NAME}"
        problems.append(_Problem(file.rel, _line(file.lines, path), _path_str(path), message))
    return problems


def _date(value: Any) -> Optional[_dt.date]:
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _texts(value: Any) -> dict[str, str]:
    return {"default": value} if isinstance(value, str) else dict(value)


def _load_year(folder: Path, schema_path: Optional[Path] = None) -> _Year:
    """Read, validate and build one tax year's folder; problems list everything wrong with it."""
    prefix = f"{folder.parent.name}/{folder.name}"
    problems: list[_Problem] = []
    files: dict[str, _File] = {}
    if not folder.is_dir():
        return _Year([_Problem(prefix, 0, "(folder)", "not found; create it with rates.yml and the rules files")],
                     files, None)
    match = _YEAR_DIR.match(folder.name)
    start = int(match.group(1)) if match else None
    if match is None or (start is not None and (start + 1) % 100 != int(match.group(2))):
        problems.append(_Problem(prefix, 0, "(folder)", "name it after the tax year it covers, e.g. 2026-27"))
        start = None
    schema_path = schema_path or _schema_path(folder)
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return _Year([_Problem(str(schema_path), 0, "(schema)", f"cannot be read ({exc})")], files, None)
    for path in sorted(folder.glob("*.yml")):
        rel = f"{prefix}/{path.name}"
        file, found = _read(path, rel)
        problems += found
        if file is None:
            continue
        schema_found = _schema_problems(file, schema)
        file.valid = not schema_found
        problems += schema_found
        files[path.name] = file
    if RATES_FILE not in files:
        if not (folder / RATES_FILE).exists():
            problems.append(_Problem(f"{prefix}/{RATES_FILE}", 0, "(file)",
                                     "missing; every tax year needs a rates.yml with every figure"))
        return _Year(problems, files, None)
    rates_file = files[RATES_FILE]
    if "rules" in (rates_file.data or {}):
        problems.append(_Problem(rates_file.rel, _line(rates_file.lines, ["rules"]), "rules",
                                 "rules belong in the other files; rates.yml holds only figures"))
    rates, year_info = _check_rates(rates_file, start, problems)
    rules = _check_rules(files, rates, prefix, problems)
    if problems or year_info is None:
        return _Year(problems, files, None)
    tax_year, starts, ends = year_info
    ordered = {benefit: rules[benefit] for benefit in BENEFIT_IDS}
    return _Year(problems, files, RuleSet(tax_year, starts, ends, rates, ordered, folder))


def _check_rates(file: _File, start: Optional[int], problems: list[_Problem]
                 ) -> tuple[dict[str, Rate], Optional[tuple[str, _dt.date, _dt.date]]]:
    data = file.data if isinstance(file.data, dict) else {}
    rates: dict[str, Rate] = {}
    if not file.valid:
        # still collect the ids that look right, so rules are not all reported as unknown
        for item in data.get("rates") if isinstance(data.get("rates"), list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                amount = item.get("amount")
                rates[item["id"]] = Rate(item["id"], str(item.get("name", "")),
                                         float(amount) if isinstance(amount, (int, float)) else 0.0,
                                         str(item.get("unit", "")), str(item.get("source", "")), item.get("compares"))
        return rates, None
    starts, ends = _date(data["starts"]), _date(data["ends"])
    expected = None
    if start is not None:
        expected = (f"{start}/{(start + 1) % 100:02d}", _dt.date(start, 4, 6), _dt.date(start + 1, 4, 5))
        for field, value, want in (("tax_year", data["tax_year"], expected[0]), ("starts", starts, expected[1]),
                                   ("ends", ends, expected[2])):
            if value != want:
                problems.append(_Problem(file.rel, _line(file.lines, [field]), field,
                                         f"should be {want} for the folder {file.rel.split('/')[-2]}"))
    next_april = _dt.date(start + 1, 4, 6) if start is not None else None
    for index, item in enumerate(data["rates"]):
        where = ["rates", index]
        if item["id"] in rates:
            problems.append(_Problem(file.rel, _line(file.lines, where + ["id"]), _path_str(where + ["id"]),
                                     f"'{item['id']}' is used twice; give each rate its own id"))
        rates[item["id"]] = Rate(item["id"], item["name"], float(item["amount"]), item["unit"], item["source"],
                                 item.get("compares"))
        checked, review_by = _date(item["checked"]), _date(item["review_by"])
        if checked and review_by and review_by <= checked:
            problems.append(_Problem(file.rel, _line(file.lines, where + ["review_by"]),
                                     _path_str(where + ["review_by"]), "must be after checked"))
        if review_by and next_april and review_by >= next_april:
            problems.append(_Problem(file.rel, _line(file.lines, where + ["review_by"]),
                                     _path_str(where + ["review_by"]),
                                     f"must be before {next_april.isoformat()}, so the figure is checked before "
                                     "the new tax year's rates"))
    if expected is None or starts is None or ends is None:
        return rates, None
    return rates, (data["tax_year"], starts, ends)


def _check_rules(files: dict[str, _File], rates: dict[str, Rate], prefix: str,
                 problems: list[_Problem]) -> dict[str, Rule]:
    built: dict[str, Rule] = {}
    seen: dict[str, str] = {}
    for name, file in files.items():
        if name == RATES_FILE:
            continue
        if not file.valid:  # its schema errors are reported; don't also call its rules missing
            rules = file.data.get("rules") if isinstance(file.data, dict) else None
            for item in rules if isinstance(rules, list) else []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    seen.setdefault(item["id"], name)
            continue
        for index, item in enumerate(file.data["rules"]):
            where = ["rules", index]

            def problem(path: list, message: str, _file: _File = file, _where: list = where) -> None:
                problems.append(_Problem(_file.rel, _line(_file.lines, _where + path), _path_str(_where + path),
                                         message))

            rule_id = item["id"]
            if rule_id not in _SPECS:
                problem(["id"], f"unknown benefit '{rule_id}'; the engine knows: {', '.join(BENEFIT_IDS)}")
                continue
            if rule_id in seen:
                problem(["id"], f"'{rule_id}' already has a rule in {seen[rule_id]}; keep one")
                continue
            seen[rule_id] = name
            spec = _SPECS[rule_id]
            slots: dict[str, Rate] = {}
            for slot, rate_id in (item.get("rates") or {}).items():
                if rate_id not in rates:
                    problem(["rates", slot], f"unknown rate '{rate_id}'; use an id from {RATES_FILE}")
                else:
                    slots[slot] = rates[rate_id]
            for slot in spec.slots:
                if slot not in (item.get("rates") or {}):
                    problem(["rates"], f"'{slot}' is missing; the engine needs it (map it to a rate id in "
                                       f"{RATES_FILE})")
            if spec.qualifying and not item.get("qualifying_benefits"):
                problem(["qualifying_benefits"], "missing; list the cared-for person's benefits that count")
            needed = {key: set(states) for key, states in spec.reasons.items()}
            if len(item["nations"]) < len(NATIONS):
                needed.setdefault("nation", set()).add("unknown")
            if len(item["roles"]) < len(ROLES):
                needed.setdefault("role", set()).add("unknown")
            written = item.get("reasons") or {}
            for key, states in needed.items():
                for state in sorted(states):
                    if state not in (written.get(key) or {}):
                        problem(["reasons", key], f"'{key}' needs a '{state}' text; add it")
            for key in written:
                if key not in needed:
                    problem(["reasons", key], f"'{key}' is not used by the engine; check the spelling "
                                              f"(used: {', '.join(sorted(needed))})")
            reasons: dict[str, dict[str, dict[str, str]]] = {}
            for key, states in written.items():
                for state, value in states.items():
                    texts = _texts(value)
                    for nation, text in texts.items():
                        for placeholder in _PLACEHOLDER.findall(text):
                            if placeholder not in slots:
                                problem(["reasons", key, state] + ([] if isinstance(value, str) else [nation]),
                                        f"unknown figure {{{placeholder}}}; use one of this rule's rates: "
                                        f"{', '.join(sorted(slots)) or '(none)'}")
                    reasons.setdefault(key, {})[state] = {n: _fill(t, slots) for n, t in texts.items()}
            how = _texts(item["how_to_claim"])
            for nation, text in how.items():
                for placeholder in _PLACEHOLDER.findall(text):
                    if placeholder not in slots:
                        problem(["how_to_claim"], f"unknown figure {{{placeholder}}}; use one of this rule's rates")
            checked, review_by = _date(item["checked"]), _date(item["review_by"])
            if checked and review_by and review_by <= checked:
                problem(["review_by"], "must be after checked")
            built[rule_id] = Rule(
                id=rule_id, name=item["name"], nations=tuple(item["nations"]), roles=tuple(item["roles"]),
                rates=slots, qualifying_benefits=frozenset(item.get("qualifying_benefits") or ()),
                reasons=reasons, how_to_claim={n: _fill(t, slots) for n, t in how.items()}, source=item["source"],
                sources=dict(item.get("sources") or {}), file=file.rel)
    for benefit in BENEFIT_IDS:
        if benefit not in seen:
            problems.append(_Problem(prefix, 0, benefit,
                                     "no rule for this benefit; add one to the right file (see carers.yml for how)"))
    return built


def _fill(text: str, slots: Mapping[str, Rate]) -> str:
    return _PLACEHOLDER.sub(lambda m: slots[m.group(1)].text if m.group(1) in slots else m.group(0), text)


def validate_year(folder: Path) -> list[str]:
    """Everything wrong with one tax year's folder, as "file:line: field: message" (empty if fine)."""
    return [str(p) for p in _load_year(Path(folder)).problems]


def check_tree(knowledge_folder: Path, today: _dt.date) -> list[str]:
    """Problems with knowledge_folder/benefits as strings (empty if fine), for `signposting knowledge check`.

    Schema errors, missing sources, unknown rate references and missing rules in every tax-year folder;
    review_by dates in the past for years that have not ended; and no folder for today's tax year.
    """
    knowledge_folder = Path(knowledge_folder)
    base = knowledge_folder / "benefits"
    schema = knowledge_folder / "schemas" / SCHEMA_NAME
    if not base.is_dir():
        return ["benefits: (folder): missing; add benefits/<YYYY-YY>/ with rates.yml and the rules files"]
    if not schema.is_file():
        schema = ROOT / "knowledge" / "schemas" / SCHEMA_NAME
    problems: list[str] = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        year = _load_year(folder, schema)
        problems += [str(p) for p in year.problems]
        match = _YEAR_DIR.match(folder.name)
        if match is None or _dt.date(int(match.group(1)) + 1, 4, 5) < today:
            continue  # a year that has ended is kept for the record; its review dates no longer matter
        for file in year.files.values():
            for path, item in _items_with(file.data, "review_by"):
                when = _date(item["review_by"])
                if when is not None and when < today:
                    where = list(path) + ["review_by"]
                    problems.append(str(_Problem(
                        file.rel, _line(file.lines, where), _path_str(where),
                        f"{when.isoformat()} is in the past; check this against its source, then set checked "
                        "to today and a new review_by")))
    current = year_folder_name(tax_year_start(today))
    if not (base / current).is_dir():
        problems.append(f"benefits/{current}: (folder): no rules for today's tax year ({today.isoformat()}); "
                        "copy the last year's folder and update every figure")
    return problems


def _items_with(data: Any, key: str, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    if isinstance(data, dict):
        if key in data:
            yield path, data
        for name, value in data.items():
            yield from _items_with(value, key, path + (name,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _items_with(value, key, path + (index,))
