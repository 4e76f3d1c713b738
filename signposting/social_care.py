"""Social care explained per nation: what to ask for, who to ask, and the community help alongside.

Pure functions over knowledge/social_care.yml (no Rasa). People affected by cancer rarely know
that they may ask the council (the Health and Social Care Trust in Northern Ireland) for help,
or that asking is free; an answer here says what to ask for and who to ask, with its sources and
dates, and a statutory answer always comes with the voluntary and community options for the
person's nation, because an assessment is no guarantee of help and waits can be long.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

from signposting.knowledge import NATIONS, Knowledge, fill_placeholders

# {service_phone:childline}, {service_name:childline}, {service_url:childline}: facts from services/*.yml,
# so a number that is in the directory lives in one place only.
SERVICE_PLACEHOLDER = re.compile(r"\{service_(phone|name|url):([a-z0-9_]+)\}")
_WORD = re.compile(r"[a-z0-9']+")


class UnknownTopic(KeyError):
    """The topic id is not in social_care.yml; the message lists the ones that are."""

    def __str__(self) -> str:  # KeyError would print the repr of its argument
        return str(self.args[0])


@dataclass(frozen=True)
class Source:
    """Where a fact comes from and when it was checked (shown to advisers and in the plan)."""

    url: str
    checked: str
    review_by: str


@dataclass(frozen=True)
class CareAnswer:
    """One social care answer for one nation (or the default when the nation is not known)."""

    topic: str
    title: str
    nation: str | None
    text: str                      # the answer, placeholders filled
    community: str                 # the voluntary and community options ('' for a non-statutory topic)
    services: tuple[dict, ...]     # active directory services that go with it, for this nation
    categories: tuple[str, ...]    # categories for a directory search near the person
    sources: tuple[Source, ...]

    @property
    def full_text(self) -> str:
        """The answer and its community options, as one message."""
        return f"{self.text}\n\n{self.community}" if self.community else self.text


def fill(text: str, knowledge: Knowledge) -> str:
    """Fill helpline placeholders ({phone:id}...) and service placeholders ({service_phone:id}...)."""

    def service(match: re.Match) -> str:
        kind, item = match.group(1), knowledge.services[match.group(2)]
        return str(item.get(kind) or item["name"])

    return fill_placeholders(SERVICE_PLACEHOLDER.sub(service, text), knowledge.helplines)


def _current(knowledge: Knowledge | None) -> Knowledge:
    if knowledge is not None:
        return knowledge
    from signposting import knowledge as kb

    return kb.current()


def _check_nation(nation: str | None) -> None:
    if nation is not None and nation not in NATIONS:
        raise ValueError(f"unknown nation {nation!r}; use one of {', '.join(NATIONS)} or None")


def topic_ids(knowledge: Knowledge | None = None) -> tuple[str, ...]:
    """Social care topic ids in file order (what the dialogue can offer as buttons)."""
    return tuple(t["id"] for t in _current(knowledge).social_care.get("topics", []))


def _topic(knowledge: Knowledge, topic: str) -> dict:
    for item in knowledge.social_care.get("topics", []):
        if item["id"] == topic:
            return item
    raise UnknownTopic(f"no social care topic {topic!r}; known: {', '.join(topic_ids(knowledge))}")


def _source(item: Mapping[str, Any]) -> Iterator[Source]:
    yield Source(item["source"], item["checked"], item["review_by"])
    for url in item.get("more_sources") or ():
        yield Source(url, item["checked"], item["review_by"])


def services_for(ids: Iterable[str], knowledge: Knowledge, nation: str | None,
                 role: str | None = None) -> tuple[dict, ...]:
    """The named services that may be shown here: active, covering the nation, and for this role.

    Without a nation, only services for the whole UK are shown (anything else might be wrong for
    the person). Unknown ids are skipped: `knowledge check` reports them to editors.
    """
    shown = []
    for service_id in ids:
        service = knowledge.services.get(service_id)
        if not service or service.get("status") != "active":
            continue
        nations = service.get("nations") or []
        if (nation is None and len(nations) < len(NATIONS)) or (nation is not None and nation not in nations):
            continue
        who = service.get("who") or []
        if role in ("patient", "carer") and role not in who:
            continue
        if role == "young_carer" and "carer" not in who and "patient" not in who:
            continue
        shown.append(service)
    return tuple(shown)


def community_options(nation: str | None, knowledge: Knowledge | None = None) -> tuple[str, tuple[dict, ...],
                                                                                      tuple[str, ...]]:
    """The voluntary and community options for a nation: (text, services, categories)."""
    _check_nation(nation)
    knowledge = _current(knowledge)
    block = knowledge.social_care["community"][nation or "default"]
    return (fill(" ".join(block["text"].split()), knowledge), services_for(block["services"], knowledge, nation),
            tuple(block["categories"]))


def social_care_answer(topic: str, nation: str | None, knowledge: Knowledge | None = None) -> CareAnswer:
    """The answer to a social care topic for a nation (None: the short default that asks the nation).

    A statutory answer comes with the community options for the same nation, so that a person
    is never left with only a council route they may wait weeks for.
    """
    _check_nation(nation)
    knowledge = _current(knowledge)
    item = _topic(knowledge, topic)
    answer = item["answers"][nation or "default"]
    community, services, categories = ("", (), ())
    sources = list(_source(answer))
    if item["statutory"]:
        community, services, categories = community_options(nation, knowledge)
        sources += _source(knowledge.social_care["community"][nation or "default"])
    else:
        block = knowledge.social_care["community"][nation or "default"]
        services, categories = services_for(block["services"], knowledge, nation), tuple(block["categories"])
    return CareAnswer(topic=topic, title=item["title"], nation=nation, text=fill(" ".join(answer["text"].split()),
                                                                                knowledge),
                      community=community, services=services, categories=categories,
                      sources=tuple(dict.fromkeys(sources)))


def nation_facts(nation: str, knowledge: Knowledge | None = None) -> dict:
    """Who to ask, the law and the ombudsman in a nation (for summaries and plans)."""
    _check_nation(nation)
    return dict(_current(knowledge).social_care["nations"][nation])


def best_synonym_match(text: str, items: Iterable[Mapping[str, Any]]) -> str | None:
    """The id of the item whose synonym phrase occurs in the text as whole words (longest phrase wins).

    Deterministic and explainable: the same words always give the same answer.
    """
    clean = " ".join(_WORD.findall(text.lower().replace("\u2019", "'")))
    best: tuple[int, str] | None = None
    for item in items:
        for phrase in item.get("synonyms", []):
            words = " ".join(_WORD.findall(phrase.lower()))
            if words and re.search(rf"(?<![a-z0-9']){re.escape(words)}(?![a-z0-9'])", clean):
                if best is None or len(words) > best[0]:
                    best = (len(words), item["id"])
    return best[1] if best else None


def find_topic(text: str, knowledge: Knowledge | None = None) -> str | None:
    """The social care topic a message is about, from the topics' synonyms (longest phrase wins)."""
    return best_synonym_match(text, _current(knowledge).social_care.get("topics", []))


# --------------------------------------------------------------------------- checks for editors
def text_items(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every string in a document with its path (for placeholder checks)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from text_items(value, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from text_items(value, path + (index,))
    elif isinstance(data, str):
        yield path, data


def service_placeholder_problems(data: Any, services: Mapping[str, dict]) -> list[tuple]:
    """{service_phone:id} and friends must name a service that exists and has that field."""
    problems = []
    for path, text in text_items(data):
        for kind, ref in SERVICE_PLACEHOLDER.findall(text):
            if ref not in services:
                problems.append((path, f"placeholder names unknown service '{ref}'; use an id from services/*.yml"))
            elif kind != "name" and not services[ref].get(kind):
                problems.append((path, f"service '{ref}' has no {kind}; use a service that has one"))
    return problems


def reference_problems(data: Any, services: Mapping[str, dict], category_ids: set[str]) -> list[tuple]:
    """social_care.yml: community services exist, are active and cover the nation; categories exist.

    Returns (path, message) or (path, message, "warning") tuples; knowledge.check turns them into
    file:line: field: message. A retired service is a warning: the bot already skips it.
    """
    if not isinstance(data, dict):
        return []
    problems = service_placeholder_problems(data, services)
    for nation, block in (data.get("community") or {}).items():
        if not isinstance(block, dict):
            continue
        for i, service_id in enumerate(block.get("services") or []):
            where = ("community", nation, "services", i)
            service = services.get(service_id)
            if service is None:
                problems.append((where, f"unknown service '{service_id}'; use an id from services/*.yml"))
            elif service.get("status") != "active":  # retired: kept, never shown; editors should replace it
                problems.append((where, f"service '{service_id}' is {service.get('status')} and will not be shown; "
                                        "point to an active service", "warning"))
            elif nation != "default" and nation not in (service.get("nations") or []):
                problems.append((where, f"service '{service_id}' does not cover {nation}; pick one that does"))
            elif nation == "default" and len(service.get("nations") or []) < len(NATIONS):
                problems.append((where, f"service '{service_id}' does not cover the whole UK; the default may "
                                        "only name UK-wide services"))
        for i, category in enumerate(block.get("categories") or []):
            if category_ids and category not in category_ids:
                problems.append((("community", nation, "categories", i),
                                 f"unknown category '{category}'; use an id from categories.yml"))
    return problems
