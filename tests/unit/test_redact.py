"""Identifiers are removed from text that is stored or logged (signposting/redact.py).

What a person would notice: their phone number, email, NHS number, date of birth or home
address never ends up in a log or a stored conversation, while what Signpost needs to help
them (their age, a score, a temperature, an amount of money, the outward part of their
postcode, the helpline numbers it gave them) is still there.
"""
from __future__ import annotations

import random
from datetime import date

import pytest

from signposting import places
from signposting.redact import PLACEHOLDERS, find, phone_digits, public_numbers, redact, redact_data

TODAY = date(2026, 11, 23)


def r(text: str, **kwargs) -> str:
    return redact(text, today=TODAY, **kwargs)


# ------------------------------------------------------------------------------ removed


@pytest.mark.parametrize(
    "text, expected",
    [
        # phones: mobile, landline, international, brackets, dots and dashes, inside sentences
        ("call me on 07700 900123", "call me on [phone]"),
        ("07700900123", "[phone]"),
        ("077 009 001 23 is my number", "[phone] is my number"),
        ("my number's 07700-900-123.", "my number's [phone]."),
        ("+44 7700 900123", "[phone]"),
        ("+447700900123", "[phone]"),
        ("+44 (0)20 7946 0000", "[phone]"),
        ("0044 7700 900 123", "[phone]"),
        ("(0121) 496 0000 after 6pm", "[phone] after 6pm"),
        ("landline 0141 357 2269", "landline [phone]"),
        ("ring 020.7946.0000 thanks", "ring [phone] thanks"),
        ("call 07700 900123 2 times", "call [phone] 2 times"),
        ("text 07700 900123, or 07700 900124!", "text [phone], or [phone]!"),
        # emails
        ("jo.bloggs+cancer@example.co.uk", "[email]"),
        ("email me at JO_B@Example.ORG please", "email me at [email] please"),
        # NHS numbers (943 476 5919 is the NHS's published example number)
        ("my NHS number is 943 476 5919", "my NHS number is [NHS number]"),
        ("nhs no 9434765919", "nhs no [NHS number]"),
        ("943-476-5919", "[NHS number]"),
        # dates of birth
        ("born 4/5/1960", "born [date of birth]"),
        ("DOB 04.05.60", "DOB [date of birth]"),
        ("date of birth: 12-03-1958", "date of birth: [date of birth]"),
        ("I was born on 12 March 1960 in Leeds", "I was born on [date of birth] in Leeds"),
        ("his birthday is 3rd of June 2001", "his birthday is [date of birth]"),
        ("March 12th, 1960", "[date of birth]"),
        ("mum, 14/02/1941, has bowel cancer", "mum, [date of birth], has bowel cancer"),
        ("born in 1960", "born in [year of birth]"),
        ("I was born 1975 so I'm 51", "I was born [year of birth] so I'm 51"),
        # addresses and postcodes
        ("I live at 12 Acacia Avenue", "I live at [address]"),
        ("10 downing street, London SW1A 2AA", "[address], London SW1A"),
        ("flat 3, 45a High St, Glasgow G12 8QQ", "[address], Glasgow G12"),
        ("4 Hillside Way", "[address]"),
        ("7 the Wynd, Stirling", "[address], Stirling"),
        ("Flat 2", "[address]"),
        ("my postcode is sw9 8aa", "my postcode is sw9"),
        ("CF101AA", "CF10"),
        ("BT7 1NN", "BT7"),
        # everything at once
        (
            "call me on 07700 900123 or jo@example.com, I live at 12 Acacia Avenue, G12 8QQ",
            "call me on [phone] or [email], I live at [address], G12",
        ),
    ],
)
def test_identifiers_are_replaced(text: str, expected: str) -> None:
    assert r(text) == expected


# ------------------------------------------------------------------------------ kept


@pytest.mark.parametrize(
    "text",
    [
        # ages, scores, temperatures, money, hours, counts: the check-in and benefits need them
        "I'm 52",
        "8",
        "about a 6",
        "seven out of ten",
        "my temperature is 38.5",
        "37,8 on chemo",
        "£1,000 a month",
        "I earn £196 a week",
        "about 35 hours a week",
        "I care for him 50 hours",
        "the tax year 2026/27",
        "7/10",
        "cycle 3 of 6",
        "I take 2 paracetamol every day",
        "it was 37.5 on my 3rd cycle",
        # dates that are not dates of birth
        "my appointment is on 12/03/2026",
        "chemo started 1 March 2025",
        "he died on 3 May 2019",  # only 7 years ago: not taken for a birth date
        # short and public numbers are never phones
        "call 999",
        "NHS 111 option 2",
        "Samaritans on 116 123",
        "text SHOUT to 85258",
        "Childline 0800 1111",
        # outward postcodes on their own, and things that look a little like postcodes
        "I'm in G12",
        "SW9",
        "tv2 2pm",
        # everyday words that are also street words
        "2 miles in the park",
        "only 1 easy way to find out",
        "there are 3 different ways",
        "I walked 5 laps round the green",
        # NHS-like numbers that fail the check digit
        "order 943 476 5918",
        "1111111111",
        "",
    ],
)
def test_what_signpost_needs_is_kept(text: str) -> None:
    assert r(text) == text


def test_outward_code_is_what_the_directory_still_finds(knowledge) -> None:
    """The kept outward code is exactly what the postcode lookup uses."""
    for full in ("G12 8QQ", "cf10 1aa", "BT7 1NN", "SW9 8AA"):
        before = places.find_postcode(f"I live near {full}", knowledge)
        after = places.find_postcode(r(f"I live near {full}"), knowledge)
        assert before is not None and after == before


def test_public_numbers_can_be_kept() -> None:
    text = "Call Macmillan on 0808 808 00 00 or Lifeline on 0808 808 8000, not my 07700 900123"
    keep = ["0808 808 00 00", "08088088000"]
    assert r(text, keep=keep) == "Call Macmillan on 0808 808 00 00 or Lifeline on 0808 808 8000, not my [phone]"
    assert r(text) == "Call Macmillan on [phone] or Lifeline on [phone], not my [phone]"


def test_public_numbers_are_collected_from_nested_knowledge(knowledge) -> None:
    numbers = public_numbers([knowledge.helplines, knowledge.services])
    assert "08088080000" in numbers  # Macmillan Support Line
    assert all(n.startswith("0") and 10 <= len(n) <= 11 for n in numbers)
    answer = f"Call {knowledge.helplines['macmillan_support_line']['phone']} any day"
    assert r(answer, keep=numbers) == answer


@pytest.mark.parametrize(
    "raw, digits",
    [("+44 (0)20 7946 0000", "02079460000"), ("0044 7700 900123", "07700900123"), ("07700-900-123", "07700900123"),
     ("+447700900123", "07700900123")],
)
def test_phone_digits_are_national(raw: str, digits: str) -> None:
    assert phone_digits(raw) == digits


# ------------------------------------------------------------------------------ generated cases


def _phone_forms(rng: random.Random) -> list[str]:
    """Many ways people type UK numbers (fixed seed: the same cases every run)."""
    forms = []
    for _ in range(60):
        mobile = "7" + "".join(rng.choice("0123456789") for _ in range(9))
        glasgow = "141" + "".join(rng.choice("0123456789") for _ in range(7))
        for national in (mobile, glasgow):
            forms += [
                "0" + national,
                f"0{national[:4]} {national[4:]}",
                f"0{national[:3]} {national[3:6]} {national[6:]}",
                f"+44 {national}",
                f"+44 (0){national[:3]} {national[3:]}",
                f"0044{national}",
                f"0{national[:4]}-{national[4:7]}-{national[7:]}",
            ]
    return forms


@pytest.mark.parametrize("seed", range(5))
def test_generated_phone_numbers_never_survive_in_any_sentence(seed: int) -> None:
    rng = random.Random(seed)
    templates = ["{}", "my number is {}", "call me on {} after 5", "{}.", "(mobile: {})", "ring {} or email me"]
    for phone in _phone_forms(rng):
        template = rng.choice(templates)
        assert r(template.format(phone)) == template.format("[phone]"), phone


@pytest.mark.parametrize("seed", range(3))
def test_generated_valid_nhs_numbers_are_found_and_invalid_ones_left(seed: int) -> None:
    rng = random.Random(seed)
    found = left = 0
    for _ in range(300):
        digits = "".join(rng.choice("0123456789") for _ in range(9))
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1)))
        check = (11 - total % 11) % 11
        spaced = rng.random() < 0.5
        if check == 10:
            continue  # no valid number with these nine digits
        number = digits + str(check)
        shown = f"{number[:3]} {number[3:6]} {number[6:]}" if spaced else number
        if not number.startswith("0"):  # 0... ten digits is also a phone: either placeholder is fine
            assert r(f"NHS number {shown} thanks") == "NHS number [NHS number] thanks"
            found += 1
        wrong = number[:9] + str((check + rng.randint(1, 9)) % 10)
        if not wrong.startswith("0"):
            assert r(f"ref {wrong}") == f"ref {wrong}"
            left += 1
    assert found > 200 and left > 200


@pytest.mark.parametrize("n", range(0, 101, 7))
def test_ages_scores_and_amounts_are_never_touched(n: int) -> None:
    for text in (f"I'm {n}", f"{n}", f"about {n}", f"£{n}", f"{n} hours a week", f"{n}/10", f"{n}.5", f"{n} years old"):
        assert r(text) == text


# ------------------------------------------------------------------------------ shape of the API


def test_find_reports_kind_position_and_text() -> None:
    text = "jo@example.com 07700 900123"
    found = find(text, today=TODAY)
    assert [(f.kind, text[f.start:f.end], f.replacement) for f in found] == [
        ("email", "jo@example.com", "[email]"), ("phone", "07700 900123", "[phone]")]


def test_redaction_is_idempotent_and_keeps_odd_input() -> None:
    text = "call me on 07700 900123 or jo@example.com, I live at 12 Acacia Avenue, G12 8QQ"
    once = r(text)
    assert r(once) == once
    for odd in ("", None, 5, "😀 07700 900123 😀", "a" * 50_000):
        out = redact(odd)  # type: ignore[arg-type]
        if isinstance(odd, str) and "0" in odd:
            assert out == "😀 [phone] 😀"
        else:
            assert out == odd


def test_redact_data_walks_nested_structures_and_leaves_other_values() -> None:
    data = {"text": "I'm on 07700 900123", "n": 5, "ok": True, "none": None,
            "entities": [{"entity": "postcode", "value": "G12 8QQ"}], "pair": ("jo@example.com", 1.5)}
    out = redact_data(data, today=TODAY)
    assert out == {"text": "I'm on [phone]", "n": 5, "ok": True, "none": None,
                   "entities": [{"entity": "postcode", "value": "G12"}], "pair": ("[email]", 1.5)}
    assert data["text"] == "I'm on 07700 900123", "the input is not changed"


def test_placeholders_are_plain_words() -> None:
    assert all(p == "" or (p.startswith("[") and p.endswith("]")) for p in PLACEHOLDERS.values())
