"""Messages Signpost sends later, outside a webhook reply: a staff reply, a callback confirmation.

    delivery = await deliver(sender_id, "Hello, this is Sam from the helpline team.", buttons=[...])

The conversation id says where the person is (``channels/identity.py``):

* ``sms-`` / ``wa-``: Twilio's REST API (``messages.create``) from TWILIO_FROM or
  TWILIO_WHATSAPP_FROM, rendered as for SMS: numbered options, at most three one-segment texts
  with "Reply MORE for the rest."; the options and the rest are stored so a reply "1" or "MORE"
  works on any instance. Someone who said STOP (and has not written since) is not sent anything.
* ``tg-``: Telegram's ``sendMessage`` through python-telegram-bot, with an inline keyboard.
* ``web-``: the web chat outbox (``channel_webchat_outbox``), which the open page collects with
  :func:`take_webchat`.

Anything else, missing configuration, or a provider that refuses the message raises
:class:`OutboundError` with a message that says what to fix. A timeout, a network failure or a
5xx answer is retried once. Logs name the conversation id, never the number or chat id.

Environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM (the SMS number, E.164),
TWILIO_WHATSAPP_FROM (the WhatsApp sender, "+44..." or "whatsapp:+44..."), TELEGRAM_BOT_TOKEN;
TWILIO_API_BASE and TELEGRAM_API_BASE point at another API (tests use local fakes).
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, Sequence

from channels import identity
from channels import state as channel_state
from signposting import sms
from signposting.telegram_render import render_telegram

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds for one attempt
RETRY_DELAY = 0.5       # seconds before the one retry


class OutboundError(RuntimeError):
    """The message was not delivered; the text says why (never with a number or chat id in it)."""


@dataclass(frozen=True)
class Delivery:
    """What was sent: the channel, how many messages, and the provider's ids for them."""

    sender_id: str
    channel: str                      # "sms", "wa", "tg" or "web"
    messages: int                     # texts sent, or queued for the web chat
    provider_ids: tuple[str, ...] = ()  # Twilio message SIDs or Telegram message ids


async def deliver(sender_id: str, text: str, buttons: Optional[list[dict]] = None, *,
                  state: Optional[channel_state.ChannelState] = None,
                  timeout: float = DEFAULT_TIMEOUT) -> Delivery:
    """Send ``text`` (and buttons, each {"title", "payload"}) to the person behind ``sender_id``."""
    buttons = _checked_buttons(buttons)
    if not isinstance(text, str) or not (text.strip() or buttons):
        raise OutboundError("Nothing to send: give some text or buttons")
    store = state or channel_state.default()
    kind = identity.kind_of(sender_id)
    if kind == "web":
        return _queue_webchat(sender_id, text, buttons, store)
    if kind not in ("sms", "wa", "tg"):
        raise OutboundError("Unknown conversation id: expected one starting sms-, wa-, tg- or web-")
    try:
        kind, address = identity.address_of(sender_id)
    except identity.UnknownSender as problem:
        raise OutboundError(f"Cannot reach {sender_id[:12]}...: {problem}") from None
    replies = [{"text": text, "buttons": buttons}]
    if kind == "tg":
        return await _deliver_telegram(sender_id, address, replies, store, timeout)
    if store.opted_out(sender_id):
        raise OutboundError(f"Not sent: {sender_id} replied STOP and has not written since")
    return await _deliver_twilio(sender_id, kind, address, replies, store, timeout)


def take_webchat(sender_id: str, *, state: Optional[channel_state.ChannelState] = None) -> list[dict]:
    """Messages waiting for a web chat ({"text", "buttons"}), oldest first; each is returned once."""
    if not identity.SENDER_ID.match(str(sender_id)):
        return []
    return (state or channel_state.default()).outbox_take(sender_id)


# --------------------------------------------------------------------------- web chat
def _queue_webchat(sender_id: str, text: str, buttons: list[dict], store: channel_state.ChannelState) -> Delivery:
    if not identity.SENDER_ID.match(sender_id):
        raise OutboundError("A web chat id is 'web-' and up to 124 letters, digits or . _ : -")
    store.outbox_add(sender_id, {"text": text, "buttons": buttons})
    logger.info("Queued a message for web chat %s", sender_id)
    return Delivery(sender_id, "web", 1)


# --------------------------------------------------------------------------- Twilio (SMS, WhatsApp)
def _env(name: str, purpose: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise OutboundError(f"{purpose} is not configured: set {name}")
    return value


def twilio_from(kind: str) -> str:
    """The sender Twilio sends from: TWILIO_FROM for SMS, 'whatsapp:' + TWILIO_WHATSAPP_FROM for WhatsApp."""
    if kind == "wa":
        sender = _env("TWILIO_WHATSAPP_FROM", "WhatsApp sending")
        return sender if sender.lower().startswith("whatsapp:") else "whatsapp:" + sender
    return _env("TWILIO_FROM", "SMS sending")


async def _deliver_twilio(sender_id: str, kind: str, number: str, replies: list[dict],
                          store: channel_state.ChannelState, timeout: float) -> Delivery:
    from twilio.base.exceptions import TwilioRestException
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    account = _env("TWILIO_ACCOUNT_SID", "Twilio")
    token = _env("TWILIO_AUTH_TOKEN", "Twilio")
    from_ = twilio_from(kind)
    to = "whatsapp:" + number if kind == "wa" else number
    bodies, options, rest = sms.render_sms(replies)

    def transient(exc: Exception) -> tuple[bool, str]:
        if isinstance(exc, TwilioRestException):
            return exc.status >= 500, f"HTTP {exc.status}" + (f", Twilio error {exc.code}" if exc.code else "")
        return _network_failure(exc)

    http = AsyncTwilioHttpClient()
    sids: list[str] = []
    try:
        client = Client(account, token, http_client=http)
        base = os.environ.get("TWILIO_API_BASE", "").strip()
        if base:
            client.api.base_url = base.rstrip("/")
        for body in bodies:
            message = await _attempt(lambda body=body: client.messages.create_async(to=to, from_=from_, body=body),
                                     transient, "Twilio", sender_id, timeout, sent=len(sids), total=len(bodies))
            sids.append(str(message.sid))
    finally:
        await http.close()
        if sids:  # what was sent can be answered: "1" picks an option, "MORE" sends the rest
            store.sms_put(sender_id, channel_state.SmsState(options, rest))
    logger.info("Sent %d %s message(s) to %s", len(sids), "WhatsApp" if kind == "wa" else "SMS", sender_id)
    return Delivery(sender_id, kind, len(sids), tuple(sids))


# --------------------------------------------------------------------------- Telegram
async def _deliver_telegram(sender_id: str, chat_id: str, replies: list[dict],
                            store: channel_state.ChannelState, timeout: float) -> Delivery:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from channels.telegram_api import api_base  # also keeps the token and chat ids out of the logs

    token = _env("TELEGRAM_BOT_TOKEN", "Telegram")
    messages = render_telegram(replies, channel_state.SqlPayloadStore(store))
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout,
                           pool_timeout=timeout)
    ids: list[str] = []
    try:
        bot = Bot(token, base_url=api_base(), request=request)
        for params in messages:
            sent = await send_telegram(bot, int(chat_id), params, sender_id, timeout, sent=len(ids),
                                       total=len(messages))
            ids.append(str(sent.message_id))
    finally:
        await request.shutdown()
    logger.info("Sent %d Telegram message(s) to %s", len(ids), sender_id)
    return Delivery(sender_id, "tg", len(ids), tuple(ids))


async def send_telegram(bot: Any, chat_id: int, params: dict, sender_id: str, timeout: float = DEFAULT_TIMEOUT,
                        sent: int = 0, total: int = 1) -> Any:
    """One rendered message through ``bot.send_message``, retried once after a 5xx, a timeout or a
    network failure (the webhook's answers use this too); OutboundError if it still fails."""
    from telegram.error import BadRequest, NetworkError

    from channels.telegram_api import inline_markup

    def transient(exc: Exception) -> tuple[bool, str]:
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):  # 5xx, timeouts, connection
            return True, type(exc).__name__
        return False, type(exc).__name__  # BadRequest, Forbidden (blocked the bot), InvalidToken, RetryAfter...

    return await _attempt(lambda: bot.send_message(chat_id=chat_id, text=params["text"],
                                                   reply_markup=inline_markup(params)),
                          transient, "Telegram", sender_id, timeout, sent=sent, total=total)


# --------------------------------------------------------------------------- retries
def _network_failure(exc: Exception) -> tuple[bool, str]:
    """Connection failures are worth one retry; anything else is a bug or a refusal."""
    import aiohttp

    if isinstance(exc, (aiohttp.ClientError, ConnectionError, OSError)):
        return True, type(exc).__name__
    return False, type(exc).__name__


async def _attempt(call: Callable[[], Awaitable[Any]], transient: Callable[[Exception], tuple[bool, str]],
                   provider: str, sender_id: str, timeout: float, sent: int, total: int) -> Any:
    """One call, retried once after a timeout or a transient failure; OutboundError otherwise."""
    reason = ""
    for attempt in (1, 2):
        try:
            return await asyncio.wait_for(call(), timeout)
        except asyncio.TimeoutError:
            reason = f"no answer within {timeout:g} seconds"
        except Exception as exc:  # the provider's own error types, sorted by ``transient``
            retry, reason = transient(exc)
            if not retry:
                raise OutboundError(f"{provider} refused the message for {sender_id} ({reason}); "
                                    f"{_progress(sent, total)}") from None
        if attempt == 1:
            logger.warning("%s: sending to %s failed (%s); retrying once", provider, sender_id, reason)
            await asyncio.sleep(RETRY_DELAY)
    raise OutboundError(f"{provider} did not take the message for {sender_id} after a retry ({reason}); "
                        f"{_progress(sent, total)}")


def _progress(sent: int, total: int) -> str:
    return "nothing was sent" if sent == 0 else f"{sent} of {total} parts were sent"


def _checked_buttons(buttons: Optional[Sequence[Any]]) -> list[dict]:
    """Buttons as [{"title", "payload"}]; a malformed one is a clear error, not a silent drop."""
    checked = []
    for button in buttons or []:
        if not isinstance(button, dict) or not str(button.get("title") or "").strip():
            raise OutboundError('Each button needs a "title" (and a "payload")')
        title = str(button["title"])
        checked.append({"title": title, "payload": str(button.get("payload") or title)})
    return checked
