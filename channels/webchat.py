"""The web chat: serves Signpost's own chat page and its JSON webhook from the Rasa server.

    GET  /webhooks/webchat/            the chat page
    GET  /webhooks/webchat/static/<f>  its script and styles
    GET  /webhooks/webchat/health      {"status": "ok"}
    POST /webhooks/webchat/webhook     {"sender": "...", "message": "..."} -> [{"text", "buttons"}...]

Same origin as the webhook, so the page needs no CORS. If a turn fails or the bot would say
nothing (for example the action server is down), the person still gets an answer with a
helpline number: never silence.
"""
from __future__ import annotations

import logging
import mimetypes
import re
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from signposting import knowledge as kb

logger = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent / "web"
MAX_MESSAGE_CHARS = 5000
SENDER = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def never_silent(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The bot's replies, or, if there are none, an apology with a number to call."""
    if any(m.get("text") or m.get("buttons") for m in messages):
        return messages
    try:
        line = kb.current().helplines["macmillan_support_line"]
        contact = f" You can talk to someone at {line['name']} on {line['phone']}."
    except Exception:  # knowledge itself unavailable: still say something useful
        contact = ""
    return [{
        "recipient_id": "",
        "text": "Sorry, something went wrong on my side and I couldn't answer that." + contact
        + " If you are in danger now, call 999.",
    }]


class WebChatInput(InputChannel):
    """Signpost's web chat page and its webhook."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("signpost_webchat", __name__)

        @bp.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            return await _file("index.html")

        @bp.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            return await _file(name)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "Send JSON: {\"sender\": \"...\", \"message\": \"...\"}"}, status=400)
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not SENDER.match(sender):
                return response.json({"error": "sender must be 1-128 letters, digits, or . _ : -"}, status=400)
            if not isinstance(text, str) or not text.strip():
                return response.json({"error": "message must be non-empty text"}, status=400)
            text = text[:MAX_MESSAGE_CHARS]
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                                 metadata=self.get_metadata(request)))
            except Exception:  # a failed turn still gets an answer
                logger.exception("Web chat turn failed")
            return response.json(never_silent(collector.messages))

        return bp

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None


async def _file(name: str) -> HTTPResponse:
    path = (WEB_DIR / name).resolve()
    if path.parent != WEB_DIR or not path.is_file():
        return response.json({"error": "not found"}, status=404)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {
        "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; "
                                   "connect-src 'self'; img-src 'self' data:; frame-ancestors *",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
    return response.raw(path.read_bytes(), content_type=content_type + "; charset=utf-8", headers=headers)
