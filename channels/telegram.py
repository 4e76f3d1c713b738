"""Telegram, in webhook mode: Telegram posts each update here and the bot answers with sendMessage.

    GET  /webhooks/telegram/health    {"status": "ok", "configured": true|false}
    POST /webhooks/telegram/webhook   a Telegram Update; needs the X-Telegram-Bot-Api-Secret-Token header

Set ``access_token`` and ``webhook_secret`` in credentials.yml (or the environment variables
TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET) and register the webhook once with Telegram's
setWebhook, passing the same ``secret_token``. Without them the server still starts and the webhook
answers 503: nothing calls Telegram at start-up.

The person is known to Rasa only as ``tg-`` plus a salted hash of the chat id (salt:
SIGNPOST_ID_SALT); the raw chat id and names are never logged. Text is sent as plain text. If a
turn fails or the bot would say nothing, the person still gets a helpline number: never silence.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.webchat import MAX_MESSAGE_CHARS, never_silent
from signposting.telegram_render import PayloadStore, render_telegram

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_SALT = "signpost-telegram-v1"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

ONLY_TEXT = "Sorry, I can only read text messages. Please type your question and I'll do my best to help."
EMPTY_TEXT = "Please type a message, for example \"money worries\" or \"talk to someone\"."
EXPIRED_BUTTON = "Sorry, that button has expired. Please type your question, or say \"menu\"."

# python-telegram-bot logs every request's parameters (chat ids, text) at DEBUG, and httpx logs
# each URL, which contains the bot token, at INFO: keep both out of the logs.
logging.getLogger("telegram").setLevel(logging.INFO)


class _RedactToken(logging.Filter):
    PATTERN = re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            record.msg, record.args = self.PATTERN.sub("/bot<token>", message), ()
        return True


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _RedactToken) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactToken())


def sender_id(chat_id: Any, salt: Optional[str] = None) -> str:
    """'tg-' plus 16 hex characters: stable per chat, never the chat id itself."""
    salt = salt if salt is not None else os.environ.get("SIGNPOST_ID_SALT", DEFAULT_SALT)
    return "tg-" + hashlib.sha256(f"{chat_id}{salt}".encode("utf-8")).hexdigest()[:16]


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
            base_url=credentials.get("base_url") or os.environ.get("TELEGRAM_API_BASE_URL") or DEFAULT_BASE_URL,
        )

    def __init__(self, access_token: Optional[str] = None, webhook_secret: Optional[str] = None,
                 base_url: str = DEFAULT_BASE_URL, store: Optional[PayloadStore] = None) -> None:
        self.access_token = str(access_token) if access_token else None
        self.webhook_secret = str(webhook_secret) if webhook_secret else None
        self.base_url = base_url or DEFAULT_BASE_URL
        self.store = store or PayloadStore()
        self._bot: Any = None
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._tails: Dict[str, "asyncio.Task[None]"] = {}  # the latest turn per chat, to keep order

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
            self._schedule(update, on_new_message)
            return response.text("ok")

        return bp

    # ------------------------------------------------------------------ handling an update
    def _schedule(self, update: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Answer in the background so Telegram gets its 200 at once; one chat's updates stay in order."""
        chat_id = _chat_id(update)
        if chat_id is None:  # edited messages, membership changes, ...: nothing to answer
            return
        sender = sender_id(chat_id)
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
                await self._send(chat_id, sender, [{"text": EXPIRED_BUTTON}])
                return
            await self._turn(payload, chat_id, sender, on_new_message)
            return

        message = update.message
        if message is None:
            return
        if message.text is None:  # photo, voice, document, sticker, location, ...
            await self._send(chat_id, sender, [{"text": ONLY_TEXT}])
            return
        text = message.text.strip()
        if not text:
            await self._send(chat_id, sender, [{"text": EMPTY_TEXT}])
            return
        await self._turn(_command(text)[:MAX_MESSAGE_CHARS], chat_id, sender, on_new_message)

    async def _turn(self, text: str, chat_id: int, sender: str,
                    on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
        except Exception as exc:  # a failed turn still gets an answer
            logger.error("Telegram turn failed for %s: %s", sender, type(exc).__name__)
        await self._send(chat_id, sender, never_silent(collector.messages))

    async def _send(self, chat_id: int, sender: str, replies: list) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        for params in render_telegram(replies, self.store):
            markup = None
            if "reply_markup" in params:
                markup = InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"])
                                                for b in row] for row in params["reply_markup"]["inline_keyboard"]])
            try:
                await self.bot().send_message(chat_id=chat_id, text=params["text"], reply_markup=markup)
            except Exception as exc:
                logger.warning("sendMessage failed for %s: %s", sender, type(exc).__name__)
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
