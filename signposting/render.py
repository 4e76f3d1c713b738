"""Turn knowledge into the words and buttons the bot sends.

A reply is a list of :class:`Message` (text plus optional buttons), independent of the channel;
channels decide how to show buttons (web buttons, numbered SMS options, Telegram keyboards).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from signposting import hours
from signposting.assessment import Summary, next_steps
from signposting.knowledge import NATION_NAMES, NATIONS, Knowledge, fill_placeholders


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Message:
    text: str
    buttons: list[Button] = field(default_factory=list)


def intent_payload(intent: str, **entities: Any) -> str:
    """'/intent' or '/intent{"entity":"value"}': a button that bypasses language understanding."""
    return f"/{intent}" + (json.dumps(entities, separators=(",", ":")) if entities else "")


def fill(text: str, knowledge: Knowledge) -> str:
    """Replace {phone:id}, {name:id}, {hours:id}, {text:id}, {url:id} with helpline facts."""
    return fill_placeholders(text, knowledge.helplines)


def helpline_line(helpline: Mapping[str, Any], now: datetime | None = None, nation: str | None = None) -> str:
    """'Macmillan Support Line: 0808 808 00 00 (8am to 8pm, 7 days a week; open now until 8pm)'."""
    now = now or datetime.now(hours.UK)
    contact = " or ".join(x for x in (helpline.get("phone"), helpline.get("text")) if x) or helpline.get("url", "")
    if helpline.get("open_24_7"):
        return f"{helpline['name']}: {contact} (24 hours, every day)"
    if not helpline.get("hours"):
        return f"{helpline['name']}: {contact}"
    state = hours.open_state(helpline, now, nation)
    return f"{helpline['name']}: {contact} ({hours.describe_hours(helpline)}; {state.describe(now)})"


def _serves(helpline: Mapping[str, Any], nation: str | None) -> bool:
    """A helpline is shown to someone in a nation it covers; to everyone if the nation is unknown."""
    return nation not in NATIONS or nation in helpline.get("nations", NATIONS)


def nation_buttons() -> list[Button]:
    return [Button(NATION_NAMES[n], intent_payload("inform", nation=n)) for n in NATIONS]


def topic_answer(
    knowledge: Knowledge, intent: str, nation: str | None = None, now: datetime | None = None,
    ask_nation: bool = True,
) -> list[Message]:
    """The answer to a question intent, in the nation's version when it differs.

    While the nation is unknown, a nation-specific answer gives the general version (which ends by
    asking where the person lives) with a button per nation, unless ``ask_nation`` is false (in the
    middle of the check-in, where the next answer belongs to the check-in's question).
    """
    topic = knowledge.topic(intent)
    if topic is None:
        return []
    answer = topic["answer"]
    text = answer.get(nation) if nation in NATIONS else None
    messages = [Message(fill(text or answer["default"], knowledge))]
    lines = [helpline_line(knowledge.helplines[h], now, nation)
             for h in topic.get("helplines", []) if _serves(knowledge.helplines[h], nation)]
    if lines:
        messages.append(Message("\n".join(lines)))
    if topic.get("nation_specific") and nation not in NATIONS and ask_nation:
        messages[-1] = Message(messages[-1].text, nation_buttons())
    return messages


def offer_person(knowledge: Knowledge, now: datetime | None = None, nation: str | None = None) -> Message:
    """A person to talk to, with the hours and whether they are open now."""
    now = now or datetime.now(hours.UK)
    helpline = knowledge.helplines[knowledge.assessment["offer_person_helpline"]]
    text = knowledge.say("person_offer", list=helpline_line(helpline, now, nation))
    if not hours.open_state(helpline, now, nation).open_now:
        text += " " + knowledge.say("person_closed")
    return Message(text)


def summary_messages(summary: Summary, knowledge: Knowledge, now: datetime | None = None,
                     nation: str | None = None) -> list[Message]:
    """The check-in summary: ranked concerns with next steps, then what to do next."""
    say = knowledge.say
    intro = say("summary_intro")
    if summary.what_matters:
        intro += "\n" + say("summary_what_matters", words=summary.what_matters.strip())
    messages = [Message(intro)]
    position = 0
    for concern in summary.ranked:
        if not concern.score:
            continue
        position += 1
        steps = "\n".join(f"- {fill(step['text'], knowledge)}" for step in next_steps(concern.domain, summary.role))
        heading = say("summary_concern", position=position, label=concern.domain["label"], score=concern.score)
        messages.append(Message(f"{heading}\n{steps}"))
    tail = []
    calm = [c.domain["label"] for c in summary.ranked if not c.score]
    if calm:
        tail.append(say("summary_calm", list=", ".join(calm)))
    if summary.skipped:
        tail.append(say("summary_skipped", list=", ".join(d["label"] for d in summary.skipped)))
    if tail:
        messages.append(Message(" ".join(tail)))
    if summary.offer_person:
        messages.append(offer_person(knowledge, now, nation))
    buttons = []
    if summary.top is not None:
        label = summary.top.domain["label"]
        buttons.append(Button(say("summary_top_button", label=label.lower()), intent_payload(summary.top.domain["topic_intent"])))
        question = say("summary_top_question", label=label.lower())
    else:
        question = say("summary_nothing")
    buttons.append(Button(say("talk_to_person"), intent_payload("request_human")))
    buttons.append(Button(say("start_again_button"), intent_payload("start_again")))
    messages.append(Message(question, buttons))
    return messages


def menu(knowledge: Knowledge, text: str) -> Message:
    """What Signpost can help with, as buttons."""
    buttons = [Button(knowledge.say("menu_checkin"), intent_payload("start_assessment"))]
    for intent in ("ask_financial_support", "ask_benefits_check", "ask_emotional_support", "ask_carer_support",
                   "ask_work_support", "ask_practical_support"):
        topic = knowledge.topic(intent)
        if topic:
            buttons.append(Button(topic["title"], intent_payload(intent)))
    buttons.append(Button(knowledge.say("talk_to_person"), intent_payload("request_human")))
    return Message(text, buttons)


def service_line(match: Any, now: datetime | None = None, nation: str | None = None) -> str:
    """One service: name, how to reach it, when it's open, and why it was chosen."""
    now = now or datetime.now(hours.UK)
    service = match.service
    contact = " or ".join(x for x in (service.get("phone"), _text_contact(service.get("text"))) if x)
    contact = contact or service.get("url") or service.get("email", "")
    if service.get("open_24_7"):
        when = "open 24 hours, every day"
    elif service.get("hours"):
        when = f"{hours.describe_hours(service)}; {match.open_state.describe(now)}"
    else:
        when = service.get("hours_note") or ""
    line = f"{service['name']}: {contact}" + (f" ({when})" if when else "")
    if service.get("phone") and service.get("url"):
        line += f"\n{service['url']}"
    return line + "\nWhy: " + "; ".join(match.reasons) + "."


def _text_contact(text: Any) -> str | None:
    return f"text {text}" if text else None


def services_message(result: Any, knowledge: Knowledge, now: datetime | None = None) -> list[Message]:
    """Up to a page of services, each with phone, hours and why, and a button for more."""
    if not result.matches:
        return []
    intro = knowledge.say("services_intro") if result.query.offset == 0 else knowledge.say("services_more_intro")
    lines = [f"{index}. {service_line(m, now, result.query.nation)}"
             for index, m in enumerate(result.matches, start=result.query.offset + 1)]
    buttons = [Button(knowledge.say("services_more_button"), intent_payload("more_services"))] if result.more else []
    return [Message(intro + "\n\n" + "\n\n".join(lines), buttons)]


CHANNELS = ("web", "sms", "telegram")


def service_preview(service: Mapping[str, Any], nation: str | None = None, now: datetime | None = None) -> Message:
    """A service as it appears in a list, for editors' previews."""
    from signposting.directory import Match

    now = now or datetime.now(hours.UK)
    reasons = ("covers " + ", ".join(NATION_NAMES[n] for n in service.get("nations", [])),)
    match = Match(dict(service), bool(service.get("areas")), hours.open_state(service, now, nation), reasons)
    return Message(service_line(match, now, nation))


def as_channel_text(messages: list[Message], channel: str) -> str:
    """How the messages read on a channel, through that channel's own renderer (what its connector sends)."""
    replies = [{"text": m.text, "buttons": [b.as_dict() for b in m.buttons]} for m in messages]
    if channel == "sms":
        from signposting import sms

        bodies, _, rest = sms.render_sms(replies)
        parts = [f"{body}\n({len(body)} characters, {sms.segments_needed(body)} SMS part"
                 f"{'s' if sms.segments_needed(body) > 1 else ''})" for body in bodies]
        if rest:
            parts.append(f"(then, on MORE: {len(rest)} more characters)")
        return "\n---\n".join(parts)
    if channel == "telegram":
        from signposting.telegram_render import PayloadStore, render_telegram

        return "\n---\n".join(
            part["text"] + "".join(f"\n[ {row[0]['text']} ]" for row in part.get("reply_markup", {}).get(
                "inline_keyboard", [])) for part in render_telegram(replies, PayloadStore()))
    return "\n\n".join(m.text + ("\n" + "  ".join(f"[{b.title}]" for b in m.buttons) if m.buttons else "")
                       for m in messages)


# --------------------------------------------------------------------------- the benefits check
FIELD_WORDS = {  # how an unknown engine field is named to the person
    "nation": "where you live", "role": "who is ill", "age": "age", "terminal_illness": "whether the illness is terminal",
    "care_hours_per_week": "hours of caring", "cared_for_benefits": "the benefits of the person you look after",
    "weekly_net_earnings": "earnings", "in_full_time_education": "whether you're in full-time education",
    "employment": "work", "household_size": "household size", "savings": "savings",
    "weekly_income_after_housing": "income after housing costs",
}


def _money(amount: float) -> str:
    return f"{amount:,.2f}".replace(".00", "")


def benefit_question(knowledge: Knowledge, slot: str, figures: Mapping[str, float], role: str | None = None) -> Message:
    """One question of the benefits check, with its choices (figures from the rates file) and 'don't know'."""
    say = knowledge.say
    dont_know = Button(say("dont_know"), intent_payload("inform", choice="unknown"))
    pension, hours, limit = int(figures["pension_age"]), _money(figures["care_hours"]), _money(figures["earnings_limit"])
    choices = {
        "nation": [Button(NATION_NAMES[n], intent_payload("inform", nation=n)) for n in NATIONS],
        "role": [Button(say("role_patient"), intent_payload("inform", role="patient")),
                 Button(say("role_carer"), intent_payload("inform", role="carer"))],
        "b_age": [Button(say("benefits_b_age_under", age=16), intent_payload("inform", choice="15")),
                  Button(say("benefits_b_age_middle", low=16, high=pension - 1), intent_payload("inform", choice="40")),
                  Button(say("benefits_b_age_over", age=pension), intent_payload("inform", choice=str(pension + 5)))],
        "b_terminal": [Button(say("benefits_yes"), intent_payload("inform", choice="yes")),
                       Button(say("benefits_no"), intent_payload("inform", choice="no"))],
        "b_care_hours": [Button(say("benefits_b_hours_under", hours=hours), intent_payload("inform", choice="20")),
                         Button(say("benefits_b_hours_over", hours=hours),
                                intent_payload("inform", choice=str(figures["care_hours"])))],
        "b_cared_for": [Button(title, intent_payload("inform", choice=key)) for key, title in (
            ("attendance_allowance", "Attendance Allowance"), ("pip_daily_living", "PIP (daily living)"),
            ("adp_daily_living", "Adult Disability Payment (daily living)"),
            ("dla_care", "DLA care (middle or highest rate)"), ("none", say("benefits_b_none")))],
        "b_earnings": [Button(say("benefits_b_earnings_none"), intent_payload("inform", choice="0")),
                       Button(say("benefits_b_earnings_under", limit=limit),
                              intent_payload("inform", choice=str(figures["earnings_limit"]))),
                       Button(say("benefits_b_earnings_over", limit=limit),
                              intent_payload("inform", choice=str(figures["earnings_limit"] + 50)))],
        "b_employment": [Button(say("benefits_b_employed"), intent_payload("inform", choice="employed")),
                         Button(say("benefits_b_self_employed"), intent_payload("inform", choice="self_employed")),
                         Button(say("benefits_b_not_working"), intent_payload("inform", choice="not_working"))],
    }
    return Message(say(f"benefits_q_{slot}"), [*choices[slot], dont_know])  # age is always the person's own


def _outcome_line(outcome: Any) -> str:
    amount = ""
    if outcome.weekly_amount:
        low, high = outcome.weekly_amount
        amount = f": £{_money(low)} a week" if low == high else f": £{_money(low)} to £{_money(high)} a week"
    lines = [f"• {outcome.name}{amount}", *("  " + reason for reason in outcome.reasons)]
    if outcome.result != "unlikely":
        lines.append(f"  How to claim: {outcome.how_to_claim}")
    lines.append(f"  Source ({outcome.tax_year}): {outcome.source}")
    return "\n".join(lines)


def benefits_messages(outcomes: list[Any], knowledge: Knowledge) -> list[Message]:
    """The guide: likely, then possibly (with what it depends on), then unlikely; a benefits adviser last."""
    tax_year = outcomes[0].tax_year if outcomes else ""
    messages = [Message(knowledge.say("benefits_guide", tax_year=tax_year))]
    for result, heading in (("likely", "benefits_likely"), ("possibly", "benefits_possibly"),
                            ("unlikely", "benefits_unlikely")):
        group = [o for o in outcomes if o.result == result]
        if not group:
            continue
        parts = []
        for outcome in group:
            text = _outcome_line(outcome)
            if result == "possibly" and outcome.unknown:
                what = ", ".join(FIELD_WORDS.get(f, f.replace("_", " ")) for f in outcome.unknown)
                text += "\n  " + knowledge.say("benefits_depends_on", what=what)
            parts.append(text)
        messages.append(Message(knowledge.say(heading) + "\n" + "\n\n".join(parts)))
    messages.append(Message(fill(knowledge.say("benefits_adviser"), knowledge)))
    return messages
