"""Where someone lives: UK postcodes and nation names, to the nation that decides the rules."""
from __future__ import annotations

import re
from dataclasses import dataclass

from signposting.knowledge import NATIONS, Knowledge

# A full postcode ("CF10 1AA") or an outward code alone ("CF10", "G12", "BT7").
POSTCODE = re.compile(
    r"\b(?P<area>[A-Z]{1,2})(?P<district>[0-9][A-Z0-9]?)(?:\s*(?P<inward>[0-9][A-Z]{2}))?\b",
    re.IGNORECASE,
)
NATION_WORDS = {
    "england": "england", "english": "england",
    "scotland": "scotland", "scottish": "scotland", "alba": "scotland",
    "wales": "wales", "welsh": "wales", "cymru": "wales",
    "northern ireland": "northern_ireland", "northern_ireland": "northern_ireland", "ni": "northern_ireland",
    "norn iron": "northern_ireland", "n ireland": "northern_ireland", "n. ireland": "northern_ireland",
}


@dataclass(frozen=True)
class Place:
    outward: str                  # "CF10"
    area: str                     # "CF"
    nation: str | None            # None for an unknown area
    region: str | None = None
    cross_border: bool = False    # the area straddles a border: confirm the nation with the person


def nation_from_text(text: str) -> str | None:
    """'I live in Wales' -> 'wales'."""
    clean = re.sub(r"\s+", " ", text.lower()).strip()
    for phrase in sorted(NATION_WORDS, key=len, reverse=True):
        if re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", clean):
            return NATION_WORDS[phrase]
    return None


def normalise_nation(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower().replace("-", " ")
    if value.replace(" ", "_") in NATIONS:
        return value.replace(" ", "_")
    return nation_from_text(value)


def find_postcode(text: str, knowledge: Knowledge) -> Place | None:
    """The first UK postcode or outward code in the text whose area letters are known."""
    for match in POSTCODE.finditer(text):
        area = match.group("area").upper()
        info = knowledge.postcode_areas.get(area)
        if info is None:
            continue
        outward = (area + match.group("district")).upper()
        return Place(outward, area, info.get("nation"), info.get("region"), bool(info.get("cross_border")))
    return None
