"""The plan to keep (issue 9): what matters, ranked concerns with a next step each, and a review date.

Built from the conversation's slots, so the web download (PDF, :mod:`signposting.plan_pdf`), the
SMS and Telegram summary (:func:`as_short_text`) and the helpline's copy (:func:`as_text`) say the
same thing. Pure: no Rasa, no network, no database. Every word, number and opening time shown comes
from knowledge (assessment.yml, concerns.yml, journey.yml, young_carers.yml, helplines.yml, the
services and the ``plan_*`` keys in wording.yml).

    plan = build_plan(tracker.current_slot_values(), today=date.today())
    text = as_text(plan)          # the whole plan, plain text
    sms = as_short_text(plan)     # at most 459 characters: 3 SMS segments
    stored = to_dict(plan)        # JSON-safe; from_dict(stored) gives the same plan back

Slots read (the names the Rasa domain should use):

``score_emotional`` ... ``score_carer_wellbeing``
    the check-in's domain scores: 0 to 10, "skipped" or unset.
``what_matters`` / ``what_helps``
    the person's own words (unset, empty or "skipped": not in the plan).
``role``
    patient, carer, professional or young_carer. A carer whose ``age`` (or, failing that, the
    benefits form's ``b_age``) is under 18 is treated as a young carer.
``nation``
    england, scotland, wales or northern_ireland (anything else: not known).
``journey_stage``
    a stage id from journey.yml; its prompt, signposts and questions for the team go in the plan.
``concern_areas``
    the extra area ids from concerns.yml the person picked (physical, housing...).
``area_scores``
    {area id: 0 to 10 or "skipped"} for the extra areas (a domain id here is used only when its
    ``score_*`` slot is unset).
``top_concerns``
    up to 3 area ids (domains or extra areas; "score_financial" is read as "financial") in the
    person's order: these come first in the plan.
``followup_weeks``
    when the person would like to look at the plan again, in weeks (1 to 52).
``plan_code``
    an optional short code that lets a returning person pick up their plan.
``distress``
    (the existing slot) they said things are very hard: the review comes sooner.

Ranking: the person's top picks first, in their order; then the rest by score, highest first (ties
keep the questionnaire's order: the four domains, then concerns.yml's order); then extra areas they
picked but did not rate. Areas scored 0 are listed once as "not a worry right now". Skipped areas
are left out (skipping can mean "rather not say"), unless the person picked them as a top concern.

Physical effects (``clinical: true`` in concerns.yml) are never advised on: their next step is
always to tell the cancer team, specialist nurse or GP (kind ``ask_team``).

Young carers see only the areas offered to them in concerns.yml (the adult check-in's domains and
adult helplines are not shown to them), their own wording (``plan_*_young`` keys), Childline to talk
to and 999 for an emergency.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping, Optional, Sequence

from signposting import assessment, hours, journey, social_care
from signposting.knowledge import NATIONS, Knowledge

# Review date. journey.yml's schema allows no settings, so the defaults live here:
DEFAULT_REVIEW_WEEKS = 4          # look at the plan again after 4 weeks...
SOONER_REVIEW_WEEKS = 2           # ...or 2 at an under-supported stage (journey.yml under_supported: true),
#                                   with a high score (assessment.yml high_score) or when they said it's very hard
MAX_REVIEW_WEEKS = 52
MAX_TOP = 3
MAX_OWN_WORDS = 1000              # characters of the person's own words kept in the plan
SHORT_LIMIT = 459                 # 3 GSM-7 SMS segments (3 x 153)
MIN_STEP = 45                     # characters of a next step worth sending; shorter, the concern is dropped

# Who to talk to, by id (the numbers and hours come from knowledge).
BENEFIT_CHECK_HELPLINES = ("macmillan_welfare_rights",)  # a step naming these is a benefits check
CRISIS_HELPLINE = "samaritans"                           # any time, day or night
YOUNG_HELPLINE_SERVICE = "childline"                     # services/young_carers.yml
YOUNG_CRISIS_HELPLINE = "emergency_999"
NOT_A_CONTACT = ("emergency_999",)                       # never shown as "the service" for a next step

KINDS = ("service", "benefit_check", "ask_team", "self_help")
_SERVICE_PLACEHOLDER = re.compile(r"\{service_(?:phone|name|url|text):([a-z0-9_]+)\}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                        "\u2014": "-", "\u2026": "...", "\u00a0": " "})


# --------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Contact:
    """Someone to contact: a helpline or a service, with the details knowledge has for it."""

    name: str
    phone: Optional[str] = None
    hours: Optional[str] = None     # "8am to 8pm, 7 days a week"
    url: Optional[str] = None

    def details(self) -> Optional[str]:
        """'116 123 (24 hours a day, every day)', or None if there is no number or web address."""
        reach = self.phone or self.url
        return (reach + (f" ({self.hours})" if self.hours else "")) if reach else None

    def line(self) -> str:
        """'Samaritans: 116 123 (24 hours a day, every day)'."""
        details = self.details()
        return f"{self.name}: {details}" if details else self.name


@dataclass(frozen=True)
class PlanItem:
    """One thing on the person's mind, with the agreed next step."""

    area_id: str
    area_name: str                  # in plain words, as the person was asked about it
    score: Optional[int]            # 0 to 10; None when picked but not rated
    is_top: bool                    # the person picked it among their top 1 to 3
    next_step_kind: str             # service | benefit_check | ask_team | self_help
    next_step: str
    service_name: Optional[str] = None
    service_contact: Optional[str] = None
    more_steps: tuple[str, ...] = ()  # the other steps the chat gave, in order


@dataclass(frozen=True)
class Plan:
    """Everything in the person's plan, channel-free."""

    created: date
    review_on: date
    role: Optional[str]
    nation: Optional[str]
    stage: Optional[str]
    what_matters: Optional[str]
    what_helps: Optional[str]
    items: tuple[PlanItem, ...]
    helpline: Contact
    crisis_line: Contact
    not_now: tuple[str, ...] = ()               # area names scored 0
    stage_label: Optional[str] = None
    stage_text: Optional[str] = None
    stage_signposts: tuple[Contact, ...] = ()   # services that fit the stage (active, in their nation)
    stage_topics: tuple[str, ...] = ()          # other things to ask Signpost about at this stage
    questions_for_team: tuple[str, ...] = ()
    short_code: Optional[str] = None

    @property
    def young(self) -> bool:
        return self.role == "young_carer"

    @property
    def top(self) -> tuple[PlanItem, ...]:
        return tuple(i for i in self.items if i.is_top)


def _current(knowledge: Optional[Knowledge]) -> Knowledge:
    if knowledge is not None:
        return knowledge
    from signposting import knowledge as kb

    return kb.current()


def _own_words(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value.strip() or value.strip().lower() == assessment.SKIPPED:
        return None
    text = " ".join(value.split())
    return text if len(text) <= MAX_OWN_WORDS else text[:MAX_OWN_WORDS].rstrip() + "\u2026"


def _score(value: Any) -> Any:
    """0 to 10 as an int, 'skipped', or None (unset or unreadable)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() == assessment.SKIPPED:
            return assessment.SKIPPED
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and 0 <= value <= 10:
        return int(round(value))
    return None


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _role(slots: Mapping[str, Any], kb: Knowledge) -> Optional[str]:
    role = slots.get("role")
    if role not in ("patient", "carer", "professional", "young_carer"):
        return None
    if role == "carer":
        age = _number(slots.get("age"))
        age = age if age is not None else _number(slots.get("b_age"))
        if age is not None and journey.is_young_carer(int(age), kb):
            return "young_carer"
    return role


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    ids = [v.removeprefix("score_") for v in value if isinstance(v, str) and v]
    return list(dict.fromkeys(ids))


def _fill(text: str, kb: Knowledge) -> str:
    return social_care.fill(" ".join(text.split()), kb)


def _helpline_contact(kb: Knowledge, helpline_id: str) -> Contact:
    entry = kb.helplines[helpline_id]
    when = hours.describe_hours(entry) if (entry.get("open_24_7") or entry.get("hours")) else None
    return Contact(entry["name"], entry.get("phone") or entry.get("text"), when or None, entry.get("url"))


def _service_contact(kb: Knowledge, service_id: str) -> Optional[Contact]:
    entry = kb.services.get(service_id)
    if not entry or entry.get("status") != "active":
        return None
    when = hours.describe_hours(entry) if (entry.get("open_24_7") or entry.get("hours")) else None
    return Contact(entry["name"], entry.get("phone") or entry.get("text"), when or None, entry.get("url"))


def _serves(entry: Mapping[str, Any], nation: Optional[str]) -> bool:
    return nation is None or nation in entry.get("nations", NATIONS)


def _step(area_id: str, name: str, score: Optional[int], top: bool, steps: Sequence[Mapping[str, Any]],
          clinical: bool, kb: Knowledge, nation: Optional[str]) -> PlanItem:
    """The item for one area: its first step is the agreed next step (editors order them by priority)."""
    texts = [_fill(s["text"], kb) for s in steps]
    main = steps[0] if steps else {}
    helpline = main.get("helpline")
    kind, contact = "self_help", None
    if clinical:
        kind = "ask_team"
    else:
        if helpline in BENEFIT_CHECK_HELPLINES and helpline in kb.helplines:
            kind, contact = "benefit_check", _helpline_contact(kb, helpline)
        elif helpline and helpline not in NOT_A_CONTACT and helpline in kb.helplines \
                and _serves(kb.helplines[helpline], nation):
            kind, contact = "service", _helpline_contact(kb, helpline)
        else:
            found = _SERVICE_PLACEHOLDER.search(main.get("text", ""))
            service = _service_contact(kb, found.group(1)) if found else None
            if service is not None:
                kind, contact = "service", service
    return PlanItem(
        area_id=area_id, area_name=name, score=score, is_top=top, next_step_kind=kind,
        next_step=texts[0] if texts else "", service_name=contact.name if contact else None,
        service_contact=contact.details() if contact else None,
        more_steps=tuple(texts[1:]))


def _areas(kb: Knowledge, role: Optional[str]) -> list[dict[str, Any]]:
    """Every area the person could have been asked about, in questionnaire order."""
    areas: list[dict[str, Any]] = []
    # young carers: only the domains with young carers' words and steps (kb.domains decides)
    steps_role = role if role in ("carer", "young_carer") else "patient"
    for domain in kb.domains(role):
        areas.append({"id": domain["id"], "slot": domain["slot"], "name": domain["label"], "clinical": False,
                      "steps": assessment.next_steps(domain, steps_role), "extra": False})
    concern_role = role if role in ("carer", "young_carer") else "patient"  # a professional sees the patient's
    for item in kb.concerns.get("areas", []):
        if concern_role not in item["roles"]:
            continue
        areas.append({"id": item["id"], "slot": None, "name": item["label"][concern_role],
                      "clinical": bool(item.get("clinical")), "steps": list(item["next_steps"][concern_role])[:3],
                      "extra": True})
    return areas


def review_weeks_for(slots: Mapping[str, Any], knowledge: Optional[Knowledge] = None,
                     review_weeks: Optional[int] = None) -> int:
    """Weeks until the review: the person's ``followup_weeks``, else ``review_weeks``, else the default.

    The default is SOONER_REVIEW_WEEKS at an under-supported journey stage, with any score at or
    above assessment.yml's high_score, or when they said things are very hard (``distress``);
    otherwise DEFAULT_REVIEW_WEEKS.
    """
    kb = _current(knowledge)
    for value in (slots.get("followup_weeks"), review_weeks):
        weeks = _number(value)
        if weeks is not None and 1 <= weeks <= MAX_REVIEW_WEEKS:
            return int(round(weeks))
    stage = next((s for s in kb.journey.get("stages", []) if s["id"] == slots.get("journey_stage")), None)
    high = int(kb.assessment.get("high_score", 7))
    scores = [_score(slots.get(s)) for s in (d["slot"] for d in kb.assessment["domains"])]
    extra = slots.get("area_scores")
    scores += [_score(v) for v in (extra.values() if isinstance(extra, Mapping) else ())]
    if (stage and stage.get("under_supported")) or bool(slots.get("distress")) \
            or any(isinstance(s, int) and s >= high for s in scores):
        return SOONER_REVIEW_WEEKS
    return DEFAULT_REVIEW_WEEKS


def build_plan(slots: Mapping[str, Any], today: date, knowledge: Optional[Knowledge] = None,
               review_weeks: Optional[int] = None) -> Plan:
    """The person's plan from the conversation's slots (see the module docstring for the names).

    Args:
        slots: the tracker's slot values now.
        today: the day the plan is made (its review date counts from here).
        review_weeks: weeks to the review when the person did not choose (``followup_weeks``);
            None for the default by stage and scores (see :func:`review_weeks_for`).
    """
    kb = _current(knowledge)
    role = _role(slots, kb)
    nation = slots.get("nation") if slots.get("nation") in NATIONS else None
    extra_scores = slots.get("area_scores") if isinstance(slots.get("area_scores"), Mapping) else {}
    picked = set(_ids(slots.get("concern_areas")))
    top = _ids(slots.get("top_concerns"))
    areas = _areas(kb, role)
    known = {a["id"] for a in areas}
    top = [t for t in top if t in known][:MAX_TOP]

    scored: list[tuple[int, int, PlanItem]] = []
    unrated: list[PlanItem] = []
    tops: dict[str, PlanItem] = {}
    not_now: list[str] = []
    for order, area in enumerate(areas):
        value = _score(slots.get(area["slot"])) if area["slot"] else None
        if value is None:
            value = _score(extra_scores.get(area["id"]))
        is_top = area["id"] in top
        score = value if isinstance(value, int) else None
        if not is_top:
            if value == assessment.SKIPPED:
                continue
            if value == 0:
                not_now.append(area["name"])
                continue
            if value is None and not (area["extra"] and area["id"] in picked):
                continue  # never asked about
        item = _step(area["id"], area["name"], score, is_top, area["steps"], area["clinical"], kb, nation)
        if is_top:
            tops[area["id"]] = item
        elif score is not None:
            scored.append((-score, order, item))
        else:
            unrated.append(item)
    items = [tops[t] for t in top] + [item for _, _, item in sorted(scored, key=lambda x: x[:2])] + unrated

    stage = slots.get("journey_stage") if isinstance(slots.get("journey_stage"), str) else None
    prompt = None
    if stage:
        try:
            prompt = journey.prompts_for(stage, role, nation, kb)
        except ValueError:  # an unknown stage, or one that is not for this role
            stage = None
    weeks = review_weeks_for(slots, kb, review_weeks)
    if role == "young_carer":
        helpline = _service_contact(kb, YOUNG_HELPLINE_SERVICE) or _helpline_contact(kb, YOUNG_CRISIS_HELPLINE)
        crisis = _helpline_contact(kb, YOUNG_CRISIS_HELPLINE)
    else:
        helpline = _helpline_contact(kb, kb.assessment.get("offer_person_helpline", "macmillan_support_line"))
        crisis = _helpline_contact(kb, CRISIS_HELPLINE)
    code = slots.get("plan_code")
    return Plan(
        created=today,
        review_on=today + timedelta(weeks=weeks),
        role=role,
        nation=nation,
        stage=stage,
        what_matters=_own_words(slots.get("what_matters")),
        what_helps=_own_words(slots.get("what_helps")),
        items=tuple(items),
        helpline=helpline,
        crisis_line=crisis,
        not_now=tuple(not_now),
        stage_label=prompt.label if prompt else None,
        stage_text=prompt.text if prompt else None,
        stage_signposts=tuple(Contact(s.title, s.phone, None, s.url) for s in prompt.signposts
                              if s.kind == "service") if prompt else (),
        stage_topics=tuple(s.title for s in prompt.signposts if s.kind != "service") if prompt else (),
        questions_for_team=prompt.questions_for_team if prompt else (),
        short_code=code.strip() if isinstance(code, str) and code.strip() else None,
    )


# --------------------------------------------------------------------------- wording
def say(kb: Knowledge, key: str, young: bool = False, **values: Any) -> str:
    """A plan_* message from wording.yml; the ``<key>_young`` version for young carers where there is one."""
    if young and f"{key}_young" in kb.wording:
        key = f"{key}_young"
    return kb.say(key, **values)


def when(day: date) -> str:
    """'21 December 2026'."""
    return f"{day.day} {day:%B %Y}"


def item_heading(kb: Knowledge, position: int, item: PlanItem, young: bool = False) -> str:
    """'1. Money (9 out of 10)' or '4. Your home' when not rated."""
    if item.score is None:
        return say(kb, "plan_item", young, position=position, label=item.area_name)
    return say(kb, "plan_item_scored", young, position=position, label=item.area_name, score=item.score)


def contact_line(item: PlanItem) -> Optional[str]:
    """The service's name and contact, unless the step already gives that number."""
    if not item.service_name or not item.service_contact:
        return None
    number = item.service_contact.split(" (")[0]
    if number and number in item.next_step:
        return None
    return f"{item.service_name}: {item.service_contact}"


def sections(plan: Plan, knowledge: Optional[Knowledge] = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The plan as (heading, [(style, text)]) sections, in reading order, shared by the text and the PDF.

    Styles: "p" a paragraph, "quote" the person's own words, "item" a concern's heading, "step" its
    next step, "more_label" and "more" its other steps, "bullet" a list entry.
    """
    kb = _current(knowledge)
    y = plan.young
    s = lambda key, **v: say(kb, key, y, **v)  # noqa: E731
    out: list[tuple[str, list[tuple[str, str]]]] = []
    out.append(("", [("p", s("plan_made", date=when(plan.created))), ("p", s("plan_intro"))]))
    if plan.what_matters:
        out.append((s("plan_what_matters"), [("quote", f"\u201c{plan.what_matters}\u201d")]))

    def item_lines(start: int, items: Sequence[PlanItem]) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        for position, item in enumerate(items, start=start):
            lines.append(("item", item_heading(kb, position, item, y)))
            lines.append(("step", s("plan_next_step", step=item.next_step)))
            extra = contact_line(item)
            if extra:
                lines.append(("step", s("plan_contact", contact=extra)))
            if item.more_steps:
                lines.append(("more_label", s("plan_more_steps")))
                lines += [("more", step) for step in item.more_steps]
        return lines

    top, rest = plan.top, tuple(i for i in plan.items if not i.is_top)
    if top:
        out.append((s("plan_concerns_top"), item_lines(1, top)))
        if rest:
            out.append((s("plan_concerns_other"), item_lines(len(top) + 1, rest)))
    elif rest:
        out.append((s("plan_concerns"), item_lines(1, rest)))
    if not plan.items:
        out.append((s("plan_concerns"), [("p", s("plan_nothing"))]))
    if plan.not_now:
        out[-1][1].append(("p", s("plan_not_now", list=", ".join(plan.not_now))))
    if plan.what_helps:
        out.append((s("plan_what_helps"), [("quote", f"\u201c{plan.what_helps}\u201d"),
                                           ("p", s("plan_what_helps_note"))]))
    if plan.stage_label:
        lines: list[tuple[str, str]] = [("p", plan.stage_text or "")] if plan.stage_text else []
        if plan.stage_signposts:
            lines.append(("p", s("plan_stage_services")))
            lines += [("bullet", c.line()) for c in plan.stage_signposts]
        if plan.stage_topics:
            lines.append(("p", s("plan_stage_topics", list=", ".join(plan.stage_topics))))
        if plan.questions_for_team:
            lines.append(("p", s("plan_questions")))
            lines += [("bullet", q) for q in plan.questions_for_team]
        out.append((s("plan_stage", label=plan.stage_label), lines))
    review = [("p", s("plan_review", date=when(plan.review_on)))]
    if plan.short_code:
        review.append(("p", s("plan_code", code=plan.short_code)))
    out.append((s("plan_review_heading"), review))
    out.append((s("plan_talk"), [("bullet", plan.helpline.line())]))
    out.append((s("plan_urgent"), [("bullet", plan.crisis_line.line())]))
    return out


def footer(plan: Plan, knowledge: Optional[Knowledge] = None) -> str:
    """'Signpost gives information and signposting, not medical advice...' with the crisis line."""
    kb = _current(knowledge)
    return say(kb, "plan_footer", plan.young, crisis=plan.crisis_line.line(), crisis_name=plan.crisis_line.name,
               crisis_phone=plan.crisis_line.phone or plan.crisis_line.url or "")


# --------------------------------------------------------------------------- as text
def as_text(plan: Plan, knowledge: Optional[Knowledge] = None) -> str:
    """The whole plan as plain text (what the person downloads, and what the helpline reads)."""
    kb = _current(knowledge)
    title = say(kb, "plan_title", plan.young)
    parts = [title + "\n" + "=" * len(title)]
    indent = {"p": "", "quote": "", "item": "", "step": "   ", "more_label": "   ", "more": "   - ", "bullet": "- "}
    for heading, lines in sections(plan, kb):
        body = "\n".join(indent[style] + text for style, text in lines)
        parts.append((heading + "\n" + "-" * len(heading) + "\n" + body) if heading else body)
    parts.append(footer(plan, kb))
    return "\n\n".join(parts).rstrip() + "\n"


def _plain(text: str) -> str:
    """Straight quotes and dashes, so an SMS stays in the GSM-7 alphabet (160 characters a segment)."""
    return " ".join(text.translate(_ASCII).split())


def _cut(text: str, room: int) -> str:
    """The text in at most `room` characters: whole sentences if they fit, else whole words and '...'."""
    if len(text) <= room:
        return text
    kept = ""
    for sentence in _SENTENCE.split(text):
        if len(kept) + len(sentence) + (1 if kept else 0) > room:
            break
        kept = f"{kept} {sentence}" if kept else sentence
    if kept:
        return kept
    if room < 4:
        return ""
    cut = text[:room - 3].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "..." if cut else ""


def as_short_text(plan: Plan, knowledge: Optional[Knowledge] = None, limit: int = SHORT_LIMIT) -> str:
    """The SMS and Telegram summary: top concerns with one next step each, the review date and the helpline.

    Fits in `limit` characters (459 = 3 GSM-7 SMS segments). The person's own words go in only if
    there is room and they fit the SMS alphabet; each next step is shortened (whole sentences, then
    whole words, never below MIN_STEP characters); then the plan code, the title, and the lowest
    concern are dropped, in turn, until it fits; the review date goes last. The helpline line is
    never cut (if it alone is longer than `limit`, it is all that is sent). Curly quotes and dashes
    become straight ones, so a text without their own words stays in the GSM-7 alphabet.
    """
    kb = _current(knowledge)
    y = plan.young
    s = lambda key, **v: _plain(say(kb, key, y, **v))  # noqa: E731
    from signposting.sms import is_gsm7

    helpline = s("plan_short_helpline", name=plan.helpline.name, phone=plan.helpline.phone or plan.helpline.url or "",
                 crisis_name=plan.crisis_line.name, crisis_phone=plan.crisis_line.phone or plan.crisis_line.url or "")
    title = s("plan_short_title", date=when(plan.created))
    review = s("plan_short_review", date=when(plan.review_on))
    code = s("plan_short_code", code=plan.short_code) if plan.short_code else None
    chosen = list(plan.top or plan.items[:MAX_TOP])

    def join(lines: Sequence[Optional[str]]) -> str:
        return "\n".join(line for line in lines if line)

    def compose(items: Sequence[PlanItem], head: Sequence[Optional[str]],
                tail: Sequence[Optional[str]]) -> Optional[str]:
        steps = [_plain(i.next_step) for i in items]
        # the longest cut of every step that fits: whole steps, else first sentences, else whole words
        for room in range(max([MIN_STEP, *(len(t) for t in steps)]), MIN_STEP - 1, -1):
            lines = [s("plan_short_item", position=n, label=i.area_name, step=_cut(text, room))
                     for n, (i, text) in enumerate(zip(items, steps), 1)]
            text = join([*head, *lines, *tail])
            if len(text) <= limit:
                return text
        return join([*head, *tail]) if not items and len(join([*head, *tail])) <= limit else None

    # most concerns first; for each, the plan code and the title go before a concern does
    frames = (([title], [review, code, helpline]), ([title], [review, helpline]), ([], [review, helpline]))
    for count in range(len(chosen), -1, -1):
        for head, tail in (*frames, ([], [helpline])) if count == 0 else frames:
            body = compose(chosen[:count], head, tail)
            if body is not None:
                return _with_own_words(plan, body, s, head, limit, is_gsm7)
    return helpline  # never cut, even if it alone is longer than the limit


def _with_own_words(plan: Plan, body: str, s: Any, head: Sequence[Optional[str]], limit: int, is_gsm7: Any) -> str:
    """Add what matters to them after the title, if it fits the room left and the SMS alphabet."""
    if not plan.what_matters or not head:
        return body
    words = _plain(plan.what_matters)
    if not is_gsm7(words):
        return body
    frame = len(s("plan_short_matters", words="x")) - 1  # the words around theirs
    room = limit - len(body) - 1 - frame
    cut = _cut(words, room) if room > 0 else ""
    if len(cut) < min(len(words), MIN_STEP):
        return body
    first, _, rest = body.partition("\n")
    return f"{first}\n{s('plan_short_matters', words=cut)}\n{rest}"


# --------------------------------------------------------------------------- storing
def to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-safe data (dates as YYYY-MM-DD), to store and show a returning person."""
    def contact(c: Contact) -> dict[str, Any]:
        return {"name": c.name, "phone": c.phone, "hours": c.hours, "url": c.url}

    return {
        "version": 1,
        "created": plan.created.isoformat(), "review_on": plan.review_on.isoformat(),
        "role": plan.role, "nation": plan.nation, "stage": plan.stage,
        "what_matters": plan.what_matters, "what_helps": plan.what_helps,
        "items": [{"area_id": i.area_id, "area_name": i.area_name, "score": i.score, "is_top": i.is_top,
                   "next_step_kind": i.next_step_kind, "next_step": i.next_step, "service_name": i.service_name,
                   "service_contact": i.service_contact, "more_steps": list(i.more_steps)} for i in plan.items],
        "helpline": contact(plan.helpline), "crisis_line": contact(plan.crisis_line),
        "not_now": list(plan.not_now), "stage_label": plan.stage_label, "stage_text": plan.stage_text,
        "stage_signposts": [contact(c) for c in plan.stage_signposts], "stage_topics": list(plan.stage_topics),
        "questions_for_team": list(plan.questions_for_team), "short_code": plan.short_code,
    }


def from_dict(data: Mapping[str, Any]) -> Plan:
    """A plan stored with :func:`to_dict` (ValueError if it is not one)."""
    try:
        def contact(c: Mapping[str, Any]) -> Contact:
            return Contact(str(c["name"]), c.get("phone"), c.get("hours"), c.get("url"))

        items = []
        for i in data.get("items") or []:
            if i["next_step_kind"] not in KINDS:
                raise ValueError(f"unknown next step kind {i['next_step_kind']!r}")
            items.append(PlanItem(
                area_id=str(i["area_id"]), area_name=str(i["area_name"]),
                score=None if i.get("score") is None else int(i["score"]), is_top=bool(i.get("is_top")),
                next_step_kind=i["next_step_kind"], next_step=str(i["next_step"]),
                service_name=i.get("service_name"), service_contact=i.get("service_contact"),
                more_steps=tuple(i.get("more_steps") or ())))
        return Plan(
            created=date.fromisoformat(data["created"]), review_on=date.fromisoformat(data["review_on"]),
            role=data.get("role"), nation=data.get("nation"), stage=data.get("stage"),
            what_matters=data.get("what_matters"), what_helps=data.get("what_helps"), items=tuple(items),
            helpline=contact(data["helpline"]), crisis_line=contact(data["crisis_line"]),
            not_now=tuple(data.get("not_now") or ()), stage_label=data.get("stage_label"),
            stage_text=data.get("stage_text"),
            stage_signposts=tuple(contact(c) for c in data.get("stage_signposts") or ()),
            stage_topics=tuple(data.get("stage_topics") or ()),
            questions_for_team=tuple(data.get("questions_for_team") or ()), short_code=data.get("short_code"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a stored plan: {exc!r}") from exc


__all__ = ["Contact", "PlanItem", "Plan", "build_plan", "review_weeks_for", "as_text", "as_short_text", "to_dict",
           "from_dict", "sections", "footer", "say", "when"]
