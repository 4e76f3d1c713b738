"""Turn Rasa's replies into Telegram ``sendMessage`` parameters. Pure: no Rasa, no network.

* Text is sent as plain text (no ``parse_mode``), so nothing in it is read as HTML or Markdown.
* Text longer than Telegram's 4,096 characters is split at paragraph, then line, then sentence,
  then word boundaries (only a single unbroken run of 4,096+ characters is cut mid-word).
  Length is measured in UTF-16 code units, as Telegram counts, which is never less than Python's.
* Buttons become an inline keyboard, one button per row, on the last part of the message.
  Telegram allows at most 64 bytes of ``callback_data``: a longer payload is kept in a
  :class:`PayloadStore` and the button carries a short id (``p:<16 hex>``) instead.
"""
from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Any

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
BUTTONS_ONLY_TEXT = "Please choose:"
ID_HEX = 16
_ID = re.compile(r"^p:[0-9a-f]{16}$")

# from the widest to the narrowest boundary; each keeps its separator with the piece before it
_BOUNDARIES = (
    re.compile(r"(?<=\n\n)"),                      # paragraphs
    re.compile(r"(?<=\n)"),                        # lines
    re.compile(r"(?<=[.!?…؟。])(?=\s)"),           # sentences (the space starts the next piece)
    re.compile(r"(?<=\s)"),                        # words
)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


class PayloadStore:
    """A small bounded in-memory map from short ids to button payloads too long for Telegram.

    The id is derived from the payload, so the same button always gets the same id. When full,
    the least recently used payload is forgotten (a very old button then says it has expired).
    The running bot uses ``channels.state.SqlPayloadStore``, which keeps the map in SQL (so any
    instance can answer the button) by overriding :meth:`save` and :meth:`load`; this one is for
    previews and tests.
    """

    def __init__(self, capacity: int = 5000):
        self.capacity = capacity
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._payloads)

    def save(self, key: str, payload: str) -> None:
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self.capacity:
            self._payloads.popitem(last=False)

    def load(self, key: str) -> str | None:
        payload = self._payloads.get(key)
        if payload is not None:
            self._payloads.move_to_end(key)
        return payload

    def put(self, payload: str) -> str:
        """Remember a payload; returns its short id."""
        key = payload_id(payload)
        self.save(key, payload)
        return key

    def callback_data(self, payload: str) -> str:
        """The payload itself if it fits in 64 bytes (and can't be mistaken for an id), else an id."""
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES and not _ID.match(payload) and payload:
            return payload
        return self.put(payload)

    def resolve(self, data: str) -> str | None:
        """The payload for a button's callback_data; None for an id this store no longer knows."""
        if _ID.match(data):
            return self.load(data)
        return data


def payload_id(payload: str) -> str:
    """'p:' and 16 hex digits of the payload's SHA-256: short, stable, and collision-free in practice."""
    return "p:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:ID_HEX]


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Text in parts of at most ``limit`` (UTF-16 units), split at the widest boundary that works."""
    if telegram_length(text) <= limit:
        return [text] if text else []
    parts = [p.strip() for p in _split(text, limit, 0)]
    return [p for p in parts if p]


def _split(text: str, limit: int, level: int) -> list[str]:
    if telegram_length(text) <= limit:
        return [text]
    if level >= len(_BOUNDARIES):
        return _hard_split(text, limit)
    pieces = [p for p in _BOUNDARIES[level].split(text) if p]
    if len(pieces) < 2:
        return _split(text, limit, level + 1)
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if telegram_length(current + piece) <= limit:
            current += piece
            continue
        if current.strip():
            chunks.append(current)
        current = ""
        if telegram_length(piece) <= limit:
            current = piece
        else:
            *whole, current = _split(piece, limit, level + 1)
            chunks.extend(whole)
    if current.strip():
        chunks.append(current)
    return chunks


def _hard_split(text: str, limit: int) -> list[str]:
    chunks, current, size = [], [], 0
    for char in text:  # whole code points: a surrogate pair is never cut
        width = telegram_length(char)
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks


def keyboard(buttons: list[dict[str, Any]], store: PayloadStore) -> dict[str, Any]:
    """An InlineKeyboardMarkup (as JSON): one button per row."""
    rows = []
    for button in buttons:
        payload = str(button.get("payload") or button.get("title") or "")
        title = str(button.get("title") or payload)
        if not title:
            continue
        rows.append([{"text": title, "callback_data": store.callback_data(payload)}])
    return {"inline_keyboard": rows}


def render_telegram(replies: list[dict[str, Any]], store: PayloadStore) -> list[dict[str, Any]]:
    """Rasa bot replies ({"text", "buttons": [{"title", "payload"}]}) as sendMessage parameters
    (without ``chat_id``): ``{"text": ...}`` plus ``reply_markup`` on the last part of a reply."""
    out: list[dict[str, Any]] = []
    for reply in replies:
        text = str(reply.get("text") or "")
        for extra in ("image", "attachment"):  # links to media, shown as text
            if isinstance(reply.get(extra), str) and reply[extra]:
                text = f"{text}\n{reply[extra]}" if text else reply[extra]
        markup = keyboard(reply.get("buttons") or [], store)
        if not markup["inline_keyboard"]:
            markup = None
        parts = split_text(text)
        if not parts and markup is None:
            continue
        messages = [{"text": part} for part in parts] or [{"text": BUTTONS_ONLY_TEXT}]
        if markup is not None:
            messages[-1]["reply_markup"] = markup
        out.extend(messages)
    return out
