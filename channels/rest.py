"""The REST channel, never silent: Rasa's RestInput with an answer even when a turn fails or hangs.

    POST /webhooks/rest/webhook  {"sender": "...", "message": "..."} -> [{"text", "buttons"}...]
    GET  /webhooks/rest/         {"status": "ok"}

Same URL and JSON as Rasa's ``rest`` channel (curl, the terminal chat and other channels use it);
in bot/credentials.yml it replaces ``rest:`` with ``channels.rest.SafeRestInput:``. What it adds:

- **Never silence.** If the action server is down, a turn fails, or the bot would say nothing,
  the person still gets an answer with a helpline number (``channels.webchat.never_silent``).
  If their message was a crisis (signposting.safety, which needs no action server), the
  answer is the crisis answer itself, with every nation's numbers.
- **A time limit.** Rasa waits up to 5 minutes for the action server (``DEFAULT_REQUEST_TIMEOUT``
  in rasa/core/actions/action.py, passed on every call; ``action_endpoint`` settings cannot
  change it in Rasa 3.6). A turn that takes longer than ``SIGNPOST_TURN_TIMEOUT`` seconds
  (default 20) is cancelled (Rasa releases the conversation's lock and saves nothing for
  that turn) and the person gets the answer above. :func:`answer_within` is the same guard
  for other channels.
- **Clear errors for bad requests** (400, nothing kept): not JSON, no ``sender`` (Rasa would
  otherwise put every such message in one shared "default" conversation), no text.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.webchat import MAX_MESSAGE_CHARS, never_silent
from signposting import safety

logger = logging.getLogger(__name__)
TIMEOUT_ENV = "SIGNPOST_TURN_TIMEOUT"
DEFAULT_TURN_TIMEOUT = 20.0
SENDER = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
USAGE = 'Send JSON like {"sender": "your-conversation-id", "message": "hello"}.'


def turn_timeout(env: Optional[Dict[str, str]] = None) -> float:
    """``SIGNPOST_TURN_TIMEOUT`` in seconds (1 to 300), else 20. A bad value stops start-up with a clear message."""
    raw = (os.environ if env is None else env).get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TURN_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    if not 1 <= seconds <= 300:
        raise ValueError(f"{TIMEOUT_ENV} must be between 1 and 300 seconds, got {raw}")
    return seconds


def safe_replies(messages: List[Dict[str, Any]], text: Optional[str]) -> List[Dict[str, Any]]:
    """The bot's replies; if there are none, the crisis answer for a crisis message, else never_silent's."""
    if _said_anything(messages):
        return messages
    crisis = _crisis_answer(text)
    return crisis if crisis else never_silent(messages)


def _said_anything(messages: List[Dict[str, Any]]) -> bool:
    return any(m.get("text") or m.get("buttons") for m in messages)


def _crisis_answer(text: Optional[str]) -> List[Dict[str, Any]]:
    try:
        found = safety.load_screen().screen(text or "")
        if found is not None:
            return [{"recipient_id": "", "text": safety.crisis_reply(found.kind, None)}]
    except Exception:  # the screen's files broken: never_silent still names 999
        logger.exception("Crisis screen unavailable for the fallback answer")
    return []


async def staff_hold(sender: str) -> bool:
    """True while helpline staff have taken over this conversation (the bot is paused and quiet)."""
    try:
        from signposting import handoff

        return await asyncio.get_running_loop().run_in_executor(None, handoff.is_taken_over, sender)
    except Exception:  # can't tell: say something rather than nothing
        logger.exception("Could not check whether staff hold %s", sender)
        return False


async def final_replies(messages: List[Dict[str, Any]], text: Optional[str], sender: str) -> List[Dict[str, Any]]:
    """What the person gets after a turn, on every channel.

    The bot's replies if it said anything. Otherwise: the crisis answer for a crisis message (even while staff
    hold the conversation: the bot is paused, but the crisis answer never waits), nothing while a member of
    staff is talking to them (their replies come through the channel's later messages), else a helpline number.
    """
    if _said_anything(messages):
        return messages
    crisis = _crisis_answer(text)
    if crisis:
        return crisis
    if await staff_hold(sender):
        return []
    return never_silent(messages)


async def answer_within(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage,
                        seconds: Optional[float] = None) -> None:
    """Run one turn for at most ``seconds`` (default SIGNPOST_TURN_TIMEOUT); afterwards a collecting output
    channel holds :func:`final_replies`."""
    seconds = turn_timeout() if seconds is None else seconds
    try:
        await asyncio.wait_for(on_new_message(message), timeout=seconds)
    except asyncio.TimeoutError:
        logger.error("A turn took longer than %.0f s (is the action server slow?): answered without it", seconds)
    except Exception:
        logger.exception("A turn failed (is the action server down?): answered without it")
    output = message.output_channel
    if isinstance(output, CollectingOutputChannel):
        output.messages[:] = await final_replies(output.messages, message.text, message.sender_id)


class SafeRestInput(RestInput):
    """Rasa's REST channel that always answers, within a time limit."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(turn_timeout())

    def __init__(self, seconds: Optional[float] = None) -> None:
        self.seconds = turn_timeout() if seconds is None else seconds

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def guarded(message: UserMessage) -> None:
            await answer_within(on_new_message, message, self.seconds)

        bp = super().blueprint(guarded)

        @bp.middleware("request")
        async def check(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
                return None
            problem = _problem(request)
            return response.json({"error": problem}, status=400) if problem else None

        return bp


def _problem(request: Request) -> Optional[str]:
    """Why this request cannot be a turn (None if it can). Trims an over-long message in place."""
    try:
        body = request.json
    except Exception:
        body = None
    if not isinstance(body, dict):
        return "That wasn't JSON. " + USAGE
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not SENDER.match(sender):
        return "sender must be 1 to 128 letters, digits, or . _ : - (your conversation id). " + USAGE
    if not isinstance(text, str) or not text.strip():
        return "message must be some text. " + USAGE
    if len(text) > MAX_MESSAGE_CHARS:
        body["message"] = text[:MAX_MESSAGE_CHARS]
    return None
