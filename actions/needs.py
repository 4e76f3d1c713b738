"""The full needs check-in's extra questions (issue 9): journey stage, work, the extra concern areas
(pick, rate each), the person's own top 1-3, and what or who helps already.

The questions are asked by assessment_form; `NeedsQuestions` holds their validation and is mixed
into ValidateAssessmentForm (actions/forms.py), which also decides which of them are asked
(`needs_slots`). Every word comes from knowledge/ (journey.yml, concerns.yml, young_carers.yml,
wording.yml); this file only decides the order and reads the answers.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (choice_and_text, entity, is_payload, knowledge, latest_intent, nation, read_nation, send,
                            set_before_this_message)
from signposting import assessment, journey, render
from signposting.knowledge import NATION_NAMES

DONE = "done"                       # a multi-pick question's "that's all" / "done"
YOUNG_CARER = "young_carer"
PROFILE_ROLES = ("patient", "carer", YOUNG_CARER, "professional")   # the role question's buttons, in order
WORK_OPTIONS = ("working", "off_sick", "not_working", "retired", "studying")
NO_WORK_QUESTION = {"not_working", "retired", "studying"}   # the work question of the check-in is not asked
WHAT_HELPS_MAX = 300
# typed answers to the work question (buttons are the usual way); the longest phrase wins
WORK_WORDS: dict[str, tuple[str, ...]] = {
    "off_sick": ("off sick", "sick leave", "signed off", "on leave", "fit note", "sick note", "off work"),
    "not_working": ("not working", "unemployed", "lost my job", "stopped work", "stopped working", "gave up work",
                    "gave up my job", "no job", "out of work", "between jobs", "can't work", "cannot work"),
    "retired": ("retired", "pension", "pensioner"),
    "studying": ("student", "school", "college", "university", "uni", "studying"),
    "working": ("working", "work", "job", "employed", "self-employed", "self employed", "full time", "part time"),
}
_DONE_WORDS = re.compile(r"^\W*(no|nope|none|nothing( else)?|that'?s (all|it)|done|finished|no more|neither|"
                         r"none of (these|them|those)|not really|all done)\W*$", re.IGNORECASE)
_WORD = re.compile(r"[a-z']+")
_DONT_KNOW = re.compile(r"\b(don'?t|do not|not) (know|sure)\b|\brather not\b|\bno idea\b", re.IGNORECASE)


def journey_role(role: Optional[str]) -> str:
    """The role journey.py knows: a professional sees what the person they support would see."""
    return role if role in journey.ROLES else "carer" if role == "carer" else "patient"


def score_domains(tracker: Tracker) -> list[dict]:
    """The check-in's 0-10 questions for this person (work only if they work or are off sick)."""
    role = tracker.get_slot("role")
    domains = knowledge().domains(role)
    if tracker.get_slot("work_status") in NO_WORK_QUESTION:
        domains = [d for d in domains if d["id"] != "work"]
    return domains


def extra_areas(tracker: Tracker) -> list[journey.ConcernArea]:
    return journey.concern_areas(journey_role(tracker.get_slot("role")), nation(tracker), knowledge())


def _picked(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot("concern_areas") or [])


def _area_scores(tracker: Tracker) -> dict[str, Any]:
    return dict(tracker.get_slot("area_scores") or {})


def unscored_areas(tracker: Tracker) -> list[str]:
    scores = _area_scores(tracker)
    return [a for a in _picked(tracker) if a not in scores]


def candidates(tracker: Tracker) -> list[tuple[str, str, int]]:
    """(id, label, score) of everything scored above 0, highest first: what the top 1-3 can be."""
    role = journey_role(tracker.get_slot("role"))
    found: list[tuple[str, str, int]] = []
    for domain in score_domains(tracker):
        value = tracker.get_slot(domain["slot"])
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            found.append((domain["id"], domain["label"], int(value)))
    labels = {a.id: a.label for a in journey.concern_areas(role, None, knowledge())}
    for area, value in _area_scores(tracker).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and area in labels:
            found.append((area, labels[area], int(value)))
    return sorted(found, key=lambda item: -item[2])


def max_top(tracker: Tracker) -> int:
    return 2 if tracker.get_slot("role") == YOUNG_CARER else 3


def needs_slots(tracker: Tracker) -> list[str]:
    """The full check-in's questions after the 0-10 ones, as far as they apply to this person."""
    slots = ["pick_area"]
    if _picked(tracker):
        slots.append("area_score")
    if len(candidates(tracker)) >= 2:
        slots.append("pick_top")
    slots.append("what_helps")
    return slots


def profile_slots(tracker: Tracker) -> list[str]:
    """Before the 0-10 questions: where they are on the journey, where they live (services, benefits and
    social care differ by nation; asked only if not known, and skippable), and (adults) work."""
    slots = ["journey_stage"]
    if not tracker.get_slot("nation_skipped"):
        slots.append("nation")
    if tracker.get_slot("role") not in (YOUNG_CARER, "professional"):
        slots.append("work_status")
    return slots


def _choice(tracker: Tracker, slot_value: Any) -> tuple[Optional[str], str]:
    """(a button's value, the typed words, trimmed)."""
    choice, text = choice_and_text(tracker, slot_value)
    return choice, text.strip()


def _skipped(tracker: Tracker, choice: Optional[str], text: str) -> bool:
    return choice == assessment.SKIPPED or latest_intent(tracker)[0] == "skip_question" or \
        text.lower().strip(" .!") in ("skip", "pass", "skip it", "skip this", "rather not say")


def _done(tracker: Tracker, choice: Optional[str], text: str) -> bool:
    return choice == DONE or _skipped(tracker, choice, text) or latest_intent(tracker)[0] == "deny" or \
        bool(_DONE_WORDS.match(text))


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def match_labels(text: str, options: list[tuple[str, list[str]]]) -> list[str]:
    """The options whose names appear in typed words ("money and my home" -> financial, housing).

    An option matches when all the words of one of its names (3 letters or more, not 'and', 'the',
    'your'...) are in the text. Order of the text is kept.
    """
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    words = _words(text)
    for option_id, names in options:
        for name in names:
            keys = [w for w in _WORD.findall(name.lower()) if len(w) > 2 and w not in _STOP]
            if not keys:   # a name made only of common words ("Getting about"): the whole name must be there
                at = lowered.find(name.lower())
                if at >= 0:
                    found.append((at, option_id))
                    break
                continue
            if all(k in words or (k.endswith("s") and k[:-1] in words) for k in keys):
                found.append((min(lowered.find(k) for k in keys), option_id))
                break
    return [option_id for _, option_id in sorted(found)]


_STOP = {"and", "the", "your", "you", "for", "with", "about", "things", "thing", "how", "what", "from", "other",
         "something", "else", "feeling", "getting", "own", "life", "someone", "they", "them", "their", "have"}


def _area_names(area: journey.ConcernArea) -> list[str]:
    return [area.label, area.id.replace("_", " "), *(o.label for o in area.options)]


class NeedsQuestions:
    """Validation of the full check-in's extra questions (mixed into ValidateAssessmentForm)."""

    def validate_journey_stage(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        kb, role = knowledge(), journey_role(tracker.get_slot("role"))
        offered = [stage for stage, _ in journey.stages(role, kb)]
        if slot_value in offered and set_before_this_message(tracker, "journey_stage", slot_value):
            return {"journey_stage": slot_value}   # known already (from what they said first): said once
        choice, text = _choice(tracker, slot_value)
        stage = choice if choice in offered else None
        if stage is None and text:
            found = journey.find_stage(text, kb)
            stage = found if found in offered else None
        if stage is None:
            if _skipped(tracker, choice, text):
                return {"journey_stage": assessment.SKIPPED}
            dispatcher.utter_message(text=kb.say("stage_help"))
            return {"journey_stage": None}
        dispatcher.utter_message(text=journey.prompts_for(stage, role, nation(tracker), kb).text)
        return {"journey_stage": stage}

    def validate_nation(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: DomainDict) -> Dict[Text, Any]:
        """A nation button, a nation or postcode typed, or skip / don't know (then not asked again in this
        check-in, and the slot stays empty so a later answer that needs the nation can still ask)."""
        kb = knowledge()
        choice, text = _choice(tracker, slot_value)
        found, place = read_nation(tracker, choice, text)
        if found in NATION_NAMES:
            return {"postcode": place.outward, "nation": found} if place is not None else {"nation": found}
        if choice in ("unknown", assessment.SKIPPED) or _skipped(tracker, choice, text) or _DONT_KNOW.search(text):
            return {"nation": None, "nation_skipped": True}
        dispatcher.utter_message(text=kb.say("nation_help"))
        return {"nation": None}

    def validate_work_status(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        choice, text = _choice(tracker, slot_value)
        if choice in WORK_OPTIONS:
            return {"work_status": choice}
        if _skipped(tracker, choice, text):
            return {"work_status": assessment.SKIPPED}
        found = work_from_text(text)
        if found:
            return {"work_status": found}
        dispatcher.utter_message(text=knowledge().say("work_help"))
        return {"work_status": None}

    def validate_pick_area(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        areas = extra_areas(tracker)
        ids = [a.id for a in areas]
        picked = _picked(tracker)
        choice, text = _choice(tracker, slot_value)
        new = [choice] if choice in ids else match_labels(text, [(a.id, _area_names(a)) for a in areas]) if text else []
        new = [a for a in new if a not in picked]
        if new:
            picked += new
            finished = len(picked) == len(ids)
            return {"concern_areas": picked, "pick_area": DONE if finished else None}
        if _done(tracker, choice, text) or (choice in ids):
            return {"pick_area": DONE, "concern_areas": picked}
        dispatcher.utter_message(text=knowledge().say("area_help"))
        return {"pick_area": None}

    def validate_area_score(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        kb = knowledge()
        waiting = unscored_areas(tracker)
        if not waiting:
            return {"area_score": DONE}
        area_id = waiting[0]
        scores = _area_scores(tracker)
        picked = entity(tracker, "score")
        if picked is None and latest_intent(tracker)[0] == "skip_question":
            answer_value: Any = assessment.SKIPPED
            distress = False
        else:
            text = str(picked) if picked is not None else ("" if is_payload(slot_value) else str(slot_value or ""))
            answer = assessment.parse_score(text, kb.assessment)
            if not answer.understood:
                dispatcher.utter_message(text=kb.say("score_range" if answer.out_of_range else "score_help"))
                return {"area_score": None}
            answer_value, distress = answer.value, answer.distress
        scores[area_id] = answer_value
        area = next((a for a in extra_areas(tracker) if a.id == area_id), None)
        if area is not None and area.clinical and isinstance(answer_value, int) and answer_value > 0:
            # physical effects: never treated here; the clinical team straight away, with the alert card number
            dispatcher.utter_message(text="\n".join(area.next_steps[:2]))
        result: Dict[Text, Any] = {"area_scores": scores, "area_score": None if len(waiting) > 1 else DONE}
        if distress:
            result["distress"] = True
        return result

    def validate_pick_top(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[Text, Any]:
        options = candidates(tracker)
        ids = [option_id for option_id, _, _ in options]
        top = list(tracker.get_slot("top_concerns") or [])
        choice, text = _choice(tracker, slot_value)
        new = [choice] if choice in ids else match_labels(text, [(i, [label, i.replace("_", " ")])
                                                                 for i, label, _ in options]) if text else []
        new = [n for n in new if n not in top]
        if new:
            top = (top + new)[: max_top(tracker)]
            finished = len(top) >= max_top(tracker) or len(top) == len(ids)
            return {"top_concerns": top, "pick_top": DONE if finished else None}
        if _done(tracker, choice, text) or choice in ids:
            return {"pick_top": DONE, "top_concerns": top}
        dispatcher.utter_message(text=knowledge().say("top_help"))
        return {"pick_top": None}

    def validate_what_helps(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        choice, text = _choice(tracker, slot_value)
        if not text or _skipped(tracker, choice, text):
            return {"what_helps": assessment.SKIPPED}
        return {"what_helps": text[:WHAT_HELPS_MAX]}


def work_from_text(text: str) -> Optional[str]:
    lowered = f" {text.lower()} "
    best: tuple[int, Optional[str]] = (0, None)
    for option, phrases in WORK_WORDS.items():
        for phrase in phrases:
            if re.search(rf"\b{re.escape(phrase)}\b", lowered) and len(phrase) > best[0]:
                best = (len(phrase), option)
    return best[1]


# --------------------------------------------------------------------------- the questions
def score_buttons(kb: Any) -> list[render.Button]:
    """0 to 10 and Skip: every 0-10 question of the check-in."""
    buttons = [render.Button(str(n), render.intent_payload("inform", score=str(n))) for n in range(0, 11)]
    buttons.append(render.Button(kb.say("score_skip"), "/skip_question"))
    return buttons


def _choice_button(title: str, value: str) -> render.Button:
    return render.Button(title, render.intent_payload("inform", choice=value))


class ActionAskJourneyStage(Action):
    def name(self) -> Text:
        return "action_ask_journey_stage"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb, role = knowledge(), journey_role(tracker.get_slot("role"))
        buttons = [_choice_button(label, stage) for stage, label in journey.stages(role, kb)]
        buttons.append(_choice_button(kb.say("score_skip"), assessment.SKIPPED))
        key = "ask_journey_stage_young" if role == YOUNG_CARER else "ask_journey_stage"
        send(dispatcher, [render.Message(kb.say(key), buttons)])
        return []


class ActionAskWorkStatus(Action):
    def name(self) -> Text:
        return "action_ask_work_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb = knowledge()
        buttons = [_choice_button(kb.say(f"work_{option}"), option) for option in WORK_OPTIONS]
        buttons.append(_choice_button(kb.say("score_skip"), assessment.SKIPPED))
        send(dispatcher, [render.Message(kb.say("ask_work_status"), buttons)])
        return []


class ActionAskPickArea(Action):
    def name(self) -> Text:
        return "action_ask_pick_area"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb, role = knowledge(), journey_role(tracker.get_slot("role"))
        picked = _picked(tracker)
        buttons = [_choice_button(a.label, a.id) for a in extra_areas(tracker) if a.id not in picked]
        if picked:
            text = kb.say("pick_area_more")
            buttons.append(_choice_button(kb.say("area_done"), DONE))
        else:
            text = journey.concern_prompt("pick_areas", role, kb)
            buttons.append(_choice_button(kb.say("area_none"), DONE))
        send(dispatcher, [render.Message(text, buttons)])
        return []


class ActionAskAreaScore(Action):
    def name(self) -> Text:
        return "action_ask_area_score"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb, role = knowledge(), journey_role(tracker.get_slot("role"))
        waiting = unscored_areas(tracker)
        if not waiting:
            return []
        picked = _picked(tracker)
        area = next(a for a in extra_areas(tracker) if a.id == waiting[0])
        question = journey.concern_prompt("rate", role, kb, area=area.label.lower())
        text = kb.say("score_question", position=picked.index(area.id) + 1, total=len(picked), words=question)
        send(dispatcher, [render.Message(text, score_buttons(kb))])
        return []


class ActionAskPickTop(Action):
    def name(self) -> Text:
        return "action_ask_pick_top"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb, role = knowledge(), journey_role(tracker.get_slot("role"))
        top = list(tracker.get_slot("top_concerns") or [])
        buttons = [_choice_button(f"{label} ({score})", option) for option, label, score in candidates(tracker)
                   if option not in top]
        buttons.append(_choice_button(kb.say("top_done"), DONE))
        text = kb.say("pick_top_more") if top else journey.concern_prompt("choose_top", role, kb)
        send(dispatcher, [render.Message(text, buttons)])
        return []


class ActionAskWhatHelps(Action):
    def name(self) -> Text:
        return "action_ask_what_helps"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        kb, role = knowledge(), journey_role(tracker.get_slot("role"))
        buttons = [_choice_button(kb.say("score_skip"), assessment.SKIPPED)]
        send(dispatcher, [render.Message(journey.concern_prompt("what_helps", role, kb), buttons)])
        return []
