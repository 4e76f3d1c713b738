"""The staff console on a loopback Sanic server with a real Rasa Agent and SQL tracker store (no model).

What staff do, as HTTP: log in, see only consented conversations, read the summary and transcript,
take over (the conversation is paused in the tracker store, the person is told on their channel),
reply (the message reaches the web chat outbox), hand back (resumed), close with an outcome. Every
POST needs the CSRF token; sessions expire; text is escaped.
"""
from __future__ import annotations

import itertools
import re
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from rasa.core.agent import Agent
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Sanic
from sqlalchemy import insert, update

from channels import outbound
from channels.staff import StaffConsole
from signposting import handoff
from signposting import staff as accounts

pytestmark = pytest.mark.asyncio
Sanic.test_mode = True
_names = itertools.count()

PASSWORD = "plum tree at dawn 42"
PERSON = "web-" + "1" * 32
SECRET = "web-" + "2" * 32           # talked to the bot, never agreed to share
WITHOUT_CONSENT = "web-" + "3" * 32  # a request row with a consent that says no (must never show)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    base: str
    agent: Agent
    client: httpx.AsyncClient

    async def login(self, username: str = "sam", password: str = PASSWORD) -> httpx.Response:
        page = await self.client.get(self.base + "/login")
        return await self.client.post(self.base + "/login", data={
            "csrf": CSRF.search(page.text).group(1), "username": username, "password": password})

    async def csrf(self, path: str = "/queue") -> str:
        page = await self.client.get(self.base + path)
        return CSRF.search(page.text).group(1)

    async def post(self, path: str, **form: str) -> httpx.Response:
        form.setdefault("csrf", await self.csrf(path.rsplit("/", 1)[0] if "/conversation/" in path else "/queue"))
        return await self.client.post(self.base + path, data=form)

    async def tracker(self, sender: str):
        return await self.agent.tracker_store.retrieve(sender)


async def seed_tracker(agent: Agent, sender: str, turns: list[tuple[str, str, str]]) -> None:
    """A conversation as Rasa stores it: the person's messages (with their intent) and the bot's answers."""
    tracker = await agent.tracker_store.get_or_create_tracker(sender)
    for text, intent, answer in turns:
        tracker.update(UserUttered(text, {"name": intent, "confidence": 1.0}, timestamp=time.time()))
        tracker.update(BotUttered(answer, timestamp=time.time() + 0.001))
    await agent.tracker_store.save(tracker)


@pytest.fixture()
async def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path / 'handoff.db'}")
    domain = Domain.empty()
    agent = Agent(domain=domain, tracker_store=SQLTrackerStore(domain, db=str(tmp_path / "tracker.db")))
    app = Sanic(f"staff_test_{next(_names)}")
    app.ctx.agent = agent
    app.blueprint(StaffConsole().blueprint(lambda message: None), url_prefix="/webhooks/staff")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))   # a free port of our own (Sanic turns port=0 into 8000)
    port = sock.getsockname()[1]
    server = await app.create_server(sock=sock, return_asyncio_server=True)
    await server.startup()

    accounts.add_staff("sam", "Sam Jones", PASSWORD)
    accounts.add_staff("alex", "Alex Smith", PASSWORD)
    await seed_tracker(agent, PERSON, [
        ("I'm so worried about money <script>alert(1)</script>", "inform", "Here is what may help with money."),
        ("I can't go on like this", "crisis", "If you are in danger now, call 999."),
    ])
    await seed_tracker(agent, SECRET, [("this is private", "inform", "OK.")])
    await seed_tracker(agent, WITHOUT_CONSENT, [("no sharing please", "deny", "That's fine.")])
    handoff.request_handoff(PERSON, "webchat", {"role": "carer"}, "Carer.\nWhat matters: <b>money</b> & sleep",
                            handoff.Consent(True, False, "summary and conversation with helpline staff"))
    with handoff.engine().begin() as conn:
        refused = conn.execute(insert(handoff.consents_table).values(
            sender_id=WITHOUT_CONSENT, share_summary=False, store_phone=False, scope="said no",
            recipient="helpline staff", given_at=handoff.now_utc())).inserted_primary_key[0]
        conn.execute(insert(handoff.requests_table).values(
            sender_id=WITHOUT_CONSENT, channel="webchat", kind="chat", status="waiting", consent_id=refused,
            summary_json="{}", summary_text="NEVER SHOWN", created_at=handoff.now_utc(), updated_at=handoff.now_utc()))
    async with httpx.AsyncClient(timeout=30) as client:
        yield Console(f"http://127.0.0.1:{port}/webhooks/staff", agent, client)
    await server.close()


def request_id() -> int:
    return handoff.open_request(PERSON).id


# --------------------------------------------------------------------------- logging in
async def test_pages_need_a_login_and_the_login_form_is_protected(console):
    queue = await console.client.get(console.base + "/queue")
    assert queue.status_code == 303 and queue.headers["location"].endswith("/login")
    page = await console.client.get(console.base + "/login")
    assert page.status_code == 200 and CSRF.search(page.text)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and "style=" not in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    no_token = await console.client.post(console.base + "/login", data={"username": "sam", "password": PASSWORD})
    assert no_token.status_code == 403 and "signpost_staff=" not in no_token.headers.get("set-cookie", "")


async def test_a_wrong_password_says_so_and_a_right_one_starts_a_strict_session(console):
    wrong = await console.login(password="not the password")
    assert wrong.status_code == 401 and "don&#x27;t match an active account" in wrong.text
    right = await console.login()
    assert right.status_code == 303 and right.headers["location"].endswith("/queue")
    cookie = [c for c in right.headers.get_list("set-cookie") if c.startswith("signpost_staff=")][0].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/webhooks/staff" in cookie
    queue = await console.client.get(console.base + "/queue")
    assert queue.status_code == 200 and "Logged in as Sam Jones" in queue.text


async def test_five_wrong_passwords_lock_the_login(console):
    for _ in range(accounts.FAILED_LOGIN_LIMIT):
        assert (await console.login(password="guessing wrong")).status_code == 401
    locked = await console.login()
    assert locked.status_code == 401 and "Too many failed attempts" in locked.text


# --------------------------------------------------------------------------- what staff can see
async def test_the_queue_shows_only_conversations_whose_person_consented(console):
    await console.login()
    queue = await console.client.get(console.base + "/queue")
    data = (await console.client.get(console.base + "/queue.json")).json()
    assert f"Request {request_id()}" in queue.text
    everything = queue.text + str(data)
    for hidden in (SECRET, WITHOUT_CONSENT, "NEVER SHOWN", "this is private"):
        assert hidden not in everything
    assert [row["id"] for row in data["queue"]["waiting"]] == [request_id()]
    assert data["queue"]["waiting"][0]["channel"] == "web chat"
    hidden_id = request_id() + 1  # the refused row
    assert (await console.client.get(f"{console.base}/conversation/{hidden_id}")).status_code == 404
    assert (await console.client.get(f"{console.base}/conversation/{hidden_id}/transcript.json")).status_code == 404
    refused = await console.post(f"/conversation/{hidden_id}/take")
    assert refused.status_code == 404 and not handoff.is_taken_over(WITHOUT_CONSENT)
    assert not (await console.tracker(WITHOUT_CONSENT)).is_paused()


async def test_the_conversation_shows_summary_consent_and_transcript_as_text_never_html(console):
    await console.login()
    page = await console.client.get(f"{console.base}/conversation/{request_id()}")
    assert page.status_code == 200
    assert "What matters: &lt;b&gt;money&lt;/b&gt; &amp; sleep" in page.text and "<b>money</b>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    assert "summary and conversation with helpline staff" in page.text
    assert "Here is what may help with money." in page.text
    assert "Crisis words: this person may be at risk now." in page.text
    lines = (await console.client.get(f"{console.base}/conversation/{request_id()}/transcript.json")).json()["lines"]
    assert [line["who"] for line in lines] == ["person", "bot", "person", "bot"]
    assert lines[0]["text"] == "I'm so worried about money <script>alert(1)</script>"
    assert lines[2]["flag_text"].startswith("Crisis words")
    assert [row["action"] for row in handoff.audit_log(PERSON)].count("viewed") == 1


# --------------------------------------------------------------------------- take over, reply, hand back, close
async def test_take_over_reply_hand_back_and_close(console):
    await console.login()
    rid = request_id()
    base = f"/conversation/{rid}"
    taken = await console.post(base + "/take")
    assert taken.status_code == 303, taken.text
    assert (await console.tracker(PERSON)).is_paused() and handoff.is_taken_over(PERSON)
    assert outbound.take_webchat(PERSON) == [
        {"text": "You're now talking to Sam from the helpline team.", "buttons": []}]

    # the person writes while staff have the conversation: Rasa records it (paused), staff see it
    tracker = await console.tracker(PERSON)
    tracker.update(UserUttered("thank you, that helps", {"name": "thank", "confidence": 1.0}))
    await console.agent.tracker_store.save(tracker)

    sent = await console.post(base + "/message", text="Hello, I'm Sam. How are you feeling today?")
    assert sent.status_code == 303
    assert outbound.take_webchat(PERSON) == [{"text": "Hello, I'm Sam. How are you feeling today?", "buttons": []}]
    lines = (await console.client.get(console.base + base + "/transcript.json")).json()["lines"]
    said = [(line["who"], line["text"]) for line in lines]
    assert ("person", "thank you, that helps") in said
    assert said[-1] == ("staff", "Hello, I'm Sam. How are you feeling today?")
    assert ("event", "Bot paused (staff took over)") in said

    back = await console.post(base + "/handback")
    assert back.status_code == 303
    assert not (await console.tracker(PERSON)).is_paused() and not handoff.is_taken_over(PERSON)
    [told] = outbound.take_webchat(PERSON)
    assert told["text"].startswith("Sam from the helpline team has handed you back to Signpost")

    closed = await console.post(base + "/close", outcome="advice given")
    assert closed.status_code == 303
    assert handoff.get(rid).outcome == "advice given" and handoff.open_request(PERSON) is None
    data = (await console.client.get(console.base + "/queue.json")).json()
    assert all(rows == [] for rows in data["queue"].values())


async def test_closing_while_taken_gives_the_conversation_back_to_the_bot(console):
    await console.login()
    base = f"/conversation/{request_id()}"
    await console.post(base + "/take")
    outbound.take_webchat(PERSON)
    no_outcome = await console.post(base + "/close", outcome="")
    assert no_outcome.status_code == 409 and "Choose an outcome" in no_outcome.text
    assert (await console.tracker(PERSON)).is_paused()
    closed = await console.post(base + "/close", outcome="referred")
    assert closed.status_code == 303
    assert not (await console.tracker(PERSON)).is_paused() and not handoff.is_taken_over(PERSON)
    assert "handed you back" in outbound.take_webchat(PERSON)[0]["text"]


async def test_a_second_member_of_staff_cannot_take_reply_or_close(console):
    await console.login()
    base = f"/conversation/{request_id()}"
    await console.post(base + "/take")
    async with httpx.AsyncClient(timeout=30) as other_client:
        alex = Console(console.base, console.agent, other_client)
        await alex.login("alex")
        refused = await alex.post(base + "/take")
        assert refused.status_code == 409 and "sam is already talking to this person" in refused.text
        reply = await alex.post(base + "/message", text="I'm Alex")
        assert reply.status_code == 409 and "Take over the conversation" in reply.text
        close = await alex.post(base + "/close", outcome="other")
        assert close.status_code == 409 and "only they can close it" in close.text
        assert handoff.get(request_id()).status == "taken" and (await console.tracker(PERSON)).is_paused()
    assert [m.text for m in handoff.staff_messages(request_id())] == ["You're now talking to Sam from the helpline team."]


async def test_an_empty_message_is_refused_and_nothing_is_sent(console):
    await console.login()
    base = f"/conversation/{request_id()}"
    await console.post(base + "/take")
    outbound.take_webchat(PERSON)
    empty = await console.post(base + "/message", text="   ")
    assert empty.status_code == 409 and "Type a message first" in empty.text
    assert outbound.take_webchat(PERSON) == []


async def test_a_message_that_cannot_be_delivered_is_kept_and_staff_are_told(console):
    await console.login()
    sms_person = "sms-" + "a" * 40  # not a real encrypted id: the outbound channel refuses it
    await seed_tracker(console.agent, sms_person, [("hi", "greet", "Hello")])
    item = handoff.request_handoff(sms_person, "twilio_sms", {}, "By text", handoff.Consent(True, False, "handoff"))
    taken = await console.post(f"/conversation/{item.id}/take")
    assert taken.status_code == 409 and "could not be told" in taken.text
    assert handoff.is_taken_over(sms_person) and (await console.tracker(sms_person)).is_paused()
    failed = await console.post(f"/conversation/{item.id}/message", text="Are you there?")
    assert failed.status_code == 409 and "could not be delivered" in failed.text
    assert handoff.staff_messages(item.id)[-1].delivered is False
    assert "(not delivered)" in failed.text


# --------------------------------------------------------------------------- CSRF and sessions
async def test_every_post_without_the_right_token_gets_403_and_changes_nothing(console):
    await console.login()
    base = f"{console.base}/conversation/{request_id()}"
    for path, form in (("/take", {}), ("/message", {"text": "hi"}), ("/handback", {}),
                       ("/close", {"outcome": "other"})):
        for token in (None, "forged-token"):
            data = dict(form, **({"csrf": token} if token else {}))
            reply = await console.client.post(base + path, data=data)
            assert reply.status_code == 403, path
    logout = await console.client.post(console.base + "/logout", data={})
    assert logout.status_code == 403
    item = handoff.get(request_id())
    assert item.status == "waiting" and not (await console.tracker(PERSON)).is_paused()
    assert outbound.take_webchat(PERSON) == []


async def test_a_post_from_another_site_is_refused_even_with_the_token(console):
    await console.login()
    token = await console.csrf()
    reply = await console.client.post(f"{console.base}/conversation/{request_id()}/take",
                                      data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert reply.status_code == 403 and not handoff.is_taken_over(PERSON)


async def test_an_idle_session_ends_and_polling_does_not_keep_it_alive(console):
    await console.login()
    assert (await console.client.get(console.base + "/queue.json")).status_code == 200
    with handoff.engine().begin() as conn:
        conn.execute(update(accounts.sessions_table).values(
            last_seen_at=handoff.now_utc() - accounts.IDLE_TIMEOUT - timedelta(minutes=1)))
    polled = await console.client.get(console.base + "/queue.json")
    assert polled.status_code == 401 and polled.json()["login"].endswith("/login?done=expired")
    page = await console.client.get(console.base + "/queue")
    assert page.status_code == 303 and page.headers["location"].endswith("/login?done=expired")
    login = await console.client.get(console.base + "/login?done=expired")
    assert "Your session ended" in login.text


async def test_logging_out_ends_the_session(console):
    await console.login()
    out = await console.post("/logout")
    assert out.status_code == 303 and out.headers["location"].endswith("/login?done=loggedout")
    assert (await console.client.get(console.base + "/queue")).status_code == 303
    with handoff.engine().connect() as conn:
        assert conn.execute(accounts.sessions_table.select()).first() is None


async def test_static_files_are_served_and_nothing_else(console):
    script = await console.client.get(console.base + "/static/staff.js")
    style = await console.client.get(console.base + "/static/staff.css")
    escape = await console.client.get(console.base + "/static/..%2Fstaff.py")
    assert script.status_code == 200 and "textContent" in script.text and "innerHTML" not in script.text
    assert style.status_code == 200 and escape.status_code == 404


async def test_the_transcript_reads_button_presses_buttons_and_redacts_personal_details():
    from channels.staff import transcript

    events = [
        {"event": "user", "timestamp": 10.0, "text": "/request_human", "parse_data": {"intent": {"name": "request_human"}}},
        {"event": "bot", "timestamp": 11.0, "text": "Is it OK to share?",
         "data": {"buttons": [{"title": "Yes, share it"}, {"title": "No, don't share"}]}},
        {"event": "user", "timestamp": 12.0, "text": "call me on 07700 900123 please",
         "parse_data": {"intent": {"name": "inform"}}},
        {"event": "user", "timestamp": 13.0, "text": "delete my data", "parse_data": {"intent": {"name": "delete_my_data"}}},
        {"event": "action", "timestamp": 14.0, "name": "action_listen"},
        {"event": "pause", "timestamp": 15.0},
    ]
    staff_line = handoff.StaffMessage(1, 1, PERSON, "sam", "Hello", handoff.datetime.fromtimestamp(
        14.5, handoff.timezone.utc), delivered=True)
    lines = transcript(events, [staff_line])
    assert [(line["who"], line["text"]) for line in lines] == [
        ("person", "(chose: request human)"),
        ("bot", "Is it OK to share?\nOptions: Yes, share it | No, don't share"),
        ("person", "call me on [phone] please"),
        ("person", "delete my data"),
        ("staff", "Hello"),
        ("event", "Bot paused (staff took over)"),
    ]
    assert lines[3]["flag_text"].startswith("Asked to delete their data")
