"""Honest uncertainty: when unsure, offer the closest topics and a person; never guess."""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import knowledge, send
from signposting import render

# intents a person can be offered by name when the bot is unsure (besides the topics in knowledge)
EXTRA_TITLES = {"start_assessment": "menu_checkin", "request_human": "talk_to_person"}  # wording keys
NOT_OFFERED = {"nlu_fallback", "out_of_scope", "greet", "goodbye", "affirm", "deny", "thank", "inform",
               "skip_question", "stop", "start_again", "go_back", "crisis", "bot_challenge", "ask_help",
               "request_human"}
DEFAULT_SUGGESTIONS = ("ask_financial_support", "ask_emotional_support", "ask_practical_support")


def closest_topics(tracker: Tracker, count: int = 3) -> list[render.Button]:
    """The `count` most likely intents that have a friendly title, most likely first."""
    kb = knowledge()
    titles = {intent: topic["title"] for intent, topic in kb.topics.items()}
    titles |= {intent: kb.say(key) for intent, key in EXTRA_TITLES.items()}
    ranked = [item.get("name") for item in tracker.latest_message.get("intent_ranking") or []]
    chosen: list[str] = []
    for intent in [*ranked, *DEFAULT_SUGGESTIONS]:
        if intent in titles and intent not in NOT_OFFERED and intent not in chosen:
            chosen.append(intent)
        if len(chosen) == count:
            break
    return [render.Button(titles[intent], f"/{intent}") for intent in chosen]


class ActionDefaultAskAffirmation(Action):
    """First stage: 'I'm not sure I understood. Did you mean...' with the 3 closest topics."""

    def name(self) -> Text:
        return "action_default_ask_affirmation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        buttons = closest_topics(tracker)
        buttons += [render.Button(kb.say("talk_to_person"), "/request_human"),
                    render.Button(kb.say("something_else"), "/deny")]
        send(dispatcher, [render.Message(kb.say("not_sure"), buttons)])
        return []


class ActionDefaultAskRephrase(Action):
    """Second stage: ask them to say it another way."""

    def name(self) -> Text:
        return "action_default_ask_rephrase"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(text=knowledge().say("rephrase"))
        return []


class ActionDefaultFallback(Action):
    """Last stage: say so plainly and give a person to talk to."""

    def name(self) -> Text:
        return "action_default_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        dispatcher.utter_message(text=kb.say("fallback_sorry"))
        send(dispatcher, [render.offer_person(kb)])
        return [UserUtteranceReverted()]
