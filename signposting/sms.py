"""Bot replies as text messages (SMS and WhatsApp through Twilio), and text replies back as payloads.

Pure text handling, no Rasa or Sanic: the Twilio channel (``channels/twilio_sms.py``) uses it.

* Buttons become numbered options ("Reply 1 for Money worries"); "1", "one" or "1." sent back
  maps to the button's payload (:func:`resolve_reply`).
* Text is split at sentence boundaries into at most ``max_segments`` messages, each a single SMS
  segment: 160 GSM-7 characters, or 70 UTF-16 units when any character needs UCS-2 (emoji,
  Arabic, Urdu, curly quotes...). URLs are never split. If there is more, the last message
  ends with "Reply MORE for the rest." and the remainder is kept for the next "MORE".
* Keywords: STOP and the other opt-out words (Twilio handles opt-out itself; we send nothing),
  START, HELP.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable

# GSM 03.38 basic character set, and the extension table (each of those costs two characters).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153  # one message; each part of a concatenated message
UCS2_SINGLE, UCS2_PART = 70, 67

MORE_SUFFIX = "Reply MORE for the rest."
MORE_WORDS = frozenset({"more", "more please", "next"})
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})  # Twilio's opt-out words
START_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}
_NUMBERED = re.compile(r"^\s*(?:#|no\.?\s*|number\s+|option\s+)?(\d{1,2}|[a-z]+)\s*[.)!]?\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s+")
_URL = re.compile(r"^\(?(https?://|www\.)\S+$", re.IGNORECASE)


# --------------------------------------------------------------------------- encoding and length
def is_gsm7(text: str) -> bool:
    """True when every character can be sent in the GSM-7 alphabet (else the SMS goes as UCS-2)."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _units(text: str) -> int:
    """Length as the network counts it: GSM-7 septets, or UTF-16 code units for UCS-2."""
    if is_gsm7(text):
        return sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def segments_needed(text: str) -> int:
    """How many SMS segments the text costs (an empty message still costs one)."""
    length = _units(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if is_gsm7(text) else (UCS2_SINGLE, UCS2_PART)
    return 1 if length <= single else -(-length // part)


def fits(text: str) -> bool:
    """True when the text goes as one SMS segment."""
    return segments_needed(text) == 1


# --------------------------------------------------------------------------- splitting
def _is_url(word: str) -> bool:
    return bool(_URL.match(word))


def _hard_split(word: str, room: Callable[[str], bool]) -> list[str]:
    """A word too long for one message, in pieces that each fit (last resort; never used on URLs)."""
    pieces, current = [], ""
    for char in word:
        if current and not room(current + char):
            pieces.append(current)
            current = ""
        current += char
    if current:
        pieces.append(current)
    return pieces


def _units_of(text: str) -> list[tuple[str, str]]:
    """(separator, chunk) pairs: whole sentences where they fit, else words, else pieces of a word."""
    units: list[tuple[str, str]] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        line_sep = "\n"
        for sentence in _SENTENCE_END.split(line):
            if not sentence:
                continue
            if fits(sentence):
                units.append((line_sep, sentence))
            else:
                word_sep = line_sep
                for word in sentence.split():
                    if fits(word) or _is_url(word):
                        units.append((word_sep, word))
                    else:
                        for n, piece in enumerate(_hard_split(word, fits)):
                            units.append((word_sep if n == 0 else "", piece))
                    word_sep = " "
            line_sep = " "
    return units


def _join(units: Iterable[tuple[str, str]]) -> str:
    text = ""
    for sep, chunk in units:
        text = text + sep + chunk if text else chunk
    return text


def _pack(units: list[tuple[str, str]], suffix: str = "") -> tuple[str, int]:
    """The longest run of units from the start that fits one message (with ``suffix`` after it)."""
    text, used = "", 0
    for sep, chunk in units:
        candidate = text + sep + chunk if text else chunk
        if text and not fits(candidate + suffix):
            break
        if not text and not fits(candidate + suffix) and not _is_url(chunk):
            break
        text, used = candidate, used + 1
    return text, used


def split_text(text: str, max_segments: int = 3) -> tuple[list[str], str | None]:
    """Text as at most ``max_segments`` one-segment messages, and what is left for "MORE" (or None)."""
    units = _units_of(text)
    bodies: list[str] = []
    while units:
        body, used = _pack(units)
        if len(bodies) == max_segments - 1 and used < len(units):  # the last one we may send
            suffix_sep = "\n"
            body, used = _pack(units, suffix_sep + MORE_SUFFIX)
            if used == 0:  # the first unit fills a message by itself: send part of it
                sep, chunk = units[0]
                words = chunk.split(" ")
                head = ""
                for word in words:
                    candidate = f"{head} {word}" if head else word
                    if not fits(candidate + suffix_sep + MORE_SUFFIX):
                        break
                    head = candidate
                if not head and _is_url(words[0]):  # a long URL goes whole, even past one segment
                    head = words[0]
                if head:
                    units[0] = (sep, head)
                    tail = chunk[len(head):].lstrip(" ")
                    if tail:
                        units.insert(1, (" ", tail))
                else:
                    pieces = _hard_split(chunk, lambda t: fits(t + suffix_sep + MORE_SUFFIX))
                    units[0:1] = [(sep, pieces[0]), ("", "".join(pieces[1:]))]
                body, used = units[0][1], 1
            bodies.append(body + suffix_sep + MORE_SUFFIX)
            rest = _join(units[used:])
            return bodies, rest or None
        if used == 0:  # an oversized URL alone
            body, used = units[0][1], 1
        bodies.append(body)
        units = units[used:]
    return bodies, None


# --------------------------------------------------------------------------- replies
def reply_text(replies: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """All the bot's replies as one text with numbered options, and the options in order."""
    parts, options = [], []
    for reply in replies:
        text = (reply.get("text") or "").strip()
        if not text and reply.get("image"):
            text = str(reply["image"])
        lines = [text] if text else []
        for button in reply.get("buttons") or []:
            title, payload = button.get("title"), button.get("payload")
            if not title:
                continue
            options.append({"title": str(title), "payload": str(payload if payload is not None else title)})
            lines.append(f"Reply {len(options)} for {title}")
        if lines:
            parts.append("\n".join(lines))
    return "\n".join(parts), options


def render_sms(
    replies: list[dict[str, Any]], max_segments: int = 3
) -> tuple[list[str], list[dict[str, str]], str | None]:
    """Rasa's replies as (messages to send now, numbered options in order, remainder for "MORE" or None)."""
    text, options = reply_text(replies)
    bodies, rest = split_text(text, max(1, max_segments))
    return bodies, options, rest


def resolve_reply(text: str, options: list[dict[str, Any]]) -> str:
    """ "2", " 2 ", "2.", "two" -> the second option's payload; anything else unchanged."""
    match = _NUMBERED.match(text or "")
    if match and options:
        token = match.group(1).lower()
        number = int(token) if token.isdigit() else NUMBER_WORDS.get(token)
        if number is not None and 1 <= number <= len(options):
            return str(options[number - 1]["payload"])
    return text


# --------------------------------------------------------------------------- keywords
def _word(text: str) -> str:
    return re.sub(r"[\s.!]+$", "", (text or "").strip()).lower()


def keyword(text: str) -> str | None:
    """'stop', 'start', 'help' or 'more' when the whole message is that keyword, else None."""
    word = _word(text)
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    if word in MORE_WORDS:
        return "more"
    return None


def _support_line() -> str:
    try:
        from signposting import knowledge as kb

        line = kb.current().helplines["macmillan_support_line"]
        return f"{line['name']}: {line['phone']}"
    except Exception:  # knowledge unavailable: still point somewhere useful
        return "Macmillan Support Line: 0808 808 00 00"


def help_text() -> str:
    """The reply to HELP: what this is, a person to call, how to stop."""
    return (f"Signpost: support for people affected by cancer. Text a question in your own words. "
            f"To talk to someone: {_support_line()}. Reply STOP to opt out. In danger now? Call 999.")


def start_text() -> str:
    return "Welcome to Signpost. Tell me in a few words what's worrying you, or reply HELP."


EMPTY_TEXT = "Send me a few words about what's worrying you, for example: money worries. Reply HELP for help."
MEDIA_TEXT = ("Sorry, I can only read text, not pictures, voice notes or files. "
              "Please type your message in words.")
