"""Deterministic crisis screen: the first thing every message meets, on every channel.

Pure Python (PyYAML only; no Rasa, no spaCy) so it is fast, testable and can run
before NLU. The lead wraps it in a Rasa NLU component; this module knows nothing
about Rasa.

Pipeline for ``SafetyScreen.screen(text)``:

1. **Normalise** (``SafetyScreen.normalise``): unify quotes, strip accents, lower
   case, expand contractions ("can't" -> "cannot", "I'm" -> "i am"), turn
   "37,8" into "37.8", split into word / number / punctuation tokens, collapse
   letters repeated 3+ times to 2 ("sooooo" -> "soo"), then map text-speak and
   misspellings from the ``spellings`` table in patterns.yml ("wanna" -> "want to",
   "sucidal" -> "suicidal", "kemo" -> "chemo", "temp" -> "temperature").
2. **Match** on a "skeleton" of the tokens in which every run of a repeated letter
   is one letter, so "kil myself", "killl myself" and "kill myself" are the same.
   Phrases come from patterns.yml, written in a small language (documented at the
   top of that file): ``...`` is a gap of a few words, ``(a|b)`` alternatives,
   ``(a)?`` optional, ``word*`` a prefix, ``@list`` a named word list, ``#`` a
   number, ``$`` the end of a sentence.
3. **Reject** a match that overlaps an exclusion (look-alike) phrase, or that has a
   negation cue ("not", "never", "no") a few words before it in the same clause,
   unless that cue is part of a pseudo-negation ("not sure", "can't stop").
   Gaps never swallow a negation word.
4. **Kinds** are tried in the order they appear in patterns.yml; the first kind
   with a valid match wins. ``treatment_red_flag`` also fires when treatment
   context (chemo, immunotherapy, radiotherapy, "neutropenic", ...) appears with
   a symptom phrase or with a body temperature >= 37.5 C / < 36 C
   (>= 99.5 F / < 96.8 F); room and weather temperatures are ignored.

``crisis_reply(kind, nation)`` builds the answer from knowledge/safety/crisis.yml,
where every phone number is a sourced, dated item referenced by id.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CrisisKind",
    "ScreenResult",
    "SafetyScreen",
    "load_screen",
    "crisis_reply",
    "NATIONS",
    "DEFAULT_PATTERNS_PATH",
    "DEFAULT_CRISIS_PATH",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATTERNS_PATH = REPO_ROOT / "knowledge" / "safety" / "patterns.yml"
DEFAULT_CRISIS_PATH = REPO_ROOT / "knowledge" / "safety" / "crisis.yml"
NATIONS: tuple[str, ...] = ("england", "scotland", "wales", "northern_ireland")


class CrisisKind(str, Enum):
    """What kind of crisis a message shows. The value is the key used in the YAML files."""

    SUICIDE_SELF_HARM = "suicide_self_harm"
    HARM_FROM_OTHERS = "harm_from_others"
    MEDICAL_EMERGENCY = "medical_emergency"
    TREATMENT_RED_FLAG = "treatment_red_flag"


@dataclass(frozen=True)
class ScreenResult:
    """A crisis found in a message. ``matched`` is the normalised text that matched (for logs/tests)."""

    kind: CrisisKind
    matched: str


# --------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u02bc": "'",
        "\u0060": "'", "\u00b4": "'", "\u2032": "'", "\uff07": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\uff02": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    }
)

# Grammar, not vocabulary, so it lives in code. Apostrophe-less forms ("dont", "im")
# are vocabulary and live in the `spellings` table of patterns.yml.
_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\bo\.?d\.?'d\b", "overdosed"),  # "OD'd" (before the 'd rule below)
        (r"\bcan't\b", "cannot"),
        (r"\bwon't\b", "will not"),
        (r"\bshan't\b", "shall not"),
        (r"\bain't\b", "is not"),
        (r"n't\b", " not"),
        (r"'m\b", " am"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'ll\b", " will"),
        (r"'d\b", " would"),
        (
            r"\b(he|she|it|that|what|there|who|where|here|how|everyone|everybody|nobody"
            r"|someone|somebody|life|everything|nothing|this)'s\b",
            r"\1 is",
        ),
        (r"'s\b", ""),  # possessive: "mum's" -> "mum"
        (r"'", ""),
        (r"\bcan not\b", "cannot"),
        (r"(?<![\d.,])(\d{2,3}),(\d)(?!\d)", r"\1.\2"),  # "37,8" -> "37.8"; "1,000" untouched
    )
)
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+|[°£$€]|[.,;:!?]")
_RUN3 = re.compile(r"([a-z])\1{2,}")
_RUN2 = re.compile(r"([a-z])\1+")
_PUNCT = frozenset(".,;:!?")
_SENTENCE_END = frozenset(".!?")
_CURRENCY = frozenset("£$€")


def _clean(text: str) -> str:
    """Quotes unified, accents stripped, lower case, contractions expanded."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    return text


def _skeleton(token: str) -> str:
    """'killl' -> 'kil', 'kill' -> 'kil', 'sleep' -> 'slep': spelling-insensitive matching form."""
    return _RUN2.sub(r"\1", token)


@dataclass(frozen=True)
class _Text:
    """A normalised message: display tokens, their skeletons, and the skeleton string we match on."""

    tokens: tuple[str, ...]
    skel: tuple[str, ...]
    s: str  # " " + " ".join(skel) + " "
    starts: tuple[int, ...]  # index in s of the space before each token, plus len(s) - 1

    def span(self, m: re.Match[str]) -> tuple[int, int]:
        """Token range [i, j) covered by a match (matches start at a space and end before one)."""
        return bisect.bisect_left(self.starts, m.start()), bisect.bisect_left(self.starts, m.end())

    def display(self, i: int, j: int) -> str:
        return " ".join(self.tokens[i:j])


# --------------------------------------------------------------------------------------
# Pattern language
# --------------------------------------------------------------------------------------

_DSL_TOKEN = re.compile(r"\s*(\(|\)\?|\)|\||\.\.\.|\$|#|@[a-z_]+|[a-z0-9°£]+\*?)")


@dataclass(frozen=True)
class _Phrase:
    source: str  # as written in patterns.yml
    regex: re.Pattern[str]


@dataclass(frozen=True)
class _Group:
    """Phrases, plus one combined regex used as a cheap pre-filter, plus ``all:`` combinations."""

    phrases: tuple[_Phrase, ...]
    prefilter: re.Pattern[str] | None
    combos: tuple[tuple[_Phrase, ...], ...] = ()

    @classmethod
    def of(cls, phrases: Sequence[_Phrase], combos: Sequence[tuple[_Phrase, ...]] = ()) -> _Group:
        if not phrases:
            return cls((), None, tuple(combos))
        return cls(tuple(phrases), re.compile("|".join(f"(?:{p.regex.pattern})" for p in phrases)), tuple(combos))


class _Compiler:
    """Turns patterns.yml phrases into regexes over the skeleton string."""

    def __init__(
        self,
        where: str,
        spellings: Mapping[str, tuple[str, ...]],
        word_lists: Mapping[str, Any],
        max_gap: int,
        gap_stops: Sequence[str],
    ) -> None:
        self.where = where
        self.spellings = spellings
        self.raw_lists = word_lists
        self.lists: dict[str, str] = {}
        self._resolving: set[str] = set()
        stops = "|".join(re.escape(_skeleton(w)) for w in gap_stops)
        not_stop = f"(?!(?:{stops}) )" if stops else ""
        self.gap = f"(?: {not_stop}[^ .,;:!?][^ ]*){{0,{max_gap}}}"

    def error(self, field: str, message: str) -> ValueError:
        return ValueError(f"{self.where}: field '{field}': {message}")

    def words(self, word: str) -> tuple[str, ...]:
        """A literal word as the normaliser would turn it into tokens."""
        return self.spellings.get(_RUN3.sub(r"\1\1", word), (word,))

    def compile(self, phrase: Any, field: str) -> _Phrase:
        if not isinstance(phrase, str) or not phrase.strip():
            raise self.error(field, f"each phrase must be a non-empty string, got {phrase!r}")
        body = self.body(phrase, field)
        try:
            regex = re.compile(body + "(?= )")
        except re.error as exc:  # pragma: no cover - the grammar should prevent this
            raise self.error(field, f"phrase {phrase!r} does not compile: {exc}") from exc
        if regex.search("  "):
            raise self.error(field, f"phrase {phrase!r} can match no words at all")
        return _Phrase(phrase, regex)

    def body(self, phrase: str, field: str) -> str:
        text = _clean(phrase).replace("-", " ").replace("/", " ")
        tokens: list[str] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _DSL_TOKEN.match(text, pos)
            if not m:
                raise self.error(field, f"phrase {phrase!r}: unexpected {text[pos:].strip()[0]!r}")
            tokens.append(m.group(1))
            pos = m.end()
        if not tokens or tokens[0] in ("...", "$") or tokens[-1] == "...":
            raise self.error(field, f"phrase {phrase!r} must start with a word and not end with '...'")
        rx, i = self._seq(tokens, 0, phrase, field)
        if i != len(tokens):
            raise self.error(field, f"phrase {phrase!r}: unbalanced ')' or '|'")
        return rx

    def _seq(self, toks: list[str], i: int, phrase: str, field: str) -> tuple[str, int]:
        out: list[str] = []
        while i < len(toks) and toks[i] not in ("|", ")", ")?"):
            t = toks[i]
            if t == "(":
                alts: list[str] = []
                i += 1
                while True:
                    rx, i = self._seq(toks, i, phrase, field)
                    alts.append(rx)
                    if i >= len(toks):
                        raise self.error(field, f"phrase {phrase!r}: missing ')'")
                    if toks[i] == "|":
                        i += 1
                        continue
                    break
                optional = toks[i] == ")?"
                out.append(f"(?:{'|'.join(alts)})" + ("?" if optional else ""))
            elif t == "...":
                out.append(self.gap)
            elif t == "$":
                out.append(r"(?= (?:[.!?] |$))")
            elif t == "#":
                out.append(r" \d+(?:\.\d+)?")
            elif t.startswith("@"):
                out.append(self.word_list(t[1:], field, phrase))
            elif t.endswith("*"):
                out.append(" " + re.escape(_skeleton(t[:-1])) + "[a-z]*")
            else:
                out.append("".join(" " + re.escape(_skeleton(w)) for w in self.words(t)))
            i += 1
        return "".join(out), i

    def word_list(self, name: str, field: str, phrase: str) -> str:
        if name in self.lists:
            return self.lists[name]
        entries = self.raw_lists.get(name)
        if name in self._resolving or not isinstance(entries, list) or not entries:
            raise self.error(field, f"phrase {phrase!r} uses @{name}, which is not a non-empty list in 'word_lists'")
        self._resolving.add(name)
        parts = [self.body(e, f"word_lists.{name}") if isinstance(e, str) else "" for e in entries]
        if not all(parts):
            raise self.error(f"word_lists.{name}", "every entry must be a non-empty string")
        self._resolving.discard(name)
        self.lists[name] = f"(?:{'|'.join(parts)})"
        return self.lists[name]


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------


_TYPE_WORDS = {Mapping: "a mapping of fields", list: "a list", str: "text", int: "a number"}


def _need(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, prefix: str = "") -> Any:
    value = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(value, kind) or (isinstance(value, (str, list, dict)) and not value):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(_TYPE_WORDS.get(k, k.__name__) for k in kinds)
        raise ValueError(f"{where}: field '{prefix}{key}' is missing or empty (it must be {expected})")
    return value


def _date(data: Mapping[str, Any], key: str, where: str, prefix: str = "") -> date:
    value = data.get(key)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: field '{prefix}{key}' must be a date YYYY-MM-DD, got {value!r}") from None


def _provenance(data: Mapping[str, Any], where: str, prefix: str = "") -> None:
    """source / checked / review_by / owner, present and sensible."""
    _need(data, "source", str, where, prefix)
    _need(data, "owner", str, where, prefix)
    if _date(data, "review_by", where, prefix) <= _date(data, "checked", where, prefix):
        raise ValueError(f"{where}: field '{prefix}review_by' must be after '{prefix}checked'")


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: the file must be a mapping of fields at the top level")
    return data


# --------------------------------------------------------------------------------------
# The screen
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TempRules:
    words: frozenset[str]
    celsius: frozenset[str]
    fahrenheit: frozenset[str]
    degrees: frozenset[str]
    ambient: frozenset[str]
    body: frozenset[str]
    not_units: frozenset[str]
    high_c: float
    low_c: float
    high_f: float
    low_f: float
    range_c: tuple[float, float]
    range_f: tuple[float, float]


class SafetyScreen:
    """Crisis screen built from the patterns file. Immutable after construction; thread-safe."""

    def __init__(self, data: Mapping[str, Any], where: str = "patterns") -> None:
        """Validate ``data`` (the parsed patterns file) and compile it. Raises ``ValueError`` naming the field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: the file must be a mapping of fields at the top level")
        _provenance(data, where)
        settings = data.get("settings") or {}
        if not isinstance(settings, Mapping):
            raise ValueError(f"{where}: field 'settings' must be a mapping")
        max_gap = settings.get("max_gap", 4)
        self._window = settings.get("negation_window", 4)
        for key, value in (("max_gap", max_gap), ("negation_window", self._window)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
                raise ValueError(f"{where}: field 'settings.{key}' must be a whole number from 0 to 10")

        spellings_raw = data.get("spellings") or {}
        if not isinstance(spellings_raw, Mapping):
            raise ValueError(f"{where}: field 'spellings' must be a mapping of word: replacement")
        spellings: dict[str, tuple[str, ...]] = {}
        for key, value in spellings_raw.items():
            if not isinstance(key, str) or not re.fullmatch(r"[a-z]+", key) or not isinstance(value, str) \
                    or not re.fullmatch(r"[a-z]+( [a-z]+)*", value):
                raise ValueError(
                    f"{where}: field 'spellings.{key}' must map one lower-case word to lower-case words, got {value!r}"
                )
            spellings[key] = tuple(value.split())
        self._spellings = spellings

        word_lists = data.get("word_lists") or {}
        if not isinstance(word_lists, Mapping):
            raise ValueError(f"{where}: field 'word_lists' must be a mapping of name: [words]")

        negation = _need(data, "negation", Mapping, where)
        cues = self._strings(negation, "cues", where, "negation.")
        gap_stops = [c for c in cues if " " not in c.strip()]
        c = _Compiler(where, spellings, word_lists, max_gap, gap_stops)
        self._cues = _Group.of([c.compile(p, "negation.cues") for p in cues])
        self._pseudo = tuple(
            c.compile(p, "negation.pseudo") for p in self._strings(negation, "pseudo", where, "negation.", True)
        )
        self._boundaries = frozenset(
            _skeleton(w) for b in self._strings(negation, "boundaries", where, "negation.", True) for w in c.words(b)
        ) | _PUNCT

        self._exclusions = _Group.of(
            [c.compile(p, f"exclusions[{i}]") for i, p in enumerate(self._strings(data, "exclusions", where, ""))]
        )

        kinds = _need(data, "kinds", Mapping, where)
        unknown = set(kinds) - {k.value for k in CrisisKind}
        missing = {k.value for k in CrisisKind} - set(kinds)
        if unknown or missing:
            raise ValueError(
                f"{where}: field 'kinds' must have exactly these keys: {', '.join(k.value for k in CrisisKind)}"
                f" (unknown: {sorted(unknown) or 'none'}, missing: {sorted(missing) or 'none'})"
            )
        self._order: tuple[CrisisKind, ...] = tuple(CrisisKind(k) for k in kinds)
        self._kinds: dict[CrisisKind, _Group] = {}
        for kind in self._order:
            self._kinds[kind] = self._kind_group(kinds.get(kind.value), c, where, kind)

        treatment = _need(data, "treatment", Mapping, where)
        self._context = _Group.of(
            [c.compile(p, "treatment.context") for p in self._strings(treatment, "context", where, "treatment.")]
        )
        self._symptoms = _Group.of(
            [c.compile(p, "treatment.symptoms") for p in self._strings(treatment, "symptoms", where, "treatment.")]
        )
        self._temp = self._temperature_rules(_need(treatment, "temperature", Mapping, where, "treatment."), where)

    # -- construction helpers ----------------------------------------------------------

    @staticmethod
    def _kind_group(entries: Any, c: _Compiler, where: str, kind: CrisisKind) -> _Group:
        """A kind's list: phrases, and ``{all: [phrase, ...]}`` items that fire only when every part matches."""
        field = f"kinds.{kind.value}"
        if entries is None and kind is CrisisKind.TREATMENT_RED_FLAG:
            entries = []
        if not isinstance(entries, list) or (not entries and kind is not CrisisKind.TREATMENT_RED_FLAG):
            raise ValueError(f"{where}: field '{field}' must be a non-empty list")
        phrases: list[_Phrase] = []
        combos: list[tuple[_Phrase, ...]] = []
        for i, entry in enumerate(entries):
            if isinstance(entry, Mapping):
                parts = entry.get("all")
                if set(entry) != {"all"} or not isinstance(parts, list) or len(parts) < 2:
                    raise ValueError(f"{where}: field '{field}[{i}]' must be a phrase or {{all: [two or more phrases]}}")
                combos.append(tuple(c.compile(p, f"{field}[{i}].all[{k}]") for k, p in enumerate(parts)))
            else:
                phrases.append(c.compile(entry, f"{field}[{i}]"))
        return _Group.of(phrases, combos)

    @staticmethod
    def _strings(data: Mapping[str, Any], key: str, where: str, prefix: str, allow_empty: bool = False) -> list[str]:
        value = data.get(key)
        if value is None and allow_empty:
            return []
        if not isinstance(value, list) or (not value and not allow_empty):
            raise ValueError(f"{where}: field '{prefix}{key}' must be a {'' if allow_empty else 'non-empty '}list")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                hint = " (YAML reads no/yes/on/off as true/false: put them in quotes)" if isinstance(item, bool) else ""
                raise ValueError(f"{where}: field '{prefix}{key}[{i}]' must be a non-empty string, got {item!r}{hint}")
        return value

    def _temperature_rules(self, t: Mapping[str, Any], where: str) -> _TempRules:
        p = "treatment.temperature."

        def words(key: str) -> frozenset[str]:
            return frozenset(w for item in self._strings(t, key, where, p) for raw in _clean(item).split()
                             for w in self._spellings.get(raw, (raw,)))

        def number(key: str) -> float:
            value = t.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{where}: field '{p}{key}' must be a number")
            return float(value)

        def pair(key: str) -> tuple[float, float]:
            value = t.get(key)
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)
                    and value[0] < value[1]):
                raise ValueError(f"{where}: field '{p}{key}' must be [low, high]")
            return float(value[0]), float(value[1])

        return _TempRules(
            words=words("words"), celsius=words("celsius"), fahrenheit=words("fahrenheit"),
            degrees=words("degrees"), ambient=words("ambient"), body=words("body"), not_units=words("not_units"),
            high_c=number("high_c"), low_c=number("low_c"), high_f=number("high_f"), low_f=number("low_f"),
            range_c=pair("body_range_c"), range_f=pair("body_range_f"),
        )

    @classmethod
    def from_file(cls, path: Path) -> SafetyScreen:
        """Read, validate and compile a patterns file."""
        return cls(_read_yaml(path), str(path))

    # -- normalising -------------------------------------------------------------------

    def _prepare(self, text: str) -> _Text:
        tokens: list[str] = []
        spell = self._spellings
        for tok in _TOKEN.findall(_RUN3.sub(r"\1\1", _clean(text))):
            if tok in spell:
                tokens.extend(spell[tok])
            else:
                tokens.append(tok)
        if not tokens:
            return _Text((), (), "  ", (0,))
        skel = tuple(_skeleton(" ".join(tokens)).split(" "))  # one pass; runs never cross a space
        starts, pos = [], 0
        for s in skel:
            starts.append(pos)
            pos += len(s) + 1
        starts.append(pos)
        return _Text(tuple(tokens), skel, " " + " ".join(skel) + " ", tuple(starts))

    def normalise(self, text: str) -> str:
        """The normalised form of ``text`` that the screen reads (for logs and debugging)."""
        return " ".join(self._prepare(text).tokens)

    # -- screening ---------------------------------------------------------------------

    def screen(self, text: str) -> ScreenResult | None:
        """Return the crisis this message shows, or ``None``. Never raises on odd input."""
        if not isinstance(text, str) or not text.strip():
            return None
        t = self._prepare(text[:5000])
        excluded = self._spans(t, self._exclusions)
        for kind in self._order:
            hit = self._first(t, self._kinds[kind], excluded)
            if hit is None and kind is CrisisKind.TREATMENT_RED_FLAG:
                hit = self._red_flag(t, excluded)
            if hit is not None:
                return ScreenResult(kind, hit)
        return None

    @staticmethod
    def _spans(t: _Text, group: _Group) -> list[tuple[int, int]]:
        if group.prefilter is None or not group.prefilter.search(t.s):
            return []
        return [t.span(m) for p in group.phrases for m in p.regex.finditer(t.s)]

    def _first(self, t: _Text, group: _Group, excluded: list[tuple[int, int]]) -> str | None:
        """Display text of the first match in ``group`` that is neither excluded nor negated."""
        if group.prefilter is not None and group.prefilter.search(t.s):
            for phrase in group.phrases:
                hit = self._valid(t, phrase, excluded)
                if hit is not None:
                    return hit
        for combo in group.combos:
            hits = [self._valid(t, phrase, excluded) for phrase in combo]
            if all(h is not None for h in hits):
                return " + ".join(h for h in hits if h is not None)
        return None

    def _valid(self, t: _Text, phrase: _Phrase, excluded: list[tuple[int, int]]) -> str | None:
        for m in phrase.regex.finditer(t.s):
            i, j = t.span(m)
            if not any(i < b and a < j for a, b in excluded) and not self._negated(t, i):
                return t.display(i, j)
        return None

    def _negated(self, t: _Text, i: int) -> bool:
        """Is there a negation cue in the few words before token ``i``, within the same clause?"""
        window: list[str] = []
        k = i - 1
        while k >= 0 and len(window) < self._window and t.skel[k] not in self._boundaries:
            window.append(t.skel[k])
            k -= 1
        if not window:
            return False
        s = " " + " ".join(reversed(window)) + " "
        for p in self._pseudo:
            s = p.regex.sub("", s)
        return self._cues.prefilter is not None and self._cues.prefilter.search(s) is not None

    def _red_flag(self, t: _Text, excluded: list[tuple[int, int]]) -> str | None:
        context = self._first(t, self._context, excluded)
        if context is None:
            return None
        sign = self._first(t, self._symptoms, excluded) or self._abnormal_temperature(t)
        return f"{sign} + {context}" if sign else None

    def _abnormal_temperature(self, t: _Text) -> str | None:
        """First body temperature in the message that is too high or too low, as text."""
        r, toks = self._temp, t.tokens
        for k, tok in enumerate(toks):
            after = toks[k + 1] if k + 1 < len(toks) else ""
            if not tok[0].isdigit() or (k and toks[k - 1] in _CURRENCY) or after in r.not_units:
                continue  # not a number, money, or a count of something ("37.5 hours")
            value = float(tok)
            unit, shown = self._unit(toks, k)
            near = self._near(toks, k, 5, 3)
            if unit is None and not (near & r.words) and not re.fullmatch(r"\d{2,3}\.\d", tok):
                continue  # a bare number: an age, a bus, a room
            if unit in (None, "deg"):
                unit = "c" if r.range_c[0] <= value <= r.range_c[1] else "f"
            lo, hi = r.range_c if unit == "c" else r.range_f
            if not lo <= value <= hi or self._ambient(toks, k):
                continue
            high, low = (r.high_c, r.low_c) if unit == "c" else (r.high_f, r.low_f)
            if value >= high or value < low:
                return f"{tok}{shown}"
        return None

    def _unit(self, toks: tuple[str, ...], k: int) -> tuple[str | None, str]:
        """Unit written after the number at ``k``: ('c' | 'f' | 'deg' | None, text to show)."""
        r, following = self._temp, toks[k + 1:k + 3]
        shown = ""
        for tok in following:
            if tok in r.celsius:
                return "c", shown + " " + tok
            if tok in r.fahrenheit:
                return "f", shown + " " + tok
            if tok in r.degrees and not shown:
                shown = " " + tok
                continue
            break
        return ("deg" if shown else None), shown

    @staticmethod
    def _near(toks: tuple[str, ...], k: int, before: int, after: int) -> set[str]:
        out: set[str] = set()
        for step, limit in ((-1, before), (1, after)):
            i = k + step
            while 0 <= i < len(toks) and abs(i - k) <= limit and toks[i] not in _SENTENCE_END:
                out.add(toks[i])
                i += step
        return out

    def _ambient(self, toks: tuple[str, ...], k: int) -> bool:
        """Is the number at ``k`` nearer to a room/weather word than to a body word ("my", "fever")?"""
        r = self._temp
        best_ambient = best_body = 99
        for step in (-1, 1):
            i = k + step
            while 0 <= i < len(toks) and abs(i - k) <= 5 and toks[i] not in _SENTENCE_END:
                d = abs(i - k)
                if toks[i] in r.ambient:
                    best_ambient = min(best_ambient, d)
                if toks[i] in r.body:
                    best_body = min(best_body, d)
                i += step
        return best_ambient < best_body


@lru_cache(maxsize=1)
def _default_screen() -> SafetyScreen:
    return SafetyScreen.from_file(DEFAULT_PATTERNS_PATH)


def load_screen(path: Path | None = None) -> SafetyScreen:
    """The screen built from ``path`` (default: knowledge/safety/patterns.yml, loaded once and cached)."""
    return _default_screen() if path is None else SafetyScreen.from_file(Path(path))


# --------------------------------------------------------------------------------------
# Crisis replies
# --------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_NATION_ALIASES = {"ni": "northern_ireland", "n_ireland": "northern_ireland", "uk": None, "": None}


@dataclass(frozen=True)
class _Number:
    id: str
    label: str
    number: str
    nations: tuple[str, ...]
    group: str | None
    say: str


@dataclass(frozen=True)
class _CrisisFile:
    nation_names: Mapping[str, str]
    numbers: Mapping[str, _Number]
    groups: Mapping[str, tuple[_Number, ...]]
    replies: Mapping[CrisisKind, str]
    closing: str

    def render(self, kind: CrisisKind, nation: str | None) -> str:
        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            if key in self.numbers:
                return self.numbers[key].number
            items = self.groups[key]
            local = [n for n in items if nation in n.nations]
            if nation and local:
                return " or ".join(n.say for n in local)
            return "; ".join(
                f"in {', '.join(self.nation_names[x] for x in n.nations)} {n.say}" for n in items
            )

        return _PLACEHOLDER.sub(fill, self.replies[kind]).strip() + "\n\n" + self.closing


def _parse_crisis(data: Mapping[str, Any], where: str) -> _CrisisFile:
    _provenance(data, where)
    names = _need(data, "nations", Mapping, where)
    if set(names) != set(NATIONS) or not all(isinstance(v, str) and v for v in names.values()):
        raise ValueError(f"{where}: field 'nations' must name each of {', '.join(NATIONS)}")
    closing = _need(data, "closing", str, where).strip()
    numbers: dict[str, _Number] = {}
    groups: dict[str, list[_Number]] = {}
    for i, item in enumerate(_need(data, "numbers", list, where)):
        p = f"numbers[{i}]."
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: field 'numbers[{i}]' must be a mapping")
        nid = _need(item, "id", str, where, p)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", nid) or nid in numbers:
            raise ValueError(f"{where}: field '{p}id' must be a unique lower_case id, got {nid!r}")
        p = f"numbers.{nid}."
        label = _need(item, "label", str, where, p)
        number = str(_need(item, "number", (str, int), where, p))
        if not re.fullmatch(r"\d+( \d+)*", number):
            raise ValueError(f"{where}: field '{p}number' must be digits and single spaces, got {number!r}")
        _need(item, "hours", str, where, p)
        _provenance(item, where, p)
        if not str(item["source"]).startswith("https://"):
            raise ValueError(f"{where}: field '{p}source' must be an https:// address")
        nations = _need(item, "nations", list, where, p)
        if not set(nations) <= set(NATIONS):
            raise ValueError(f"{where}: field '{p}nations' may only contain {', '.join(NATIONS)}")
        group = item.get("group")
        say = item.get("say", "")
        if group is not None:
            if not isinstance(group, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", group):
                raise ValueError(f"{where}: field '{p}group' must be a lower_case name")
            if not isinstance(say, str) or "{number}" not in say:
                raise ValueError(f"{where}: field '{p}say' must be text containing {{number}} when 'group' is set")
        entry = _Number(nid, label, number, tuple(nations), group, str(say).replace("{number}", number))
        numbers[nid] = entry
        if group:
            groups.setdefault(group, []).append(entry)
    clash = set(numbers) & set(groups)
    if clash:
        raise ValueError(f"{where}: field 'numbers': ids and groups must differ, both use {sorted(clash)}")
    replies_raw = _need(data, "replies", Mapping, where)
    replies: dict[CrisisKind, str] = {}
    for kind in CrisisKind:
        text = _need(replies_raw, kind.value, str, where, "replies.")
        for key in _PLACEHOLDER.findall(text):
            if key not in numbers and key not in groups:
                raise ValueError(f"{where}: field 'replies.{kind.value}' uses {{{key}}}, which is no number id or group")
        replies[kind] = text
    return _CrisisFile(dict(names), numbers, {g: tuple(v) for g, v in groups.items()}, replies, closing)


@lru_cache(maxsize=1)
def _default_crisis() -> _CrisisFile:
    return _parse_crisis(_read_yaml(DEFAULT_CRISIS_PATH), str(DEFAULT_CRISIS_PATH))


def _nation(nation: str | None) -> str | None:
    if nation is None:
        return None
    key = re.sub(r"[\s\-]+", "_", str(nation).strip().lower())
    key = _NATION_ALIASES.get(key, key)
    return key if key in NATIONS else None


def crisis_reply(kind: CrisisKind | str, nation: str | None, path: Path | None = None) -> str:
    """The crisis answer for ``kind``, with the numbers for ``nation``.

    ``nation`` is england, scotland, wales or northern_ireland; ``None`` (or anything
    unrecognised - the crisis path must never fail) lists each nation's line briefly.
    """
    crisis = _default_crisis() if path is None else _parse_crisis(_read_yaml(Path(path)), str(path))
    return crisis.render(CrisisKind(kind), _nation(nation))
