"""What both Telegram paths share (the webhook in ``channels/telegram.py`` and later messages in
``channels/outbound.py``): where the Bot API is, how rendered buttons become python-telegram-bot
objects, and keeping chat ids, texts and the bot token out of the logs. No Rasa here.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Dict, Optional

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


def api_base(configured: Optional[str] = None) -> str:
    """The Bot API address: the one configured, else TELEGRAM_API_BASE (or the older
    TELEGRAM_API_BASE_URL), else Telegram's own."""
    return (configured or os.environ.get("TELEGRAM_API_BASE") or os.environ.get("TELEGRAM_API_BASE_URL")
            or DEFAULT_BASE_URL)


def inline_markup(params: Dict[str, Any]) -> Any:
    """python-telegram-bot's InlineKeyboardMarkup for rendered sendMessage parameters (None without buttons)."""
    if "reply_markup" not in params:
        return None
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                                 for row in params["reply_markup"]["inline_keyboard"]])


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
