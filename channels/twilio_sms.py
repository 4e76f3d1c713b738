"""SMS and WhatsApp through Twilio.

    GET  /webhooks/twilio_sms/health   {"status": "ok", "configured": true|false}
    POST /webhooks/twilio_sms/webhook  Twilio's form-encoded webhook (From, Body, NumMedia...) -> TwiML

Point a Twilio number's (or WhatsApp sender's) "A message comes in" webhook at
``https://<host>/webhooks/twilio_sms/webhook``. Every request must carry a valid
``X-Twilio-Signature`` (403 otherwise), computed with the account's auth token over the URL Twilio
called: set ``public_url`` in credentials.yml when Signpost sits behind a proxy, so the URL we check
is the one Twilio used. The auth token comes from credentials.yml (``auth_token``) or the
``TWILIO_AUTH_TOKEN`` environment variable; without one the webhook answers 503.

Phone numbers are never logged or stored: the conversation id is a salted hash of the number
("sms-..." or "wa-..."; salt from ``SIGNPOST_ID_SALT``). Buttons become numbered options, long
answers are cut into at most three one-segment texts with "Reply MORE for the rest." (see
``signposting/sms.py``). Never silent: a failed or empty turn still gets a helpline number.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from urllib.parse import parse_qs
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from channels.webchat import never_silent
from signposting import sms

logger = logging.getLogger(__name__)
MAX_BODY_CHARS = 1600  # Twilio's own limit for one message
MAX_SENDERS = 10_000  # conversations whose numbered options / MORE text we remember
DEFAULT_SALT = "signpost-sms-v1"
NOT_CONFIGURED = ("Twilio is not configured: set TWILIO_AUTH_TOKEN (or auth_token under "
                  "channels.twilio_sms.TwilioInput in credentials.yml) and restart.")


def sender_id(number: str) -> str:
    """A stable, non-reversible conversation id for a phone number: 'sms-<hash>' or 'wa-<hash>'."""
    number = number.strip()
    prefix = "sms-"
    if number.lower().startswith("whatsapp:"):
        prefix, number = "wa-", number.split(":", 1)[1].strip()
    salt = os.environ.get("SIGNPOST_ID_SALT", DEFAULT_SALT)
    return prefix + hashlib.sha256((number + salt).encode("utf-8")).hexdigest()[:16]


class SenderState:
    """The last numbered options and the MORE remainder per sender, in memory, oldest dropped first."""

    def __init__(self, capacity: int = MAX_SENDERS) -> None:
        self.capacity = capacity
        self._items: "OrderedDict[str, Dict[str, Any]]" = OrderedDict()

    def get(self, sender: str) -> Dict[str, Any]:
        state = self._items.pop(sender, None) or {"options": [], "more": None}
        self._items[sender] = state
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return state

    def forget(self, sender: str) -> None:
        self._items.pop(sender, None)

    def __len__(self) -> int:
        return len(self._items)


class TwilioInput(InputChannel):
    """Text messages (SMS, WhatsApp) from Twilio, answered with TwiML."""

    @classmethod
    def name(cls) -> Text:
        return "twilio_sms"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TwilioInput":
        credentials = credentials or {}
        return cls(auth_token=credentials.get("auth_token"), public_url=credentials.get("public_url"),
                   max_segments=int(credentials.get("max_segments") or 3))

    def __init__(self, auth_token: Optional[str] = None, public_url: Optional[str] = None,
                 max_segments: int = 3, state_capacity: int = MAX_SENDERS) -> None:
        token = auth_token or os.environ.get("TWILIO_AUTH_TOKEN") or ""
        if token.startswith("${"):  # an uninterpolated "${TWILIO_AUTH_TOKEN}" from credentials.yml
            token = os.environ.get("TWILIO_AUTH_TOKEN", "")
        self.auth_token = token
        self.public_url = public_url or None
        self.max_segments = max_segments
        self.state = SenderState(state_capacity)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("signpost_twilio_sms", __name__)

        @bp.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": bool(self.auth_token)})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.auth_token:
                logger.error(NOT_CONFIGURED)
                return response.text(NOT_CONFIGURED, status=503)
            form = _form(request)
            signature = request.headers.get("X-Twilio-Signature", "")
            url = self.public_url or request.url
            if not signature or not RequestValidator(self.auth_token).validate(url, form, signature):
                logger.warning("Rejected a Twilio webhook call with a missing or invalid signature")
                return response.text("Invalid or missing X-Twilio-Signature", status=403)
            number = _first(form, "From").strip()
            if not number:
                return response.text("Missing From", status=400)
            sender = sender_id(number)
            try:
                bodies = await self._turn(on_new_message, sender, form)
            except Exception:  # never silent, even if rendering itself fails
                logger.exception("Twilio turn failed for %s", sender)
                bodies, _, _ = sms.render_sms(never_silent([]), self.max_segments)
            return _twiml(bodies)

        return bp

    async def _turn(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], sender: str,
                    form: Dict[str, List[str]]) -> List[str]:
        """The texts to send back for one incoming message."""
        text = _first(form, "Body").strip()
        try:
            media = int(_first(form, "NumMedia") or 0)
        except ValueError:
            media = 0
        if not text:
            return [sms.MEDIA_TEXT if media > 0 else sms.EMPTY_TEXT]
        if len(text) > MAX_BODY_CHARS:
            logger.info("Trimmed a %d-character message from %s", len(text), sender)
            text = text[:MAX_BODY_CHARS]
        state = self.state.get(sender)
        word = sms.keyword(text)
        if word == "stop":  # Twilio records the opt-out and confirms it itself
            self.state.forget(sender)
            return []
        if word == "start":
            return self._send(state, [{"text": sms.start_text()}], keep_options=False)
        if word == "help":
            return self._send(state, [{"text": sms.help_text()}], keep_options=True)
        if word == "more" and state["more"]:
            return self._send(state, [{"text": state["more"]}], keep_options=True)

        typed = text.lstrip("/").strip() or text  # a typed "/intent{...}" must not choose an intent directly
        text = sms.resolve_reply(typed, state["options"])
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
        except Exception:  # a failed turn still gets an answer
            logger.exception("Twilio turn failed for %s", sender)
        return self._send(state, never_silent(collector.messages), keep_options=False)

    def _send(self, state: Dict[str, Any], replies: List[Dict[str, Any]], keep_options: bool) -> List[str]:
        bodies, options, rest = sms.render_sms(replies, self.max_segments)
        if options or not keep_options:
            state["options"] = options
        state["more"] = rest
        return bodies

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None


def _first(form: Dict[str, List[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


def _form(request: Request) -> Dict[str, List[str]]:
    """Twilio's POST parameters, blank ones included (they are part of the signature: Body= with media)."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return _Params()
    return _Params(parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))


class _Params(Dict[str, List[str]]):
    """Parameter name -> values, in the shape RequestValidator reads (it calls ``getlist``)."""

    def getlist(self, name: str) -> List[str]:
        return self[name]


def _twiml(bodies: List[str]) -> HTTPResponse:
    twiml = MessagingResponse()
    for body in bodies:
        twiml.message(body)
    return response.text(str(twiml), content_type="application/xml")
