"""The web chat: serves Signpost's own chat page and its JSON endpoints from the Rasa server.

    GET  /webhooks/webchat/                  the chat page (add ?embed=1 inside the embed's iframe)
    GET  /webhooks/webchat/static/<f>        its script, styles and the one-tag embed loader (embed.js)
    GET  /webhooks/webchat/health            {"status": "ok"}
    POST /webhooks/webchat/webhook           {"sender", "message", "id"?} -> [{"text", "buttons"}...]
    GET  /webhooks/webchat/summary/<sender>  the conversation summary, as a text file to keep
    GET  /webhooks/webchat/plan/<sender>     the plan to keep, as a PDF (?large=1: large print)
    GET  /webhooks/webchat/history/<sender>  {"messages": [{"who": "me"|"bot", "text", "buttons"}]}
    GET  /webhooks/webchat/inbox/<sender>    {"messages": [...]}: replies queued by the helpline team

Embedding on another site takes one tag (see channels/web/README.md):

    <script src="https://YOUR-SIGNPOST/webhooks/webchat/static/embed.js" async></script>

Same origin as the webhook, so the page needs no CORS. A sender id is ``web-`` and 24 to 64
lower-case hex digits (the page makes 128 random bits), and knowing it is the only key to a
conversation's summary, history and inbox, so the format is checked strictly and other channels'
conversations (``sms-...``, ``tg-...``) can never be read here.

A message may carry a client id: the same id from the same sender again (a retry after a dropped
connection) is not a second turn. This instance answers it with the first reply (kept in a bounded
in-memory LRU); if another instance behind the balancer took it (``channels.state`` records every
id in SQL), the answer is an empty list with ``X-Signpost-Replay: 1`` and the page redraws from
``history``. A turn has the REST channel's time limit (``SIGNPOST_TURN_TIMEOUT``). If a turn fails,
times out or the bot would say nothing, the person still gets an answer: the crisis answer if their
message was a crisis, else a helpline number (``channels.rest.safe_replies``). The one silence kept
is while helpline staff have taken the conversation over: their replies arrive through ``inbox``.
"""
from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import mimetypes
import re
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from signposting import knowledge as kb
from signposting import summary as summaries

logger = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent / "web"
MAX_MESSAGE_CHARS = 5000
MAX_BODY_BYTES = 256 * 1024          # 20,000 characters even as 12-byte JSON escapes; more is refused
SENDER = re.compile(r"^web-[0-9a-f]{24,64}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
REPLAY_CAPACITY = 10_000             # (sender, message id) pairs remembered per process
HISTORY_LIMIT = 200                  # messages sent back to redraw a page
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; img-src 'self' data:; frame-ancestors *; "
                               "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
TRIMMED_NOTE = ("Your message was very long, so I read the first {limit} characters. "
                "If there was more, you could send it in another message.")
NO_CONVERSATION = ("I can't find a conversation to summarise. If you've only just started, send a message "
                   "first. If you deleted your data or left the site quickly, there's nothing kept to summarise.")
BAD_SENDER = "That isn't a web chat conversation id."

TrackerSource = Callable[[Request, str], Awaitable[Any]]


def never_silent(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The bot's replies, or, if there are none, an apology with a number to call."""
    if _said_anything(messages):
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


def clean_text(text: str) -> str:
    """Text safe to store and show: no NULs or other control characters, no lone surrogates.

    Emoji, right-to-left scripts, combining marks and line breaks are kept as they are.
    """
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


class ReplayCache:
    """The reply to each (sender, client message id), oldest forgotten first.

    Holds an asyncio Future while the turn runs, so a retry that arrives before the first attempt
    has finished waits for the same answer instead of starting a second turn.
    """

    def __init__(self, capacity: int = REPLAY_CAPACITY) -> None:
        self.capacity = capacity
        self._items: "OrderedDict[Tuple[str, str], asyncio.Future]" = OrderedDict()

    def get(self, key: Tuple[str, str]) -> Optional[asyncio.Future]:
        future = self._items.get(key)
        if future is not None:
            self._items.move_to_end(key)
        return future

    def put(self, key: Tuple[str, str], future: asyncio.Future) -> None:
        self._items[key] = future
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


async def agent_tracker(request: Request, sender: str) -> Any:
    """The conversation's tracker from the running agent's tracker store (None if there is none)."""
    agent = getattr(request.app.ctx, "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is None:
        raise RuntimeError("no tracker store yet (the model is still loading)")
    tracker = store.retrieve(sender)
    return await tracker if inspect.isawaitable(tracker) else tracker


# --------------------------------------------------------------------------- reading a conversation
def _event_type(event: Any) -> str:
    return getattr(event, "type_name", None) or getattr(type(event), "type_name", "") or ""


def since_reset(events: Iterable[Any]) -> List[Any]:
    """Events after the last 'delete my data' (all slots reset) or restart: what may be shown again."""
    events = list(events)
    for index in range(len(events) - 1, -1, -1):
        if _event_type(events[index]) in ("reset_slots", "restart"):
            return events[index + 1:]
    return events


def transcript(events: Iterable[Any], limit: int = HISTORY_LIMIT) -> List[Dict[str, Any]]:
    """What the person and the bot said, for redrawing the page: a button click shows as its title."""
    messages: List[Dict[str, Any]] = []
    last_buttons: List[Dict[str, Any]] = []
    for event in since_reset(events):
        kind = _event_type(event)
        if kind == "user":
            text = event.text or ""
            if text.startswith("/"):
                titles = [b.get("title") for b in last_buttons if b.get("payload") == text]
                if not titles:
                    continue  # an internal payload such as /greet: nothing the person wrote
                text = str(titles[0])
            messages.append({"who": "me", "text": text})
        elif kind == "bot":
            data = event.data or {}
            buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                       for b in data.get("buttons") or [] if isinstance(b, Mapping)]
            if event.text or buttons:
                messages.append({"who": "bot", "text": event.text or "", "buttons": buttons})
                last_buttons = buttons or last_buttons
    return messages[-limit:]


def conversation_summary(tracker: Any, knowledge: Optional[kb.Knowledge] = None) -> summaries.Summary:
    """The summary of a tracker's conversation (since any 'delete my data')."""
    return summaries.from_events(tracker.current_slot_values(), [e.as_dict() for e in tracker.events], knowledge)


NO_PLAN = "There's no plan here yet. A short check-in makes one: say \"check-in\" in the chat."


def plan_pdf_bytes(slots: Dict[str, Any], large_print: bool = False) -> bytes:
    """The person's plan (signposting/plan.py) from the conversation's answers, as a PDF."""
    from signposting import handoff, hours, plan, plan_pdf

    today = handoff.now_utc().astimezone(hours.UK).date()
    return plan_pdf.render_pdf(plan.build_plan(slots, today), large_print=large_print)


def _valid_buttons(raw: Any) -> List[Dict[str, str]]:
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        return []
    return [{"title": str(b["title"]), "payload": str(b.get("payload", b["title"]))}
            for b in raw if isinstance(b, Mapping) and b.get("title")]


async def take_inbox(sender: str) -> List[Dict[str, Any]]:
    """Messages the helpline team queued for this web chat (channels.outbound), [] until that exists."""
    try:
        outbound = importlib.import_module("channels.outbound")
    except ModuleNotFoundError as exc:
        if exc.name in ("channels.outbound",):
            return []
        raise
    take = getattr(outbound, "take_webchat", None)
    if take is None:
        return []
    if inspect.iscoroutinefunction(take):
        items = await take(sender)
    else:  # it may touch a database or Redis: keep the event loop free
        items = await asyncio.get_running_loop().run_in_executor(None, take, sender)
    return [{"text": str(item.get("text") or ""), "buttons": _valid_buttons(item.get("buttons"))}
            for item in items or [] if isinstance(item, Mapping) and (item.get("text") or item.get("buttons"))]


# --------------------------------------------------------------------------- the channel
class WebChatInput(InputChannel):
    """Signpost's web chat page and its endpoints."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    def __init__(self, replay_capacity: int = REPLAY_CAPACITY, trackers: Optional[TrackerSource] = None,
                 state: Any = None, turn_seconds: Optional[float] = None) -> None:
        self.replays = ReplayCache(replay_capacity)
        self.trackers: TrackerSource = trackers or agent_tracker
        self._state = state            # channels.state.ChannelState; the shared default when None
        self.turn_seconds = turn_seconds

    def state(self) -> Any:
        if self._state is None:
            from channels import state as channel_state

            self._state = channel_state.default()
        return self._state

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("signpost_webchat", __name__)

        @bp.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):  # the page's links are relative to the folder
                return response.redirect(request.path + "/" + (f"?{request.query_string}" if request.query_string
                                                               else ""))
            return await _file("index.html")

        @bp.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            return await _file(name)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body, problem = _read_body(request)
            if problem:
                return response.json({"error": problem}, status=400)
            sender, text, client_id = body["sender"], body["message"], body.get("id")
            key = (sender, client_id) if client_id else None
            earlier = self.replays.get(key) if key else None
            if earlier is not None:  # a retry of a message already answered (or being answered)
                replies = await asyncio.shield(earlier)
                return response.json(replies, headers={"X-Signpost-Replay": "1"})
            future: asyncio.Future = asyncio.get_running_loop().create_future()
            if key:
                self.replays.put(key, future)
                if not await self._first_time(sender, client_id):
                    # another Signpost instance behind the balancer took this message: no second turn
                    future.set_result([])
                    return response.json([], headers={"X-Signpost-Replay": "1"})
            # The turn runs on its own, so a dropped connection can't cut it short; a retry waits for it.
            turn = asyncio.ensure_future(self._turn(on_new_message, request, sender, text))
            turn.add_done_callback(lambda t: _settle(future, t))
            return response.json(await asyncio.shield(future))

        @bp.route("/summary/<sender>", methods=["GET"])
        async def summary(request: Request, sender: str) -> HTTPResponse:
            if not SENDER.match(sender):
                return response.text(BAD_SENDER, status=400, headers=PRIVATE)
            tracker, failed = await self._tracker(request, sender)
            if failed:
                return failed
            if tracker is None or not any(_event_type(e) == "user" for e in since_reset(tracker.events)):
                return response.text(NO_CONVERSATION, status=404, headers=PRIVATE)
            text = summaries.as_text(conversation_summary(tracker))
            headers = dict(PRIVATE, **{"Content-Disposition": 'attachment; filename="signpost-summary.txt"'})
            return response.text(text, headers=headers, content_type="text/plain; charset=utf-8")

        @bp.route("/plan/<sender>", methods=["GET"])
        async def plan_pdf(request: Request, sender: str) -> HTTPResponse:
            if not SENDER.match(sender):
                return response.text(BAD_SENDER, status=400, headers=PRIVATE)
            tracker, failed = await self._tracker(request, sender)
            if failed:
                return failed
            slots = tracker.current_slot_values() if tracker is not None else {}
            if not slots.get("assessment_done"):
                return response.text(NO_PLAN, status=404, headers=PRIVATE)
            large = request.args.get("large") in ("1", "true", "yes")
            body = await asyncio.get_running_loop().run_in_executor(None, plan_pdf_bytes, slots, large)
            name = "signpost-plan-large-print.pdf" if large else "signpost-plan.pdf"
            headers = dict(PRIVATE, **{"Content-Disposition": f'attachment; filename="{name}"'})
            return response.raw(body, headers=headers, content_type="application/pdf")

        @bp.route("/history/<sender>", methods=["GET"])
        async def history(request: Request, sender: str) -> HTTPResponse:
            if not SENDER.match(sender):
                return response.json({"error": BAD_SENDER}, status=400, headers=PRIVATE)
            tracker, failed = await self._tracker(request, sender)
            if failed:
                return failed
            messages = transcript(tracker.events) if tracker is not None else []
            return response.json({"messages": messages}, headers=PRIVATE)

        @bp.route("/inbox/<sender>", methods=["GET"])
        async def inbox(request: Request, sender: str) -> HTTPResponse:
            if not SENDER.match(sender):
                return response.json({"error": BAD_SENDER}, status=400, headers=PRIVATE)
            try:
                messages = await take_inbox(sender)
            except Exception:
                logger.exception("Web chat inbox failed for a sender")
                messages = []
            return response.json({"messages": messages}, headers=PRIVATE)

        return bp

    async def _turn(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], request: Request, sender: str,
                    text: str) -> List[Dict[str, Any]]:
        """One turn, within the REST channel's time limit; an answer always, except while staff hold it."""
        from channels import rest  # here, not at the top: channels.rest imports this module

        trimmed = len(text) > MAX_MESSAGE_CHARS
        collector = CollectingOutputChannel()
        message = UserMessage(text[:MAX_MESSAGE_CHARS], collector, sender, input_channel=self.name(),
                              metadata=self.get_metadata(request))
        seconds = self.turn_seconds if self.turn_seconds is not None else rest.turn_timeout()
        try:
            await asyncio.wait_for(on_new_message(message), timeout=seconds)
        except asyncio.TimeoutError:
            logger.error("A web chat turn took longer than %.0f s: answered without it", seconds)
        except Exception:  # a failed turn still gets an answer
            logger.exception("Web chat turn failed")
        replies = await rest.final_replies(collector.messages, message.text, sender)
        if not replies:
            return []  # a member of staff is talking to them: their reply comes through the inbox
        if trimmed:  # after the answer: a crisis answer is always first
            replies.append({"recipient_id": sender, "text": TRIMMED_NOTE.format(limit=f"{MAX_MESSAGE_CHARS:,}")})
        return replies

    async def _first_time(self, sender: str, client_id: str) -> bool:
        """Whether no Signpost instance has taken this message id yet (shared SQL state; True if unreachable)."""
        try:
            return await asyncio.get_running_loop().run_in_executor(
                None, self.state().first_time, self.name(), f"{sender}:{client_id}")
        except Exception:  # better a rare second turn than no answer
            logger.exception("Web chat replay check unavailable")
            return True

    async def _tracker(self, request: Request, sender: str) -> Tuple[Any, Optional[HTTPResponse]]:
        try:
            return await self.trackers(request, sender), None
        except Exception:
            logger.exception("Web chat could not read a conversation")
            return None, response.text("Sorry, I can't get to your conversation right now. Please try again in a "
                                       "minute.", status=503, headers=PRIVATE)

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None


def _said_anything(messages: List[Dict[str, Any]]) -> bool:
    return any(m.get("text") or m.get("buttons") for m in messages)


def _settle(future: asyncio.Future, turn: "asyncio.Future[List[Dict[str, Any]]]") -> None:
    if future.done():
        return
    if turn.cancelled() or turn.exception() is not None:
        future.set_result(never_silent([]))
    else:
        future.set_result(turn.result())


def _read_body(request: Request) -> Tuple[Dict[str, Any], Optional[str]]:
    """The message, or a plain reason why it can't be used (the answer is then 400; nothing is kept)."""
    usage = 'Send JSON like {"sender": "web-<hex id>", "message": "hello", "id": "<message id>"}.'
    raw = request.body or b""
    if len(raw) > MAX_BODY_BYTES:
        return {}, f"That message is too big to read (over {MAX_BODY_BYTES // 1024} KB). {usage}"
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}, f"That wasn't valid JSON. {usage}"
    if not isinstance(body, dict):
        return {}, f"Expected a JSON object. {usage}"
    sender, text, client_id = body.get("sender"), body.get("message"), body.get("id")
    if not isinstance(sender, str) or not SENDER.match(sender):
        return {}, "sender must be 'web-' followed by 24 to 64 lower-case hex digits (a random id made by the page)."
    if not isinstance(text, str):
        return {}, "message must be text."
    text = clean_text(text)
    if not text.strip():
        return {}, "message is empty: type something to send."
    if client_id is not None and (not isinstance(client_id, str) or not CLIENT_ID.match(client_id)):
        return {}, "id must be 8 to 64 letters, digits, '-' or '_' (a random id for this message)."
    return {"sender": sender, "message": text.strip(), "id": client_id}, None


async def _file(name: str) -> HTTPResponse:
    path = (WEB_DIR / name).resolve()
    if path.parent != WEB_DIR or not path.is_file():
        return response.json({"error": "not found"}, status=404)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = dict(SECURITY_HEADERS, **{"Cache-Control": "no-cache"})
    return response.raw(path.read_bytes(), content_type=content_type + "; charset=utf-8", headers=headers)
