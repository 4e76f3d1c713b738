"""What a person can always say: stop, start again, go back (delete my data: actions/handoff.py)."""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import knowledge

OPENING_SLOTS = ["role", "what_matters"]


class ActionStop(Action):
    def name(self) -> Text:
        return "action_stop"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from actions import keeping

        kb = knowledge()
        try:
            cancelled = keeping.cancel_followups(tracker.sender_id)   # "stop" means no message later either
        except Exception:   # logged there; the scheduler checks consent again before it sends anything
            cancelled = 0
        dispatcher.utter_message(
            text=kb.say("stopped") + " " + kb.say("stop") + (" " + kb.say("stop_followup_cancelled") if cancelled else ""),
            buttons=[{"title": kb.say("start_again_button"), "payload": "/start_again"},
                     {"title": kb.say("talk_to_person"), "payload": "/request_human"}],
        )
        return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionStartAgain(Action):
    def name(self) -> Text:
        return "action_start_again"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(text=knowledge().say("start_again"))
        return [ActiveLoop(None), AllSlotsReset()]


class ActionGoBack(Action):
    """Clears the answer before the current question, so the form asks it again."""

    def name(self) -> Text:
        return "action_go_back"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        requested = tracker.get_slot("requested_slot")
        loop = (tracker.active_loop or {}).get("name")
        if not loop or not requested:
            dispatcher.utter_message(text=knowledge().say("go_back_nothing"))
            return []
        order = OPENING_SLOTS + [d["slot"] for d in knowledge().domains(tracker.get_slot("role"))]
        if loop == "onboarding_form":
            order = OPENING_SLOTS
        elif loop == "benefits_form":
            from actions.benefits import FORM_SLOTS

            order = FORM_SLOTS
        position = order.index(requested) if requested in order else 0
        previous = [slot for slot in order[:position] if tracker.get_slot(slot) is not None]
        if not previous:
            dispatcher.utter_message(text=knowledge().say("go_back_first"))
            return []
        dispatcher.utter_message(text=knowledge().say("go_back"))
        return [SlotSet(previous[-1], None), SlotSet("requested_slot", None)]
