"""The opening questions and the self-assessment form: asking, validating, summarising."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    QUESTION_CONFIDENCE,
    SCORE_SLOTS,
    TOPIC_INTENTS,
    entity,
    is_payload,
    knowledge,
    latest_intent,
    nation,
    send,
)
from signposting import assessment, places, render
from signposting.knowledge import NATION_NAMES

WHAT_MATTERS_MAX = 500  # characters kept, in the person's own words


def _answer_question_mid_form(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """If the message was really a question, answer it, then the form asks its question again."""
    intent, confidence = latest_intent(tracker)
    if intent in TOPIC_INTENTS and intent != "out_of_scope" and confidence >= QUESTION_CONFIDENCE:
        send(dispatcher, render.topic_answer(knowledge(), intent, nation(tracker), ask_nation=False))
        dispatcher.utter_message(text=knowledge().say("back_to_form"))
        return True
    return False


class _OpeningQuestions:
    """Validation of role and what_matters, shared by both forms."""

    def validate_role(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        role = entity(tracker, "role")
        if role in assessment.ROLES:
            return {"role": role}
        role = None if is_payload(slot_value) else assessment.parse_role(str(slot_value or ""))
        if role:
            return {"role": role}
        if not _answer_question_mid_form(dispatcher, tracker):
            dispatcher.utter_message(text=knowledge().say("role_help"))
        return {"role": None}

    def validate_what_matters(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = "" if is_payload(slot_value) else str(slot_value or "").strip()
        intent, _ = latest_intent(tracker)
        if not text or intent == "skip_question":
            return {"what_matters": assessment.SKIPPED}
        # Kept as they wrote it: the summary quotes it back, and the check-in covers the topic.
        return {"what_matters": text[:WHAT_MATTERS_MAX]}


class ValidateOnboardingForm(_OpeningQuestions, FormValidationAction):
    def name(self) -> Text:
        return "validate_onboarding_form"


class ValidateAssessmentForm(_OpeningQuestions, FormValidationAction):
    def name(self) -> Text:
        return "validate_assessment_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        """Role and what matters, then one question per domain (the carer's own only for carers)."""
        role = tracker.get_slot("role")
        return ["role", "what_matters"] + [d["slot"] for d in knowledge().domains(role)]

    def _validate_score(
        self, slot: str, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        settings = knowledge().assessment
        if entity(tracker, "score") is None and latest_intent(tracker)[0] == "skip_question":
            return {slot: assessment.SKIPPED}  # the Skip button's payload has no words to parse
        picked = entity(tracker, "score")
        text = str(picked) if picked is not None else ("" if is_payload(slot_value) else str(slot_value or ""))
        answer = assessment.parse_score(text, settings)
        if answer.understood:
            result: Dict[Text, Any] = {slot: answer.value}
            if answer.distress:
                result["distress"] = True
            return result
        where = places.normalise_nation(entity(tracker, "nation"))
        if where is not None and not is_payload(slot_value):
            # "I'm in Wales" in the middle of the check-in: note it, then ask the question again
            kb = knowledge()
            dispatcher.utter_message(text=kb.say("nation_thanks", nation=NATION_NAMES[where]))
            return {slot: None, "nation": where}
        if answer.out_of_range:
            dispatcher.utter_message(text=knowledge().say("score_range"))
        elif not _answer_question_mid_form(dispatcher, tracker):
            dispatcher.utter_message(text=knowledge().say("score_help"))
        return {slot: None}

    def validate_score_emotional(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        return self._validate_score("score_emotional", slot_value, dispatcher, tracker)

    def validate_score_practical(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        return self._validate_score("score_practical", slot_value, dispatcher, tracker)

    def validate_score_financial(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        return self._validate_score("score_financial", slot_value, dispatcher, tracker)

    def validate_score_work(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        return self._validate_score("score_work", slot_value, dispatcher, tracker)

    def validate_score_carer_wellbeing(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> Dict[Text, Any]:
        return self._validate_score("score_carer_wellbeing", slot_value, dispatcher, tracker)


class _AskScore(Action):
    """Asks one domain's 0-10 question, in the wording from knowledge/assessment.yml."""

    slot = ""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb, role = knowledge(), tracker.get_slot("role")
        domains = kb.domains(role)
        current = next(d for d in domains if d["slot"] == self.slot)
        buttons = [render.Button(str(n), render.intent_payload("inform", score=str(n))) for n in range(0, 11)]
        buttons.append(render.Button(kb.say("score_skip"), "/skip_question"))
        text = kb.say("score_question", position=domains.index(current) + 1, total=len(domains),
                      words=render.fill(assessment.question(current, role), kb))
        send(dispatcher, [render.Message(text, buttons)])
        return []


class ActionAskRole(Action):
    def name(self) -> Text:
        return "action_ask_role"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        buttons = [render.Button(kb.say(f"role_{role}"), render.intent_payload("inform", role=role))
                   for role in assessment.ROLES]
        send(dispatcher, [render.Message(kb.say("ask_role"), buttons)])
        return []


class ActionAskWhatMatters(Action):
    def name(self) -> Text:
        return "action_ask_what_matters"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(text=knowledge().say("ask_what_matters"))
        return []


class AskScoreEmotional(_AskScore):
    slot = "score_emotional"


class AskScorePractical(_AskScore):
    slot = "score_practical"


class AskScoreFinancial(_AskScore):
    slot = "score_financial"


class AskScoreWork(_AskScore):
    slot = "score_work"


class AskScoreCarerWellbeing(_AskScore):
    slot = "score_carer_wellbeing"


class ActionOnboardingDone(Action):
    """After the opening questions: offer the short check-in."""

    def name(self) -> Text:
        return "action_onboarding_done"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb, role = knowledge(), tracker.get_slot("role")
        key = "checkin_offer_carer" if role == "carer" else "checkin_offer"
        buttons = [
            render.Button(kb.say("checkin_yes"), "/start_assessment"),
            render.Button(kb.say("checkin_not_now"), "/deny"),
        ]
        send(dispatcher, [render.Message(kb.say(key, count=len(kb.domains(role))), buttons)])
        return []


class ActionPrepareAssessment(Action):
    """Before a (new) check-in: clear the last one's scores, and say how it works."""

    def name(self) -> Text:
        return "action_prepare_assessment"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events: List[EventType] = []
        if tracker.get_slot("assessment_done"):
            events = [SlotSet(slot, None) for slot in SCORE_SLOTS]
            events += [SlotSet("distress", None), SlotSet("assessment_done", None)]
        dispatcher.utter_message(text=knowledge().say("checkin_start"))
        return events


class ActionAssessmentSummary(Action):
    """Ranks the concerns, gives next steps, and offers the top concern and a person."""

    def name(self) -> Text:
        return "action_assessment_summary"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        what_matters = tracker.get_slot("what_matters")
        summary = assessment.summarise(
            {slot: tracker.get_slot(slot) for slot in SCORE_SLOTS},
            kb.assessment,
            role=tracker.get_slot("role"),
            what_matters=None if what_matters == assessment.SKIPPED else what_matters,
            distress=bool(tracker.get_slot("distress")),
        )
        send(dispatcher, render.summary_messages(summary, kb, nation=nation(tracker)))
        top = summary.top.domain["topic_intent"] if summary.top is not None else None
        return [SlotSet("assessment_done", True), SlotSet("offered_topic", top)]
