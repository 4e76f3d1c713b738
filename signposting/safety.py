"""Deterministic crisis screen: the first thing every message meets, on every channel.

No Rasa here; the NLU component in bot/components wraps it. The matching engine is spaCy's
rule-based ``Matcher`` (and ``PhraseMatcher`` for plain word sequences) over a blank English
pipeline, ``spacy.blank("en")``: no trained model, nothing to download. spaCy is imported when
the first screen is built, so ``crisis_reply`` and the rest of the core stay light.

Pipeline for ``SafetyScreen.screen(text)``:

1. **Normalise** the text: unify quotes, strip accents, lower case, expand contractions
   ("can't" -> "cannot", "I'm" -> "i am"), turn "37,8" into "37.8", cut letters repeated 3+
   times to 2 ("sooooo" -> "soo"), keep only letters, digits and ``. , ; : ! ? ° £ $ €``, then
   rewrite words from the ``spellings`` table of patterns.yml ("wanna" -> "want to",
   "sucidal" -> "suicidal", "kemo" -> "chemo", "temp" -> "temperature"). Grammar lives here,
   vocabulary in the file that editors own.
2. **Tokenise** with the pipeline's tokenizer: words, numbers and symbols ("38.2°c" -> 38.2 ° c,
   "die.i" -> die . i), plus one end-of-message token so that "end of sentence" is something
   a pattern can match.
3. **Lexeme attributes** carry the tolerance, computed once per word by the vocabulary: ``NORM``
   is the word's *skeleton*, every run of a repeated letter as one letter, so "kil", "kill" and
   "killl" are the same word (and "." stands for . ! ? and the end of the message); ``PREFIX``
   is the ``word*`` prefix from patterns.yml that the word starts with ("killing" -> "kil").
4. **Match**: every phrase of patterns.yml, written in the small language documented at the
   top of that file, is compiled into spaCy token patterns: ``(a|b)`` is a set of words (``IN``)
   or several patterns, ``(a)?`` an optional token (``"OP": "?"``), ``...`` up to ``max_gap``
   optional tokens that are neither punctuation nor a negation word, ``word*`` a ``PREFIX``
   value, ``@list`` the list's entries, ``#`` a number, ``$`` the end-of-sentence token.
   Phrases that come down to a few plain word sequences go to one ``PhraseMatcher``; the rest
   go to ``Matcher`` objects, grouped by an *anchor* token every match must contain (a rare
   word such as "kill*", not "i"), each called only where its anchor occurs. Every match of
   every phrase is found, not only the leftmost.
5. **Reject** a match that overlaps a match of an exclusion (look-alike) phrase, or that has a
   negation cue ("not", "never", "no") in the few words before it in the same clause, unless
   that cue is part of a pseudo-negation ("not sure", "can't stop"). Gaps never swallow a
   negation word.
6. **Kinds** are tried in the order they appear in patterns.yml; the first kind with a valid
   match wins. ``treatment_red_flag`` also fires when treatment context (chemo, immunotherapy,
   radiotherapy, "neutropenic", ...) appears with a symptom phrase or with a body temperature
   >= 37.5 C / < 36 C (>= 99.5 F / < 96.8 F); room and weather temperatures are ignored.

``crisis_reply(kind, nation)`` builds the answer from knowledge/safety/crisis.yml,
where every phone number is a sourced, dated item referenced by id.
"""

from __future__ import annotations

import copy
import hashlib
import re
import sys
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum
from functools import lru_cache, partial
from itertools import product
from pathlib import Path
from types import ModuleType
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
# Normalisation (before spaCy sees the text)
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
_DROPPED = re.compile(r"[^a-z\d°£$€.,;:!?]+")  # what the screen does not read: a word break
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


# --------------------------------------------------------------------------------------
# spaCy: the pipeline, its vocabulary's attributes, and the matchers
# --------------------------------------------------------------------------------------

_END = "¶"  # the end-of-message token (normalisation drops this character from messages)
_SENT_END = "."  # the NORM of . ! ? and of _END, so "$" is a single token value
_SENT_END_TOKENS = frozenset(".!?" + _END)
# A whole number, a whole word or one symbol at the start of a chunk, when more follows. spaCy
# peels these off one at a time; (?=(...))\1 makes each alternative atomic, so "38.50" stays one.
_TOKEN_THEN_MORE = re.compile(r"^(?:(?=(\d+(?:\.\d+)?))\1|(?=([a-z]+))\2|[^a-z\d])(?=.)")
_TOKENIZER = "signpost_crisis_screen_tokenizer.v1"
_NUMBER = r"\d+(?:\.\d+)?"
_LETTERS = re.compile(r"[a-z]*")
_PHRASE_LIMIT = 12  # plain word sequences per pattern beyond which it goes to a Matcher, not the PhraseMatcher
# The vocabulary keeps every word it has seen; past this many strings the screen starts a fresh
# one (spaCy's advice for long-running processes), so memory stays bounded.
_VOCAB_LIMIT = 100_000
_IMPORT_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _spacy() -> ModuleType:
    """spaCy, imported on first use, with the screen's tokenizer registered.

    thinc, spaCy's machine-learning layer, imports TensorFlow when it can: seconds and hundreds
    of megabytes in a process that has not loaded it (the action server, the CLI, the tests).
    The screen uses no machine learning, so TensorFlow is hidden for that one import; thinc then
    records it as absent, and nothing in Signpost uses thinc's TensorFlow bridge. In a process
    that has already loaded TensorFlow (the Rasa server) spaCy is imported as usual.
    """
    with _IMPORT_LOCK:
        hide = "tensorflow" not in sys.modules and "thinc" not in sys.modules
        if hide:
            sys.modules["tensorflow"] = None  # type: ignore[assignment]  # `import tensorflow` fails at once
        try:
            import spacy
            from spacy.tokenizer import Tokenizer
        finally:
            if hide:
                del sys.modules["tensorflow"]

    @spacy.registry.tokenizers(_TOKENIZER)
    def make_tokenizer() -> Callable[[Any], Any]:
        def create(nlp: Any) -> Any:
            # No special cases: contractions and text-speak are handled above and in `spellings`.
            return Tokenizer(nlp.vocab, rules={}, prefix_search=_TOKEN_THEN_MORE.search)

        return create

    return spacy


def _norm(word: str) -> str:
    """NORM of a word: its skeleton; "." for anything that ends a sentence."""
    return _SENT_END if word in _SENT_END_TOKENS else _skeleton(word)


def _prefix_of(prefixes: tuple[str, ...], word: str) -> str:
    """PREFIX of a word: the longest ``word*`` prefix of the patterns it starts with, or ''."""
    skel = _skeleton(word)
    for p in prefixes:
        if skel.startswith(p) and _LETTERS.fullmatch(skel, len(p)):
            return p
    return ""


_Pattern = list[dict[str, Any]]
_Anchor = tuple[str, str]  # a value of an anchor token: ("NORM", word), ("PREFIX", prefix) or ("NUMBER", "#")


@dataclass(frozen=True)
class _Batch:
    """Matcher patterns that share their anchor: a token every match must contain, chosen to be rare.

    ``before`` and ``after``: how many tokens a match can have before and after its anchor.
    """

    anchors: frozenset[_Anchor]
    patterns: tuple[tuple[str, _Pattern], ...]  # (phrase key, pattern)
    before: int
    after: int


@dataclass(frozen=True)
class _Compiled:
    """Everything the matchers are built from: plain data, so a fresh vocabulary can rebuild them."""

    prefixes: tuple[str, ...]  # longest first
    phrases: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]  # key -> word sequences (NORM values)
    batches: tuple[_Batch, ...]


@dataclass(frozen=True, eq=False)
class _Anchored:
    """The Matcher of one batch, and how far its matches reach either side of the anchor."""

    matcher: Any
    before: int
    after: int


@dataclass
class _Engine:
    """The spaCy objects of one screen. Used under the screen's lock: spaCy objects are not thread-safe.

    One PhraseMatcher holds every plain word sequence. Each other pattern has an *anchor*, a
    token every match must contain, chosen to be a rare word ("kill*" rather than "i" or "my");
    patterns with the same anchor share a Matcher, which is called only when the anchor is in
    the message, and only on the tokens around it that a match could cover. spaCy's Matcher
    tries every pattern at every token, so one Matcher holding every pattern would take about a
    millisecond per message; this finds the same matches in a fraction of that.
    """

    nlp: Any
    phrase_matcher: Any
    by_norm: dict[int, tuple[_Anchored, ...]]  # by the id of a NORM in the vocabulary's strings
    by_prefix: dict[int, tuple[_Anchored, ...]]  # by the id of a PREFIX
    by_number: tuple[_Anchored, ...]
    keys: dict[int, str]  # match id -> phrase key
    attrs: tuple[int, ...]  # NORM, PREFIX, LIKE_NUM: read from every token at once

    @classmethod
    def build(cls, compiled: _Compiled) -> _Engine:
        spacy = _spacy()
        from spacy.attrs import LIKE_NUM, NORM, PREFIX
        from spacy.lang.en import English
        from spacy.matcher import Matcher, PhraseMatcher
        from spacy.tokens import Doc
        from spacy.vocab import create_vocab

        vocab = create_vocab("en", English.Defaults)
        vocab.lex_attr_getters[NORM] = _norm
        vocab.lex_attr_getters[PREFIX] = partial(_prefix_of, compiled.prefixes)
        nlp = spacy.blank("en", vocab=vocab, config={"nlp": {"tokenizer": {"@tokenizers": _TOKENIZER}}})
        for lex in vocab:  # words the vocabulary already had before the getters were set
            lex.norm_ = _norm(lex.orth_)
            lex.prefix_ = _prefix_of(compiled.prefixes, lex.orth_)
        phrase_matcher = PhraseMatcher(vocab, attr="NORM")
        for key, sequences in compiled.phrases:
            phrase_matcher.add(key, [Doc(vocab, words=list(words)) for words in sequences])

        by_attr: dict[str, dict[int, list[_Anchored]]] = {"NORM": {}, "PREFIX": {}, "NUMBER": {}}
        keys = {key for key, _ in compiled.phrases}
        for batch in compiled.batches:
            matcher = Matcher(vocab, validate=False)  # spaCy's schema omits PREFIX; the Matcher supports it
            by_key: dict[str, list[_Pattern]] = {}
            for key, pattern in batch.patterns:
                by_key.setdefault(key, []).append(pattern)
            for key, patterns in by_key.items():
                matcher.add(key, patterns)
            keys.update(by_key)
            entry = _Anchored(matcher, batch.before, batch.after)
            for attr, value in batch.anchors:
                by_attr[attr].setdefault(vocab.strings.add(value), []).append(entry)
        return cls(
            nlp, phrase_matcher,
            by_norm={k: tuple(v) for k, v in by_attr["NORM"].items()},
            by_prefix={k: tuple(v) for k, v in by_attr["PREFIX"].items()},
            by_number=tuple(entry for entries in by_attr["NUMBER"].values() for entry in entries),
            keys={vocab.strings.add(key): key for key in keys},
            attrs=(NORM, PREFIX, LIKE_NUM),
        )

    def match(self, doc: Any) -> list[tuple[int, int, int]]:
        """(match id, start, end) of every match of every phrase in ``doc``."""
        found = list(self.phrase_matcher(doc))
        # Where each batch's anchor occurs: from its first occurrence to its last.
        reach: dict[_Anchored, list[int]] = {}
        by_norm, by_prefix = self.by_norm, self.by_prefix
        for i, (norm, prefix, like_num) in enumerate(doc.to_array(self.attrs).tolist()):
            entries = by_norm.get(norm, ()) + by_prefix.get(prefix, ())
            if like_num:
                entries += self.by_number
            for entry in entries:
                span = reach.setdefault(entry, [i, i])
                span[1] = i
        for entry, (first, last) in reach.items():
            start = max(0, first - entry.before)
            found.extend((m, start + s, start + e) for m, s, e in entry.matcher(doc[start:last + entry.after + 1]))
        return found


# --------------------------------------------------------------------------------------
# Pattern language -> token patterns
# --------------------------------------------------------------------------------------

_DSL_TOKEN = re.compile(r"\s*(\(|\)\?|\)|\||\.\.\.|\$|#|@[a-z_]+|[a-z0-9°£]+\*?)")


@dataclass(frozen=True)
class _Tok:
    """One token position of a pattern: the words it accepts.

    ``gap`` is one word of a ``...`` gap (anything but punctuation or a negation word), ``end``
    the end-of-sentence token of ``$``. Plain positions (neither) can be merged with each other.
    """

    words: frozenset[str] = frozenset()  # skeletons
    prefixes: frozenset[str] = frozenset()  # skeletons of `word*` prefixes
    number: bool = False
    gap: bool = False
    end: bool = False
    optional: bool = False
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Sequences of these are hashed over and over while merging: compute it once.
        object.__setattr__(self, "_hash", hash((self.words, self.prefixes, self.number, self.gap, self.end, self.optional)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def plain(self) -> bool:
        return not (self.gap or self.end)

    @property
    def literal(self) -> bool:
        """Only fixed words (or the end of a sentence): PhraseMatcher material."""
        return not (self.gap or self.prefixes or self.number)


_Seq = tuple[_Tok, ...]
_Seqs = frozenset[_Seq]
_END_TOK = _Tok(words=frozenset({_SENT_END}), end=True)


def _merge(seqs: Iterable[_Seq]) -> _Seqs:
    """The same set of word sequences in fewer patterns.

    Two sequences equal but for one plain position become one with the union of that position's
    words; a sequence equal to another with one plain position removed makes that position
    optional. Each step keeps exactly the same matches, so the result is exact.
    """
    pool = set(seqs)
    while len(pool) > 1:
        size = len(pool)
        pool = _merge_unions(pool)
        pool = _merge_optionals(pool)
        if len(pool) == size:
            break
    return frozenset(pool)


def _merge_unions(pool: set[_Seq]) -> set[_Seq]:
    longest = max((len(s) for s in pool), default=0)
    for k in range(longest):
        buckets: dict[tuple[_Seq, _Seq, bool], list[_Seq]] = {}
        for s in pool:
            if len(s) > k and s[k].plain:
                buckets.setdefault((s[:k], s[k + 1:], s[k].optional), []).append(s)
        for (head, tail, optional), group in buckets.items():
            if len(group) > 1:
                pool.difference_update(group)
                tok = _Tok(
                    words=frozenset().union(*(s[k].words for s in group)),
                    prefixes=frozenset().union(*(s[k].prefixes for s in group)),
                    number=any(s[k].number for s in group),
                    optional=optional,
                )
                pool.add(head + (tok,) + tail)
    return pool


def _merge_optionals(pool: set[_Seq]) -> set[_Seq]:
    for s in sorted(pool, key=len, reverse=True):
        if s not in pool:
            continue
        k = 0
        while k < len(s):
            shorter = s[:k] + s[k + 1:]
            if s[k].plain and shorter in pool:
                pool.discard(shorter)
                if not s[k].optional:
                    pool.discard(s)
                    s = s[:k] + (replace(s[k], optional=True),) + s[k + 1:]
                    pool.add(s)
            k += 1
    return pool


def _concat(a: _Seqs, b: _Seqs) -> _Seqs:
    """Every sequence of ``a`` followed by every sequence of ``b``. Nothing can follow ``$``."""
    out: set[_Seq] = set()
    b_can_be_empty = any(all(t.optional for t in y) for y in b)
    for x in a:
        if x and x[-1].end:
            if b_can_be_empty:
                out.add(x)
            continue
        out.update(x + y for y in b)
    return _merge(out)


class _Compiler:
    """Turns patterns.yml phrases into Matcher token patterns and PhraseMatcher word sequences."""

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
        self.lists: dict[str, _Seqs] = {}
        self._resolving: set[str] = set()
        self.prefix_values: dict[str, list[str]] = {}  # prefix -> PREFIX values it accepts (set by finish)
        self.gap: _Seqs = frozenset({(_Tok(gap=True, optional=True),) * max_gap})
        # A gap word is anything but punctuation ("!" and "?" have the NORM ".") or a negation word.
        self.not_gap = sorted({_skeleton(w) for w in gap_stops} | {".", ",", ";", ":"})
        self.phrases: list[tuple[str, _Seqs]] = []

    def error(self, field: str, message: str) -> ValueError:
        return ValueError(f"{self.where}: field '{field}': {message}")

    def words(self, word: str) -> tuple[str, ...]:
        """A literal word as the normaliser would turn it into tokens."""
        return self.spellings.get(_RUN3.sub(r"\1\1", word), (word,))

    def compile(self, phrase: Any, field: str) -> str:
        """Check and compile one phrase; returns its key (the field it came from)."""
        if not isinstance(phrase, str) or not phrase.strip():
            raise self.error(field, f"each phrase must be a non-empty string, got {phrase!r}")
        seqs = self.body(phrase, field)
        if not seqs:
            raise self.error(field, f"phrase {phrase!r} can never match: nothing can follow '$'")
        if any(all(t.optional for t in s) for s in seqs):
            raise self.error(field, f"phrase {phrase!r} can match no words at all")
        self.phrases.append((field, seqs))
        return field

    def body(self, phrase: str, field: str) -> _Seqs:
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
        seqs, i = self._seq(tokens, 0, phrase, field)
        if i != len(tokens):
            raise self.error(field, f"phrase {phrase!r}: unbalanced ')' or '|'")
        return seqs

    def _seq(self, toks: list[str], i: int, phrase: str, field: str) -> tuple[_Seqs, int]:
        out: _Seqs = frozenset({()})
        while i < len(toks) and toks[i] not in ("|", ")", ")?"):
            t = toks[i]
            if t == "(":
                alts: set[_Seq] = set()
                i += 1
                while True:
                    seqs, i = self._seq(toks, i, phrase, field)
                    alts.update(seqs)
                    if i >= len(toks):
                        raise self.error(field, f"phrase {phrase!r}: missing ')'")
                    if toks[i] == "|":
                        i += 1
                        continue
                    break
                if toks[i] == ")?":
                    alts.add(())
                item = _merge(alts)
            elif t == "...":
                item = self.gap
            elif t == "$":
                item = frozenset({(_END_TOK,)})
            elif t == "#":
                item = frozenset({(_Tok(number=True),)})
            elif t.startswith("@"):
                item = self.word_list(t[1:], field, phrase)
            elif t.endswith("*"):
                item = frozenset({(_Tok(prefixes=frozenset({_skeleton(t[:-1])})),)})
            else:
                item = frozenset({tuple(_Tok(words=frozenset({_skeleton(w)})) for w in self.words(t))})
            out = _concat(out, item)
            i += 1
        return out, i

    def word_list(self, name: str, field: str, phrase: str) -> _Seqs:
        if name in self.lists:
            return self.lists[name]
        entries = self.raw_lists.get(name)
        if name in self._resolving or not isinstance(entries, list) or not entries:
            raise self.error(field, f"phrase {phrase!r} uses @{name}, which is not a non-empty list in 'word_lists'")
        self._resolving.add(name)
        if not all(isinstance(e, str) and e.strip() for e in entries):
            raise self.error(f"word_lists.{name}", "every entry must be a non-empty string")
        seqs = _merge(s for e in entries for s in self.body(e, f"word_lists.{name}"))
        self._resolving.discard(name)
        self.lists[name] = seqs
        return seqs

    # -- output -------------------------------------------------------------------------

    def finish(self) -> _Compiled:
        """Word sequences for the PhraseMatcher, and Matcher patterns batched by their anchor."""
        prefixes = {p for _, seqs in self.phrases for s in seqs for t in s for p in t.prefixes}
        # A word has one PREFIX value, its longest match; `end*` must also accept 'ending' if 'ending*' exists.
        self.prefix_values = {p: sorted(q for q in prefixes if q.startswith(p)) for p in prefixes}
        _spacy()
        from spacy.lang.en.stop_words import STOP_WORDS

        common = {_skeleton(w) for w in STOP_WORDS} | {_SENT_END}
        phrases: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
        batches: dict[_Tok, list[tuple[str, _Pattern, int, int]]] = {}
        for key, seqs in self.phrases:
            words: list[tuple[str, ...]] = []
            for s in sorted(seqs, key=_seq_order):
                n = _phrase_count(s)
                if n is not None and n <= _PHRASE_LIMIT:
                    words.extend(_phrase_words(s))
                    continue
                # Every sequence has a required token: all-optional phrases are refused, gaps are optional.
                k = min((i for i, t in enumerate(s) if not t.optional), key=lambda i: (self._commonness(s[i], common), i))
                batches.setdefault(s[k], []).append((key, [self._spec(t) for t in s], k, len(s) - k - 1))
            if words:
                phrases.append((key, tuple(dict.fromkeys(words))))
        return _Compiled(
            tuple(sorted(prefixes, key=lambda p: (-len(p), p))),
            tuple(phrases),
            tuple(
                _Batch(
                    self._anchors(anchor),
                    tuple((key, pattern) for key, pattern, _, _ in items),
                    before=max(before for _, _, before, _ in items),
                    after=max(after for _, _, _, after in items),
                )
                for anchor, items in batches.items()
            ),
        )

    def _commonness(self, t: _Tok, common: set[str]) -> int:
        """Roughly how often a token like ``t`` turns up in messages: the anchor is the rarest."""
        score = sum(100 if w in common else 1 for w in t.words)
        score += sum(3 for p in t.prefixes for _ in self.prefix_values[p])
        return score + (100 if t.number else 0)

    def _anchors(self, t: _Tok) -> frozenset[_Anchor]:
        return frozenset(
            [("NORM", w) for w in t.words]
            + [("PREFIX", v) for p in t.prefixes for v in self.prefix_values[p]]
            + ([("NUMBER", "#")] if t.number else [])
        )

    def _spec(self, t: _Tok) -> dict[str, Any]:
        spec: dict[str, Any]
        if t.gap:
            spec = {"NORM": {"NOT_IN": self.not_gap}}
        elif t.number or (t.words and t.prefixes):
            alts = [re.escape(w) for w in sorted(t.words)] + [re.escape(p) + "[a-z]*" for p in sorted(t.prefixes)]
            spec = {"NORM": {"REGEX": "^(?:" + "|".join(alts + ([_NUMBER] if t.number else [])) + ")$"}}
        elif t.prefixes:
            values = sorted({v for p in t.prefixes for v in self.prefix_values[p]})
            spec = {"PREFIX": values[0] if len(values) == 1 else {"IN": values}}
        else:
            spec = {"NORM": next(iter(t.words)) if len(t.words) == 1 else {"IN": sorted(t.words)}}
        if t.optional:
            spec["OP"] = "?"
        return spec


def _seq_order(s: _Seq) -> tuple[Any, ...]:
    """A stable order for sequences, so a screen compiles the same way every time."""
    return tuple((sorted(t.words), sorted(t.prefixes), t.number, t.gap, t.end, t.optional) for t in s)


def _phrase_count(s: _Seq) -> int | None:
    """How many plain word sequences ``s`` stands for, or None if it needs the Matcher."""
    n = 1
    for t in s:
        if not t.literal:
            return None
        n *= len(t.words) + t.optional
    return n


def _phrase_words(s: _Seq) -> list[tuple[str, ...]]:
    options = [sorted(t.words) + ([""] if t.optional else []) for t in s]
    return [tuple(w for w in combo if w) for combo in product(*options)]


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


def _read_yaml(path: Path, text: str | None = None) -> Mapping[str, Any]:
    """The file's top-level mapping (``text``: its content, when already read)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8") if text is None else text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: the file must be a mapping of fields at the top level")
    return data


# --------------------------------------------------------------------------------------
# The screen
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """Phrase keys in file order, plus ``all:`` combinations (every part must match)."""

    phrases: tuple[str, ...]
    combos: tuple[tuple[str, ...], ...] = ()
    rank: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", {key: i for i, key in enumerate(self.phrases)})


@dataclass(frozen=True)
class _Message:
    """A message as the screen read it: tokens, their NORMs and every match, by phrase key."""

    tokens: tuple[str, ...]  # normalised words, numbers and symbols (no end-of-message token)
    norms: tuple[str, ...]  # NORM of each token, end-of-message token included
    spans: Mapping[str, tuple[tuple[int, int], ...]]  # phrase key -> [start, end) token ranges

    def all(self, keys: Iterable[str]) -> list[tuple[int, int]]:
        return [span for key in keys for span in self.spans.get(key, ())]

    def display(self, i: int, j: int) -> str:
        return " ".join(self.tokens[i:j])


@dataclass
class _Checks:
    """What makes a match not count, for one message."""

    excluded: list[tuple[int, int]]
    cues: list[tuple[int, int]]
    pseudo: list[tuple[int, int]]
    negated: dict[int, bool] = field(default_factory=dict)  # by match start, computed once


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
    """Crisis screen built from the patterns file. Its rules never change after construction;
    ``screen`` is thread-safe (the spaCy part runs under a lock)."""

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
        self._respelt = {key: " ".join(value) for key, value in spellings.items()}
        words = "|".join(sorted(map(re.escape, spellings), key=len, reverse=True)) or "(?!)"
        self._respell = re.compile(rf"(?<![a-z])(?:{words})(?![a-z])")  # whole words only

        word_lists = data.get("word_lists") or {}
        if not isinstance(word_lists, Mapping):
            raise ValueError(f"{where}: field 'word_lists' must be a mapping of name: [words]")

        negation = _need(data, "negation", Mapping, where)
        cues = self._strings(negation, "cues", where, "negation.")
        gap_stops = [c for c in cues if " " not in c.strip()]
        c = _Compiler(where, spellings, word_lists, max_gap, gap_stops)
        self._cues = tuple(c.compile(p, f"negation.cues[{i}]") for i, p in enumerate(cues))
        self._pseudo = tuple(
            c.compile(p, f"negation.pseudo[{i}]")
            for i, p in enumerate(self._strings(negation, "pseudo", where, "negation.", True))
        )
        self._boundaries = frozenset(
            _skeleton(w) for b in self._strings(negation, "boundaries", where, "negation.", True) for w in c.words(b)
        ) | _PUNCT

        self._exclusions = tuple(
            c.compile(p, f"exclusions[{i}]") for i, p in enumerate(self._strings(data, "exclusions", where, ""))
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
        self._context = _Group(tuple(
            c.compile(p, f"treatment.context[{i}]")
            for i, p in enumerate(self._strings(treatment, "context", where, "treatment."))
        ))
        self._symptoms = _Group(tuple(
            c.compile(p, f"treatment.symptoms[{i}]")
            for i, p in enumerate(self._strings(treatment, "symptoms", where, "treatment."))
        ))
        self._temp = self._temperature_rules(_need(treatment, "temperature", Mapping, where, "treatment."), where)

        self._compiled = c.finish()
        self._lock = threading.Lock()
        self._engine = _Engine.build(self._compiled)

    # -- construction helpers ----------------------------------------------------------

    @staticmethod
    def _kind_group(entries: Any, c: _Compiler, where: str, kind: CrisisKind) -> _Group:
        """A kind's list: phrases, and ``{all: [phrase, ...]}`` items that fire only when every part matches."""
        field = f"kinds.{kind.value}"
        if entries is None and kind is CrisisKind.TREATMENT_RED_FLAG:
            entries = []
        if not isinstance(entries, list) or (not entries and kind is not CrisisKind.TREATMENT_RED_FLAG):
            raise ValueError(f"{where}: field '{field}' must be a non-empty list")
        phrases: list[str] = []
        combos: list[tuple[str, ...]] = []
        for i, entry in enumerate(entries):
            if isinstance(entry, Mapping):
                parts = entry.get("all")
                if set(entry) != {"all"} or not isinstance(parts, list) or len(parts) < 2:
                    raise ValueError(f"{where}: field '{field}[{i}]' must be a phrase or {{all: [two or more phrases]}}")
                combos.append(tuple(c.compile(p, f"{field}[{i}].all[{k}]") for k, p in enumerate(parts)))
            else:
                phrases.append(c.compile(entry, f"{field}[{i}]"))
        return _Group(tuple(phrases), tuple(combos))

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
        """Read, validate and compile a patterns file.

        Compiling takes about a second, and the knowledge check reads the same file again and
        again; so a file whose bytes were compiled before gives a new screen that shares the
        compiled rules and spaCy objects (a broken file is never cached: it raises every time).
        """
        path = Path(path)
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).digest()
        with _COMPILED_LOCK:
            compiled = _COMPILED.get(digest)
        if compiled is None:
            compiled = cls(_read_yaml(path, raw.decode("utf-8")), str(path))
            with _COMPILED_LOCK:
                _COMPILED[digest] = compiled
                while len(_COMPILED) > 4:
                    _COMPILED.popitem(last=False)
        return copy.copy(compiled)

    # -- reading a message -------------------------------------------------------------

    def _prepare(self, text: str) -> str:
        """The text spaCy tokenises: normalised, respelt, ending in the end-of-message token."""
        text = _DROPPED.sub(" ", _RUN3.sub(r"\1\1", _clean(text))).strip()
        text = self._respell.sub(lambda m: self._respelt[m.group()], text)
        return f"{text} {_END}" if text else _END

    def _read(self, text: str) -> _Message:
        """Tokenise and run both matchers (under the lock: spaCy objects are not thread-safe)."""
        prepared = self._prepare(text)
        with self._lock:
            engine = self._engine
            if len(engine.nlp.vocab.strings) > _VOCAB_LIMIT:
                engine = self._engine = _Engine.build(self._compiled)
            doc = engine.nlp.make_doc(prepared)
            tokens = tuple(t.text for t in doc)
            norms = tuple(t.norm_ for t in doc)
            found = engine.match(doc)
            keys = engine.keys
        spans: dict[str, set[tuple[int, int]]] = {}
        for match_id, start, end in found:
            if norms[end - 1] == _SENT_END:
                end -= 1  # "$" checks that the sentence ends here; the full stop is not part of the match
            spans.setdefault(keys[match_id], set()).add((start, end))
        ordered = {key: tuple(sorted(s, key=lambda span: (span[0], -span[1]))) for key, s in spans.items()}
        return _Message(tokens[:-1], norms, ordered)

    def normalise(self, text: str) -> str:
        """The normalised form of ``text`` that the screen reads (for logs and debugging)."""
        return " ".join(self._read(text).tokens)

    def matches(self, text: str) -> dict[str, list[str]]:
        """Every phrase that matches ``text``, by the field it comes from in patterns.yml, with the
        words it matched; before exclusions and negation are applied (for editors and tests)."""
        m = self._read(text)
        return {key: [m.display(i, j) for i, j in spans] for key, spans in m.spans.items()}

    def spacy_doc(self, text: str) -> Any:
        """The spaCy ``Doc`` the screen reads for ``text`` (for tests and debugging)."""
        with self._lock:
            return self._engine.nlp.make_doc(self._prepare(text))

    @property
    def spacy_matchers(self) -> tuple[Any, ...]:
        """The spaCy ``PhraseMatcher`` and the ``Matcher`` objects the screen runs, in that order
        (for tests and debugging; a match id is the id of the phrase's field in the vocabulary)."""
        engine = self._engine
        anchored = {id(e): e.matcher for group in (*engine.by_norm.values(), *engine.by_prefix.values(),
                                                  engine.by_number) for e in group}
        return (engine.phrase_matcher, *anchored.values())

    # -- screening ---------------------------------------------------------------------

    def screen(self, text: str) -> ScreenResult | None:
        """Return the crisis this message shows, or ``None``. Never raises on odd input."""
        if not isinstance(text, str) or not text.strip():
            return None
        m = self._read(text[:5000])
        if not m.spans:
            return None
        checks = _Checks(m.all(self._exclusions), m.all(self._cues), m.all(self._pseudo))
        for kind in self._order:
            hit = self._first(m, self._kinds[kind], checks)
            if hit is None and kind is CrisisKind.TREATMENT_RED_FLAG:
                hit = self._red_flag(m, checks)
            if hit is not None:
                return ScreenResult(kind, hit)
        return None

    def _first(self, m: _Message, group: _Group, checks: _Checks) -> str | None:
        """Display text of the first match in ``group`` that is neither excluded nor negated."""
        for key in sorted(m.spans.keys() & group.rank.keys(), key=group.rank.__getitem__):  # in file order
            hit = self._valid(m, key, checks)
            if hit is not None:
                return hit
        for combo in group.combos:
            hits = [self._valid(m, key, checks) for key in combo]
            if all(h is not None for h in hits):
                return " + ".join(h for h in hits if h is not None)
        return None

    def _valid(self, m: _Message, key: str, checks: _Checks) -> str | None:
        for i, j in m.spans.get(key, ()):
            if not any(i < b and a < j for a, b in checks.excluded) and not self._negated(m, i, checks):
                return m.display(i, j)
        return None

    def _negated(self, m: _Message, i: int, checks: _Checks) -> bool:
        """Is there a negation cue in the few words before token ``i``, within the same clause?

        A cue that is part of a pseudo-negation found in the same words ("not sure") does not count.
        """
        if i not in checks.negated:
            start = i
            while start > 0 and i - start < self._window and m.norms[start - 1] not in self._boundaries:
                start -= 1
            inside = [(a, b) for a, b in checks.pseudo if start <= a and b <= i]
            checks.negated[i] = any(
                start <= a and b <= i and not any(pa < b and a < pb for pa, pb in inside) for a, b in checks.cues
            )
        return checks.negated[i]

    def _red_flag(self, m: _Message, checks: _Checks) -> str | None:
        context = self._first(m, self._context, checks)
        if context is None:
            return None
        sign = self._first(m, self._symptoms, checks) or self._abnormal_temperature(m)
        return f"{sign} + {context}" if sign else None

    def _abnormal_temperature(self, t: _Message) -> str | None:
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


_COMPILED: OrderedDict[bytes, SafetyScreen] = OrderedDict()  # by the SHA-256 of the file's bytes
_COMPILED_LOCK = threading.Lock()


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
