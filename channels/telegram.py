"""Telegram, in webhook mode: Telegram posts each update here and the bot answers with sendMessage.

    GET  /webhooks/telegram/health    {"status": "ok", "configured": true|false}
    POST /webhooks/telegram/webhook   a Telegram Update; needs the X-Telegram-Bot-Api-Secret-Token header

Set ``access_token`` and ``webhook_secret`` in credentials.yml (or the environment variables
TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET) and register the webhook once with Telegram's
setWebhook, passing the same ``secret_token``. Without them the server still starts and the webhook
answers 503: nothing calls Telegram at start-up.

The person is known to Rasa only as ``tg-`` plus the chat id encrypted with SIGNPOST_SECRET_KEY
(``channels/identity.py``: stable, unreadable, and ``channels/outbound.py`` can still write to the
chat later); the raw chat id and names are never logged. Text is sent as plain text. If a turn
fails or the bot would say nothing, the person still gets a helpline number: never silence.

Several instances can serve one bot: the short ids of long button payloads and the update ids
already handled live in SQL (``channels/state.py``), so a button sent by one instance works on
another, and a replayed or retried update (same ``update_id``) gets its 200 but no second turn.
Photos, voice notes, stickers and files without a caption get a polite "I can only read text".
The Bot API address is ``base_url`` in credentials.yml, else TELEGRAM_API_BASE (tests point it
at a local fake), else Telegram's own.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import identity, rest
from channels import state as channel_state
from channels.telegram_api import DEFAULT_BASE_URL, api_base, inline_markup  # noqa: F401 (re-exported)
from channels.webchat import MAX_MESSAGE_CHARS, never_silent
from signposting import sms
from signposting.telegram_render import PayloadStore, render_telegram

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Defaults; editors can override each by adding its key to knowledge/wording.yml (see signposting/sms.py).
ONLY_TEXT = "Sorry, I can only read text messages. Please type your question and I'll do my best to help."
EMPTY_TEXT = "Please type a message, for example \"money worries\" or \"talk to someone\"."
EXPIRED_BUTTON = "Sorry, that button has expired. Please type your question, or say \"menu\"."
WORDING_KEYS = {"only_text": "channel_only_text", "empty": "channel_empty",
                "expired": "channel_button_expired"}


def sender_id(chat_id: Any, salt: Optional[str] = None) -> str:
    """'tg-' plus the encrypted chat id: stable per chat, never the chat id itself.

    ``salt`` is ignored: it belonged to the old one-way hash and is kept so existing callers work.
    """
    return identity.sender_for("tg", str(chat_id))


class TelegramInput(InputChannel):
    """Telegram Bot API webhook."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TelegramInput":
        credentials = credentials or {}
        return cls(
            access_token=credentials.get("access_token") or os.environ.get("TELEGRAM_BOT_TOKEN"),
            webhook_secret=credentials.get("webhook_secret") or os.environ.get("TELEGRAM_WEBHOOK_SECRET"),
            base_url=api_base(credentials.get("base_url")),
        )

    def __init__(self, access_token: Optional[str] = None, webhook_secret: Optional[str] = None,
                 base_url: str = DEFAULT_BASE_URL, store: Optional[PayloadStore] = None,
                 state: Optional[channel_state.ChannelState] = None) -> None:
        self.access_token = str(access_token) if access_token else None
        self.webhook_secret = str(webhook_secret) if webhook_secret else None
        self.base_url = base_url or DEFAULT_BASE_URL
        self._store = store
        self._state = state
        self._bot: Any = None
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._tails: Dict[str, "asyncio.Task[None]"] = {}  # the latest turn per chat, to keep order

    @property
    def state(self) -> channel_state.ChannelState:
        """The shared channel state: the one given, else the database in DATABASE_URL."""
        return self._state or channel_state.default()

    @property
    def store(self) -> PayloadStore:
        """Long button payloads by short id: the store given, else SQL shared by every instance."""
        return self._store or channel_state.SqlPayloadStore(self.state)

    @property
    def replay_channel(self) -> str:
        """Update ids are per bot: 'telegram:<bot id>' (the token's first part, not secret)."""
        return "telegram:" + (self.access_token or "").split(":", 1)[0][:20]

    @property
    def configured(self) -> bool:
        return bool(self.access_token and self.webhook_secret)

    def bot(self) -> Any:
        """The Bot, built on first use. Building it makes no request (no getMe, no initialize)."""
        if self._bot is None:
            from telegram import Bot

            self._bot = Bot(self.access_token, base_url=self.base_url)
        return self._bot

    async def drain(self) -> None:
        """Wait until every update received so far has been answered (for tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("signpost_telegram", __name__)

        @bp.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": self.configured})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.configured:
                return response.json({"error": "Telegram is not configured: set access_token and webhook_secret "
                                               "for channels.telegram.TelegramInput in credentials.yml, or "
                                               "TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET."}, status=503)
            given = request.headers.get(SECRET_HEADER) or ""
            if not hmac.compare_digest(given.encode("utf-8"), self.webhook_secret.encode("utf-8")):
                return response.json({"error": "forbidden"}, status=403)
            try:
                data = request.json
            except Exception:
                data = None
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int) \
                    or isinstance(data.get("update_id"), bool):
                return response.json({"error": "expected a Telegram Update (JSON with update_id)"}, status=400)
            try:
                from telegram import Update

                update = Update.de_json(data, self.bot())
            except Exception:
                return response.json({"error": "not a valid Telegram Update"}, status=400)
            try:
                if not self.state.first_time(self.replay_channel, str(data["update_id"])):
                    logger.info("Ignored a repeated Telegram update")
                    return response.text("ok")
            except Exception as exc:  # answering twice beats never answering
                logger.error("Could not check Telegram update for a replay: %s", type(exc).__name__)
            self._schedule(update, on_new_message)
            return response.text("ok")

        return bp

    # ------------------------------------------------------------------ handling an update
    def _schedule(self, update: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Answer in the background so Telegram gets its 200 at once; one chat's updates stay in order."""
        chat_id = _chat_id(update)
        if chat_id is None:  # edited messages, membership changes, ...: nothing to answer
            return
        try:
            sender = sender_id(chat_id)
        except ValueError:  # not a chat id Telegram would send
            logger.warning("Ignored a Telegram update with an impossible chat id")
            return
        previous = self._tails.get(sender)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await self._handle(update, chat_id, sender, on_new_message)
            except Exception as exc:  # never let a background task die noisily with personal data
                logger.error("Telegram update for %s failed: %s", sender, type(exc).__name__)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        self._tails[sender] = task

        def done(t: "asyncio.Task[None]") -> None:
            self._tasks.discard(t)
            if self._tails.get(sender) is t:
                del self._tails[sender]

        task.add_done_callback(done)

    async def _handle(self, update: Any, chat_id: int, sender: str,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        query = update.callback_query
        if query is not None:
            try:
                await self.bot().answer_callback_query(query.id)
            except Exception as exc:
                logger.warning("answerCallbackQuery failed for %s: %s", sender, type(exc).__name__)
            payload = self.store.resolve(query.data) if query.data else None
            if not payload:
                await self._send(chat_id, sender, [{"text": sms.wording(WORDING_KEYS["expired"], EXPIRED_BUTTON)}])
                return
            await self._turn(payload, chat_id, sender, on_new_message)
            return

        message = update.message
        if message is None:
            return
        words = message.text if message.text is not None else message.caption  # a captioned photo: its words
        if words is None:  # photo, voice, document, sticker, location, ... with no words
            await self._send(chat_id, sender, [{"text": sms.wording(WORDING_KEYS["only_text"], ONLY_TEXT)}])
            return
        text = words.strip()
        if not text:
            await self._send(chat_id, sender, [{"text": sms.wording(WORDING_KEYS["empty"], EMPTY_TEXT)}])
            return
        notes = []
        if len(text) > MAX_MESSAGE_CHARS:
            logger.info("Trimmed a %d-character message from %s", len(text), sender)
            text = text[:MAX_MESSAGE_CHARS]
            notes.append({"text": sms.trimmed_text()})
        await self._turn(_command(text), chat_id, sender, on_new_message, notes)

    async def _turn(self, text: str, chat_id: int, sender: str,
                    on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    notes: Optional[list] = None) -> None:
        collector = CollectingOutputChannel()
        # within the time limit, and never silent: the crisis answer, or a helpline number (quiet while staff hold it)
        await rest.answer_within(on_new_message, UserMessage(text, collector, sender, input_channel=self.name()))
        replies = (notes or []) + collector.messages
        if replies:
            await self._send(chat_id, sender, replies)

    async def _send(self, chat_id: int, sender: str, replies: list) -> None:
        from channels.outbound import OutboundError, send_telegram

        try:
            messages = render_telegram(replies, self.store)
        except Exception as exc:  # e.g. the state store is down: still say something, with a number to call
            logger.error("Rendering for %s failed: %s", sender, type(exc).__name__)
            messages = render_telegram(never_silent([]), PayloadStore())
        for n, params in enumerate(messages):
            try:  # one retry after a 5xx, a timeout or a network failure
                await send_telegram(self.bot(), chat_id, params, sender, sent=n, total=len(messages))
            except OutboundError as exc:
                logger.warning("sendMessage failed for %s: %s", sender, exc)
                return  # later parts would read out of order

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None


def _chat_id(update: Any) -> Optional[int]:
    if update.callback_query is not None:
        query = update.callback_query
        if query.message is not None:
            return query.message.chat.id
        return query.from_user.id if query.from_user else None  # a private chat's id is the user's
    if update.message is not None:
        return update.message.chat.id
    return None


def _command(text: str) -> str:
    """/start greets; other commands are read as words (typed text never names an intent)."""
    if not text.startswith("/"):
        return text
    command = text.split(maxsplit=1)[0].split("@", 1)[0].lower()
    if command == "/start":
        return "/greet"
    return text.lstrip("/").strip() or "help"
