"""Where someone is in the cancer journey, what many people need there, and the extra concern areas.

Pure functions over knowledge/journey.yml, concerns.yml and young_carers.yml (no Rasa). Needs
change along the way and some moments leave people without support (waiting for results, the
end of treatment, recurrence, the end of life, bereavement; for carers hospital discharge and
the caring role ending), so a stage gives a warm, permission-giving prompt and signposts that
fit it. Young carers (under 18) get their own words. Physical effects are always routed to the
person's clinical team: Signpost never advises on them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from signposting import social_care
from signposting.knowledge import NATIONS, Knowledge

ROLES = ("patient", "carer", "young_carer")
# A professional asks on someone's behalf, so sees what the person they support would see.
ROLE_ALIASES = {"professional": "patient"}


@dataclass(frozen=True)
class Signpost:
    """Somewhere to go next: a directory service, a topic answer, a social care answer or a concern area."""

    kind: str            # service | topic | social_care | concern
    id: str
    title: str
    phone: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class StagePrompt:
    """What Signpost says at a journey stage, for one role and nation."""

    stage: str
    role: str
    nation: str | None
    label: str
    text: str
    under_supported: bool
    signposts: tuple[Signpost, ...]
    questions_for_team: tuple[str, ...]


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class ConcernArea:
    """One extra concern area as a role sees it."""

    id: str
    label: str
    question: str
    options: tuple[Option, ...]
    next_steps: tuple[str, ...]
    clinical: bool       # True: never advise; every step routes to the clinical team
    signposts: tuple[Signpost, ...]


@dataclass(frozen=True)
class YoungCarerHelp:
    """What a young carer can ask for where they live, with who can help and the sources."""

    nation: str | None
    text: str
    help_now: str
    services: tuple[dict, ...]
    sources: tuple[social_care.Source, ...]


def _current(knowledge: Knowledge | None) -> Knowledge:
    if knowledge is not None:
        return knowledge
    from signposting import knowledge as kb

    return kb.current()


def _role(role: str | None) -> str:
    role = ROLE_ALIASES.get(role or "patient", role or "patient")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)} (or professional)")
    return role


def _nation(nation: str | None) -> str | None:
    if nation is not None and nation not in NATIONS:
        raise ValueError(f"unknown nation {nation!r}; use one of {', '.join(NATIONS)} or None")
    return nation


def _plain(text: str, knowledge: Knowledge) -> str:
    return social_care.fill(" ".join(text.split()), knowledge)


# --------------------------------------------------------------------------- journey stages
def _stage(knowledge: Knowledge, stage: str) -> dict:
    for item in knowledge.journey.get("stages", []):
        if item["id"] == stage:
            return item
    known = ", ".join(s["id"] for s in knowledge.journey.get("stages", []))
    raise ValueError(f"unknown journey stage {stage!r}; use one of {known}")


def stages(role: str | None = "patient", knowledge: Knowledge | None = None) -> list[tuple[str, str]]:
    """(stage id, label) for the stages a role can choose from, in journey order."""
    knowledge, role = _current(knowledge), _role(role)
    if role == "young_carer":
        offered = knowledge.young_carers.get("stages", {})
        return [(s["id"], s["label"]["carer"]) for s in knowledge.journey["stages"] if s["id"] in offered]
    return [(s["id"], s["label"][role]) for s in knowledge.journey["stages"] if role in s["roles"]]


def _signposts(items: list[dict], knowledge: Knowledge, role: str, nation: str | None) -> tuple[Signpost, ...]:
    """Resolve signposts for a role and nation: services must be active and cover the nation."""
    resolved: list[Signpost] = []
    for item in items:
        if item.get("roles") and role not in item["roles"]:
            continue
        if "service" in item:
            for service in social_care.services_for([item["service"]], knowledge, nation, role):
                resolved.append(Signpost("service", service["id"], service["name"], service.get("phone"),
                                         service.get("url")))
        elif "topic" in item:
            topic = knowledge.topics.get(item["topic"])
            if topic:
                resolved.append(Signpost("topic", item["topic"], topic.get("title") or item["topic"]))
        elif "social_care" in item:
            care = next((t for t in knowledge.social_care.get("topics", []) if t["id"] == item["social_care"]), None)
            if care:
                resolved.append(Signpost("social_care", care["id"], care["title"]))
        elif "concern" in item:
            area = next((a for a in knowledge.concerns.get("areas", []) if a["id"] == item["concern"]), None)
            if area and role in area["roles"]:
                resolved.append(Signpost("concern", area["id"], area["label"][role]))
    return tuple(resolved)


def prompts_for(stage: str, role: str | None = "patient", nation: str | None = None,
                knowledge: Knowledge | None = None) -> StagePrompt:
    """The prompt and signposts for a journey stage, in the words for this role.

    Raises ValueError for an unknown stage or role, or a stage that is not for this role
    (hospital discharge and the caring role ending are for carers).
    """
    knowledge, role, nation = _current(knowledge), _role(role), _nation(nation)
    item = _stage(knowledge, stage)
    if role == "young_carer":
        young = knowledge.young_carers.get("stages", {}).get(stage)
        if young is None:
            raise ValueError(f"journey stage {stage!r} has no young carer's version in young_carers.yml")
        # a young carer is pointed to young carers' services only, never to adult helplines or forms
        text, label = young["text"], item["label"]["carer"]
        ids = list(dict.fromkeys([*young.get("services", []), *_young_carer_service_ids(knowledge, nation)]))
        services = social_care.services_for(ids, knowledge, nation, role)
        signposts = tuple(Signpost("service", s["id"], s["name"], s.get("phone"), s.get("url")) for s in services)
        questions: tuple[str, ...] = ()
    else:
        if role not in item["roles"]:
            raise ValueError(f"journey stage {stage!r} is for {', '.join(item['roles'])}, not {role}")
        text, label = item["prompts"][role], item["label"][role]
        signposts = _signposts(item["signposts"], knowledge, role, nation)
        questions = tuple(item.get("questions_for_team") or ())
    return StagePrompt(stage=stage, role=role, nation=nation, label=label, text=_plain(text, knowledge),
                       under_supported=bool(item["under_supported"]), signposts=signposts,
                       questions_for_team=questions)


def find_stage(text: str, knowledge: Knowledge | None = None) -> str | None:
    """The journey stage a message describes, from the stages' synonyms (longest phrase wins)."""
    return social_care.best_synonym_match(text, _current(knowledge).journey.get("stages", []))


# --------------------------------------------------------------------------- concern areas
_AREAS: dict[tuple[int, str, str | None], tuple[Knowledge, tuple[ConcernArea, ...]]] = {}


def concern_areas(role: str | None = "patient", nation: str | None = None,
                  knowledge: Knowledge | None = None) -> list[ConcernArea]:
    """The extra concern areas offered to a role, in order, with the role's question and next steps.

    Worked out once per knowledge (it changes only when an editor's change is loaded), role and
    nation: the action server asks several times a turn during a check-in.
    """
    knowledge, role, nation = _current(knowledge), _role(role), _nation(nation)
    key = (id(knowledge), role, nation)
    kept = _AREAS.get(key)
    if kept is not None and kept[0] is knowledge:
        return list(kept[1])
    areas = _concern_areas(knowledge, role, nation)
    if len(_AREAS) > 64:  # older knowledge: drop it (the kept entries hold it alive)
        _AREAS.clear()
    _AREAS[key] = (knowledge, tuple(areas))
    return areas


def _concern_areas(knowledge: Knowledge, role: str, nation: str | None) -> list[ConcernArea]:
    areas = []
    for item in knowledge.concerns.get("areas", []):
        if role not in item["roles"]:
            continue
        areas.append(ConcernArea(
            id=item["id"], label=item["label"][role], question=_plain(item["question"][role], knowledge),
            options=tuple(Option(o["id"], o["label"]) for o in item["options"]),
            next_steps=tuple(_plain(step["text"], knowledge) for step in item["next_steps"][role]),
            clinical=bool(item["clinical"]), signposts=_signposts(item["signposts"], knowledge, role, nation)))
    return areas


def concern_area(area: str, role: str | None = "patient", nation: str | None = None,
                 knowledge: Knowledge | None = None) -> ConcernArea:
    """One concern area for a role (ValueError if it is not offered to that role)."""
    for item in concern_areas(role, nation, knowledge):
        if item.id == area:
            return item
    raise ValueError(f"concern area {area!r} is not offered to {_role(role)}")


def concern_prompt(key: str, role: str | None = "patient", knowledge: Knowledge | None = None, **values: str) -> str:
    """What Signpost says around the areas: pick_areas, rate ({area}), choose_top, what_helps."""
    knowledge, role = _current(knowledge), _role(role)
    texts = knowledge.concerns["prompts"][key]
    text = texts.get(role) or texts["patient"]
    return _plain(re.sub(r"\{([a-z_]+)\}", lambda m: str(values.get(m.group(1), m.group(0))), text), knowledge)


# --------------------------------------------------------------------------- young carers
def _young_carer_service_ids(knowledge: Knowledge, nation: str | None) -> list[str]:
    if nation is None:  # not known yet: only what every nation has
        ids = [set(block["services"]) for block in knowledge.young_carers["nations"].values()]
        common = set.intersection(*ids) if ids else set()
        return [s for s in knowledge.young_carers["nations"]["england"]["services"] if s in common]
    return list(knowledge.young_carers["nations"][nation]["services"])


def is_young_carer(age: int | None, knowledge: Knowledge | None = None) -> bool:
    """Under the young carers' age limit (18): the young carers' path, words and services."""
    return age is not None and 0 <= age < int(_current(knowledge).young_carers["under_age"])


def young_carer_message(key: str, knowledge: Knowledge | None = None) -> str:
    """intro, help_now, school, what_helps or too_much, in a young carer's words."""
    knowledge = _current(knowledge)
    return _plain(knowledge.young_carers["messages"][key]["text"], knowledge)


def young_carer_help(nation: str | None, knowledge: Knowledge | None = None) -> YoungCarerHelp:
    """What a young carer can ask for where they live, who can help, and Childline for right now."""
    knowledge, nation = _current(knowledge), _nation(nation)
    data = knowledge.young_carers
    help_now = data["messages"]["help_now"]
    if nation is None:
        text, items = data["messages"]["what_helps"]["text"], [data["messages"]["what_helps"], help_now]
    else:
        text, items = data["nations"][nation]["text"], [data["nations"][nation], help_now]
    services = social_care.services_for(_young_carer_service_ids(knowledge, nation), knowledge, nation,
                                        "young_carer")
    sources = tuple(dict.fromkeys(social_care.Source(i["source"], i["checked"], i["review_by"]) for i in items))
    return YoungCarerHelp(nation=nation, text=_plain(text, knowledge), help_now=_plain(help_now["text"], knowledge),
                          services=services, sources=sources)


# --------------------------------------------------------------------------- checks for editors
def _signpost_problems(items: Any, base: tuple, knowledge_refs: Mapping[str, Any]) -> list[tuple]:
    problems = []
    services, intents = knowledge_refs["services"], knowledge_refs["intents"]
    care_ids, concern_ids = knowledge_refs["social_care"], knowledge_refs["concerns"]
    for i, item in enumerate(items or []):
        if not isinstance(item, dict):
            continue
        where = base + (i,)
        if "service" in item:
            service = services.get(item["service"])
            if service is None:
                problems.append((where + ("service",), f"unknown service '{item['service']}'; use an id from "
                                                      "services/*.yml"))
            elif service.get("status") != "active":  # retired: kept, never shown; editors should replace it
                problems.append((where + ("service",), f"service '{item['service']}' is {service.get('status')} and "
                                                      "will not be shown; point to an active service", "warning"))
        if "topic" in item and intents and item["topic"] not in intents:
            problems.append((where + ("topic",), f"unknown topic '{item['topic']}'; use an intent from topics.yml"))
        if "social_care" in item and item["social_care"] not in care_ids:
            problems.append((where + ("social_care",), f"unknown social care topic '{item['social_care']}'; use an "
                                                      "id from social_care.yml"))
        if "concern" in item and item["concern"] not in concern_ids:
            problems.append((where + ("concern",), f"unknown concern area '{item['concern']}'; use an id from "
                                                  "concerns.yml"))
    return problems


def reference_problems(docs: Mapping[str, Any], services: Mapping[str, dict],
                       intents: set[str]) -> dict[str, list[tuple]]:
    """journey.yml, concerns.yml and young_carers.yml point at things that exist, and every role has words.

    `docs` maps file name to parsed content (None if it could not be read). Returns
    {file: [(path, message) or (path, message, "warning")]}; knowledge.check turns them into
    file:line: field: message.
    """
    journey, concerns, young = (docs.get(n) for n in ("journey.yml", "concerns.yml", "young_carers.yml"))
    care = docs.get("social_care.yml")
    refs = {
        "services": services, "intents": intents,
        "social_care": {t.get("id") for t in (care or {}).get("topics") or [] if isinstance(t, dict)},
        "concerns": {a.get("id") for a in (concerns or {}).get("areas") or [] if isinstance(a, dict)},
    }
    found: dict[str, list[tuple]] = {}
    stage_ids: list[str] = []
    if isinstance(journey, dict):
        problems = social_care.service_placeholder_problems(journey, services)
        seen: dict[str, int] = {}
        for index, stage in enumerate(journey.get("stages") or []):
            if not isinstance(stage, dict):
                continue
            stage_ids.append(str(stage.get("id")))
            if stage.get("id") in seen:
                problems.append((("stages", index, "id"), f"duplicate stage '{stage.get('id')}' (first at "
                                                         f"stages[{seen[stage['id']]}]); give each stage its own id"))
            seen.setdefault(stage.get("id"), index)
            for role in stage.get("roles") or []:
                if role not in (stage.get("prompts") or {}):
                    problems.append((("stages", index, "prompts"), f"stage '{stage.get('id')}' is for {role} but has "
                                                                  f"no {role} prompt; add prompts.{role}"))
            problems += _signpost_problems(stage.get("signposts"), ("stages", index, "signposts"), refs)
        found["journey.yml"] = problems
    if isinstance(concerns, dict):
        problems = social_care.service_placeholder_problems(concerns, services)
        for index, area in enumerate(concerns.get("areas") or []):
            if not isinstance(area, dict):
                continue
            for role in area.get("roles") or []:
                for key in ("label", "question", "next_steps"):
                    if role not in (area.get(key) or {}):
                        problems.append((("areas", index, key), f"area '{area.get('id')}' is offered to {role} but "
                                                               f"has no {key}.{role}; add it"))
            problems += _signpost_problems(area.get("signposts"), ("areas", index, "signposts"), refs)
        found["concerns.yml"] = problems
    if isinstance(young, dict):
        problems = social_care.service_placeholder_problems(young, services)
        for stage_id in stage_ids:
            if stage_id not in (young.get("stages") or {}):
                problems.append((("stages",), f"no young carer's version of journey stage '{stage_id}'; add "
                                              f"stages.{stage_id}"))
        for stage_id, message in (young.get("stages") or {}).items():
            if stage_ids and stage_id not in stage_ids:
                problems.append((("stages", stage_id), f"'{stage_id}' is not a stage in journey.yml; use one of "
                                                       f"{', '.join(stage_ids)}"))
            for i, service_id in enumerate((message or {}).get("services") or []):
                if service_id not in services:
                    problems.append((("stages", stage_id, "services", i),
                                     f"unknown service '{service_id}'; use an id from services/*.yml"))
        for nation, block in (young.get("nations") or {}).items():
            for i, service_id in enumerate((block or {}).get("services") or []):
                service = services.get(service_id)
                where = ("nations", nation, "services", i)
                if service is None:
                    problems.append((where, f"unknown service '{service_id}'; use an id from services/*.yml"))
                elif nation not in (service.get("nations") or []):
                    problems.append((where, f"service '{service_id}' does not cover {nation}; pick one that does"))
                elif service.get("status") != "active":
                    problems.append((where, f"service '{service_id}' is {service.get('status')} and will not be "
                                            "shown; point to an active service", "warning"))
        found["young_carers.yml"] = problems
    return found
