"""Find and remove personal identifiers from free text before it is logged or stored.

Signpost never needs someone's phone number, email, NHS number, date of birth or home
address to signpost them, so these are replaced by placeholders wherever text is kept:
the tracker store (bot/tracker_store.py) and every log line (bot/log_redaction.py).
What the person sees in the current turn is untouched; only what is written down changes.

    >>> redact("call me on 07700 900123 or jo@example.com, I live at 12 Acacia Avenue, G12 8QQ")
    'call me on [phone] or [email], I live at [address], G12'

What is found, and why each rule is shaped the way it is:

- **Emails**: ``name@domain.tld`` -> ``[email]``.
- **NHS numbers** (and Scotland's CHI and Northern Ireland's H&C numbers, which share the
  format): 10 digits, written together or spaced 3-3-4, whose last digit passes the
  modulus-11 check -> ``[NHS number]``. The check keeps other 10-digit numbers (order
  numbers, most phone numbers) from being mistaken for one.
- **UK phone numbers**: ``07700 900123``, ``0141-357-2269``, ``(0121) 496 0000``,
  ``+44 7700 900123``, ``+44 (0)20 7946 0000``, ``0044...`` -> ``[phone]``. A national
  number is 0 plus 9 or 10 digits; spaces, dots, dashes and brackets between the digits
  are allowed. Short numbers (999, 111, 116 123, 85258) are never touched. Public numbers
  Signpost itself gives out (helplines, services) can be listed in ``keep`` so that a
  stored bot answer still shows them.
- **Dates of birth**: a full date (``04/05/1960``, ``4.5.60``, ``12 March 1960``,
  ``March 12th, 1960``) when birth is mentioned just before it ("born", "DOB", "date of
  birth", "birthday"), or when its year is at least 16 years ago, which an appointment
  or a diagnosis date almost never is -> ``[date of birth]``. A year after "born (in)"
  -> ``[year of birth]``. Bare numbers are never dates: "I'm 52", a score of "8",
  "38.5", "£1,000" and the tax year "2026/27" stay as they are, because the benefits
  check and the check-in need them.
- **Addresses**: a house number followed by up to three street-name words and a street
  word ("12 Acacia Avenue", "Flat 3, 45a High St", "7 the Wynd") -> ``[address]``.
  Words such as "in", "the", "a" or "of" cannot be part of the street name, so "2 miles in
  the park" is left alone.
- **Postcodes**: a full postcode keeps only its OUTWARD part: "G12 8QQ" -> "G12",
  "sw9 8aa" -> "sw9". The outward code (area and district) is shared by thousands of
  homes and is all the directory search and the nation rules need (signposting/places.py
  reads only the outward code); the inward part narrows it to a few houses, so that is
  the part that goes.

Pure: standard library only, no Rasa, no I/O, no knowledge files (callers pass ``keep``).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "Finding",
    "PLACEHOLDERS",
    "find",
    "redact",
    "redact_data",
    "phone_digits",
    "public_numbers",
]

PLACEHOLDERS: Mapping[str, str] = {
    "email": "[email]",
    "nhs_number": "[NHS number]",
    "phone": "[phone]",
    "date_of_birth": "[date of birth]",
    "year_of_birth": "[year of birth]",
    "address": "[address]",
    "postcode": "",  # the inward part is dropped; the outward part stays (see the module docstring)
}

# A date whose year is at least this many years ago is treated as a date of birth.
DOB_MIN_YEARS_AGO = 16


@dataclass(frozen=True)
class Finding:
    """One identifier found in a text: what kind, where, and what replaces it."""

    kind: str
    start: int
    end: int
    text: str
    replacement: str


# ------------------------------------------------------------------------------ patterns

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])")

# 10 digits together or spaced / dashed 3-3-4.
_NHS = re.compile(r"(?<![\d+])(\d{3})([ -]?)(\d{3})\2(\d{4})(?!\d)")

# A run starting with +44 / 0044 / 0 (maybe in brackets), then digits with single separators.
_PHONE = re.compile(
    r"(?<![\w+])"
    r"(?P<prefix>(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)"
    r"(?P<rest>\d(?:[ \-.]?\)?[ \-.]?\d){7,11})"
    r"(?![\d])"
)

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_NUM_DATE = re.compile(rf"(?<![\d/.-]){_DAY}([/.-])(?:0?[1-9]|1[0-2])\1(?P<year>\d{{4}}|\d{{2}})(?![\d/.-]|\.\d)")
_WORD_DATE = re.compile(
    rf"(?<![\w]){_DAY}(?:st|nd|rd|th)?(?:\s+of)?\s+(?:{_MONTHS})\.?,?\s+(?P<year>\d{{4}})(?!\d)"
    rf"|(?<![\w])(?:{_MONTHS})\.?\s+{_DAY}(?:st|nd|rd|th)?,?\s+(?P<year2>\d{{4}})(?!\d)",
    re.IGNORECASE,
)
_BIRTH_CONTEXT = re.compile(
    r"(?:\bborn\b|\bd\.?o\.?b\b\.?|\bdate of birth\b|\bbirth ?day\b|\bbirthdate\b)[\s:,-]*(?:on|is|was|in)?[\s:,-]*$",
    re.IGNORECASE,
)
_BORN_YEAR = re.compile(r"\b(?P<lead>born(?:\s+(?:in|on))?\s+|d\.?o\.?b\.?:?\s*|year of birth:?\s*)(?P<year>(?:19|20)\d\d)\b",
                        re.IGNORECASE)

# Street words that are nothing else: "12 acacia avenue" is an address even typed in lower case.
_STREET_WORDS = (
    "street|road|avenue|ave|lane|drive|crescent|cres|gardens|gdns|terrace|boulevard|embankment|mews"
    "|st|rd|wynd|brae|vennel|close|court|grove|parade|square|sq"
)
# Street words that are also everyday words ("1 easy way", "2 nice views"): only an address when
# the street's name is written with capitals ("4 Hillside Way", "9 Park View").
_COMMON_STREET_WORDS = "way|view|walk|rise|green|park|hill|place|row|gate|vale|quay|wharf|heights|loan|circus|broadway"
# Words that cannot be part of a street name: they turn "2 miles in the park" into a non-address.
_NOT_NAME = (
    "in|the|a|an|of|to|at|on|for|and|or|but|my|his|her|our|their|your|is|are|was|were|be|i|we|you"
    "|he|she|it|they|me|us|them|this|that|times|time|days|day|weeks|week|months|years|hours|minutes"
    "|miles|mile|mins|pounds|quid|tablets|pills|people|kids|children|out|up|down|by|from|with|round"
    "|around|near|off|into|over|under|every|each|per|about|than|more|less|laps|cycles|sessions|very"
    "|really|so|too|not|no|yes|only|just|all|some|any|other|different|good|bad|nice|easy|hard|long"
)
_NAME_WORD = rf"(?!(?:{_NOT_NAME})\b)[A-Za-z][A-Za-z'’-]*"
_ADDRESS = re.compile(
    rf"(?<![\w£$€.,])(?:(?:flat|apartment|apt|unit)\s+\d{{1,4}}[a-z]?,?\s+)?"
    rf"\d{{1,4}}[a-z]?,?\s+(?:the\s+(?P<name0>(?:{_NAME_WORD}\s+){{0,3}})|(?P<name>(?:{_NAME_WORD}\s+){{1,3}}))"
    rf"(?P<street>{_STREET_WORDS}|{_COMMON_STREET_WORDS})\b\.?",
    re.IGNORECASE,
)
_COMMON_STREET = re.compile(rf"(?:{_COMMON_STREET_WORDS})", re.IGNORECASE)
_FLAT_ONLY = re.compile(r"\b(?:flat|apartment|apt)\s+\d{1,4}[a-z]?\b", re.IGNORECASE)

# A full postcode. Group 1 is the outward code we keep.
# The inward code's letters never include C, I, K, M, O or V, which keeps "tv2 2pm" out.
_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE)


# ------------------------------------------------------------------------------ helpers


def _nhs_check_ok(digits: str) -> bool:
    """The NHS modulus-11 check: weights 10..2 on the first nine digits; 10 is never valid."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def phone_digits(text: str) -> str:
    """A phone number as national digits: '+44 (0)20 7946 0000' -> '02079460000'."""
    digits = re.sub(r"\D", "", text)
    if text.strip().startswith("+") or digits.startswith("0044"):
        digits = digits[4:] if digits.startswith("0044") else digits[2:]
        if digits.startswith("0"):  # the "(0)" some people write after +44
            digits = digits[1:]
        digits = "0" + digits
    return digits


def public_numbers(texts: Iterable[Any]) -> frozenset[str]:
    """National digits of every UK phone number found in ``texts`` (strings, or nested dicts/lists).

    Used to build ``keep`` from the knowledge files, so that helpline and service numbers in
    Signpost's own answers survive redaction.
    """
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for m in _PHONE.finditer(value):
                digits = phone_digits(m.group(0))
                if _phone_length_ok(digits):
                    found.add(digits)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for v in value:
                walk(v)

    for text in texts:
        walk(text)
    return frozenset(found)


def _phone_length_ok(digits: str) -> bool:
    return digits.startswith("0") and 10 <= len(digits) <= 11 and not digits.startswith("00")


def _phone_end(text: str, m: re.Match[str]) -> int | None:
    """Where the phone number in match ``m`` ends: the longest run of its digit groups that
    makes a UK-length number ("07700 900123 2 times" ends before " 2"), or None."""
    best = None
    for group in re.finditer(r"\d+", text[m.start("rest"):m.end()]):
        end = m.start("rest") + group.end()
        if _phone_length_ok(phone_digits(text[m.start():end])):
            best = end
    return best


def _in_phone(text: str, start: int) -> bool:
    """Is ``start`` inside a phone-shaped run (a kept public number, or digits after +44)?"""
    return any(p.start() <= start < p.end() for p in _PHONE.finditer(text, max(0, start - 8), start + 20))


def _year_is_old(year_text: str, today: date) -> bool:
    year = int(year_text)
    if len(year_text) == 2:  # "60" -> 1960, "05" -> 2005
        year += 2000 if year <= today.year % 100 else 1900
    return 1900 <= year <= today.year - DOB_MIN_YEARS_AGO


def _overlaps(a: Finding, taken: list[Finding]) -> bool:
    return any(a.start < b.end and b.start < a.end for b in taken)


# ------------------------------------------------------------------------------ API


def find(text: str, keep: Iterable[str] = (), today: date | None = None) -> list[Finding]:
    """Every identifier in ``text``, in order, without overlaps.

    ``keep``: phone numbers (any format; compared as national digits) that are public and
    must stay, such as helpline numbers. ``today`` fixes "16 years ago" for tests.
    """
    if not isinstance(text, str) or not text:
        return []
    today = today or date.today()
    keep_digits = {phone_digits(k) for k in keep}
    found: list[Finding] = []

    def add(kind: str, start: int, end: int, replacement: str | None = None) -> None:
        item = Finding(kind, start, end, text[start:end], PLACEHOLDERS[kind] if replacement is None else replacement)
        if not _overlaps(item, found):
            found.append(item)

    for m in _EMAIL.finditer(text):
        add("email", m.start(), m.end())
    # phones before NHS numbers: "+44 7700 900123" holds ten digits that may pass the NHS check
    for m in _PHONE.finditer(text):
        end = _phone_end(text, m)
        if end is not None and phone_digits(text[m.start():end]) not in keep_digits:
            add("phone", m.start(), end)
    for m in _NHS.finditer(text):
        if _nhs_check_ok(m.group(1) + m.group(3) + m.group(4)) and not _in_phone(text, m.start()):
            add("nhs_number", m.start(), m.end())
    for m in _NUM_DATE.finditer(text):
        before = text[max(0, m.start() - 30):m.start()]
        if _BIRTH_CONTEXT.search(before) or _year_is_old(m.group("year"), today):
            add("date_of_birth", m.start(), m.end())
    for m in _WORD_DATE.finditer(text):
        before = text[max(0, m.start() - 30):m.start()]
        if _BIRTH_CONTEXT.search(before) or _year_is_old(m.group("year") or m.group("year2"), today):
            add("date_of_birth", m.start(), m.end())
    for m in _BORN_YEAR.finditer(text):
        add("year_of_birth", m.start("year"), m.end("year"))
    for m in _ADDRESS.finditer(text):
        named = m.group("name") or m.group("name0") or m.group("street")
        if _COMMON_STREET.fullmatch(m.group("street").rstrip(".")) and not named[:1].isupper():
            continue  # "1 easy way", "2 nice views": everyday words, not a street
        add("address", m.start(), m.end())
    for m in _FLAT_ONLY.finditer(text):
        add("address", m.start(), m.end())
    for m in _POSTCODE.finditer(text):
        # keep the outward code, drop the inward part (and the space before it)
        add("postcode", m.end(1), m.end())
    return sorted(found, key=lambda f: f.start)


def redact(text: str, keep: Iterable[str] = (), today: date | None = None) -> str:
    """``text`` with every identifier replaced by its placeholder (see the module docstring)."""
    if not isinstance(text, str) or not text:
        return text
    out: list[str] = []
    pos = 0
    for f in find(text, keep, today):
        out.append(text[pos:f.start])
        out.append(f.replacement)
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def redact_data(value: Any, keep: Iterable[str] = (), today: date | None = None) -> Any:
    """A copy of ``value`` (str, or dicts/lists of them, any depth) with every string redacted.

    Keys are kept as they are; numbers, booleans and None pass through unchanged.
    """
    keep = frozenset(keep)
    if isinstance(value, str):
        return redact(value, keep, today)
    if isinstance(value, Mapping):
        return {k: redact_data(v, keep, today) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(v, keep, today) for v in value)
    return value
