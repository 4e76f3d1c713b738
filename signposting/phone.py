"""UK phone numbers typed by a person (for a callback): read, check and write them one way."""
from __future__ import annotations

import re

_ALLOWED = re.compile(r"^[\d\s()+.-]+$")


def parse_uk_phone(text: str) -> str | None:
    """A UK number as 11 digits starting 0 ("07700 900123", "+44 7700 900123", "(020) 7946 0958"), or None.

    Accepts landlines (01, 02, 03) and mobiles (07), the forms people type them in. Rejects premium and
    short numbers, and anything with letters in it, so a sentence is never mistaken for a number.
    """
    cleaned = text.strip().rstrip(".")
    if not cleaned or not _ALLOWED.match(cleaned):
        return None
    digits = re.sub(r"\D", "", cleaned)
    if digits.startswith("44"):
        digits = "0" + digits[2:]
    if digits.startswith("00"):
        return None  # an international number: the helpline calls UK numbers
    if len(digits) != 11 or digits[:2] not in ("01", "02", "03", "07"):
        return None
    if digits.startswith("070") or digits.startswith("076"):  # personal numbering and pagers, not mobiles
        return None
    return digits


def display(digits: str) -> str:
    """'07700900123' -> '07700 900123'; '02079460958' -> '020 7946 0958'."""
    if digits.startswith("02"):
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return f"{digits[:5]} {digits[5:]}"


def masked(digits: str) -> str:
    """Only the last three digits, for messages and logs: '*** *** *123'."""
    return "ending " + digits[-3:]
