"""The plan to keep (issue 9): shown after the check-in, kept only with consent (a short code lets a
person come back another way), compared with last time, a check-in message later, social care.

Thin: the plan is built by signposting/plan.py, kept by signposting/records.py, consents are
signposting/consent.py, check-ins later signposting/followup.py. Every word is in knowledge/.
"""
from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import SCORE_SLOTS, knowledge, nation, send
from signposting import consent, followup, hours, journey, plan, privacy, records, render, social_care
from signposting.knowledge import NATIONS, Knowledge

logger = logging.getLogger(__name__)

PLAN_SLOTS = SCORE_SLOTS + ("what_matters", "role", "nation", "journey_stage", "work_status", "concern_areas",
                            "area_scores", "top_concerns", "what_helps", "followup_weeks", "distress")
# conversation ids that say which channel a later message can reach (channels/identity.py)
REACHABLE = {"web": "web chat", "sms": "text message", "wa": "WhatsApp", "tg": "Telegram"}
# a check-in later reaches a phone or an app; a web chat page is usually closed by then
FOLLOWUP_CHANNELS = ("sms", "wa", "tg")
SHORT_TEXT_CHANNELS = ("sms", "wa", "tg")
_CODE = re.compile(r"\b([A-Za-z0-9]{4})[\s\-_.]?([A-Za-z0-9]{4})\b")
_WEEKS = re.compile(r"\b(1|2|4|one|two|four|a)\s*weeks?\b|\b(fortnight|month)\b", re.IGNORECASE)
_WEEK_WORDS = {"1": 1, "one": 1, "a": 1, "2": 2, "two": 2, "4": 4, "four": 4, "fortnight": 2, "month": 4}


def today() -> date:
    """Today in the UK (SIGNPOST_NOW fixes the clock in tests, as for handoffs)."""
    from signposting import handoff

    return handoff.now_utc().astimezone(hours.UK).date()


def channel_kind(sender_id: str) -> Optional[str]:
    prefix = (sender_id or "").split("-", 1)[0]
    return prefix if prefix in REACHABLE else None


def current_plan(tracker: Tracker, kb: Knowledge) -> plan.Plan:
    return plan.build_plan({slot: tracker.get_slot(slot) for slot in PLAN_SLOTS}, today(), kb)


def scores_now(tracker: Tracker, kb: Knowledge) -> tuple[dict, dict]:
    """({domain or area id: 0-10 or 'skipped'}, {id: name}) of the check-in just finished."""
    from actions import needs

    scores: dict[str, Any] = {}
    names: dict[str, str] = {}
    for domain in needs.score_domains(tracker):
        if tracker.get_slot(domain["slot"]) is not None:
            scores[domain["id"]] = tracker.get_slot(domain["slot"])
            names[domain["id"]] = domain["label"]
    labels = {a.id: a.label for a in needs.extra_areas(tracker)}
    for area, value in (tracker.get_slot("area_scores") or {}).items():
        scores[area] = value
        names[area] = labels.get(area, area)
    return scores, names


def checkin_record(tracker: Tracker, kb: Knowledge, the_plan: plan.Plan) -> dict:
    """What the conversation remembers of a finished check-in, to compare the next one with."""
    scores, names = scores_now(tracker, kb)
    return {"date": the_plan.created.isoformat(), "scores": scores, "names": names}


def plan_to_keep(tracker: Tracker, kb: Knowledge, the_plan: plan.Plan) -> dict:
    """The plan as kept (with consent): plan.to_dict plus every score, zeros included, by id."""
    kept = plan.to_dict(the_plan)
    kept["scores"], kept["names"] = scores_now(tracker, kb)
    return kept


def _date_text(iso: str) -> str:
    try:
        return plan.when(date.fromisoformat(str(iso)[:10]))
    except ValueError:
        return str(iso)


def comparison_message(previous: Optional[Mapping[str, Any]], current: Mapping[str, Any],
                       kb: Knowledge) -> Optional[render.Message]:
    """'Since your last check-in on 9 November: Money went from 8 to 4...', or None with nothing to compare."""
    if not previous or not previous.get("scores"):
        return None
    names = {**records.domain_names(kb), **(previous.get("names") or {}), **(current.get("names") or {})}
    result = records.compare(previous["scores"], current["scores"], names)
    lines = records.describe(result, kb)
    if result.mean_before is not None and result.mean_after is not None:   # severity, beside the count
        lines.insert(1, kb.say("compare_average", before=_one_place(result.mean_before),
                               after=_one_place(result.mean_after)))
    return render.Message("\n".join([kb.say("compare_intro", date=_date_text(previous.get("date", ""))), *lines]))


def _one_place(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _kept_plan(sender_id: str) -> Optional[records.StoredPlan]:
    try:
        if consent.active(sender_id, consent.KEEP_PLAN) is None:
            return None
        return records.latest_plan(sender_id)
    except Exception:  # the store being down must not stop the conversation
        logger.exception("could not read a kept plan")
        return None


def previous_from_store(stored: records.StoredPlan) -> dict:
    return {"date": stored.saved_at.astimezone(hours.UK).date().isoformat(), "scores": stored.scores,
            "names": {**stored.names, **(stored.plan.get("names") or {})}}


def _item_lines(the_plan: plan.Plan, kb: Knowledge, items: tuple[plan.PlanItem, ...], start: int) -> list[str]:
    lines = []
    for position, item in enumerate(items, start=start):
        lines.append(plan.item_heading(kb, position, item, the_plan.young))
        lines.append(plan.say(kb, "plan_next_step", the_plan.young, step=item.next_step))
        contact = plan.contact_line(item)
        if contact:
            lines.append(plan.say(kb, "plan_contact", the_plan.young, contact=contact))
    return lines


def plan_messages(the_plan: plan.Plan, kb: Knowledge, domain_ids: set[str], sender_id: str) -> list[render.Message]:
    """The parts of the plan the check-in summary does not already say: the extra areas' next steps
    (all of them for young carers, whose summary is the plan), what helps, the stage, the review date."""
    y = the_plan.young
    messages: list[render.Message] = []
    extra = tuple(i for i in the_plan.items if y or i.area_id not in domain_ids)
    extra = tuple(i for i in extra if i.score is None or i.score > 0)
    if extra:
        heading = plan.say(kb, "plan_concerns_young" if y else "plan_concerns_other", y)
        messages.append(render.Message("\n".join([heading, *_item_lines(the_plan, kb, extra, 1)])))
    if y:
        help_ = journey.young_carer_help(the_plan.nation if the_plan.nation in NATIONS else None, kb)
        messages.append(render.Message(f"{help_.text}\n{help_.help_now}"))
    parts = []
    if the_plan.what_helps:
        parts.append(f"{plan.say(kb, 'plan_what_helps', y)}: \u201c{the_plan.what_helps}\u201d. "
                     f"{plan.say(kb, 'plan_what_helps_note', y)}")
    if the_plan.stage_label and (the_plan.stage_signposts or the_plan.questions_for_team):
        lines = [plan.say(kb, "plan_stage", y, label=the_plan.stage_label)]
        if the_plan.stage_signposts:
            lines.append(plan.say(kb, "plan_stage_services", y))
            lines += [f"- {c.line()}" for c in the_plan.stage_signposts[:3]]
        if the_plan.questions_for_team:
            lines.append(plan.say(kb, "plan_questions", y))
            lines += [f"- {q}" for q in the_plan.questions_for_team]
        parts.append("\n".join(lines))
    parts.append(plan.say(kb, "plan_review", y, date=plan.when(the_plan.review_on)))
    messages.append(render.Message("\n\n".join(parts)))
    kind = channel_kind(sender_id)
    if kind in SHORT_TEXT_CHANNELS:
        messages.append(render.Message(kb.say("plan_ready") + "\n" + plan.as_short_text(the_plan, kb)))
    return messages


def offer_buttons(kb: Knowledge, sender_id: str, kept: bool) -> list[render.Button]:
    buttons = []
    if not kept:
        buttons.append(render.Button(kb.say("plan_keep_button"), "/keep_plan"))
    if channel_kind(sender_id) in FOLLOWUP_CHANNELS:
        buttons.append(render.Button(kb.say("plan_followup_button"), "/followup_offer"))
    return buttons


def keep_updated(tracker: Tracker, kb: Knowledge, the_plan: plan.Plan) -> bool:
    """With a keep_plan consent already given, the new plan is kept too; True if it was."""
    sender_id = tracker.sender_id
    try:
        if consent.active(sender_id, consent.KEEP_PLAN) is None:
            return False
        records.save_plan(sender_id, plan_to_keep(tracker, kb, the_plan))
        return True
    except Exception:
        logger.exception("could not update a kept plan")
        return False


# --------------------------------------------------------------------------- keeping the plan
class ActionKeepPlan(Action):
    """'Keep my plan for next time': a keep_plan consent (the words shown), the plan kept, a code."""

    def name(self) -> Text:
        return "action_keep_plan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        if not tracker.get_slot("assessment_done"):
            send(dispatcher, [render.Message(kb.say("keep_plan_nothing"),
                                             [render.Button(kb.say("checkin_yes"), "/start_assessment")])])
            return []
        days = privacy.retention_days()
        consent.give(tracker.sender_id, consent.KEEP_PLAN, consent.SIGNPOST, kb.say("plan_offer", days=days))
        code = records.save_plan(tracker.sender_id, plan_to_keep(tracker, kb, current_plan(tracker, kb)))
        dispatcher.utter_message(text=kb.say("keep_plan_done", days=days, code=code))
        return []


class ActionForgetPlan(Action):
    """'Forget my plan': the keep_plan and follow-up consents withdrawn; the plan and check-ins go."""

    def name(self) -> Text:
        return "action_forget_plan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from signposting import handoff

        kb = knowledge()
        waiting = handoff.open_request(tracker.sender_id) is not None
        # every consent they gave is withdrawn, and honoured everywhere by the withdrawal's hooks
        # (signposting/consent.py): kept plans deleted, check-ins cancelled, the helpline's copy removed
        withdrawn = consent.withdraw(tracker.sender_id)
        text = kb.say("forget_plan_done" if withdrawn else "forget_plan_nothing")
        if waiting and handoff.open_request(tracker.sender_id) is None:
            text += " " + kb.say("forget_plan_handoff_too")
        dispatcher.utter_message(text=text)
        return [SlotSet("previous_checkin", None), SlotSet("followup_weeks", None)]


def find_code(text: str) -> Optional[str]:
    for match in _CODE.finditer(text or ""):
        code = records.normalise_code(match.group(1) + match.group(2))
        if code:
            return code
    return None


class ActionGiveCode(Action):
    """'My code is KX7F-94QA': find the kept plan, link this conversation to it, compare next time."""

    def name(self) -> Text:
        return "action_give_code"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        code = find_code(tracker.latest_message.get("text") or "")
        if code is None:
            dispatcher.utter_message(text=kb.say("give_code_ask"))
            return []
        stored = records.plan_by_code(code)
        if stored is None:
            dispatcher.utter_message(text=kb.say("give_code_not_found", days=privacy.retention_days()))
            return []
        # giving the code is asking to carry on with the kept plan here: that is this conversation's consent
        consent.give(tracker.sender_id, consent.KEEP_PLAN, consent.SIGNPOST, kb.say("give_code_ask"))
        records.link_code(code, tracker.sender_id)
        previous = previous_from_store(stored)
        buttons = [] if tracker.active_loop.get("name") else [   # in a form, its next question follows
            render.Button(kb.say("returning_yes"), "/start_assessment"), render.Button(kb.say("returning_no"), "/deny")]
        send(dispatcher, [render.Message(kb.say("give_code_found", date=_date_text(previous["date"])), buttons)])
        events: List[EventType] = [SlotSet("previous_checkin", previous)]
        if not tracker.get_slot("role") and stored.plan.get("role"):
            events.append(SlotSet("role", stored.plan["role"]))
        return events


def welcome_back(tracker: Tracker, kb: Knowledge) -> tuple[Optional[render.Message], List[EventType]]:
    """For a person whose plan is kept (with consent): what it started with, ready to compare."""
    stored = _kept_plan(tracker.sender_id)
    if stored is None:
        return None, []
    previous = previous_from_store(stored)
    items = [i for i in stored.plan.get("items", []) if i.get("is_top")] or list(stored.plan.get("items", []))
    names = ", ".join(str(i.get("area_name")) for i in items[:3]) or "-"
    message = render.Message(kb.say("returning_welcome", date=_date_text(previous["date"]), list=names))
    events: List[EventType] = [SlotSet("previous_checkin", previous)]
    if not tracker.get_slot("role") and stored.plan.get("role"):
        events.append(SlotSet("role", stored.plan["role"]))
    return message, events


# --------------------------------------------------------------------------- a check-in later
def weeks_from(tracker: Tracker) -> Optional[int]:
    for item in tracker.latest_message.get("entities") or []:
        if item.get("entity") == "followup_weeks":
            try:
                value = int(float(item.get("value")))
            except (TypeError, ValueError):
                continue
            if value in followup.WEEKS:
                return value
    match = _WEEKS.search(tracker.latest_message.get("text") or "")
    if match:
        return _WEEK_WORDS.get((match.group(1) or match.group(2) or "").lower())
    return None


def _followup_offer(kb: Knowledge, sender_id: str) -> render.Message:
    where = REACHABLE[channel_kind(sender_id) or "web"]
    buttons = [render.Button(kb.say(f"followup_{n}"), render.intent_payload("followup", followup_weeks=n))
               for n in followup.WEEKS]
    buttons.append(render.Button(kb.say("plan_no_thanks_button"), "/deny"))
    return render.Message(kb.say("followup_ask", channel=where), buttons)


class ActionFollowupOffer(Action):
    def name(self) -> Text:
        return "action_followup_offer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        if channel_kind(tracker.sender_id) not in FOLLOWUP_CHANNELS:
            dispatcher.utter_message(text=kb.say("followup_not_here"))
            return []
        send(dispatcher, [_followup_offer(kb, tracker.sender_id)])
        return []


class ActionFollowup(Action):
    """'In 2 weeks': the follow-up consent (the words shown with the offer), then the booking."""

    def name(self) -> Text:
        return "action_followup"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        kind = channel_kind(tracker.sender_id)
        if kind not in FOLLOWUP_CHANNELS:
            dispatcher.utter_message(text=kb.say("followup_not_here"))
            return []
        weeks = weeks_from(tracker)
        if weeks is None:
            send(dispatcher, [_followup_offer(kb, tracker.sender_id)])
            return []
        consent.give(tracker.sender_id, consent.FOLLOWUP, consent.SIGNPOST,
                     kb.say("followup_ask", channel=REACHABLE[kind]))
        booked = followup.schedule(tracker.sender_id, kind, weeks)
        dispatcher.utter_message(text=kb.say("followup_done", date=booked.due_text()))
        return [SlotSet("followup_weeks", weeks)]


def cancel_followups(sender_id: str) -> int:
    """Cancel any check-in booked for this person and withdraw that consent (stop, stop check-ins)."""
    try:
        cancelled = followup.cancel(sender_id, "stopped")
        consent.withdraw(sender_id, consent.FOLLOWUP)
        return cancelled
    except Exception:
        logger.exception("could not cancel follow-ups")
        raise


class ActionStopFollowups(Action):
    def name(self) -> Text:
        return "action_stop_followups"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        cancelled = cancel_followups(tracker.sender_id)
        dispatcher.utter_message(text=knowledge().say("followup_stopped" if cancelled else "followup_none"))
        return [SlotSet("followup_weeks", None)]


# --------------------------------------------------------------------------- social care
def social_care_messages(kb: Knowledge, topic: str, where: Optional[str], intro: bool = True) -> list[render.Message]:
    """One social care topic for a nation (or the general answer, asking the nation), with the
    community options, the services that go with it, and the other topics as buttons."""
    answer = social_care.social_care_answer(topic, where if where in NATIONS else None, kb)
    messages = [render.Message(kb.say("social_care_intro"))] if topic == "needs_assessment" and intro else []
    messages.append(render.Message(f"{answer.title}\n{answer.full_text}"))
    services = [_service_text(s) for s in answer.services[:3]]
    if services:
        messages.append(render.Message("\n".join(services)))
    if where not in NATIONS:   # the general answer ends by asking the nation: give it the nation buttons
        messages.append(render.Message(kb.say("social_care_ask_nation"), render.nation_buttons()))
        if "nation" in answer.text.lower():
            messages[-1] = render.Message(messages[-2].text, render.nation_buttons())
            del messages[-2]
        return messages
    others = [t for t in social_care.topic_ids(kb) if t != topic][:4]
    titles = {t["id"]: t["title"] for t in kb.social_care.get("topics", [])}
    buttons = [render.Button(titles[t], render.intent_payload("ask_social_care", choice=t)) for t in others]
    messages.append(render.Message(kb.say("social_care_more", list=", ".join(titles[t].lower() for t in others)),
                                   buttons))
    return messages


class ActionSocialCare(Action):
    """Social care explained for the person's nation, always with the community options."""

    def name(self) -> Text:
        return "action_social_care"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        from actions.common import entity

        kb = knowledge()
        chosen = entity(tracker, "choice")
        topic = chosen if chosen in social_care.topic_ids(kb) else \
            social_care.find_topic(tracker.latest_message.get("text") or "", kb) or "needs_assessment"
        where = nation(tracker)
        from actions.answers import ended_scheme_notes

        # "FACS bands", "Supporting People", "Carers Direct": say what replaced them first
        send(dispatcher, ended_scheme_notes(tracker.latest_message.get("text") or "", kb))
        send(dispatcher, social_care_messages(kb, topic, where))
        if where not in NATIONS:
            return [SlotSet("pending_topic", "ask_social_care"), SlotSet("pending_social_care", topic)]
        return [SlotSet("pending_social_care", None)]


def _service_text(service: Mapping[str, Any]) -> str:
    contact = " or ".join(str(x) for x in (service.get("phone"), service.get("url")) if x)
    return f"{service['name']}: {contact}" if contact else str(service["name"])
