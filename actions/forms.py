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
    set_before_this_message,
)
from actions import keeping, needs
from signposting import assessment, journey, places, privacy, render
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
        if role in needs.PROFILE_ROLES:
            return self._role_chosen(role, dispatcher, tracker)
        role = None if is_payload(slot_value) else assessment.parse_role(str(slot_value or ""))
        if role:
            return self._role_chosen(role, dispatcher, tracker)
        if not _answer_question_mid_form(dispatcher, tracker):
            dispatcher.utter_message(text=knowledge().say("role_help"))
        return {"role": None}

    def _role_chosen(self, role: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        if role == needs.YOUNG_CARER and not set_before_this_message(tracker, "role", role):
            # their own path: say straight away that they matter and who helps
            dispatcher.utter_message(text=journey.young_carer_message("intro", knowledge()))
            dispatcher.utter_message(text=journey.young_carer_message("help_now", knowledge()))
        return {"role": role}

    def validate_what_matters(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = "" if is_payload(slot_value) else str(slot_value or "").strip()
        intent, _ = latest_intent(tracker)
        if not text or intent == "skip_question":
            return {"what_matters": assessment.SKIPPED}
        # Kept as they wrote it: the summary quotes it back, and the check-in covers the topic.
        result: Dict[Text, Any] = {"what_matters": text[:WHAT_MATTERS_MAX]}
        if not tracker.get_slot("journey_stage") and not set_before_this_message(tracker, "what_matters", text):
            # "I finished chemo last month": the stage is known, so the check-in need not ask it
            role = needs.journey_role(tracker.get_slot("role"))
            stage = journey.find_stage(text, knowledge())
            if stage in [s for s, _ in journey.stages(role, knowledge())]:
                dispatcher.utter_message(text=journey.prompts_for(stage, role, nation(tracker), knowledge()).text)
                result["journey_stage"] = stage
        return result


class ValidateOnboardingForm(_OpeningQuestions, FormValidationAction):
    def name(self) -> Text:
        return "validate_onboarding_form"


class ValidateAssessmentForm(_OpeningQuestions, needs.NeedsQuestions, FormValidationAction):
    def name(self) -> Text:
        return "validate_assessment_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        """Role and what matters, the journey stage and work, one question per domain (the carer's own
        only for carers, work only for people in work), then the extra areas, the top 1-3 and what helps."""
        if not tracker.get_slot("role"):
            return ["role"]
        return (["role", "what_matters"] + needs.profile_slots(tracker)
                + [d["slot"] for d in needs.score_domains(tracker)] + needs.needs_slots(tracker))

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
        domains = needs.score_domains(tracker)
        current = next(d for d in domains if d["slot"] == self.slot)
        buttons = needs.score_buttons(kb)
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
                   for role in needs.PROFILE_ROLES]
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
    """Before a (new) check-in: remember the last one to compare with, clear its answers, say how it works."""

    def name(self) -> Text:
        return "action_prepare_assessment"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events: List[EventType] = []
        if tracker.get_slot("assessment_done"):
            events = [SlotSet(slot, None) for slot in SCORE_SLOTS + NEEDS_SLOTS]
            events += [SlotSet("distress", None), SlotSet("assessment_done", None)]
            if tracker.get_slot("last_checkin"):
                events.append(SlotSet("previous_checkin", tracker.get_slot("last_checkin")))
        dispatcher.utter_message(text=knowledge().say("checkin_start"))
        return events


# the full check-in's answers, cleared before a new check-in (the journey stage and work may have changed)
NEEDS_SLOTS = ("journey_stage", "nation_skipped", "work_status", "pick_area", "concern_areas", "area_score", "area_scores",
               "pick_top", "top_concerns", "what_helps")


class ActionAssessmentSummary(Action):
    """Ranks the concerns, gives next steps and the plan to keep, compares with last time, and offers
    the top concern, keeping the plan, a check-in later and a person."""

    def name(self) -> Text:
        return "action_assessment_summary"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb, role = knowledge(), tracker.get_slot("role")
        what_matters = tracker.get_slot("what_matters")
        summary = assessment.summarise(
            {slot: tracker.get_slot(slot) for slot in SCORE_SLOTS},
            kb.assessment,
            role=role,
            what_matters=None if what_matters == assessment.SKIPPED else what_matters,
            distress=bool(tracker.get_slot("distress")),
        )
        the_plan = keeping.current_plan(tracker, kb)
        record = keeping.checkin_record(tracker, kb, the_plan)
        messages = render.summary_messages(summary, kb, nation=nation(tracker))
        question = messages.pop()
        domain_ids = {d["id"] for d in kb.assessment["domains"]}
        top = summary.top.domain if summary.top is not None else None
        if the_plan.top and the_plan.top[0].area_id in domain_ids:   # their own first choice leads
            top = next(d for d in kb.assessment["domains"] if d["id"] == the_plan.top[0].area_id)
        if top is not None:
            label = top["label"].lower()
            rest = question.buttons[1:] if summary.top is not None else question.buttons
            question = render.Message(kb.say("summary_top_question", label=label), [render.Button(
                kb.say("summary_top_button", label=label), render.intent_payload(top["topic_intent"])), *rest])
        if role == needs.YOUNG_CARER:   # a young carer's summary is their plan, in their words
            messages = messages[:1]
        compared = keeping.comparison_message(tracker.get_slot("previous_checkin"), record, kb)
        if compared is not None:
            messages.insert(1, compared)
        messages += keeping.plan_messages(the_plan, kb, domain_ids, tracker.sender_id)
        kept = keeping.keep_updated(tracker, kb, the_plan)
        can_follow_up = keeping.channel_kind(tracker.sender_id) in keeping.FOLLOWUP_CHANNELS
        if keeping.channel_kind(tracker.sender_id) == "web":
            messages.append(render.Message(kb.say("plan_ready_web")))
        messages.append(render.Message(kb.say("keep_plan_updated") if kept else kb.say(
            "plan_offer" if can_follow_up else "plan_offer_keep", days=privacy.retention_days())))
        send(dispatcher, messages)
        buttons = question.buttons[:1] + keeping.offer_buttons(kb, tracker.sender_id, kept) + question.buttons[1:]
        # web chat shows its "Download my plan" links when it sees plan_ready
        custom = {"plan_ready": True} if keeping.channel_kind(tracker.sender_id) == "web" else None
        dispatcher.utter_message(text=question.text, buttons=[b.as_dict() for b in buttons], json_message=custom)
        return [SlotSet("assessment_done", True), SlotSet("offered_topic", top["topic_intent"] if top else None),
                SlotSet("last_checkin", record)]
