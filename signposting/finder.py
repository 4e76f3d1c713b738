"""What to look up in the directory for a question, and for whom (no Rasa, no database details)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from signposting import directory as d
from signposting.knowledge import Knowledge

PAGE_SIZE = 3
_NEAR = re.compile(r"\b(near|nearby|local|locally|around here|in my area|close to)\b", re.IGNORECASE)


def categories_for(knowledge: Knowledge, intent: str | None) -> tuple[str, ...]:
    """The categories whose services answer this question intent (categories.yml `intents`)."""
    if not intent:
        return ()
    return tuple(cid for cid, category in knowledge.categories.items() if intent in category.get("intents", []))


def categories_for_domain(knowledge: Knowledge, domain: str) -> tuple[str, ...]:
    """The categories that help with a self-assessment domain (categories.yml `domains`)."""
    return tuple(cid for cid, category in knowledge.categories.items() if domain in category.get("domains", []))


@dataclass(frozen=True)
class Ask:
    """A search the person asked for, kept in a slot so that 'show me more' can page through it."""

    intent: str | None = None
    text: str | None = None
    offset: int = 0

    def as_slot(self) -> dict:
        return {"intent": self.intent, "text": self.text, "offset": self.offset}

    @classmethod
    def from_slot(cls, value: object) -> "Ask | None":
        if not isinstance(value, dict):
            return None
        offset = value.get("offset")
        return cls(value.get("intent"), value.get("text"), offset if isinstance(offset, int) and offset >= 0 else 0)


def query_for(knowledge: Knowledge, ask: Ask, *, role: str | None, nation: str | None, area: str | None,
              limit: int = PAGE_SIZE) -> d.Query:
    """A directory query: the intent's categories, and the person's own words when they name a need."""
    who = "carer" if role == "young_carer" else role if role in ("patient", "carer") else None
    words = _NEAR.sub(" ", ask.text or "").strip() or None
    return d.Query(categories=categories_for(knowledge, ask.intent), text=words, who=who, nation=nation,
                   area=area, under_18=role == "young_carer", limit=limit, offset=ask.offset)


def search(directory: d.Directory, knowledge: Knowledge, ask: Ask, *, role: str | None, nation: str | None,
           area: str | None, now: datetime | None = None) -> d.Result:
    """Search; when the words name a need, search by those words alone (more specific than the intent)."""
    query = query_for(knowledge, ask, role=role, nation=nation, area=area)
    if query.text:
        worded = directory.search(replace(query, categories=()), knowledge.categories, now)
        if worded.matches:
            return worded
    return directory.search(replace(query, text=None), knowledge.categories, now)
