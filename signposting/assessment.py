"""The self-assessment: understanding free answers, and turning scores into a ranked summary.

Pure functions over the assessment settings in knowledge/assessment.yml; no Rasa import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

SKIPPED = "skipped"
ROLES = ("patient", "carer", "professional")

NUMBER_WORDS = {
    "zero": 0, "nought": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
# words that may surround a score without changing it ("about a 6", "i'd say 7 out of 10")
FILLER = {
    "about", "around", "roughly", "maybe", "perhaps", "probably", "like", "a", "an", "its", "it's",
    "it", "is", "id", "i'd", "say", "i", "would", "guess", "think", "um", "umm", "erm", "hmm",
    "out", "of", "ten", "10", "score", "at", "least", "most", "the", "moment", "right", "now",
    "just", "or", "so", "well", "prob", "abt", "im", "i'm", "feeling", "feel", "probs", "give",
    "it", "me", "pretty", "quite", "really", "only", "and", "to", "be", "honest", "tbh", "ok",
}
NO_WORDS = ("no", "nope", "nah", "not really", "not at all", "no worries", "none at all")
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3})(?:\s*(?:/|out of)\s*10)?(?![\w.])")
_WORD = re.compile(r"[a-z0-9']+")

ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "professional": (
        "professional", "nurse", "doctor", "gp", "social worker", "link worker", "keyworker",
        "key worker", "navigator", "support worker", "clinician", "oncologist", "pharmacist",
        "occupational therapist", "physio", "adviser", "advisor", "i work with", "my patient",
        "my client", "on behalf of a patient", "on behalf of a client", "healthcare", "care coordinator",
    ),
    "carer": (
        "carer", "caring for", "care for", "look after", "looking after", "looks after",
        "my mum", "my mom", "my dad", "my husband", "my wife", "my partner", "my son",
        "my daughter", "my mother", "my father", "my brother", "my sister", "my friend",
        "my nan", "my gran", "my grandad", "my grandma", "my neighbour", "my boyfriend",
        "my girlfriend", "my fiance", "my auntie", "my uncle", "someone else", "someone i",
        "family member", "for him", "for her", "for them", "relative",
    ),
    "patient": (
        "i have cancer", "i've got cancer", "ive got cancer", "i have got cancer", "i got cancer",
        "i was diagnosed", "i've been diagnosed", "ive been diagnosed", "i'm diagnosed", "im diagnosed",
        "diagnosed with", "myself", "for me", "me", "i do", "i am", "the patient", "i'm the patient",
        "im the patient", "my cancer", "i had cancer", "i'm having chemo", "im having chemo", "my treatment",
        "i'm on chemo", "im on chemo", "i have", "self", "mine",
    ),
}


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip()


def _has(phrase: str, text: str) -> bool:
    return re.search(rf"(?<![a-z']){re.escape(phrase)}(?![a-z'])", text) is not None


@dataclass(frozen=True)
class ScoreAnswer:
    """What a free answer to a 0-10 question means."""

    score: int | None = None
    skipped: bool = False
    distress: bool = False
    exact: bool = False          # the message was only a score, nothing else
    out_of_range: bool = False   # a number, but not 0-10

    @property
    def understood(self) -> bool:
        return self.skipped or self.score is not None

    @property
    def value(self) -> int | str | None:
        """What to store in the slot: the score, 'skipped', or None (not understood)."""
        return SKIPPED if self.skipped else self.score


def _phrase_table(settings: Mapping[str, Any]) -> list[tuple[str, int]]:
    table = [(p.lower(), int(entry["score"])) for entry in settings.get("score_words", []) for p in entry["phrases"]]
    return sorted(table, key=lambda item: -len(item[0]))  # longest first: "not too bad" before "bad"


def _leftover_is_filler(text: str, spans: list[tuple[int, int]]) -> bool:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " "
    return all(word in FILLER for word in _WORD.findall("".join(chars)))


def parse_score(text: str, settings: Mapping[str, Any], accept_no: bool = True) -> ScoreAnswer:
    """Understand '7', '7/10', 'about a 6', 'seven', 'really bad', 'none', 'skip'.

    Args:
        text: what the person wrote.
        settings: the assessment settings (score_words, distress_phrases, skip_phrases, scale).
        accept_no: treat a plain 'no' / 'not really' as 0 (true while a 0-10 question is open).
    """
    clean = _normalise(text)
    if not clean:
        return ScoreAnswer()
    distress = any(_has(p.lower(), clean) for p in settings.get("distress_phrases", []))
    for phrase in settings.get("skip_phrases", []):
        if _has(phrase.lower(), clean):
            return ScoreAnswer(skipped=True, distress=distress, exact=_leftover_is_filler(clean, [_span(phrase, clean)]))
    scale = settings.get("scale", {"min": 0, "max": 10})
    low, high = int(scale.get("min", 0)), int(scale.get("max", 10))
    numbers = [(int(m.group(1)), m.span()) for m in _NUMBER.finditer(clean)]
    numbers += [(NUMBER_WORDS[w], _span(w, clean)) for w in NUMBER_WORDS if _has(w, clean) and not _out_of_ten(w, clean)]
    if numbers:
        in_range = [n for n, _ in numbers if low <= n <= high]
        spans = [span for _, span in numbers]
        if not in_range:
            return ScoreAnswer(distress=distress, out_of_range=True)
        # "6 or 7" -> 7: where someone hesitates between two, take the higher need
        return ScoreAnswer(score=max(in_range), distress=distress, exact=_leftover_is_filler(clean, spans))
    for phrase, score in _phrase_table(settings):
        if _has(phrase, clean):
            return ScoreAnswer(score=score, distress=distress, exact=_leftover_is_filler(clean, [_span(phrase, clean)]))
    if accept_no:
        for phrase in NO_WORDS:
            if _has(phrase, clean):
                return ScoreAnswer(score=0, distress=distress, exact=_leftover_is_filler(clean, [_span(phrase, clean)]))
    if distress:
        return ScoreAnswer(score=high, distress=True)
    return ScoreAnswer()


def _span(phrase: str, text: str) -> tuple[int, int]:
    match = re.search(rf"(?<![a-z']){re.escape(phrase.lower())}(?![a-z'])", text)
    return match.span() if match else (0, 0)


def _out_of_ten(word: str, text: str) -> bool:
    """'ten' in 'seven out of ten' is the scale, not an answer."""
    return word == "ten" and re.search(r"out of ten|/ ?ten", text) is not None and len(
        [w for w in NUMBER_WORDS if _has(w, text)]) > 1


YOUNG_CARER = "young_carer"
YOUNG_WORDS = ("young carer", "under 18", "i'm a kid", "im a kid", "i am a kid", "at school", "my teacher",
               "i'm a teenager", "im a teenager", "i am a teenager", "primary school", "secondary school")
_AGE = re.compile(r"\b(?:i'?m|i am|aged?)\s+(\d{1,2})\b(?!\s*(?:years? ago|weeks?|months?|days?|hours?))")


def domains_for(settings: Mapping[str, Any], role: str | None) -> list[Mapping[str, Any]]:
    """The check-in's domains for a role: carer_only ones for carers; for young carers (under 18) the
    ones with a young_carer_question (no money or work questions for a child)."""
    if role == YOUNG_CARER:
        return [d for d in settings["domains"] if d.get("young_carer_question")]
    return [d for d in settings["domains"] if not d.get("carer_only") or role == "carer"]


def parse_role(text: str) -> str | None:
    """'I look after my mum' -> carer; 'I'm a nurse' -> professional; 'I have cancer' -> patient;
    'I'm 14 and I help look after my dad' -> young_carer."""
    clean = _normalise(text)
    if clean in ROLES or clean == YOUNG_CARER:
        return clean
    if any(_has(phrase, clean) for phrase in ("young carer", "young carers")):
        return YOUNG_CARER
    for role in ("professional", "carer", "patient"):
        if any(_has(phrase, clean) for phrase in ROLE_WORDS[role]):
            if role == "carer":
                age = _AGE.search(clean)
                if any(_has(phrase, clean) for phrase in YOUNG_WORDS) or (age and 5 <= int(age.group(1)) < 18):
                    return YOUNG_CARER
            return role
    return None


# --------------------------------------------------------------------------- summary
@dataclass(frozen=True)
class RankedConcern:
    domain: Mapping[str, Any]
    score: int | None  # None when skipped

    @property
    def id(self) -> str:
        return self.domain["id"]


@dataclass(frozen=True)
class Summary:
    """The ranked result of a check-in."""

    role: str | None
    what_matters: str | None
    ranked: list[RankedConcern]            # scored concerns, highest first
    skipped: list[Mapping[str, Any]] = field(default_factory=list)
    high: bool = False                     # any score at or above the threshold
    distress: bool = False

    @property
    def top(self) -> RankedConcern | None:
        """The highest concern worth going into (score above 0)."""
        return self.ranked[0] if self.ranked and (self.ranked[0].score or 0) > 0 else None

    @property
    def offer_person(self) -> bool:
        return self.high or self.distress


def summarise(
    scores: Mapping[str, Any],
    settings: Mapping[str, Any],
    role: str | None = None,
    what_matters: str | None = None,
    distress: bool = False,
) -> Summary:
    """Rank the domains by score (ties keep the questionnaire's order); list skipped ones apart.

    ``scores`` maps a domain's slot name (score_emotional...) to an int, 'skipped' or None.
    """
    domains = domains_for(settings, role)
    scored, skipped = [], []
    for order, domain in enumerate(domains):
        value = scores.get(domain["slot"])
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            scored.append((order, RankedConcern(domain, int(value))))
        elif value == SKIPPED:
            skipped.append(domain)
    scored.sort(key=lambda item: (-(item[1].score or 0), item[0]))
    threshold = int(settings.get("high_score", 7))
    ranked = [concern for _, concern in scored]
    return Summary(
        role=role,
        what_matters=what_matters,
        ranked=ranked,
        skipped=skipped,
        high=any((c.score or 0) >= threshold for c in ranked),
        distress=distress,
    )


def next_steps(domain: Mapping[str, Any], role: str | None) -> list[Mapping[str, Any]]:
    """The 1-3 next steps for a domain, the carer's (or young carer's) version where there is one."""
    if role == YOUNG_CARER and domain.get("young_carer_next_steps"):
        return list(domain["young_carer_next_steps"])[:3]
    if role in ("carer", YOUNG_CARER) and domain.get("carer_next_steps"):
        return list(domain["carer_next_steps"])[:3]
    return list(domain.get("next_steps", []))[:3]


def question(domain: Mapping[str, Any], role: str | None) -> str:
    """The wording of a domain's question for this person."""
    if role == YOUNG_CARER and domain.get("young_carer_question"):
        return domain["young_carer_question"]
    if role in ("carer", YOUNG_CARER) and domain.get("carer_question"):
        return domain["carer_question"]
    return domain["question"]
