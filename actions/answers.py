"""Answers: topics from knowledge, short answers (nation, postcode), a person, the crisis answer."""
from __future__ import annotations

import re
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import TOPIC_INTENTS, entity, knowledge, latest_intent, nation, send
from signposting import places, render, safety
from signposting.knowledge import NATION_NAMES, Knowledge


def ended_scheme_notes(text: str, kb: Knowledge) -> list[render.Message]:
    """If someone names a scheme that has ended (Incapacity Benefit, FACS...), say what replaced it."""
    clean = text.lower()
    notes = []
    for scheme in kb.ended_schemes.values():
        names = [scheme["name"], *scheme.get("synonyms", [])]
        if any(re.search(rf"(?<![a-z0-9]){re.escape(n.lower())}(?![a-z0-9])", clean) for n in names):
            notes.append(render.Message(render.fill(scheme["what_to_say"], kb)))
    return notes


def answer_topic(dispatcher: CollectingDispatcher, tracker: Tracker, intent: str) -> List[EventType]:
    kb = knowledge()
    where = nation(tracker)
    send(dispatcher, ended_scheme_notes(tracker.latest_message.get("text") or "", kb))
    send(dispatcher, render.topic_answer(kb, intent, where))
    topic = kb.topic(intent)
    waiting = intent if topic and topic.get("nation_specific") and where is None else None
    return [SlotSet("pending_topic", waiting), SlotSet("offered_topic", None)]


class ActionGreet(Action):
    def name(self) -> Text:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(text=knowledge().say("greet_again" if tracker.get_slot("role") else "greet"))
        return []


class ActionReply(Action):
    """Short replies whose words editors keep in knowledge/wording.yml, chosen by the intent."""

    REPLIES = {"goodbye": "goodbye", "thank": "welcome", "deny": "no_problem", "skip_question": "nothing_to_skip"}

    def name(self) -> Text:
        return "action_reply"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent, _ = latest_intent(tracker)
        dispatcher.utter_message(text=knowledge().say(self.REPLIES.get(intent or "", "no_problem")))
        return []


class ActionAnswerTopic(Action):
    """Answers a question from knowledge/topics.yml, in the version for the person's nation."""

    def name(self) -> Text:
        return "action_answer_topic"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent, _ = latest_intent(tracker)
        if intent not in TOPIC_INTENTS:
            intent = tracker.get_slot("offered_topic") or "ask_help"
        return answer_topic(dispatcher, tracker, intent)


class ActionHandleAffirm(Action):
    """A 'yes' outside a form: take up what was offered, or ask what they need."""

    def name(self) -> Text:
        return "action_handle_affirm"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        offered = tracker.get_slot("offered_topic")
        if offered in TOPIC_INTENTS:
            return answer_topic(dispatcher, tracker, offered)
        kb = knowledge()
        send(dispatcher, [render.menu(kb, kb.say("menu"))])
        return []


class ActionHandleInform(Action):
    """Short answers outside a form: a nation or postcode (then any answer that was waiting for it)."""

    def name(self) -> Text:
        return "action_handle_inform"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        text = tracker.latest_message.get("text") or ""
        events: List[EventType] = []
        found = places.normalise_nation(entity(tracker, "nation"))
        place = None if text.startswith("/") else places.find_postcode(text, kb)
        if place is not None:
            events.append(SlotSet("postcode", place.outward))  # the outward code only: no more than needed
            found = found or place.nation
        found = found or (None if text.startswith("/") else places.nation_from_text(text))
        if found in NATION_NAMES:
            events.append(SlotSet("nation", found))
            note = kb.say("nation_thanks", nation=NATION_NAMES[found])
            if place is not None and place.cross_border:
                note += " " + kb.say("nation_cross_border")
            dispatcher.utter_message(text=note)
            pending = tracker.get_slot("pending_topic")
            if pending:
                send(dispatcher, render.topic_answer(kb, pending, found))
                events.append(SlotSet("pending_topic", None))
            return events
        send(dispatcher, [render.menu(kb, kb.say("menu"))])
        return events


class ActionOfferHuman(Action):
    """Talk to a person: who, when they are open, and what to do until then."""

    def name(self) -> Text:
        return "action_offer_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        send(dispatcher, [render.offer_person(kb, nation=nation(tracker))])
        return []


class ActionCrisisResponse(Action):
    """The crisis answer, first: the right numbers for the kind of risk and the nation."""

    def name(self) -> Text:
        return "action_crisis_response"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kind_value = entity(tracker, "crisis_kind") or tracker.get_slot("crisis_kind")
        try:
            kind = safety.CrisisKind(kind_value)
        except ValueError:
            kind = safety.CrisisKind.SUICIDE_SELF_HARM
        dispatcher.utter_message(
            text=safety.crisis_reply(kind, nation(tracker)),
            buttons=[{"title": knowledge().say("talk_to_person"), "payload": "/request_human"}],
        )
        return [SlotSet("crisis_kind", kind.value)]
