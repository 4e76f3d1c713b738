"""Answers: topics from knowledge, short answers (nation, postcode), a person, the crisis answer."""
from __future__ import annotations

import re
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import TOPIC_INTENTS, directory, entity, knowledge, latest_intent, nation, send
from signposting import finder, places, render, safety
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
    text = tracker.latest_message.get("text") or ""
    if intent == "find_local_service":  # e.g. offered from a menu: the directory, not a topic text
        return find_services(dispatcher, tracker, finder.Ask(intent, None if text.startswith("/") else text))
    send(dispatcher, ended_scheme_notes(text, kb))
    check_follows = intent in CHECK_FOLLOWS  # the benefits check comes next and asks the nation itself
    send(dispatcher, render.topic_answer(kb, intent, where, ask_nation=not check_follows))
    topic = kb.topic(intent)
    waiting = intent if topic and topic.get("nation_specific") and where is None and not check_follows else None
    events: List[EventType] = [SlotSet("pending_topic", waiting), SlotSet("offered_topic", None)]
    if check_follows:
        dispatcher.utter_message(text=kb.say("benefits_intro"))
    if waiting is None and not check_follows and finder.categories_for(kb, intent):
        events += show_services(dispatcher, tracker, finder.Ask(intent), where, tracker.get_slot("postcode"))
    return events


CHECK_FOLLOWS = ("ask_benefits_check",)  # data/rules/questions.yml starts benefits_form after these answers


def _area(outward: object) -> str | None:
    match = places.POSTCODE.match(outward) if isinstance(outward, str) else None
    return match.group("area").upper() if match else None


def show_services(dispatcher: CollectingDispatcher, tracker: Tracker, ask: finder.Ask, where: str | None,
                  outward: str | None, say_if_none: bool = False) -> List[EventType]:
    """A page of services for this ask; remembers the ask so that 'show more' can carry on."""
    kb = knowledge()
    result = finder.search(directory(), kb, ask, role=tracker.get_slot("role"), nation=where, area=_area(outward))
    if not result.matches:
        if say_if_none:
            dispatcher.utter_message(text=kb.say("services_no_more" if ask.offset else "services_none"))
        return [SlotSet("service_search", None)]
    send(dispatcher, render.services_message(result, kb))
    return [SlotSet("service_search", ask.as_slot())]


def find_services(dispatcher: CollectingDispatcher, tracker: Tracker, ask: finder.Ask) -> List[EventType]:
    """Services near the person: asks for a postcode (or nation) first when neither is known."""
    kb = knowledge()
    place = places.find_postcode(ask.text or "", kb)
    outward = place.outward if place else tracker.get_slot("postcode")
    where = (place.nation if place else None) or nation(tracker)
    events: List[EventType] = [SlotSet("postcode", place.outward)] if place else []
    if place and place.nation:
        events.append(SlotSet("nation", place.nation))
    if outward is None and where is None:
        dispatcher.utter_message(text=kb.say("services_ask_postcode"),
                                 buttons=[b.as_dict() for b in render.nation_buttons()])
        return events + [SlotSet("pending_topic", "find_local_service"), SlotSet("pending_search", ask.as_slot())]
    return events + [SlotSet("pending_topic", None)] + show_services(dispatcher, tracker, ask, where, outward,
                                                                     say_if_none=True)


def _last_action(tracker: Tracker) -> str | None:
    """The bot's last action before the person's latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") not in ("action_listen", None):
            return event.get("name")
    return None


class ActionGreet(Action):
    def name(self) -> Text:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from signposting import privacy

        from actions import keeping

        kb = knowledge()
        back, events = keeping.welcome_back(tracker, kb)
        if tracker.get_slot("role"):
            dispatcher.utter_message(text=kb.say("greet_again"))
        else:
            dispatcher.utter_message(text=kb.say("greet", retention_days=privacy.retention_days()))
        if back is not None:   # a kept plan (with consent): say what it started with; the check-in compares
            send(dispatcher, [back])
        return events


class ActionReply(Action):
    """Short replies whose words editors keep in knowledge/wording.yml, chosen by the intent."""

    REPLIES = {"goodbye": "goodbye", "thank": "welcome", "deny": "no_problem", "skip_question": "nothing_to_skip"}

    def name(self) -> Text:
        return "action_reply"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent, _ = latest_intent(tracker)
        if intent == "deny" and _last_action(tracker) == "action_confirm_delete":
            dispatcher.utter_message(text=knowledge().say("delete_kept"))
            return []
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
            if pending == "find_local_service":
                ask = finder.Ask.from_slot(tracker.get_slot("pending_search")) or finder.Ask(pending)
                events += show_services(dispatcher, tracker, ask, found,
                                        place.outward if place else tracker.get_slot("postcode"), say_if_none=True)
                events += [SlotSet("pending_topic", None), SlotSet("pending_search", None)]
            elif pending == "ask_social_care":
                from actions.keeping import social_care_messages

                topic = tracker.get_slot("pending_social_care") or "needs_assessment"
                send(dispatcher, social_care_messages(kb, topic, found, intro=False))
                events += [SlotSet("pending_topic", None), SlotSet("pending_social_care", None)]
            elif pending:
                send(dispatcher, render.topic_answer(kb, pending, found))
                events.append(SlotSet("pending_topic", None))
                if finder.categories_for(kb, pending):
                    events += show_services(dispatcher, tracker, finder.Ask(pending), found,
                                            place.outward if place else tracker.get_slot("postcode"))
            return events
        if place is None and not text.startswith("/") and places.POSTCODE.search(text):
            dispatcher.utter_message(text=kb.say("services_unknown_postcode"),
                                     buttons=[b.as_dict() for b in render.nation_buttons()])
            return events  # whatever was waiting for a place keeps waiting
        send(dispatcher, [render.menu(kb, kb.say("menu"))])
        return events


class ActionFindServices(Action):
    """Services from the directory: near the person for 'find support near me', or the next page for 'more'."""

    def name(self) -> Text:
        return "action_find_services"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent, _ = latest_intent(tracker)
        last = finder.Ask.from_slot(tracker.get_slot("service_search"))
        if intent != "more_services" or last is None:
            text = tracker.latest_message.get("text") or ""
            return find_services(dispatcher, tracker, finder.Ask("find_local_service",
                                                                 None if text.startswith("/") else text))
        ask = finder.Ask(last.intent, last.text, last.offset + finder.PAGE_SIZE)
        events = show_services(dispatcher, tracker, ask, nation(tracker), tracker.get_slot("postcode"),
                               say_if_none=True)
        nothing_more = events[-1].get("value") is None
        return [SlotSet("service_search", last.as_slot())] if nothing_more else events


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
