"""Handing over to the helpline team, and deleting a person's data.

Consent comes first: nothing is shared with staff, and no phone number is kept, without a yes.
Open: the conversation joins the staff queue with a summary, so nobody tells their story twice.
Closed: a callback request (time of day, call or text, then the number). The number is written to the
handoff store the moment it is given and never put in a slot (the tracker keeps "saved", and the stored
copy of the message is redacted), so it lives only where the consent says.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import SCORE_SLOTS, entity, is_payload, knowledge, latest_intent, nation, send
from signposting import handoff, hours, phone, render
from signposting import summary as summaries

logger = logging.getLogger(__name__)

YES, NO = "yes", "no"
TIMES = ("morning", "afternoon", "any_time")
HOWS = ("call", "text")
_YES = re.compile(r"^\s*(yes|yeah|yep|yup|y|ok|okay|sure|please|go ahead|fine|that's fine|of course)\b", re.I)
_NO = re.compile(r"^\s*(no|nope|nah|n|don'?t|do not|not now|no thanks)\b", re.I)
HELPLINE = "macmillan_support_line"


def now() -> datetime:
    """UK time now. SIGNPOST_NOW (ISO 8601) fixes the clock for tests of opening hours."""
    fixed = os.environ.get("SIGNPOST_NOW")
    if fixed:
        moment = datetime.fromisoformat(fixed)
        return moment if moment.tzinfo else moment.replace(tzinfo=hours.UK)
    return datetime.now(hours.UK)


def helpline_open(tracker: Tracker) -> handoff.HelplineStatus:
    """Whether the team answering the queue is open now (UK time, bank holidays), and from/until when."""
    return handoff.helpline_status(now(), knowledge(), nation(tracker))


def _yes_no(tracker: Tracker, value: Any) -> Optional[str]:
    choice = entity(tracker, "choice")
    if choice in (YES, NO):
        return str(choice)
    text = "" if is_payload(value) else str(value or "")
    intent, _ = latest_intent(tracker)
    if intent == "affirm" or _YES.search(text):
        return YES
    if intent == "deny" or _NO.search(text):
        return NO
    return None


def _choice_of(tracker: Tracker, value: Any, options: tuple[str, ...], words: dict[str, str]) -> Optional[str]:
    choice = entity(tracker, "choice")
    if choice in options:
        return str(choice)
    text = "" if is_payload(value) else str(value or "").lower()
    for word, option in words.items():
        if re.search(rf"\b{word}\b", text):
            return option
    return None


def conversation_summary(tracker: Tracker) -> summaries.Summary:
    """What the person has told Signpost, in the shape staff read (see signposting.summary.from_events)."""
    return summaries.from_events(tracker.current_slot_values(), tracker.events, knowledge(), now=now())


def _stored(summary: summaries.Summary) -> tuple[dict, str]:
    """The summary as the handoff store keeps it: a dict for the console, and the text staff read."""
    return dataclasses.asdict(summary), summaries.as_text(summary, knowledge(), for_helpline=True)


def preview(tracker: Tracker) -> str:
    """One line: who they are, what matters, the top scores - what staff would see first."""
    kb = knowledge()
    parts = []
    role = tracker.get_slot("role")
    if role in ("patient", "carer", "professional"):
        parts.append({"patient": "you have cancer", "carer": "you look after someone with cancer",
                      "professional": "you're a professional"}[role])
    matters = tracker.get_slot("what_matters")
    if matters and matters != "skipped":
        parts.append(f'what matters most: "{matters[:120]}"')
    scores = []
    for domain_ in kb.assessment["domains"]:
        value = tracker.get_slot(domain_["slot"])
        if isinstance(value, int) and value > 0:
            scores.append((value, domain_["label"]))
    if scores:
        scores.sort(reverse=True)
        parts.append("your check-in scores (" + ", ".join(f"{label} {v}/10" for v, label in scores[:3]) + ")")
    return "; ".join(parts) if parts else kb.say("handoff_preview_empty")


def _consent(phone_too: bool, sender_id: str) -> handoff.Consent:
    """What the person agreed to, in the words staff see beside the summary; also kept with every other
    consent they gave (signposting/consent.py), so "forget my plan" and "what did I agree to" see it."""
    scope = "share the summary and this conversation with the helpline team"
    if phone_too:
        scope += ", and keep my phone number until they have called back"
    from signposting import consent

    consent.give(sender_id, consent.HANDOFF, consent.HELPLINE_STAFF, scope, now=now())
    return handoff.Consent(share_summary=True, store_phone=phone_too, scope=scope,
                           recipient="helpline staff", given_at=now())


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_handoff_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        """Consent; if the team is closed, whether to call back; if so, when, how and the number."""
        if tracker.get_slot("handoff_consent") != YES:
            return ["handoff_consent"]
        if helpline_open(tracker).open_now:
            return ["handoff_consent"]
        if tracker.get_slot("callback_wanted") != YES:
            return ["handoff_consent", "callback_wanted"]
        return ["handoff_consent", "callback_wanted", "callback_time", "callback_channel", "callback_phone"]

    def _again(self, dispatcher: CollectingDispatcher, slot: str, key: str = "handoff_not_understood") -> Dict:
        dispatcher.utter_message(text=knowledge().say(key))
        return {slot: None}

    def validate_handoff_consent(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        answer = _yes_no(tracker, slot_value)
        return {"handoff_consent": answer} if answer else self._again(dispatcher, "handoff_consent")

    def validate_callback_wanted(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        answer = _yes_no(tracker, slot_value)
        return {"callback_wanted": answer} if answer else self._again(dispatcher, "callback_wanted")

    def validate_callback_time(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        answer = _choice_of(tracker, slot_value, TIMES, {
            "morning": "morning", "am": "morning", "early": "morning", "afternoon": "afternoon", "pm": "afternoon",
            "lunch": "afternoon", "later": "afternoon", "any": "any_time", "anytime": "any_time",
            "whenever": "any_time", "don'?t mind": "any_time", "either": "any_time"})
        return {"callback_time": answer} if answer else self._again(dispatcher, "callback_time")

    def validate_callback_channel(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        answer = _choice_of(tracker, slot_value, HOWS, {
            "call": "call", "phone": "call", "ring": "call", "ringing": "call", "speak": "call",
            "text": "text", "sms": "text", "message": "text", "whatsapp": "text"})
        return {"callback_channel": answer} if answer else self._again(dispatcher, "callback_channel")

    async def extract_callback_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Dict[Text, Any]:
        """The number goes straight to the handoff store (with consent); the slot only says 'saved'."""
        if tracker.get_slot("requested_slot") != "callback_phone" or tracker.get_slot("callback_phone"):
            return {}
        text = tracker.latest_message.get("text") or ""
        if is_payload(text):
            return {}
        number = phone.parse_uk_phone(text)
        if number is None:
            dispatcher.utter_message(text=knowledge().say("callback_phone_again"))
            return {}
        try:
            stored, text_ = _stored(conversation_summary(tracker))
            handoff.request_callback(
                tracker.sender_id, tracker.get_latest_input_channel() or "unknown", stored, text_, phone=number,
                preferred_time=str(tracker.get_slot("callback_time")),
                preferred_channel=str(tracker.get_slot("callback_channel")), consent=_consent(True, tracker.sender_id),
                now=now(), knowledge=knowledge())
        except Exception:  # the store is down: say so, with the number to call, and end the form
            logger.exception("Could not store a callback request for %s", tracker.sender_id)
            return {"callback_phone": "failed"}
        return {"callback_phone": "saved:" + phone.masked(number)}


class _Ask(Action):
    """Asks one question of the handoff form, with its buttons."""

    slot = ""
    key = ""
    options: tuple[tuple[str, str], ...] = ()

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def text(self, tracker: Tracker) -> str:
        return knowledge().say(self.key)

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        buttons = [render.Button(kb.say(title), render.intent_payload("inform", choice=value))
                   for value, title in self.options]
        send(dispatcher, [render.Message(self.text(tracker), buttons)])
        return []


class ActionAskHandoffConsent(_Ask):
    slot, key, options = "handoff_consent", "handoff_consent", ((YES, "handoff_yes"), (NO, "handoff_no"))

    def text(self, tracker: Tracker) -> str:
        return knowledge().say(self.key, preview=preview(tracker))


class ActionAskCallbackWanted(_Ask):
    slot, key, options = "callback_wanted", "handoff_closed", ((YES, "callback_yes"), (NO, "callback_no"))

    def text(self, tracker: Tracker) -> str:
        return knowledge().say(self.key, next_open=helpline_open(tracker).next_open_text(now()))


class ActionAskCallbackTime(_Ask):
    slot, key = "callback_time", "callback_time"
    options = (("morning", "callback_morning"), ("afternoon", "callback_afternoon"), ("any_time", "callback_any_time"))


class ActionAskCallbackChannel(_Ask):
    slot, key, options = "callback_channel", "callback_how", (("call", "callback_call"), ("text", "callback_text"))


class ActionAskCallbackPhone(_Ask):
    slot, key = "callback_phone", "callback_phone"


HANDOFF_SLOTS = ("handoff_consent", "callback_wanted", "callback_time", "callback_channel", "callback_phone")


class ActionHandoffDone(Action):
    """After the form: join the queue, confirm the callback, or give the number to call."""

    def name(self) -> Text:
        return "action_handoff_done"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        status = self._act(dispatcher, tracker)
        if tracker.get_slot("assessment_done") is None and any(tracker.get_slot(s) is not None for s in SCORE_SLOTS):
            dispatcher.utter_message(text=kb.say("handoff_after_checkin"))
        return [SlotSet(slot, None) for slot in HANDOFF_SLOTS] + [SlotSet("handoff_status", status)]

    def _act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> str:
        kb = knowledge()
        if tracker.get_slot("handoff_consent") != YES:
            dispatcher.utter_message(text=kb.say("handoff_not_shared"))
            return "not_shared"
        state = helpline_open(tracker)
        next_open = state.next_open_text(now())
        saved = str(tracker.get_slot("callback_phone") or "")
        if tracker.get_slot("callback_wanted") == YES and saved.startswith("saved:"):
            call_from = handoff.expected_call(str(tracker.get_slot("callback_time")), now(), knowledge(),
                                              nation(tracker))
            dispatcher.utter_message(text=kb.say(
                "callback_done", how="call" if tracker.get_slot("callback_channel") == "call" else "text",
                ending=saved.split("saved:", 1)[1], when=hours.when(call_from, now())))
            return "callback"
        if tracker.get_slot("callback_wanted") == NO:
            dispatcher.utter_message(text=kb.say("callback_declined", next_open=next_open))
            return "declined"
        if not state.open_now or saved == "failed":
            dispatcher.utter_message(text=kb.say("handoff_unavailable"))
            return "failed"
        try:
            stored, text_ = _stored(conversation_summary(tracker))
            handoff.request_handoff(tracker.sender_id, tracker.get_latest_input_channel() or "unknown",
                                    stored, text_, consent=_consent(False, tracker.sender_id))
        except Exception:
            logger.exception("Could not queue a handoff for %s", tracker.sender_id)
            dispatcher.utter_message(text=kb.say("handoff_unavailable"))
            return "failed"
        dispatcher.utter_message(text=kb.say("handoff_queued", closes=state.closes_text()))
        return "queued"


class ActionConfirmDelete(Action):
    """'Delete my data': say what will go, and ask first (a slip of the thumb should not lose a callback)."""

    def name(self) -> Text:
        return "action_confirm_delete"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        send(dispatcher, [render.Message(kb.say("delete_confirm"), [
            render.Button(kb.say("delete_yes"), "/affirm"), render.Button(kb.say("delete_no"), "/deny")])])
        return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionDeleteMyData(Action):
    """Deletes the conversation everywhere: handoff queue, summaries, callbacks, channel state; the tracker
    store (bot/tracker_store.py) drops the stored conversation itself when it sees this action run."""

    def name(self) -> Text:
        return "action_delete_my_data"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from signposting import privacy

        try:
            privacy.delete_everywhere(tracker.sender_id)
        except Exception:
            logger.exception("Deleting data everywhere failed for %s", tracker.sender_id)
            dispatcher.utter_message(text=knowledge().say("something_went_wrong"))
            return [ActiveLoop(None), AllSlotsReset()]
        dispatcher.utter_message(text=knowledge().say("delete_done"))
        return [ActiveLoop(None), AllSlotsReset()]
