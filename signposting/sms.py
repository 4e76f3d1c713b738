"""Bot replies as text messages (SMS and WhatsApp through Twilio), and text replies back as payloads.

Pure text handling, no Rasa or Sanic: the Twilio channel (``channels/twilio_sms.py``) uses it.

* Buttons become numbered options ("Reply 1 for Money worries"); "1", "one" or "1." sent back
  maps to the button's payload (:func:`resolve_reply`); typed words stay words.
  Buttons titled with numbers (a 0 to 10 score) are answered by those numbers ("Reply a number
  from 0 to 10"), and the others are numbered after them ("Reply 11 for Skip").
* Text is split at sentence boundaries into at most ``max_segments`` messages, each a single SMS
  segment: 160 GSM-7 characters, or 70 UTF-16 units when any character needs UCS-2 (emoji,
  Arabic, Urdu, curly quotes...). URLs are never split. If there is more, the last message
  ends with "Reply MORE for the rest." and the remainder is kept for the next "MORE".
* A crisis answer is never held back: when the person's message is a crisis, the channel asks
  for the first reply whole (``keep_whole``), up to CRISIS_MAX_SEGMENTS texts.
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
CRISIS_MAX_SEGMENTS = 8  # a crisis answer is sent whole, up to this many one-segment texts
MORE_WORDS = frozenset({"more", "more please", "next"})
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})  # Twilio's opt-out words
START_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}
_INTEGER_TITLE = re.compile(r"^\d{1,3}$")
_NUMBERED = re.compile(r"^\s*(?:#|no\.?\s*|number\s+|option\s+)?(\d{1,2}|[a-z]+)\s*[.)!]?\s*$", re.IGNORECASE)
_LIST_MARK = re.compile(r"^\(?\d{1,3}[.)]$")
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


def _sentences(line: str) -> list[str]:
    """A line's sentences; a list number ("1.", "12.") stays with the words it numbers."""
    pieces = [p for p in _SENTENCE_END.split(line) if p]
    merged: list[str] = []
    for piece in pieces:
        if merged and _LIST_MARK.match(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def _units_of(text: str) -> list[tuple[str, str]]:
    """(separator, chunk) pairs: whole sentences where they fit, else words, else pieces of a word."""
    units: list[tuple[str, str]] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        line_sep = "\n"
        for sentence in _sentences(line):
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
def _integer_title(title: str) -> int | None:
    """The number a button's title is ("0" to "999"), or None: such buttons are answered by that number."""
    title = title.strip()
    return int(title) if _INTEGER_TITLE.match(title) else None


def _number_line(numbers: list[int]) -> str:
    """'Reply a number from 0 to 10' for a run, else 'Reply 1, 3 or 5'."""
    if len(numbers) >= 3 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"Reply a number from {numbers[0]} to {numbers[-1]}"
    words = [str(n) for n in numbers]
    return "Reply " + (", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0])


def reply_text(replies: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """All the bot's replies as one text with numbered options, and the options in order."""
    parts, options = _reply_parts(replies)
    return "\n".join(parts), options


def _reply_parts(replies: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """Each reply as text with its options' lines, and all the options in order.

    Each option is {"title", "payload", "reply"}: "reply" is the number that picks it. Buttons
    whose titles are numbers (a 0 to 10 score) are picked by that number, so "6" means 6 and not
    the sixth button; the other buttons are numbered after the highest of them, so no number
    means two things.
    """
    buttons_of = [[b for b in reply.get("buttons") or [] if b.get("title")] for reply in replies]
    titled = [_integer_title(str(b["title"])) for buttons in buttons_of for b in buttons]
    taken = {n for n in titled if n is not None}
    next_number = max(taken) + 1 if taken else 1
    parts, options = [], []
    for reply, buttons in zip(replies, buttons_of):
        text = (reply.get("text") or "").strip()
        if not text and reply.get("image"):
            text = str(reply["image"])
        lines = [text] if text else []
        numbers: list[int] = []
        named: list[str] = []
        for button in buttons:
            title, payload = str(button["title"]), button.get("payload")
            option = {"title": title, "payload": str(payload if payload is not None else title)}
            number = _integer_title(title)
            if number is not None and str(number) not in {o["reply"] for o in options}:
                numbers.append(number)
            else:
                number, next_number = next_number, next_number + 1
                named.append(f"Reply {number} for {title}")
            options.append({**option, "reply": str(number)})
        if numbers:
            lines.append(_number_line(numbers))
        lines.extend(named)
        if lines:
            parts.append("\n".join(lines))
    return parts, options


def render_sms(
    replies: list[dict[str, Any]], max_segments: int = 3, keep_whole: int = 0
) -> tuple[list[str], list[dict[str, str]], str | None]:
    """Rasa's replies as (messages to send now, numbered options in order, remainder for "MORE" or None).

    ``keep_whole``: the first that many replies are never held back for MORE, even past
    ``max_segments`` (up to CRISIS_MAX_SEGMENTS). The channel asks for this when the person's
    message is a crisis: every number in the crisis answer must arrive without a MORE.
    """
    parts, options = _reply_parts(replies)
    text = "\n".join(parts)
    limit = max(1, max_segments)
    if keep_whole > 0 and parts:
        head = "\n".join(parts[:keep_whole])
        needed = len(split_text(head, CRISIS_MAX_SEGMENTS)[0]) + (1 if len(parts) > keep_whole else 0)
        limit = min(max(limit, needed), CRISIS_MAX_SEGMENTS)
    bodies, rest = split_text(text, limit)
    return bodies, options, rest


def resolve_reply(text: str, options: list[dict[str, Any]]) -> str:
    """ "2", " 2 ", "2.", "two" -> the payload of the option that number picks; anything else unchanged.

    Words are never matched to a button's title: typed words go to the bot as words, exactly as
    on the web chat and Telegram, so every channel understands the same message the same way.
    """
    if not options:
        return text
    match = _NUMBERED.match(text or "")
    if match:
        token = match.group(1).lower()
        number = int(token) if token.isdigit() else NUMBER_WORDS.get(token)
        if number is not None:
            if any("reply" in o for o in options):
                for option in options:
                    if option.get("reply") == str(number):
                        return str(option["payload"])
            elif 1 <= number <= len(options):  # options remembered before they carried their number
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


# What the channels say about the message itself (not an answer). The words are in knowledge/wording.yml
# (required keys); these defaults are used only if the knowledge files cannot be read at all.
EMPTY_TEXT = "Send me a few words about what's worrying you, for example: money worries. Reply HELP for help."
MEDIA_TEXT = ("Sorry, I can only read text, not pictures, voice notes or files. "
              "Please type your message in words.")
TRIMMED_TEXT = "Your message was very long, so I've read the first part of it."
STOPPED_TEXT = "OK, you won't get any more messages from Signpost. Send START if you'd like to talk again."
WORDING_KEYS = {"empty": "channel_empty_sms", "media": "channel_only_text", "trimmed": "channel_trimmed",
                "stopped": "channel_stopped"}


def wording(key: str, default: str) -> str:
    """A channel message from knowledge/wording.yml; the built-in default only if knowledge is unreadable."""
    try:
        from signposting import knowledge as kb

        current = kb.current()
        if key in current.wording:
            return current.say(key)
    except Exception:  # knowledge unavailable: the default still says something useful
        pass
    return default


def empty_text() -> str:
    return wording(WORDING_KEYS["empty"], EMPTY_TEXT)


def media_text() -> str:
    return wording(WORDING_KEYS["media"], MEDIA_TEXT)


def trimmed_text() -> str:
    return wording(WORDING_KEYS["trimmed"], TRIMMED_TEXT)


def stopped_text() -> str:
    return wording(WORDING_KEYS["stopped"], STOPPED_TEXT)
