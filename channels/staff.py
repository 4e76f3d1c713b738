"""The staff console: helpline staff see the queue, read a summary, take over, reply, hand back, close.

Served by the Rasa server itself (credentials.yml: ``channels.staff.StaffConsole:``), so it can read
and pause conversations through the running agent's tracker store:

    GET  /webhooks/staff/                                   -> the queue, or the login page
    GET  /webhooks/staff/login          POST /login          POST /logout
    GET  /webhooks/staff/queue          GET /queue.json      (polled by the page)
    GET  /webhooks/staff/conversation/<id>                  summary, consent, transcript, actions
    GET  /webhooks/staff/conversation/<id>/transcript.json  (polled by the page)
    POST /webhooks/staff/conversation/<id>/take | message | handback | close
    GET  /webhooks/staff/static/<file>

Taking over appends Rasa's ``ConversationPaused`` event to the conversation (the bot stops answering,
the person's messages are still recorded and appear here); handing back appends
``ConversationResumed`` (the same as ``POST /conversations/<id>/tracker/events`` on Rasa's HTTP API,
done in-process under the conversation's lock). Staff messages reach the person on their own
channel through ``channels.outbound.deliver``.

Security: passwords and sessions in signposting/staff.py; the session cookie is HttpOnly,
SameSite=Strict and scoped to this path; every POST carries a CSRF token (403 without it); the
pages are rendered with every piece of text escaped, under a strict Content-Security-Policy (no
inline script or style); pages and JSON are never cached. Staff only ever see conversations whose
person consented (every query goes through signposting.handoff, which joins on consent).
"""
from __future__ import annotations

import asyncio
import html
import logging
import mimetypes
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Text
from urllib.parse import quote

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from signposting import handoff, hours
from signposting import staff as accounts

logger = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent / "staff_web"
PREFIX = "/webhooks/staff"
SESSION_COOKIE = "signpost_staff"
LOGIN_COOKIE = "signpost_staff_login"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",   # not no-referrer: Chromium then sends "Origin: null" on our own forms
    "Cache-Control": "no-store",
}
CHANNEL_NAMES = {"webchat": "web chat", "rest": "web chat", "socketio": "web chat", "twilio_sms": "SMS or WhatsApp",
                 "sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram"}
STATUS_NAMES = {"waiting": "Waiting", "taken": "With staff", "handed_back": "Back with the bot",
                "callback": "Callback requested", "closed": "Closed"}
FLAGS = {"crisis": "Crisis words: this person may be at risk now.",
         "delete_my_data": "Asked to delete their data: hand back so the bot can do it, or delete it from the CLI."}
DONE = {"taken": "You've taken over. The bot is paused and the person has been told your first name.",
        "sent": "Message sent.", "handed_back": "Handed back: the bot is answering again.",
        "closed": "Closed.", "loggedout": "You've logged out.", "expired": "Your session ended. Please log in again."}
DEFAULT_WORDING = {
    "handoff_staff_joined": "You're now talking to {first_name} from the helpline team.",
    "handoff_staff_left": ("{first_name} from the helpline team has handed you back to Signpost, the automated "
                           "assistant. Say \"talk to a person\" if you'd like the team again."),
}

Deliver = Callable[..., Awaitable[Any]]


class ConsoleError(Exception):
    """Shown to staff as it is: a plain reason an action did not happen."""


# --------------------------------------------------------------------------- small pure helpers
def esc(value: Any) -> str:
    """Text for HTML: every character that could start markup is escaped (nothing is ever raw HTML)."""
    return html.escape("" if value is None else str(value), quote=True)


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel or "unknown")


def wording(key: str, **values: Any) -> str:
    """Editors' wording from knowledge/wording.yml when it has the key, else the default here."""
    try:
        from signposting import knowledge as kb

        current = kb.current()
        if key in current.wording:
            return current.say(key, **values)
    except Exception:  # knowledge unavailable: the default still says the right thing
        logger.warning("Knowledge unavailable for %s; using the default wording", key)
    return DEFAULT_WORDING[key].format(**values)


def _redactor() -> Callable[[str], str]:
    """The project's redaction (signposting.privacy.redact, else signposting.redact.redact), imported late.

    The tracker store already redacts what it keeps; this is a second guard for anything older.
    """
    for module_name in ("signposting.privacy", "signposting.redact"):
        try:
            module = __import__(module_name, fromlist=["redact"])
        except ImportError:
            continue
        redact = getattr(module, "redact", None)
        if callable(redact):
            def apply(text: str, redact: Callable[..., Any] = redact) -> str:
                try:
                    result = redact(text)
                except Exception:
                    logger.exception("Redaction failed; showing nothing rather than unredacted text")
                    return "(message hidden: it could not be checked for personal details)"
                return result if isinstance(result, str) else text
            return apply
    return lambda text: text


def transcript(events: Iterable[Dict[str, Any]], staff_messages: Iterable[handoff.StaffMessage] = ()) -> List[Dict[str, Any]]:
    """The person's messages, the bot's and staff's, and pauses, in time order, for the console.

    Takes Rasa events as dicts (``event.as_dict()``), so it can be tested without a tracker store.
    The person's words go through signposting.privacy.redact when that exists.
    """
    redact = _redactor()
    lines: List[Dict[str, Any]] = []
    latest = 0.0
    for event in events:
        # the tracker's order is the truth; times only place staff messages between its events
        kind = event.get("event")
        at = latest = max(latest, float(event.get("timestamp") or 0))
        if kind == "user":
            text = event.get("text") or ""
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if text.startswith("/"):   # a button press: show what the button meant, not its payload
                text = f"(chose: {text[1:].split('{')[0].replace('_', ' ')})"
            else:
                text = redact(text)
            lines.append({"at": at, "who": "person", "name": "Person", "text": text,
                          "flag": FLAGS.get(intent or "") and intent})
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            text = event.get("text") or ""
            buttons = [b.get("title", "") for b in (event.get("data") or {}).get("buttons") or []]
            if buttons:
                text += ("\n" if text else "") + "Options: " + " | ".join(buttons)
            lines.append({"at": at, "who": "bot", "name": "Signpost", "text": text, "flag": None})
        elif kind == "pause":
            lines.append({"at": at, "who": "event", "name": "", "text": "Bot paused (staff took over)", "flag": None})
        elif kind == "resume":
            lines.append({"at": at, "who": "event", "name": "", "text": "Bot resumed", "flag": None})
    for message in staff_messages:
        lines.append({"at": message.sent_at.timestamp(), "who": "staff", "name": message.staff,
                      "text": message.text + ("" if message.delivered else "  (not delivered)"), "flag": None})
    lines.sort(key=lambda line: line["at"])
    for line in lines:
        line["time"] = datetime.fromtimestamp(line["at"], timezone.utc).astimezone(hours.UK).strftime("%H:%M")
        line["flag_text"] = FLAGS.get(line["flag"] or "")
    return lines


def queue_rows(items: Iterable[handoff.Handoff], now: datetime | None = None) -> List[Dict[str, Any]]:
    """What the queue shows for each request: no summary text, only what is needed to pick one."""
    now = now or handoff.now_utc()
    rows = []
    for item in items:
        rows.append({
            "id": item.id, "kind": item.kind, "status": item.status, "status_text": STATUS_NAMES.get(item.status, item.status),
            "channel": channel_name(item.channel), "age": handoff.age_text(item.age(now)),
            "taken_by": item.taken_by or "", "preferred_time": item.preferred_time or "",
            "preferred_channel": item.preferred_channel or "",
            "call_from": hours.when(item.call_from.astimezone(hours.UK), now) if item.call_from else "",
            "url": f"{PREFIX}/conversation/{item.id}",
        })
    return rows


def grouped_queue(now: datetime | None = None) -> Dict[str, List[Dict[str, Any]]]:
    items = handoff.queue()
    return {
        "waiting": queue_rows([i for i in items if i.kind == "chat" and i.status == "waiting"], now),
        "taken": queue_rows([i for i in items if i.status == "taken"], now),
        "handed_back": queue_rows([i for i in items if i.status == "handed_back"], now),
        "callbacks": queue_rows([i for i in items if i.kind == "callback" and i.status == "callback"], now),
    }


# --------------------------------------------------------------------------- pages
def page(title: str, body: str, current: Optional[accounts.Session] = None, script: bool = False,
         status: int = 200) -> HTTPResponse:
    top = ""
    if current is not None:
        top = (f'<form class="logout" method="post" action="{PREFIX}/logout">'
               f'<input type="hidden" name="csrf" value="{esc(current.csrf_token)}">'
               f'<span>Logged in as {esc(current.staff.display_name)}</span> '
               f'<button type="submit">Log out</button></form>')
    document = f"""<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} - Signpost staff console</title>
<link rel="stylesheet" href="{PREFIX}/static/staff.css">
{f'<script src="{PREFIX}/static/staff.js" defer></script>' if script else ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><a class="brand" href="{PREFIX}/queue">Signpost staff console</a>{top}</header>
<main id="main" tabindex="-1">
{body}
</main>
</body>
</html>"""
    return response.html(document, status=status, headers=dict(SECURITY_HEADERS))


def notice(done: Optional[str]) -> str:
    text = DONE.get(done or "")
    return f'<p class="notice" role="status">{esc(text)}</p>' if text else ""


def error_box(message: Optional[str]) -> str:
    return f'<p class="error" role="alert">{esc(message)}</p>' if message else ""


def login_page(token: str, error: Optional[str] = None, done: Optional[str] = None, status: int = 200) -> HTTPResponse:
    body = f"""<h1>Log in</h1>
{notice(done)}{error_box(error)}
<form method="post" action="{PREFIX}/login" class="login">
<input type="hidden" name="csrf" value="{esc(token)}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required maxlength="64" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="200">
<button type="submit">Log in</button>
</form>
<p class="hint">Accounts are made by an administrator with <code>signposting staff add</code>.</p>"""
    result = page("Log in", body, status=status)
    _set_cookie(result, LOGIN_COOKIE, token, max_age=3600)
    return result


def _table(name: str, caption: str, rows: List[Dict[str, Any]], callbacks: bool = False) -> str:
    head = ("<tr><th scope=\"col\">Request</th><th scope=\"col\">Channel</th><th scope=\"col\">Waiting</th>"
            + ("<th scope=\"col\">Preferred time</th><th scope=\"col\">Call from</th>" if callbacks
               else "<th scope=\"col\">Status</th><th scope=\"col\">Staff</th>") + "</tr>")
    body = []
    for row in rows:
        extra = (f"<td>{esc(row['preferred_time'])} ({esc(row['preferred_channel'] or 'call')})</td>"
                 f"<td>{esc(row['call_from'])}</td>") if callbacks else (
            f"<td>{esc(row['status_text'])}</td><td>{esc(row['taken_by'])}</td>")
        body.append(f"<tr><td><a href=\"{esc(row['url'])}\">Request {esc(row['id'])}</a></td>"
                    f"<td>{esc(row['channel'])}</td><td>{esc(row['age'])}</td>{extra}</tr>")
    empty = f'<p class="empty" data-empty="{name}"{" hidden" if rows else ""}>Nobody here just now.</p>'
    return (f'<section aria-labelledby="h-{name}"><h2 id="h-{name}">{esc(caption)} '
            f'(<span data-count="{name}">{len(rows)}</span>)</h2>'
            f'<table data-queue="{name}" data-callbacks="{"1" if callbacks else ""}"><thead>{head}</thead>'
            f'<tbody>{"".join(body)}</tbody></table>{empty}</section>')


def queue_page(current: accounts.Session, done: Optional[str] = None) -> HTTPResponse:
    status = handoff.helpline_status()
    groups = grouped_queue()
    body = (f'<h1>Queue</h1>{notice(done)}'
            f'<p class="hours" data-hours>{esc(status.helpline.get("name", "Helpline"))}: {esc(status.describe())}</p>'
            f'<div data-page="queue" data-poll="{PREFIX}/queue.json">'
            + _table("waiting", "Waiting to talk", groups["waiting"])
            + _table("taken", "With staff", groups["taken"])
            + _table("handed_back", "Back with the bot, to close", groups["handed_back"])
            + _table("callbacks", "Callbacks", groups["callbacks"], callbacks=True)
            + '</div><p class="hint" aria-live="polite" data-updated></p>')
    return page("Queue", body, current, script=True)


def _transcript_html(lines: List[Dict[str, Any]]) -> str:
    items = []
    for line in lines:
        flag = f'<strong class="flag">{esc(line["flag_text"])}</strong>' if line.get("flag_text") else ""
        name = f'<span class="who">{esc(line["name"])}</span>' if line["name"] else ""
        items.append(f'<li class="line {esc(line["who"])}"><span class="time">{esc(line["time"])}</span> '
                     f'{name}{flag}<span class="text">{esc(line["text"])}</span></li>')
    return "".join(items)


def conversation_page(current: accounts.Session, item: handoff.Handoff, lines: List[Dict[str, Any]],
                      done: Optional[str] = None, error: Optional[str] = None, status: int = 200) -> HTTPResponse:
    csrf = f'<input type="hidden" name="csrf" value="{esc(current.csrf_token)}">'
    base = f"{PREFIX}/conversation/{item.id}"
    mine = item.status == "taken" and item.taken_by == current.staff.username
    actions = []
    if item.open and item.status != "taken":
        actions.append(f'<form method="post" action="{base}/take">{csrf}<button type="submit">Take over</button></form>')
    if mine:
        actions.append(
            f'<form method="post" action="{base}/message" class="message">{csrf}'
            f'<label for="message-text">Message to the person</label>'
            f'<textarea id="message-text" name="text" rows="3" maxlength="{handoff.MAX_STAFF_MESSAGE}" required></textarea>'
            f'<button type="submit">Send</button></form>'
            f'<form method="post" action="{base}/handback">{csrf}<button type="submit">Hand back to the bot</button></form>')
    elif item.status == "taken":   # someone else's: only a hand back, for when they have gone
        actions.append(f'<p>{esc(item.taken_by)} is talking to this person.</p>'
                       f'<form method="post" action="{base}/handback">{csrf}<button type="submit">Hand back to the bot'
                       f'</button></form>')
    if item.open and (item.status != "taken" or mine):
        options = "".join(f'<option value="{esc(o)}">{esc(o)}</option>' for o in handoff.OUTCOMES)
        actions.append(
            f'<form method="post" action="{base}/close" class="close">{csrf}'
            f'<label for="outcome">Outcome</label><select id="outcome" name="outcome" required>'
            f'<option value="">Choose an outcome</option>{options}</select>'
            f'<button type="submit">Close</button></form>')
    else:
        actions.append(f'<p>Closed by {esc(item.closed_by)}: {esc(item.outcome)}.</p>')
    consent = item.consent
    given = consent.given_at.astimezone(hours.UK).strftime("%d %b %Y at %H:%M")
    callback = ""
    if item.kind == "callback":
        phone = item.phone or "not shared (reply on their channel)"
        if item.phone:
            from signposting.phone import display
            phone = display(item.phone)
        callback = (f'<h2>Callback</h2><dl><dt>Phone</dt><dd>{esc(phone)}</dd>'
                    f'<dt>Preferred time</dt><dd>{esc(item.preferred_time)}</dd>'
                    f'<dt>How</dt><dd>{esc(item.preferred_channel)}</dd>'
                    f'<dt>Call from</dt><dd>{esc(hours.when(item.call_from.astimezone(hours.UK), handoff.now_utc()) if item.call_from else "")}</dd></dl>')
    body = f"""<p><a href="{PREFIX}/queue">Back to the queue</a></p>
<h1>Request {esc(item.id)}: {esc(STATUS_NAMES.get(item.status, item.status))}</h1>
{notice(done)}{error_box(error)}
<div class="columns">
<section aria-labelledby="h-summary" class="summary">
<h2 id="h-summary">Summary</h2>
<p class="meta">{esc(channel_name(item.channel))}, waiting {esc(handoff.age_text(item.age()))}</p>
<div class="summary-text" data-summary>{esc(item.summary_text) or "No summary was shared."}</div>
<p class="consent">Consent: {esc(consent.scope)} (to {esc(consent.recipient)}, {esc(given)}).
{"Phone number: agreed to store." if consent.store_phone else "Phone number: not agreed."}</p>
{callback}
<div class="actions">{"".join(actions)}</div>
</section>
<section aria-labelledby="h-transcript" class="transcript">
<h2 id="h-transcript">Conversation</h2>
<ol data-transcript="{base}/transcript.json" tabindex="0" aria-labelledby="h-transcript" aria-live="polite"
 aria-relevant="additions">{_transcript_html(lines)}</ol>
</section>
</div>"""
    return page(f"Request {item.id}", body, current, script=True, status=status)


def forbidden(message: str = "This form has expired or did not come from the console. Go back, reload the page and "
              "try again.") -> HTTPResponse:
    return page("Not allowed", f'<h1>Not allowed</h1>{error_box(message)}<p><a href="{PREFIX}/queue">Back to the queue</a></p>',
                status=403)


def _set_cookie(result: HTTPResponse, name: str, value: str, max_age: Optional[int] = None,
                secure: bool = False) -> None:
    result.cookies[name] = value
    cookie = result.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = PREFIX
    if max_age is not None:
        cookie["max-age"] = max_age
    if secure:
        cookie["secure"] = True


def _clear_cookie(result: HTTPResponse, name: str) -> None:
    _set_cookie(result, name, "", max_age=0)


def _https(request: Request) -> bool:
    return request.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


def redirect(path: str) -> HTTPResponse:
    return response.redirect(path, status=303, headers=dict(SECURITY_HEADERS))


def _same_origin(request: Request) -> bool:
    """A browser POST from another site carries its own Origin: refuse it even before the token check."""
    origin = request.headers.get("origin")
    if origin is None:      # not a browser form post (a script or the CLI): the CSRF token still decides
        return True
    if origin == "null":    # an opaque origin (sandboxed frame, data: URL): never our own page
        return False
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def _form(request: Request, name: str) -> str:
    try:
        value = request.form.get(name)
    except Exception:
        return ""
    return value if isinstance(value, str) else ""


# --------------------------------------------------------------------------- the conversation in Rasa
async def set_paused(agent: Any, sender_id: str, paused: bool) -> None:
    """Append ConversationPaused / ConversationResumed to the conversation, under its lock.

    What ``POST /conversations/<id>/tracker/events`` does, in-process: the bot stops (or starts again)
    answering this person; while paused Rasa still records what they write.
    """
    from rasa.shared.core.events import ConversationPaused, ConversationResumed

    if agent is None or getattr(agent, "tracker_store", None) is None:
        raise ConsoleError("The bot's conversation store is not available, so the bot could not be paused.")
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is None:
            raise ConsoleError("This conversation is no longer in the bot's records (it may have been deleted).")
        if tracker.is_paused() == paused:
            return
        tracker.update(ConversationPaused() if paused else ConversationResumed(), getattr(agent, "domain", None))
        await agent.tracker_store.save(tracker)


async def tracker_events(agent: Any, sender_id: str) -> List[Dict[str, Any]]:
    if agent is None or getattr(agent, "tracker_store", None) is None:
        return []
    tracker = await agent.tracker_store.retrieve_full_tracker(sender_id)
    return [] if tracker is None else [event.as_dict() for event in tracker.events]


# --------------------------------------------------------------------------- the channel
class StaffConsole(InputChannel):
    """The staff console, served by the Rasa server at /webhooks/staff/."""

    def __init__(self, deliver: Optional[Deliver] = None) -> None:
        self._deliver = deliver

    @classmethod
    def name(cls) -> Text:
        return "staff"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "StaffConsole":
        return cls()

    async def deliver(self, sender_id: str, text: str) -> bool:
        """Send a line to the person on their own channel; False (and logged) if it could not go."""
        try:
            send = self._deliver
            if send is None:
                from channels import outbound  # type: ignore[attr-defined]

                send = outbound.deliver
            result = await send(sender_id, text)
        except Exception:
            logger.exception("Could not deliver a staff message to %s", sender_id)
            return False
        return result is not False

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("signpost_staff", __name__)
        console = self

        def current(request: Request, touch: bool = True) -> Optional[accounts.Session]:
            return accounts.session(request.cookies.get(SESSION_COOKIE), touch=touch)

        def agent_of(request: Request) -> Any:
            return getattr(request.app.ctx, "agent", None)

        def login_needed(request: Request) -> HTTPResponse:
            expired = bool(request.cookies.get(SESSION_COOKIE))
            result = redirect(f"{PREFIX}/login" + ("?done=expired" if expired else ""))
            if expired:
                _clear_cookie(result, SESSION_COOKIE)
            return result

        def checked_post(request: Request) -> tuple[Optional[accounts.Session], Optional[HTTPResponse]]:
            session_now = current(request)
            if session_now is None:
                return None, login_needed(request)
            if not _same_origin(request) or not accounts.csrf_ok(session_now, _form(request, "csrf")):
                return None, forbidden()
            return session_now, None

        @bp.route("/", methods=["GET"])
        async def home(request: Request) -> HTTPResponse:
            return redirect(f"{PREFIX}/queue" if current(request, touch=False) else f"{PREFIX}/login")

        @bp.route("/login", methods=["GET"])
        async def login_form(request: Request) -> HTTPResponse:
            if current(request, touch=False):
                return redirect(f"{PREFIX}/queue")
            result = login_page(secrets.token_urlsafe(32), done=request.args.get("done"))
            if request.cookies.get(SESSION_COOKIE):
                _clear_cookie(result, SESSION_COOKIE)
            return result

        @bp.route("/login", methods=["POST"])
        async def login_submit(request: Request) -> HTTPResponse:
            expected, submitted = request.cookies.get(LOGIN_COOKIE, ""), _form(request, "csrf")
            if not expected or not submitted or not _same_origin(request) or not secrets.compare_digest(
                    expected.encode(), submitted.encode("utf-8", "replace")):
                return forbidden("The login form has expired. Reload the page and try again.")
            try:   # scrypt takes ~50-100 ms of CPU: off the event loop that serves everyone's chat
                new = await asyncio.get_running_loop().run_in_executor(
                    None, accounts.login, _form(request, "username"), _form(request, "password"),
                    request.remote_addr or request.ip)
            except accounts.LoginRefused as refused:
                return login_page(secrets.token_urlsafe(32), error=str(refused), status=401)
            result = redirect(f"{PREFIX}/queue")
            _set_cookie(result, SESSION_COOKIE, new.token, secure=_https(request))
            _clear_cookie(result, LOGIN_COOKIE)
            return result

        @bp.route("/logout", methods=["POST"])
        async def logout(request: Request) -> HTTPResponse:
            session_now, refused = checked_post(request)
            if refused is not None:
                return refused
            accounts.logout(session_now.token)
            result = redirect(f"{PREFIX}/login?done=loggedout")
            _clear_cookie(result, SESSION_COOKIE)
            return result

        @bp.route("/queue", methods=["GET"])
        async def queue(request: Request) -> HTTPResponse:
            session_now = current(request)
            if session_now is None:
                return login_needed(request)
            return queue_page(session_now, request.args.get("done"))

        @bp.route("/queue.json", methods=["GET"])
        async def queue_json(request: Request) -> HTTPResponse:
            if current(request, touch=False) is None:   # polling is not activity: idle sessions still end
                return response.json({"error": "login", "login": f"{PREFIX}/login?done=expired"}, status=401,
                                     headers=dict(SECURITY_HEADERS))
            status = handoff.helpline_status()
            return response.json({"queue": grouped_queue(),
                                  "hours": f"{status.helpline.get('name', 'Helpline')}: {status.describe()}"},
                                 headers=dict(SECURITY_HEADERS))

        async def visible(handoff_id: int) -> Optional[handoff.Handoff]:
            return handoff.get(handoff_id)

        async def render(request: Request, session_now: accounts.Session, item: handoff.Handoff,
                         done: Optional[str] = None, error: Optional[str] = None, status: int = 200) -> HTTPResponse:
            lines = transcript(await tracker_events(agent_of(request), item.sender_id), handoff.staff_messages(item.id))
            return conversation_page(session_now, item, lines, done, error, status)

        def not_found(session_now: accounts.Session) -> HTTPResponse:
            return page("Not found", '<h1>Not found</h1><p>That conversation is not in the queue. It may have been '
                        f'closed, withdrawn or deleted.</p><p><a href="{PREFIX}/queue">Back to the queue</a></p>',
                        session_now, status=404)

        @bp.route("/conversation/<handoff_id:int>", methods=["GET"])
        async def conversation(request: Request, handoff_id: int) -> HTTPResponse:
            session_now = current(request)
            if session_now is None:
                return login_needed(request)
            item = await visible(handoff_id)
            if item is None:
                return not_found(session_now)
            handoff.audit("viewed", item.id, session_now.staff.username)
            return await render(request, session_now, item, done=request.args.get("done"))

        @bp.route("/conversation/<handoff_id:int>/transcript.json", methods=["GET"])
        async def conversation_json(request: Request, handoff_id: int) -> HTTPResponse:
            session_now = current(request, touch=False)
            if session_now is None:
                return response.json({"error": "login", "login": f"{PREFIX}/login?done=expired"}, status=401,
                                     headers=dict(SECURITY_HEADERS))
            item = await visible(handoff_id)
            if item is None:
                return response.json({"error": "not found"}, status=404, headers=dict(SECURITY_HEADERS))
            lines = transcript(await tracker_events(agent_of(request), item.sender_id), handoff.staff_messages(item.id))
            return response.json({"status": item.status, "status_text": STATUS_NAMES.get(item.status, item.status),
                                  "lines": [{k: line[k] for k in ("time", "who", "name", "text", "flag_text")}
                                            for line in lines]},
                                 headers=dict(SECURITY_HEADERS))

        async def act(request: Request, handoff_id: int,
                      action: Callable[[Request, accounts.Session, handoff.Handoff], Awaitable[str]]) -> HTTPResponse:
            session_now, refused = checked_post(request)
            if refused is not None:
                return refused
            item = await visible(handoff_id)
            if item is None:
                return not_found(session_now)
            try:
                done = await action(request, session_now, item)
            except (handoff.HandoffError, ConsoleError) as problem:
                fresh = await visible(handoff_id)
                if fresh is None:
                    return not_found(session_now)
                return await render(request, session_now, fresh, error=str(problem), status=409)
            return redirect(f"{PREFIX}/conversation/{item.id}?done={quote(done)}")

        async def take(request: Request, session_now: accounts.Session, item: handoff.Handoff) -> str:
            agent = agent_of(request)
            taken = handoff.take_over(item.id, session_now.staff.username)
            try:
                await set_paused(agent, item.sender_id, True)
            except Exception as problem:
                handoff.release(item.id, session_now.staff.username, item.status)
                if isinstance(problem, ConsoleError):
                    raise
                logger.exception("Pausing %s failed", item.sender_id)
                raise ConsoleError("The bot could not be paused, so the conversation was not taken over. Try again.")
            text = wording("handoff_staff_joined", first_name=session_now.staff.first_name)
            delivered = await console.deliver(item.sender_id, text)
            handoff.add_staff_message(taken.id, session_now.staff.username, text, delivered)
            if not delivered:
                raise ConsoleError("You've taken over, but the person could not be told (their channel did not "
                                   "accept the message). Try sending a message.")
            return "taken"

        async def message(request: Request, session_now: accounts.Session, item: handoff.Handoff) -> str:
            agent = agent_of(request)
            text = _form(request, "text").strip()
            if not text:
                raise ConsoleError("Type a message first.")
            if len(text) > handoff.MAX_STAFF_MESSAGE:
                raise ConsoleError(f"That message is too long: keep it under {handoff.MAX_STAFF_MESSAGE} characters.")
            if item.status != "taken" or item.taken_by != session_now.staff.username:
                raise ConsoleError("Take over the conversation before sending a message.")
            await set_paused(agent, item.sender_id, True)   # e.g. a new session after a long silence resets it
            delivered = await console.deliver(item.sender_id, text)
            handoff.add_staff_message(item.id, session_now.staff.username, text, delivered)
            if not delivered:
                raise ConsoleError("The message could not be delivered to the person's channel. It is kept "
                                   "here marked 'not delivered'.")
            return "sent"

        async def resume_and_tell(session_now: accounts.Session, item: handoff.Handoff, agent: Any) -> None:
            await set_paused(agent, item.sender_id, False)
            text = wording("handoff_staff_left", first_name=session_now.staff.first_name)
            delivered = await console.deliver(item.sender_id, text)
            handoff.add_staff_message(item.id, session_now.staff.username, text, delivered)

        async def hand_back(request: Request, session_now: accounts.Session, item: handoff.Handoff) -> str:
            agent = agent_of(request)
            if item.status != "taken":
                raise ConsoleError("Nobody has taken this conversation, so there is nothing to hand back.")
            await resume_and_tell(session_now, item, agent)
            handoff.hand_back(item.id, session_now.staff.username)
            return "handed_back"

        async def close(request: Request, session_now: accounts.Session, item: handoff.Handoff) -> str:
            agent = agent_of(request)
            outcome = _form(request, "outcome")
            if outcome not in handoff.OUTCOMES:
                raise ConsoleError("Choose an outcome before closing.")
            if item.status == "taken" and item.taken_by != session_now.staff.username:
                raise ConsoleError(f"{item.taken_by} is talking to this person: only they can close it.")
            if item.status == "taken":
                await resume_and_tell(session_now, item, agent)
            handoff.close(item.id, outcome, session_now.staff.username)
            return "closed"

        def route(action: Callable[..., Awaitable[str]]) -> Callable[[Request, int], Awaitable[HTTPResponse]]:
            async def handler(request: Request, handoff_id: int) -> HTTPResponse:
                return await act(request, handoff_id, action)
            return handler

        for path, action in (("take", take), ("message", message), ("handback", hand_back), ("close", close)):
            bp.add_route(route(action), f"/conversation/<handoff_id:int>/{path}", methods=["POST"],
                         name=f"staff_{path}")

        @bp.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            path = (WEB_DIR / name).resolve()
            if path.parent != WEB_DIR or not path.is_file():
                return response.json({"error": "not found"}, status=404)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            headers = dict(SECURITY_HEADERS, **{"Cache-Control": "no-cache"})
            return response.raw(path.read_bytes(), content_type=content_type + "; charset=utf-8", headers=headers)

        return bp
