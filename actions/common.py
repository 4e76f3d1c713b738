"""Helpers shared by the actions: knowledge access, sending messages, reading the tracker."""
from __future__ import annotations

import logging
from typing import Any, Iterable

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from signposting import directory as dir_
from signposting import knowledge as kb
from signposting.places import normalise_nation
from signposting.render import Message

logger = logging.getLogger(__name__)

TOPIC_INTENTS = (
    "ask_emotional_support", "ask_practical_support", "ask_financial_support", "ask_benefits_check",
    "ask_carer_support", "ask_work_support", "ask_prescription_costs", "ask_travel_parking",
    "ask_end_of_life_support", "find_local_service", "medical_question", "ask_help", "bot_challenge",
    "out_of_scope",
)
SCORE_SLOTS = ("score_emotional", "score_practical", "score_financial", "score_work", "score_carer_wellbeing")
QUESTION_CONFIDENCE = 0.8  # mid-form, answer a question only when this sure it is one


def knowledge() -> kb.Knowledge:
    """The current knowledge (reloaded when an editor changes a file)."""
    return kb.current()


_LIVE_DIRECTORY = dir_.Live()


def directory() -> dir_.Directory:
    """The directory of services, in step with the current knowledge (DATABASE_URL or a SQLite file)."""
    return _LIVE_DIRECTORY.get(knowledge())


def send(dispatcher: CollectingDispatcher, messages: Iterable[Message]) -> None:
    for message in messages:
        dispatcher.utter_message(text=message.text, buttons=[b.as_dict() for b in message.buttons] or None)


def nation(tracker: Tracker) -> str | None:
    return normalise_nation(tracker.get_slot("nation"))


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def entity(tracker: Tracker, name: str) -> Any:
    """The value of the latest message's first entity of this type, if any."""
    for item in tracker.latest_message.get("entities") or []:
        if item.get("entity") == name:
            return item.get("value")
    return None


def is_payload(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("/")


def set_before_this_message(tracker: Tracker, slot: str, value: Any) -> bool:
    """True if ``slot`` already held ``value`` before the person's latest message.

    A form that starts re-validates the answers it already has; this tells such a re-check from a new
    answer, so that what is said about an answer (a stage's words, a young carer's welcome) is said once.
    """
    last_user = max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=-1)
    current = None
    for event in tracker.events[: max(last_user, 0)]:
        if event.get("event") == "slot" and event.get("name") == slot:
            current = event.get("value")
        elif event.get("event") in ("reset_slots", "restart"):
            current = None
    return current is not None and current == value


def choice_and_text(tracker: Tracker, slot_value: Any) -> tuple[str | None, str]:
    """(a button's value from the `choice` entity, the words typed: empty for a button payload)."""
    choice = entity(tracker, "choice")
    text = "" if is_payload(slot_value) else str(slot_value or "")
    return (str(choice) if choice is not None else None), text


def read_nation(tracker: Tracker, choice: str | None, text: str) -> tuple[str | None, Any]:
    """The nation an answer gives (a nation button, a nation named, or a postcode), and the place
    when it was a postcode (its outward code is all that may be kept)."""
    from signposting import places

    found = normalise_nation(entity(tracker, "nation") or choice or text)
    place = None
    if found is None and text:
        place = places.find_postcode(text, kb.current())
        found = place.nation if place else None
    return found, place
