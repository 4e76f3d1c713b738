"""The benefits check: a form that asks only what changes the answer, then a guide the person can keep."""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import show_services
from actions.common import choice_and_text, entity, is_payload, knowledge, latest_intent, nation, read_nation, send
from signposting import assessment, benefits, finder, render
from signposting.knowledge import NATION_NAMES

UNKNOWN = "unknown"
# engine field -> the form's slot that asks it (fields not here are never asked: no exact income, no names)
FIELD_SLOTS = {
    "nation": "nation", "role": "role", "age": "b_age", "terminal_illness": "b_terminal",
    "care_hours_per_week": "b_care_hours", "cared_for_benefits": "b_cared_for",
    "weekly_net_earnings": "b_earnings", "employment": "b_employment",
}
FORM_SLOTS = list(FIELD_SLOTS.values())
CARED_FOR = {
    "attendance_allowance": ("attendance_allowance_lower",), "pip_daily_living": ("pip_daily_living_standard",),
    "dla_care": ("dla_care_middle",), "adp_daily_living": ("adp_daily_living_standard",), "none": (),
}
_DONT_KNOW = re.compile(r"\b(don'?t know|dont know|not sure|no idea|unsure|dunno|idk)\b", re.IGNORECASE)
_YES = re.compile(r"^\s*(yes|yeah|yep|y|they have|i have|he has|she has|correct)\b", re.IGNORECASE)
_NO = re.compile(r"^\s*(no|nope|n|not|none|neither)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def figures() -> dict[str, float]:
    """The thresholds the questions' choices are built on, from this tax year's rates file."""
    rules = benefits.load_rules(date.today())
    return {rate: float(rules[rate]) for rate in ("earnings_limit", "care_hours", "pension_age")}


def answers_from(tracker: Tracker) -> benefits.Answers:
    """What the person has told us so far, in the engine's terms ('don't know' stays unknown)."""
    values: dict[str, Any] = {"date": date.today()}
    for field, slot in FIELD_SLOTS.items():
        value = tracker.get_slot(slot)
        if value is None or value == UNKNOWN:
            continue
        try:
            values[field] = _engine_value(field, value)
        except (TypeError, ValueError):
            continue  # an answer not validated yet (the form checks it before using it)
    if values.get("role") not in ("patient", "carer"):
        values.pop("role", None)
    return benefits.Answers(**values)


def _engine_value(field: str, value: Any) -> Any:
    if field == "cared_for_benefits":
        return tuple(value) if isinstance(value, (list, tuple)) else CARED_FOR.get(str(value), ())
    if field in ("age", "care_hours_per_week", "weekly_net_earnings"):
        return int(value) if field == "age" else float(value)
    if field == "terminal_illness":
        return bool(value)
    return value


def to_ask(tracker: Tracker) -> list[str]:
    """The slots still to ask: only those whose answer would change a result, in the engine's order."""
    fields = benefits.questions_that_matter(answers_from(tracker))
    return [FIELD_SLOTS[f] for f in fields if f in FIELD_SLOTS and tracker.get_slot(FIELD_SLOTS[f]) is None]


class ValidateBenefitsForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_benefits_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        # answered slots stay listed, so that rasa-sdk validates an answer just given; Rasa asks the
        # first listed slot that is still empty
        answered = [slot for slot in FORM_SLOTS if tracker.get_slot(slot) is not None]
        return answered + to_ask(tracker)

    def _choice(self, tracker: Tracker, slot_value: Any) -> tuple[Optional[str], str]:
        return choice_and_text(tracker, slot_value)

    def _again(self, dispatcher: CollectingDispatcher, slot: str) -> Dict[Text, Any]:
        dispatcher.utter_message(text=knowledge().say("benefits_not_understood"))
        return {slot: None}

    def validate_nation(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: DomainDict) -> Dict[Text, Any]:
        choice, text = self._choice(tracker, slot_value)
        found, _ = read_nation(tracker, choice, text)
        if found in NATION_NAMES:
            return {"nation": found}
        if _DONT_KNOW.search(text):
            return {"nation": UNKNOWN}
        return self._again(dispatcher, "nation")

    def validate_role(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: DomainDict) -> Dict[Text, Any]:
        role = entity(tracker, "role") or (None if is_payload(slot_value) else assessment.parse_role(str(slot_value)))
        return {"role": role} if role in assessment.ROLES else self._again(dispatcher, "role")

    def _number(self, slot: str, tracker: Tracker, slot_value: Any, dispatcher: CollectingDispatcher,
                read: Callable[[str], Optional[float]], cast: Callable[[str], Any] = float) -> Dict[Text, Any]:
        """A numeric answer: a button's value, a number read from typed words, or 'don't know'."""
        choice, text = self._choice(tracker, slot_value)
        if choice is not None:
            return {slot: UNKNOWN if choice == UNKNOWN else cast(choice)}
        value = read(text)
        if value is not None:
            return {slot: value}
        return {slot: UNKNOWN} if _DONT_KNOW.search(text) else self._again(dispatcher, slot)

    def validate_b_age(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> Dict[Text, Any]:
        def read(text: str) -> Optional[int]:
            number = _NUMBER.search(text)
            return int(float(number.group(1))) if number and 0 <= float(number.group(1)) <= 120 else None

        return self._number("b_age", tracker, slot_value, dispatcher, read, cast=int)

    def validate_b_terminal(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        value = self._yes_no(tracker, slot_value)
        return {"b_terminal": value} if value is not None else self._again(dispatcher, "b_terminal")

    def _yes_no(self, tracker: Tracker, slot_value: Any) -> Any:
        choice, text = self._choice(tracker, slot_value)
        intent, _ = latest_intent(tracker)
        if choice in ("yes", "no", UNKNOWN):
            return {"yes": True, "no": False}.get(choice, UNKNOWN)
        if _DONT_KNOW.search(text):
            return UNKNOWN
        if intent == "affirm" or _YES.search(text):
            return True
        if intent == "deny" or _NO.search(text):
            return False
        return None

    def validate_b_care_hours(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        def read(text: str) -> Optional[float]:
            number = _NUMBER.search(text)
            if not number or not 0 <= float(number.group(1)) <= 168:
                return None
            hours = float(number.group(1))
            return hours * 7 if re.search(r"\b(a|per|each) day\b", text, re.I) else hours

        return self._number("b_care_hours", tracker, slot_value, dispatcher, read)

    def validate_b_cared_for(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        choice, text = self._choice(tracker, slot_value)
        if choice in CARED_FOR or choice == UNKNOWN:
            return {"b_cared_for": choice}
        lowered = text.lower()
        for key, words in (("attendance_allowance", ("attendance",)), ("pip_daily_living", ("pip", "personal indep")),
                           ("adp_daily_living", ("adp", "adult disability")), ("dla_care", ("dla", "disability living"))):
            if any(word in lowered for word in words):
                return {"b_cared_for": key}
        if _DONT_KNOW.search(text):
            return {"b_cared_for": UNKNOWN}
        if _NO.search(text):
            return {"b_cared_for": "none"}
        return self._again(dispatcher, "b_cared_for")

    def validate_b_earnings(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        def read(text: str) -> Optional[float]:
            number = _NUMBER.search(text.replace(",", ""))
            if number:
                return float(number.group(1))
            if _DONT_KNOW.search(text):  # "no idea" is not "no earnings"
                return None
            return 0.0 if re.search(r"\b(nothing|none|no|not working|zero)\b", text, re.IGNORECASE) else None

        return self._number("b_earnings", tracker, slot_value, dispatcher, read)

    def validate_b_employment(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        choice, text = self._choice(tracker, slot_value)
        lowered = text.lower()
        if choice in ("employed", "self_employed", "not_working", UNKNOWN):
            return {"b_employment": choice}
        if re.search(r"self[- ]?employed|freelance|my own business|sole trader", lowered):
            return {"b_employment": "self_employed"}
        if re.search(r"not working|unemployed|retired|don'?t work|no job", lowered):
            return {"b_employment": "not_working"}
        if re.search(r"employ|work for|job|i work", lowered):
            return {"b_employment": "employed"}
        return {"b_employment": UNKNOWN} if _DONT_KNOW.search(text) else self._again(dispatcher, "b_employment")


class _AskBenefitQuestion(Action):
    """Asks one question of the benefits check, with its buttons and 'don't know'."""

    slot = ""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        send(dispatcher, [render.benefit_question(kb, self.slot, figures(), tracker.get_slot("role"))])
        return []


def _ask_action(slot: str) -> type:
    """action_ask_<slot> for one question (rasa-sdk finds every Action subclass)."""
    name = "ActionAsk" + "".join(part.title() for part in slot.split("_"))
    return type(name, (_AskBenefitQuestion,), {"slot": slot, "__doc__": f"Asks {slot}."})


ActionAskNation = _ask_action("nation")
ActionAskBAge = _ask_action("b_age")
ActionAskBTerminal = _ask_action("b_terminal")
ActionAskBCareHours = _ask_action("b_care_hours")
ActionAskBCaredFor = _ask_action("b_cared_for")
ActionAskBEarnings = _ask_action("b_earnings")
ActionAskBEmployment = _ask_action("b_employment")


class ActionBenefitsSummary(Action):
    """The guide: likely, possibly (and what would tell), unlikely; amounts, how to claim, source and tax year."""

    def name(self) -> Text:
        return "action_benefits_summary"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        outcomes = benefits.check(answers_from(tracker))
        send(dispatcher, render.benefits_messages(outcomes, kb))
        events = show_services(dispatcher, tracker, finder.Ask("ask_benefits_check"), nation(tracker),
                               tracker.get_slot("postcode"))
        return events + [SlotSet(slot, None) for slot in FORM_SLOTS if slot not in ("nation", "role")]
