"""SMS and WhatsApp through Twilio.

    GET  /webhooks/twilio_sms/health   {"status": "ok", "configured": true|false}
    POST /webhooks/twilio_sms/webhook  Twilio's form-encoded webhook (From, Body, NumMedia...) -> TwiML

Point a Twilio number's (or WhatsApp sender's) "A message comes in" webhook at
``https://<host>/webhooks/twilio_sms/webhook``. Every request must carry a valid
``X-Twilio-Signature`` (403 otherwise), computed with the account's auth token over the URL Twilio
called: set ``public_url`` in credentials.yml when Signpost sits behind a proxy, so the URL we check
is the one Twilio used. The auth token comes from credentials.yml (``auth_token``) or the
``TWILIO_AUTH_TOKEN`` environment variable; without one the webhook answers 503.

Phone numbers are never logged or stored: the conversation id is the number encrypted with
``SIGNPOST_SECRET_KEY`` ("sms-..." or "wa-...", see ``channels/identity.py``), so the same number
always continues the same conversation and ``channels/outbound.py`` can still write to it later.
Buttons become numbered options, long answers are cut into at most three one-segment texts with
"Reply MORE for the rest." (``signposting/sms.py``), except that the answer to a crisis
message is always sent whole; the options and the rest are kept in SQL
(``channels/state.py``) so any instance can serve the next message. A ``MessageSid`` seen before
(a replay, or Twilio retrying) gets an empty TwiML answer and no second turn. Never silent: a
failed or empty turn still gets a helpline number.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text
from urllib.parse import parse_qs

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from channels import identity, rest
from channels import state as channel_state
from channels.webchat import never_silent
from signposting import sms

logger = logging.getLogger(__name__)
MAX_BODY_CHARS = 1600  # Twilio's own limit for one message
REPLAY_CHANNEL = "twilio"
NOT_CONFIGURED = ("Twilio is not configured: set TWILIO_AUTH_TOKEN (or auth_token under "
                  "channels.twilio_sms.TwilioInput in credentials.yml) and restart.")


class BadForm(ValueError):
    """The request body is not a form Twilio could have sent."""


def sender_id(number: str) -> str:
    """The conversation id for a Twilio 'From': 'sms-<token>', or 'wa-<token>' for 'whatsapp:+44...'."""
    number = number.strip()
    if number.lower().startswith("whatsapp:"):
        return identity.sender_for("wa", number)
    return identity.sender_for("sms", number)


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
                 max_segments: int = 3, state: Optional[channel_state.ChannelState] = None) -> None:
        token = auth_token or os.environ.get("TWILIO_AUTH_TOKEN") or ""
        if token.startswith("${"):  # an uninterpolated "${TWILIO_AUTH_TOKEN}" from credentials.yml
            token = os.environ.get("TWILIO_AUTH_TOKEN", "")
        self.auth_token = token
        self.public_url = public_url or None
        self.max_segments = max_segments
        self._state = state

    @property
    def state(self) -> channel_state.ChannelState:
        """The shared channel state: the one given, else the database in DATABASE_URL."""
        return self._state or channel_state.default()

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
            try:
                form = _form(request)
            except BadForm as problem:
                logger.warning("Rejected a Twilio webhook call: %s", problem)
                return response.text(str(problem), status=400)
            signature = request.headers.get("X-Twilio-Signature", "")
            url = self.public_url or request.url
            if not signature or not RequestValidator(self.auth_token).validate(url, form, signature):
                logger.warning("Rejected a Twilio webhook call with a missing or invalid signature")
                return response.text("Invalid or missing X-Twilio-Signature", status=403)
            number = _first(form, "From").strip()
            if not number:
                return response.text("Missing From", status=400)
            try:
                sender = sender_id(number)
            except ValueError:
                return response.text("From is not a phone number", status=400)
            try:
                message_sid = _first(form, "MessageSid").strip()
                if message_sid and not self.state.first_time(REPLAY_CHANNEL, message_sid):
                    logger.info("Ignored a repeated Twilio message for %s", sender)
                    return _twiml([])
                bodies = await self._turn(on_new_message, sender, form)
            except Exception:  # never silent, even if the state store or rendering fails
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
            return [sms.media_text() if media > 0 else sms.empty_text()]
        notes: List[Dict[str, Any]] = []
        if len(text) > MAX_BODY_CHARS:
            logger.info("Trimmed a %d-character message from %s", len(text), sender)
            text = text[:MAX_BODY_CHARS]
            notes.append({"text": sms.trimmed_text()})
        state = self.state
        word = sms.keyword(text)
        if word == "stop":  # Twilio records an SMS opt-out and confirms it itself; WhatsApp does not
            state.sms_forget(sender)
            state.opt_out(sender)
            return [sms.stopped_text()] if sender.startswith("wa-") else []
        if state.opt_in(sender):
            logger.info("%s wrote again after STOP", sender)
        remembered = state.sms_get(sender)
        if word == "start":
            return self._send(sender, remembered, [{"text": sms.start_text()}], keep_options=False)
        if word == "help":
            return self._send(sender, remembered, [{"text": sms.help_text()}], keep_options=True)
        if word == "more" and remembered.more:
            return self._send(sender, remembered, [{"text": remembered.more}], keep_options=True)

        typed = text.lstrip("/").strip() or text  # a typed "/intent{...}" must not choose an intent directly
        text = sms.resolve_reply(typed, remembered.options)
        collector = CollectingOutputChannel()
        # within the time limit, and never silent: the crisis answer, or a helpline number (quiet while staff hold it)
        await rest.answer_within(on_new_message, UserMessage(text, collector, sender, input_channel=self.name()))
        whole = len(notes) + 1 if _is_crisis(typed) else 0  # the crisis answer comes first: send all of it
        return self._send(sender, remembered, notes + collector.messages, keep_options=False, keep_whole=whole)

    def _send(self, sender: str, remembered: channel_state.SmsState, replies: List[Dict[str, Any]],
              keep_options: bool, keep_whole: int = 0) -> List[str]:
        """Render for SMS and remember the options and the MORE text for the next message."""
        bodies, options, rest = sms.render_sms(replies, self.max_segments, keep_whole=keep_whole)
        if options or not keep_options:
            remembered.options = options
        remembered.more = rest
        self.state.sms_put(sender, remembered)
        return bodies

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None


def _is_crisis(text: str) -> bool:
    """The same crisis screen the NLU pipeline runs; if it cannot run, assume not (the bot still answers)."""
    try:
        from signposting import safety

        return safety.load_screen().screen(text) is not None
    except Exception as exc:
        logger.error("The crisis screen failed in the SMS channel: %s", type(exc).__name__)
        return False


def _first(form: Dict[str, List[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


def _form(request: Request) -> Dict[str, List[str]]:
    """Twilio's POST parameters, blank ones included (they are part of the signature: Body= with media).

    Raises BadForm for anything Twilio would not send: another content type, bytes that are not
    UTF-8, or a body that is not ``name=value&...``.
    """
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise BadForm("Expected a form (application/x-www-form-urlencoded), as Twilio sends")
    try:
        body = request.body.decode("utf-8")
        return _Params(parse_qs(body, keep_blank_values=True, strict_parsing=True, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        raise BadForm("The form could not be read: expected UTF-8 name=value pairs") from None


class _Params(Dict[str, List[str]]):
    """Parameter name -> values, in the shape RequestValidator reads (it calls ``getlist``)."""

    def getlist(self, name: str) -> List[str]:
        return self[name]


def _twiml(bodies: List[str]) -> HTTPResponse:
    twiml = MessagingResponse()
    for body in bodies:
        twiml.message(body)
    return response.text(str(twiml), content_type="application/xml")
