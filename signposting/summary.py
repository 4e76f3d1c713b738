"""A conversation summary a person can keep, and that helpline staff read at a handoff.

Built from the conversation's slots (and, where the caller has them, the person's own messages,
their intents and the bot's texts), so that the web download and the helpline handoff say the same
thing. The check-in part reuses :func:`signposting.assessment.summarise` and ``next_steps`` (the
same ranking and steps the bot gave in the chat); the benefits part re-runs
:func:`signposting.benefits.check` on the answers that were given; every phone number and opening
time comes from knowledge. Pure: no Rasa, no network, no database.

    summary = from_slots(tracker.current_slot_values(), user_texts=[...])
    text = as_text(summary)                      # what the person downloads
    staff = as_text(summary, for_helpline=True)  # adds the crisis flag and their own messages

Headings default to the words below; an editor can override any of them in knowledge/wording.yml
under the same key (for example ``summary_doc_title``) without a code change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping, Optional, Sequence

from signposting import assessment, hours
from signposting.knowledge import NATION_NAMES, NATIONS, Knowledge, fill_placeholders

MAX_MESSAGES = 30          # of the person's own messages kept for the helpline (the latest)
MAX_MESSAGE_CHARS = 500    # each, so one pasted essay can't swamp the summary
NOT_TOPICS = ("ask_help", "bot_challenge", "out_of_scope")  # intents that are not a subject someone asked about
SCORE_SLOTS = tuple(f"score_{d}" for d in ("emotional", "practical", "financial", "work", "carer_wellbeing"))

# --- the benefits check's slots, in the engine's terms --------------------------------------------
UNKNOWN = "unknown"
BENEFIT_FIELD_SLOTS = {  # engine field -> the slot the benefits form asks it with
    "nation": "nation", "role": "role", "age": "b_age", "terminal_illness": "b_terminal",
    "care_hours_per_week": "b_care_hours", "cared_for_benefits": "b_cared_for",
    "weekly_net_earnings": "b_earnings", "employment": "b_employment",
}
BENEFIT_SLOTS = tuple(s for s in BENEFIT_FIELD_SLOTS.values() if s.startswith("b_"))
CARED_FOR = {  # the form's b_cared_for choice -> the engine's benefit ids
    "attendance_allowance": ("attendance_allowance_lower",), "pip_daily_living": ("pip_daily_living_standard",),
    "dla_care": ("dla_care_middle",), "adp_daily_living": ("adp_daily_living_standard",), "none": (),
}
CARED_FOR_NAMES = {
    "attendance_allowance": "Attendance Allowance", "pip_daily_living": "PIP (daily living)",
    "adp_daily_living": "Adult Disability Payment (daily living)", "dla_care": "DLA care (middle or highest rate)",
}
EMPLOYMENT_WORDS = {"employed": "benefits_b_employed", "self_employed": "benefits_b_self_employed",
                    "not_working": "benefits_b_not_working"}

HEADINGS = {
    "summary_doc_title": "Signpost: your summary",
    "summary_doc_made": "Made on {when} (UK time).",
    "summary_doc_not_advice": ("This is signposting, not medical advice. Signpost is an automated assistant, "
                               "not a person. For anything about your health or treatment, ask your cancer "
                               "team or GP."),
    "summary_doc_about": "About you",
    "summary_doc_what_matters": "What matters to you",
    "summary_doc_checkin": "Your check-in, most pressing first",
    "summary_doc_no_checkin": ("You haven't done the check-in yet. You can start it any time: "
                               "say \"can we do the check-in\"."),
    "summary_doc_benefits": "Benefits you checked ({tax_year}: a guide, not a decision)",
    "summary_doc_benefits_told": "What you told me:",
    "summary_doc_services": "Services you were shown",
    "summary_doc_services_searched": "You looked for: {what}.",
    "summary_doc_topics": "Things you asked about",
    "summary_doc_talk": "Talk to someone",
    "summary_doc_urgent": "If you need help now",
    "summary_doc_crisis_flag": "Crisis screen: this conversation showed signs of {kind}. The crisis answer was given.",
    "summary_doc_their_messages": "Their messages (latest last)",
    "summary_doc_distress": "They said they're finding things very hard at the moment.",
    "summary_doc_stage": "Where you are now: {label}.",
    "summary_doc_other_areas": "Other things on your mind:",
    "summary_doc_area": "- {label}: {score} out of 10",
    "summary_doc_top": "What you chose to start with: {list}.",
    "summary_doc_what_helps": "What or who helps already: \u201c{words}\u201d",
}
ROLE_WORDS = {"patient": "You have cancer.", "carer": "You look after someone with cancer.",
              "young_carer": "You're under 18 and help look after someone with cancer.",
              "professional": "You're a professional, asking for someone you support."}
SUMMARY_ROLES = (*assessment.ROLES, assessment.YOUNG_CARER)
CRISIS_WORDS = {"suicide_self_harm": "suicide or self-harm", "harm_from_others": "harm from someone else",
                "medical_emergency": "a medical emergency", "treatment_red_flag": "a warning sign during treatment"}


# --------------------------------------------------------------------------- the summary
@dataclass(frozen=True)
class Concern:
    """One scored part of the check-in, with the next steps agreed in the chat (numbers filled in)."""

    id: str
    label: str
    score: int
    next_steps: tuple[str, ...]


@dataclass(frozen=True)
class BenefitsChecked:
    """A benefits check that reached its guide: what the person said, and the headline results."""

    told: tuple[str, ...]                       # "Where you live: Scotland", in plain words
    likely: tuple[str, ...] = ()                # "Carer Support Payment: £86.45 a week"
    possibly: tuple[str, ...] = ()
    tax_year: str = ""


@dataclass(frozen=True)
class Service:
    name: str
    contact: str


@dataclass(frozen=True)
class Summary:
    """Everything worth keeping from one conversation, channel-free."""

    created: datetime
    role: Optional[str] = None
    nation: Optional[str] = None
    what_matters: Optional[str] = None          # their own words; None if skipped or never asked
    assessment_done: bool = False
    concerns: tuple[Concern, ...] = ()          # scored above 0, most pressing first
    calm: tuple[str, ...] = ()                  # labels scored 0
    skipped: tuple[str, ...] = ()               # labels skipped
    distress: bool = False
    offer_person: bool = False                  # a high score or distress: a person is suggested
    benefits: Optional[BenefitsChecked] = None
    services_searched: Optional[str] = None     # what the last directory search was for, in plain words
    services: tuple[Service, ...] = ()          # the services the bot listed
    topics: tuple[str, ...] = ()                # titles of the topics asked about
    crisis_kind: Optional[str] = None
    messages: tuple[str, ...] = field(default=(), repr=False)  # their own messages (for the helpline)
    stage: Optional[str] = None                 # the journey stage's label, in their role's words
    other_areas: tuple[tuple[str, int], ...] = ()   # the full check-in's extra areas scored above 0
    top: tuple[str, ...] = ()                   # labels of the 1-3 they chose to start with
    what_helps: Optional[str] = None            # their own words

    @property
    def empty(self) -> bool:
        """Nothing learnt yet beyond the greeting."""
        return not (self.role or self.nation or self.what_matters or self.concerns or self.calm or self.skipped
                    or self.benefits or self.services or self.topics or self.crisis_kind)


def _current(knowledge: Optional[Knowledge]) -> Knowledge:
    if knowledge is not None:
        return knowledge
    from signposting import knowledge as kb

    return kb.current()


def _nation(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value in NATIONS else None


def _what_matters(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value.strip() or value == assessment.SKIPPED:
        return None
    return value.strip()


def from_slots(
    slots: Mapping[str, Any],
    user_texts: Sequence[str] = (),
    knowledge: Optional[Knowledge] = None,
    *,
    intents: Sequence[str] = (),
    bot_texts: Sequence[str] = (),
    benefit_slots: Optional[Mapping[str, Any]] = None,
    now: Optional[datetime] = None,
) -> Summary:
    """The summary of a conversation.

    Args:
        slots: the tracker's slot values now (role, nation, what_matters, score_*, distress,
            assessment_done, crisis_kind, service_search...).
        user_texts: what the person typed, oldest first (button payloads like "/inform" are left out).
        intents: the person's intents, oldest first: the topics they asked about.
        bot_texts: what the bot said, oldest first: the services it listed are picked out of these
            by name and shown with their contact details from knowledge.
        benefit_slots: the benefits form's answers as they were when the guide was given (the form
            clears them afterwards); ``None`` if no guide was given in this conversation.
        now: when the summary is made (UK time by default).
    """
    kb = _current(knowledge)
    created = now or datetime.now(hours.UK)
    role = slots.get("role") if slots.get("role") in SUMMARY_ROLES else None
    where = _nation(slots.get("nation"))
    ranked = assessment.summarise({s: slots.get(s) for s in SCORE_SLOTS}, kb.assessment, role=role,
                                  what_matters=_what_matters(slots.get("what_matters")),
                                  distress=bool(slots.get("distress")))
    concerns = tuple(
        Concern(c.id, c.domain["label"], int(c.score or 0),
                tuple(fill_placeholders(step["text"], kb.helplines) for step in assessment.next_steps(c.domain, role)))
        for c in ranked.ranked if c.score)
    searched, services = _services(kb, slots.get("service_search"), bot_texts)
    kind = slots.get("crisis_kind")
    return Summary(
        created=created,
        role=role,
        nation=where,
        what_matters=ranked.what_matters,
        assessment_done=bool(slots.get("assessment_done")),
        concerns=concerns,
        calm=tuple(c.domain["label"] for c in ranked.ranked if not c.score),
        skipped=tuple(d["label"] for d in ranked.skipped),
        distress=ranked.distress,
        offer_person=ranked.offer_person,
        benefits=None if benefit_slots is None else benefits_checked(
            {**benefit_slots, "nation": benefit_slots.get("nation", slots.get("nation")),
             "role": benefit_slots.get("role", slots.get("role"))}, kb, created.date()),
        services_searched=searched,
        services=services,
        topics=_topics(kb, intents),
        crisis_kind=kind if isinstance(kind, str) and kind else None,
        messages=_own_words(user_texts),
        **_full_checkin(slots, kb, role),
    )


def _full_checkin(slots: Mapping[str, Any], kb: Knowledge, role: Optional[str]) -> dict[str, Any]:
    """The full check-in's answers: the stage, the extra areas, their own top 1-3, what helps."""
    concern_role = role if role in ("carer", assessment.YOUNG_CARER) else "patient"
    labels = {d["id"]: d["label"] for d in kb.assessment["domains"]}
    labels.update({a["id"]: a["label"][concern_role] for a in kb.concerns.get("areas", [])
                   if concern_role in a.get("roles", [])})
    stage = next((s for s in kb.journey.get("stages", []) if s["id"] == slots.get("journey_stage")), None)
    stage_label = None
    if stage is not None:
        stage_label = stage["label"].get("carer" if concern_role == assessment.YOUNG_CARER else concern_role) \
            or next(iter(stage["label"].values()))
    scores = slots.get("area_scores") if isinstance(slots.get("area_scores"), Mapping) else {}
    areas = sorted(((labels[a], int(v)) for a, v in scores.items()
                    if a in labels and isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0),
                   key=lambda item: -item[1])
    top = tuple(labels[t.replace("score_", "")] for t in (slots.get("top_concerns") or [])
                if isinstance(t, str) and t.replace("score_", "") in labels)
    helps = slots.get("what_helps")
    return {"stage": stage_label, "other_areas": tuple(areas), "top": top,
            "what_helps": helps.strip() if isinstance(helps, str) and helps.strip() and helps != assessment.SKIPPED
            else None}


def from_events(slots: Mapping[str, Any], events: Sequence[Mapping[str, Any]], knowledge: Optional[Knowledge] = None,
                now: Optional[datetime] = None) -> Summary:
    """The summary of a conversation from its events (Rasa's dict form: ``Event.as_dict()`` or rasa-sdk's
    ``tracker.events``), read since the last 'delete my data' or restart: what the person typed, the
    intents (topics asked), what the bot said (services listed) and the benefits answers as they were
    when the guide was given (the form clears them right after)."""
    events = list(events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") in ("reset_slots", "restart"):
            events = events[index + 1:]
            break
    user_texts: list[str] = []
    intents: list[str] = []
    bot_texts: list[str] = []
    values: dict[str, Any] = {}
    given: Optional[dict[str, Any]] = None
    watched = set(BENEFIT_SLOTS) | {"nation", "role"}
    for event in events:
        kind = event.get("event")
        if kind == "user":
            text = event.get("text") or ""
            if text and not text.startswith("/"):
                user_texts.append(text)
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name:
                intents.append(name)
        elif kind == "bot" and event.get("text"):
            bot_texts.append(event["text"])
        elif kind == "slot" and event.get("name") in watched:
            values[event["name"]] = event.get("value")
        elif kind == "action" and event.get("name") == "action_benefits_summary":
            given = dict(values)
    return from_slots(slots, user_texts, knowledge, intents=intents, bot_texts=bot_texts, benefit_slots=given,
                      now=now)


def _own_words(texts: Sequence[str]) -> tuple[str, ...]:
    """The person's typed messages (not button payloads), each trimmed, the latest MAX_MESSAGES."""
    kept = [t.strip() for t in texts if isinstance(t, str) and t.strip() and not t.startswith("/")]
    return tuple(t if len(t) <= MAX_MESSAGE_CHARS else t[:MAX_MESSAGE_CHARS] + "…" for t in kept[-MAX_MESSAGES:])


def _topics(kb: Knowledge, intents: Sequence[str]) -> tuple[str, ...]:
    titles: list[str] = []
    for intent in intents:
        topic = kb.topic(intent) if isinstance(intent, str) and intent not in NOT_TOPICS else None
        if topic and topic.get("title") and topic["title"] not in titles:
            titles.append(topic["title"])
    return tuple(titles)


_LISTED = re.compile(r"^\d+\. (?P<name>[^\n]+?): ", re.MULTILINE)


def _services(kb: Knowledge, search: Any, bot_texts: Sequence[str]) -> tuple[Optional[str], tuple[Service, ...]]:
    """What was searched for (the service_search slot) and the services listed in the bot's messages.

    A listed service is recognised by its name as written in knowledge; its contact details are
    taken from knowledge too, never from the chat text.
    """
    searched = None
    if isinstance(search, Mapping):
        topic = kb.topic(search.get("intent") or "") if search.get("intent") else None
        what = [w for w in ((topic or {}).get("title"), search.get("text")) if isinstance(w, str) and w.strip()]
        if what:
            searched = ", ".join(dict.fromkeys(w.strip().strip("/") for w in what if not w.startswith("/")))
    intros = (kb.say("services_intro"), kb.say("services_more_intro"))
    by_name = {s["name"]: s for s in kb.services.values() if s.get("name")}
    found: list[Service] = []
    for text in bot_texts:
        if not isinstance(text, str) or not text.startswith(intros):
            continue
        for match in _LISTED.finditer(text):
            service = by_name.get(match.group("name"))
            if service is not None and all(s.name != service["name"] for s in found):
                found.append(Service(service["name"], _contact(service)))
    return searched or None, tuple(found)


def _contact(service: Mapping[str, Any]) -> str:
    """Every way to reach a service that knowledge has, as the chat lists it: phone or text, then web."""
    contact = " or ".join(x for x in (service.get("phone"), f"text {service['text']}" if service.get("text") else None)
                          if x)
    return ", ".join(str(x) for x in (contact, service.get("url") or service.get("email")) if x)


# --------------------------------------------------------------------------- benefits
def benefit_answers(slots: Mapping[str, Any], on: Optional[date] = None) -> Any:
    """The benefits form's slots as the engine's Answers ('unknown' and unreadable values stay unknown).

    The same mapping the benefits form uses while asking (actions/benefits.py), so the summary's
    results are the ones the person was given.
    """
    from signposting import benefits

    values: dict[str, Any] = {"date": on or date.today()}
    for name, slot in BENEFIT_FIELD_SLOTS.items():
        value = slots.get(slot)
        if value is None or value == UNKNOWN:
            continue
        try:
            values[name] = _engine_value(name, value)
        except (TypeError, ValueError):
            continue
    if values.get("role") not in ("patient", "carer"):
        values.pop("role", None)
    if values.get("nation") not in NATIONS:
        values.pop("nation", None)
    return benefits.Answers(**values)


def _engine_value(name: str, value: Any) -> Any:
    if name == "cared_for_benefits":
        return tuple(value) if isinstance(value, (list, tuple)) else CARED_FOR.get(str(value), ())
    if name in ("age", "care_hours_per_week", "weekly_net_earnings"):
        return int(float(value)) if name == "age" else float(value)
    if name == "terminal_illness":
        return value if isinstance(value, bool) else str(value).lower() in ("true", "yes")
    return value


def _money(amount: float) -> str:
    return f"{amount:,.2f}".replace(".00", "")


def benefits_checked(slots: Mapping[str, Any], knowledge: Knowledge, on: Optional[date] = None) -> BenefitsChecked:
    """What the person told the benefits check, in plain words, and what it found (likely, possibly)."""
    from signposting import benefits

    on = on or date.today()
    answers = benefit_answers(slots, on)
    try:
        rules = benefits.load_rules(on)
        outcomes = benefits.check(answers, rules)
    except Exception:  # the rules can't be read: still say what they told us
        rules, outcomes = None, []
    told = _told(slots, knowledge, rules)

    def line(outcome: Any) -> str:
        if not outcome.weekly_amount:
            return outcome.name
        low, high = outcome.weekly_amount
        return f"{outcome.name}: £{_money(low)} a week" if low == high else \
            f"{outcome.name}: £{_money(low)} to £{_money(high)} a week"

    return BenefitsChecked(
        told=told,
        likely=tuple(line(o) for o in outcomes if o.result == "likely"),
        possibly=tuple(line(o) for o in outcomes if o.result == "possibly"),
        tax_year=outcomes[0].tax_year if outcomes else getattr(rules, "tax_year", ""),
    )


def _told(slots: Mapping[str, Any], kb: Knowledge, rules: Any) -> tuple[str, ...]:
    """The answers as the person chose them: bands from this year's figures, never a made-up exact value."""
    say = kb.say
    dont_know = say("dont_know")
    figures = {k: float(rules[k]) for k in ("pension_age", "care_hours", "earnings_limit")} if rules else {}
    told: list[str] = []

    def add(what: str, value: Any, words: Optional[str]) -> None:
        if value is None:
            return
        told.append(f"{what}: {dont_know if value == UNKNOWN else (words or str(value))}")

    nation = slots.get("nation")
    add("Where you live", nation, NATION_NAMES.get(nation) if isinstance(nation, str) else None)
    role = slots.get("role")
    add("Who it's about", role if role in ("patient", "carer", UNKNOWN) else None,
        {"patient": "you", "carer": "someone you look after"}.get(role or ""))
    age = _as_number(slots.get("b_age"))
    if age is not None and figures:
        pension = int(figures["pension_age"])
        words = say("benefits_b_age_under", age=16) if age < 16 else (
            say("benefits_b_age_over", age=pension) if age >= pension else say("benefits_b_age_middle", low=16,
                                                                                 high=pension - 1))
        add("Age", age, words)
    else:
        add("Age", slots.get("b_age") if slots.get("b_age") == UNKNOWN else None, None)
    terminal = slots.get("b_terminal")
    add("Terminal illness", terminal, {True: say("benefits_yes"), False: say("benefits_no")}.get(terminal)
        if isinstance(terminal, bool) else None)
    hours_ = _as_number(slots.get("b_care_hours"))
    if hours_ is not None and figures:
        limit = _money(figures["care_hours"])
        add("Hours of caring a week", hours_, say("benefits_b_hours_over", hours=limit)
            if hours_ >= figures["care_hours"] else say("benefits_b_hours_under", hours=limit))
    else:
        add("Hours of caring a week", slots.get("b_care_hours") if slots.get("b_care_hours") == UNKNOWN else None,
            None)
    cared = slots.get("b_cared_for")
    add("Their benefits", cared, say("benefits_b_none") if cared == "none" else CARED_FOR_NAMES.get(str(cared)))
    earnings = _as_number(slots.get("b_earnings"))
    if earnings is not None and figures:
        limit = _money(figures["earnings_limit"])
        words = say("benefits_b_earnings_none") if earnings == 0 else (
            say("benefits_b_earnings_under", limit=limit) if earnings <= figures["earnings_limit"]
            else say("benefits_b_earnings_over", limit=limit))
        add("Earnings", earnings, words)
    else:
        add("Earnings", slots.get("b_earnings") if slots.get("b_earnings") == UNKNOWN else None, None)
    employment = slots.get("b_employment")
    add("Work", employment, say(EMPLOYMENT_WORDS[employment]) if employment in EMPLOYMENT_WORDS else None)
    return tuple(told)


def _as_number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None or value == UNKNOWN:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- as text
def _heading(kb: Knowledge, key: str, **values: Any) -> str:
    """A heading from wording.yml if an editor has set one, else the default above."""
    template = kb.wording.get(key) or HEADINGS[key]
    return fill_placeholders(re.sub(r"\{([a-z_]+)\}", lambda m: str(values.get(m.group(1), m.group(0))), template),
                             kb.helplines)


def _helpline(entry: Mapping[str, Any]) -> str:
    """'Macmillan Support Line: 0808 808 00 00 (8am to 8pm, 7 days a week)': no 'open now', the file is kept."""
    contact = " or ".join(str(x) for x in (entry.get("phone"), entry.get("text")) if x) or entry.get("url", "")
    when = hours.describe_hours(entry) if (entry.get("open_24_7") or entry.get("hours")) else ""
    return f"{entry['name']}: {contact}" + (f" ({when})" if when else "")


def _serves(entry: Mapping[str, Any], nation: Optional[str]) -> bool:
    return nation is None or nation in entry.get("nations", NATIONS)


def _when(moment: datetime) -> str:
    local = moment.astimezone(hours.UK) if moment.tzinfo else moment
    return f"{local.day} {local:%B %Y} at {hours.clock(local)}"


def _section(title: str, lines: Sequence[str]) -> str:
    return title + "\n" + "-" * len(title) + "\n" + "\n".join(lines)


def as_text(summary: Summary, knowledge: Optional[Knowledge] = None, *, for_helpline: bool = False) -> str:
    """The summary as plain text: what a person keeps, or (for_helpline) what staff read at a handoff.

    Sections with nothing in them are left out, except the ways to talk to someone and the urgent
    numbers, which are always there.
    """
    kb = _current(knowledge)
    h = lambda key, **v: _heading(kb, key, **v)  # noqa: E731
    title = h("summary_doc_title")
    parts = [title + "\n" + "=" * len(title), h("summary_doc_made", when=_when(summary.created)),
             h("summary_doc_not_advice")]
    if for_helpline and summary.crisis_kind:
        parts.insert(1, "!! " + h("summary_doc_crisis_flag",
                                  kind=CRISIS_WORDS.get(summary.crisis_kind, summary.crisis_kind.replace("_", " "))))
    about = [line for line in (ROLE_WORDS.get(summary.role or ""),
                               f"You live in {NATION_NAMES[summary.nation]}." if summary.nation else None,
                               h("summary_doc_stage", label=summary.stage) if summary.stage else None) if line]
    if for_helpline and summary.distress:
        about.append(h("summary_doc_distress"))
    if about:
        parts.append(_section(h("summary_doc_about"), about))
    if summary.what_matters:
        parts.append(_section(h("summary_doc_what_matters"), [f"\u201c{summary.what_matters}\u201d"]))
    parts.append(_section(h("summary_doc_checkin"), _checkin_lines(summary, kb)))
    if summary.benefits is not None:
        parts.append(_section(h("summary_doc_benefits", tax_year=summary.benefits.tax_year or "this year"),
                              _benefit_lines(summary.benefits, kb)))
    if summary.services or summary.services_searched:
        lines = [h("summary_doc_services_searched", what=summary.services_searched)] if summary.services_searched \
            else []
        lines += [f"- {s.name}: {s.contact}" for s in summary.services]
        parts.append(_section(h("summary_doc_services"), lines))
    if summary.topics:
        parts.append(_section(h("summary_doc_topics"), [f"- {t}" for t in summary.topics]))
    parts.append(_section(h("summary_doc_talk"), _talk_lines(summary, kb)))
    parts.append(_section(h("summary_doc_urgent"), _urgent_lines(summary, kb)))
    if for_helpline and summary.messages:
        parts.append(_section(h("summary_doc_their_messages"), [f"> {m}" for m in summary.messages]))
    return "\n\n".join(parts).rstrip() + "\n"


def _checkin_lines(summary: Summary, kb: Knowledge) -> list[str]:
    if not (summary.concerns or summary.calm or summary.skipped or summary.other_areas):
        return [_heading(kb, "summary_doc_no_checkin")]
    lines: list[str] = []
    for position, concern in enumerate(summary.concerns, start=1):
        lines.append(kb.say("summary_concern", position=position, label=concern.label, score=concern.score))
        lines += [f"   - {step}" for step in concern.next_steps]
    if summary.calm:
        lines.append(kb.say("summary_calm", list=", ".join(summary.calm)))
    if summary.skipped:
        lines.append(kb.say("summary_skipped", list=", ".join(summary.skipped)))
    if summary.other_areas:
        lines.append(_heading(kb, "summary_doc_other_areas"))
        lines += [_heading(kb, "summary_doc_area", label=label, score=score) for label, score in summary.other_areas]
    if summary.top:
        lines.append(_heading(kb, "summary_doc_top", list=", ".join(summary.top)))
    if summary.what_helps:
        lines.append(_heading(kb, "summary_doc_what_helps", words=summary.what_helps))
    return lines


def _benefit_lines(checked: BenefitsChecked, kb: Knowledge) -> list[str]:
    lines = [_heading(kb, "summary_doc_benefits_told")] + [f"- {t}" for t in checked.told]
    if checked.likely:
        lines += [kb.say("benefits_likely")] + [f"- {x}" for x in checked.likely]
    if checked.possibly:
        lines += [kb.say("benefits_possibly")] + [f"- {x}" for x in checked.possibly]
    lines.append(fill_placeholders(kb.say("benefits_adviser"), kb.helplines))
    return lines


def _talk_lines(summary: Summary, kb: Knowledge) -> list[str]:
    ids = [kb.assessment.get("offer_person_helpline", "macmillan_support_line")]
    if summary.role == "carer":
        ids.append("carers_uk_helpline")
    return [_helpline(kb.helplines[i]) for i in dict.fromkeys(ids) if i in kb.helplines
            and _serves(kb.helplines[i], summary.nation)]


def _urgent_lines(summary: Summary, kb: Knowledge) -> list[str]:
    """The crisis numbers: for the kind of crisis shown, if one was; otherwise 999, NHS 111/24, Samaritans."""
    if summary.crisis_kind:
        try:
            from signposting import safety

            reply = safety.crisis_reply(summary.crisis_kind, summary.nation)
            return [reply.rsplit("\n\n", 1)[0].strip()]  # without the closing "carry on talking to me here"
        except Exception:  # the crisis file can't be read: fall through to the helplines
            pass
    ids = ("emergency_999", "nhs_111", "nhs_24", "samaritans", "shout")
    return [_helpline(kb.helplines[i]) for i in ids if i in kb.helplines and _serves(kb.helplines[i], summary.nation)]
