"""The web chat connector on a loopback Sanic server.

Turns go to a stand-in for Rasa's message handler; conversations are read from a real Rasa
InMemoryTrackerStore holding real events, as the running server's tracker store would hold them.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import socket
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, AllSlotsReset, BotUttered, SessionStarted, SlotSet,
                                     UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from channels import webchat
from channels.webchat import WebChatInput

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]
ME = "web-" + "0123456789abcdef" * 2          # 128 bits, as the page makes them
OTHER = "web-" + "fedcba9876543210" * 2

_names = itertools.count()
Sanic.test_mode = True  # lets several apps start in one process (Sanic 21.12 rewrites its protocol otherwise)


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain"))


class Turns:
    """A stand-in for Rasa's handler that records each turn and answers like the echo bot."""

    def __init__(self, delay: float = 0.0, fail: bool = False, silent: bool = False) -> None:
        self.received: list[tuple[str, str]] = []
        self.delay, self.fail, self.silent = delay, fail, silent

    async def __call__(self, message) -> None:
        self.received.append((message.sender_id, message.text))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("action server down")
        if not self.silent:
            await message.output_channel.send_text_message(message.sender_id, f"you said: {message.text}")


async def _serve(on_new_message, store=None, **channel_args):
    app = Sanic(f"webchat_test_{next(_names)}")
    if store is not None:
        app.ctx.agent = SimpleNamespace(tracker_store=store)
    app.blueprint(WebChatInput(**channel_args).blueprint(on_new_message), url_prefix="/webhooks/webchat")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # a free port of our own (Sanic reads port=0 as "the default, 8000")
    server = await app.create_server(sock=sock, return_asyncio_server=True)
    await server.startup()
    port = sock.getsockname()[1]
    return server, f"http://127.0.0.1:{port}/webhooks/webchat"


@pytest.fixture()
def shared_state(tmp_path):
    """The channels' SQL state, as every Signpost instance behind the balancer shares it (a file per test)."""
    from channels.state import ChannelState

    return ChannelState(url=f"sqlite:///{tmp_path}/channels.db")


@pytest.fixture()
async def chat(shared_state):
    started = []

    async def start(handler=None, store=None, **channel_args):
        handler = handler or Turns()
        channel_args.setdefault("state", shared_state)
        server, base = await _serve(handler, store, **channel_args)
        client = httpx.AsyncClient(timeout=10)
        started.append((server, client))
        return SimpleNamespace(base=base, turns=handler, client=client)

    yield start
    for server, client in started:
        await client.aclose()
        await server.close()


async def test_the_page_script_and_embed_loader_are_served_safely(chat):
    c = await chat()
    page = await c.client.get(c.base + "/")
    no_slash = await c.client.get(c.base, follow_redirects=False)
    script = await c.client.get(c.base + "/static/chat.js")
    embed = await c.client.get(c.base + "/static/embed.js")
    escape = await c.client.get(c.base + "/static/..%2F..%2Fwebchat.py")
    assert page.status_code == 200 and 'role="log"' in page.text and "Leave this site quickly" in page.text
    # the quick exit comes first in the tab order, then the skip link, then the message box
    assert page.text.index('id="leave"') < page.text.index("<a ") < page.text.index('id="message"')
    assert 'maxlength="5000"' in page.text and 'dir="auto"' in page.text and "<style" not in page.text
    assert "style=" not in page.text and "<script>" not in page.text  # nothing inline: the CSP allows none
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert no_slash.status_code in (301, 302) and no_slash.headers["location"].endswith("/webhooks/webchat/")
    assert script.status_code == 200 and "textContent" in script.text and "innerHTML" not in script.text
    assert embed.status_code == 200 and "javascript" in embed.headers["content-type"]
    assert "iframe" in embed.text and "innerHTML" not in embed.text
    assert escape.status_code == 404


async def test_messages_go_through_with_emoji_and_right_to_left_text_as_written(chat):
    c = await chat()
    ok = await c.client.post(c.base + "/webhook",
                             json={"sender": ME, "message": "hello 👋 مرحبا שלום", "id": "m-00000001"})
    assert ok.status_code == 200 and ok.json()[0]["text"] == "you said: hello 👋 مرحبا שלום"


async def test_control_characters_and_broken_unicode_are_cleaned_not_crashed_on(chat):
    c = await chat()
    raw = '{"sender": "%s", "message": "a\\u0000b\\u0007c\\nd \\ud800 e \\ud83d\\ude00"}' % ME
    reply = await c.client.post(c.base + "/webhook", content=raw.encode(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 200
    assert c.turns.received == [(ME, "abc\nd \ufffd e 😀")]


@pytest.mark.parametrize("body, complaint", [
    (b"{oops", "valid JSON"),
    (b"\xff\xfe not utf-8", "valid JSON"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"message": "hi"}).encode(), "sender must be"),
    (json.dumps({"sender": "web-1", "message": "hi"}).encode(), "sender must be"),          # guessable
    (json.dumps({"sender": "sms-0123456789abcdef", "message": "hi"}).encode(), "sender must be"),  # not a web chat
    (json.dumps({"sender": ME.upper(), "message": "hi"}).encode(), "sender must be"),
    (json.dumps({"sender": ME, "message": ""}).encode(), "empty"),
    (json.dumps({"sender": ME, "message": " \n\t "}).encode(), "empty"),
    (json.dumps({"sender": ME, "message": "\u0000\u0001"}).encode(), "empty"),
    (json.dumps({"sender": ME, "message": {"text": "hi"}}).encode(), "message must be text"),
    (json.dumps({"sender": ME, "message": "hi", "id": "x"}).encode(), "id must be"),
    (json.dumps({"sender": ME, "message": "hi", "id": 12345678}).encode(), "id must be"),
    (json.dumps({"sender": ME, "message": "x" * 300_000}).encode(), "too big"),
])
async def test_bad_input_gets_a_clear_400_and_never_reaches_the_bot(chat, body, complaint):
    c = await chat()
    reply = await c.client.post(c.base + "/webhook", content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400 and complaint in reply.json()["error"]
    assert c.turns.received == []


async def test_twenty_thousand_characters_are_trimmed_and_the_person_is_told_after_the_answer(chat):
    c = await chat()
    reply = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "é" * 20_000})
    assert reply.status_code == 200
    assert c.turns.received == [(ME, "é" * webchat.MAX_MESSAGE_CHARS)]
    texts = [m["text"] for m in reply.json()]
    assert texts[0] == "you said: " + "é" * 5000
    assert texts[-1].startswith("Your message was very long, so I read the first 5,000 characters.")


async def test_a_repeated_message_id_gets_the_first_answer_and_no_second_turn(chat):
    c = await chat()
    first = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "7", "id": "msg-0000001"})
    again = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "7", "id": "msg-0000001"})
    forged = await c.client.post(c.base + "/webhook", json={"sender": OTHER, "message": "7", "id": "msg-0000001"})
    new = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "7", "id": "msg-0000002"})
    assert again.json() == first.json() and again.headers.get("x-signpost-replay") == "1"
    assert "x-signpost-replay" not in forged.headers  # the id is per conversation: another sender's is a new turn
    assert c.turns.received == [(ME, "7"), (OTHER, "7"), (ME, "7")] and new.status_code == 200


async def test_a_retry_while_the_first_try_is_still_running_waits_for_the_same_answer(chat):
    c = await chat(Turns(delay=0.5))
    body = {"sender": ME, "message": "money", "id": "slow-000001"}
    first, second = await asyncio.gather(c.client.post(c.base + "/webhook", json=body),
                                         c.client.post(c.base + "/webhook", json=body))
    assert first.json() == second.json() == [{"recipient_id": ME, "text": "you said: money"}]
    assert c.turns.received == [(ME, "money")]


async def test_a_dropped_connection_does_not_cut_the_turn_short_and_the_retry_gets_its_answer(chat):
    c = await chat(Turns(delay=0.6))
    body = {"sender": ME, "message": "are you there", "id": "drop-000001"}
    with pytest.raises(httpx.TimeoutException):
        await c.client.post(c.base + "/webhook", json=body, timeout=0.1)  # the phone loses signal
    await asyncio.sleep(0.8)
    retry = await c.client.post(c.base + "/webhook", json=body)
    assert retry.json()[0]["text"] == "you said: are you there"
    assert c.turns.received == [(ME, "are you there")]


async def test_the_replay_memory_is_bounded_and_the_shared_record_still_stops_a_second_turn(chat):
    c = await chat(replay_capacity=2)
    replies = []
    for n in (1, 2, 3, 1):  # id 1 was forgotten here when 3 arrived, but the shared record remembers it
        body = {"sender": ME, "message": f"m{n}", "id": f"bounded-{n:04d}"}
        reply = await c.client.post(c.base + "/webhook", json=body)
        replies.append(reply)
    assert [text for _, text in c.turns.received] == ["m1", "m2", "m3"]
    assert replies[-1].json() == [] and replies[-1].headers["x-signpost-replay"] == "1"


async def test_a_retry_that_reaches_another_instance_is_not_a_second_turn(chat):
    first, second = await chat(), await chat()  # two Signpost instances behind the balancer, one database
    body = {"sender": ME, "message": "I look after my dad", "id": "balanced-01"}
    answered = await first.client.post(first.base + "/webhook", json=body)
    retried = await second.client.post(second.base + "/webhook", json=body)
    assert answered.json()[0]["text"] == "you said: I look after my dad"
    assert retried.status_code == 200 and retried.json() == [] and retried.headers["x-signpost-replay"] == "1"
    assert first.turns.received == [(ME, "I look after my dad")] and second.turns.received == []


async def test_without_the_shared_record_the_chat_still_answers(chat, tmp_path):
    from channels.state import ChannelState

    broken = ChannelState(url=f"sqlite:///{tmp_path}/gone.db")
    broken.engine.dispose()
    (tmp_path / "gone.db").unlink()
    (tmp_path / "gone.db").mkdir()  # the database can't be opened any more
    c = await chat(state=broken)
    reply = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "hello", "id": "nostate-01"})
    assert reply.status_code == 200 and reply.json()[0]["text"] == "you said: hello"


async def test_a_turn_that_takes_too_long_still_gets_an_answer_in_time(chat, knowledge):
    c = await chat(Turns(delay=120), turn_seconds=0.5)  # the action server hangs for two minutes
    started = asyncio.get_running_loop().time()
    reply = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "hello"}, timeout=60)
    assert asyncio.get_running_loop().time() - started < 30
    assert knowledge.helplines["macmillan_support_line"]["phone"] in reply.json()[0]["text"]


async def test_a_crisis_message_in_a_failed_turn_gets_the_crisis_answer(chat):
    c = await chat(Turns(fail=True))
    reply = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "I want to end my life"})
    text = reply.json()[0]["text"]
    assert "116 123" in text and "999" in text and "something went wrong" not in text


async def test_while_staff_hold_the_conversation_the_bot_stays_quiet(chat, monkeypatch, tmp_path):
    from signposting import handoff

    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path}/handoff.db")  # this test's own queue

    c = await chat(Turns(silent=True))  # a paused bot says nothing
    consent = handoff.Consent(share_summary=True, store_phone=False, scope="a summary, with helpline staff")
    made = handoff.request_handoff(ME, "webchat", {}, "Wants to talk", consent)
    handoff.take_over(made.id, "sam")
    quiet = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "are you still there?"})
    other = await c.client.post(c.base + "/webhook", json={"sender": OTHER, "message": "hello?"})
    assert quiet.status_code == 200 and quiet.json() == []
    assert "something went wrong" in other.json()[0]["text"]  # nobody holds that one: never silent


@pytest.mark.parametrize("turns", [Turns(fail=True), Turns(silent=True)], ids=["failed", "silent"])
async def test_a_failed_or_silent_turn_still_gives_a_helpline(chat, turns, knowledge):
    c = await chat(turns)
    reply = await c.client.post(c.base + "/webhook", json={"sender": ME, "message": "hello"})
    text = reply.json()[0]["text"]
    assert reply.status_code == 200
    assert knowledge.helplines["macmillan_support_line"]["phone"] in text and "999" in text


# --------------------------------------------------------------------------- reading a conversation back
def checkin_events(what_matters: str = "Money mostly <img src=x onerror=alert(1)>") -> list:
    score_buttons = [{"title": str(n), "payload": f'/inform{{"score":"{n}"}}'} for n in range(11)]
    return [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        UserUttered("/greet", intent={"name": "greet", "confidence": 1.0}),
        BotUttered("Hello, I'm Signpost.", data={"buttons": [
            {"title": "I look after someone with cancer", "payload": '/inform{"role":"carer"}'}]}),
        UserUttered('/inform{"role":"carer"}', intent={"name": "inform", "confidence": 1.0}),
        SlotSet("role", "carer"),
        BotUttered("What matters most to you right now?"),
        UserUttered(what_matters, intent={"name": "ask_financial_support", "confidence": 0.9}),
        SlotSet("what_matters", what_matters),
        BotUttered("How much are money worries bothering you? (3 of 5)", data={"buttons": score_buttons}),
        UserUttered('/inform{"score":"9"}', intent={"name": "inform", "confidence": 1.0}),
        SlotSet("score_financial", 9), SlotSet("score_emotional", 6), SlotSet("score_work", "skipped"),
        SlotSet("score_practical", 2), SlotSet("score_carer_wellbeing", 0), SlotSet("assessment_done", True),
        BotUttered("Thank you. Here is your summary, most pressing first."),
    ]


async def _store_with(domain: Domain, sender: str, events: list) -> InMemoryTrackerStore:
    store = InMemoryTrackerStore(domain)
    await store.save(DialogueStateTracker.from_events(sender, events, domain.slots))
    return store


async def test_the_summary_downloads_as_a_text_file_with_scores_and_a_helpline(chat, domain, knowledge):
    c = await chat(store=await _store_with(domain, ME, checkin_events()))
    reply = await c.client.get(f"{c.base}/summary/{ME}")
    assert reply.status_code == 200
    assert reply.headers["content-disposition"] == 'attachment; filename="signpost-summary.txt"'
    assert reply.headers["content-type"].startswith("text/plain") and reply.headers["cache-control"] == "no-store"
    text = reply.text
    assert text.index("1. Money: 9 out of 10") < text.index("2. How you're feeling: 6 out of 10")
    assert "Skipped: Work." in text and "Money mostly <img src=x onerror=alert(1)>" in text
    assert knowledge.helplines["macmillan_support_line"]["phone"] in text
    assert knowledge.topic("ask_financial_support")["title"] in text  # what they asked about


async def test_a_benefits_guide_is_summarised_from_the_answers_before_the_form_cleared_them(chat, domain):
    events = checkin_events() + [
        UserUttered("what benefits can I get", intent={"name": "ask_benefits_check", "confidence": 0.99}),
        SlotSet("nation", "scotland"), SlotSet("b_age", 40), SlotSet("b_care_hours", 40.0),
        SlotSet("b_cared_for", "adp_daily_living"), SlotSet("b_earnings", "unknown"),
        ActionExecuted("action_benefits_summary"), BotUttered("Here is a guide, not a decision."),
        SlotSet("b_age", None), SlotSet("b_care_hours", None), SlotSet("b_cared_for", None),
        SlotSet("b_earnings", None),
    ]
    c = await chat(store=await _store_with(domain, ME, events))
    text = (await c.client.get(f"{c.base}/summary/{ME}")).text
    assert "Benefits you checked" in text and "Their benefits: Adult Disability Payment (daily living)" in text
    assert "Carer Support Payment" in text and "Earnings: Don't know" in text


async def test_no_conversation_or_a_bad_id_gets_a_friendly_answer(chat, domain):
    c = await chat(store=await _store_with(domain, ME, checkin_events()))
    missing = await c.client.get(f"{c.base}/summary/{OTHER}")
    weak = await c.client.get(f"{c.base}/summary/web-1")
    sms = await c.client.get(f"{c.base}/summary/sms-0123456789abcdef")
    history = await c.client.get(f"{c.base}/history/{OTHER}")
    assert missing.status_code == 404 and "can't find a conversation" in missing.text
    assert "content-disposition" not in missing.headers
    assert weak.status_code == 400 and sms.status_code == 400 and "isn't a web chat" in sms.text
    assert history.status_code == 200 and history.json() == {"messages": []}


async def test_after_delete_my_data_nothing_from_before_can_be_read_back(chat, domain):
    events = checkin_events() + [UserUttered("delete my data", intent={"name": "delete_my_data"}),
                                 AllSlotsReset(), BotUttered("Done. I've deleted everything.")]
    c = await chat(store=await _store_with(domain, ME, events))
    summary = (await c.client.get(f"{c.base}/summary/{ME}"))
    history = (await c.client.get(f"{c.base}/history/{ME}")).json()["messages"]
    assert summary.status_code == 404
    assert history == [{"who": "bot", "text": "Done. I've deleted everything.", "buttons": []}]


async def test_history_redraws_the_page_with_button_titles_and_text_as_it_was(chat, domain):
    c = await chat(store=await _store_with(domain, ME, checkin_events()))
    reply = await c.client.get(f"{c.base}/history/{ME}")
    messages = reply.json()["messages"]
    assert reply.headers["cache-control"] == "no-store"
    assert messages[0]["who"] == "bot" and messages[0]["text"] == "Hello, I'm Signpost."  # /greet isn't shown
    assert messages[1] == {"who": "me", "text": "I look after someone with cancer"}  # the button's title
    assert {"who": "me", "text": "9"} in messages
    assert {"who": "me", "text": "Money mostly <img src=x onerror=alert(1)>"} in messages  # as written; the page
    assert len(messages[4]["buttons"]) == 11                                               # shows it as text


async def test_the_inbox_is_empty_until_the_helpline_outbox_exists(chat, monkeypatch):
    monkeypatch.delitem(sys.modules, "channels.outbound", raising=False)
    monkeypatch.setattr(webchat.importlib, "import_module", _no_outbound)
    c = await chat()
    reply = await c.client.get(f"{c.base}/inbox/{ME}")
    bad = await c.client.get(f"{c.base}/inbox/not-an-id")
    assert reply.status_code == 200 and reply.json() == {"messages": []}
    assert bad.status_code == 400


def _no_outbound(name):
    raise ModuleNotFoundError(f"No module named '{name}'", name=name)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_the_inbox_hands_over_the_helpline_teams_replies_once(chat, monkeypatch, asynchronous):
    queued = {ME: [{"text": "Hello, this is Sam from the helpline."}, {"text": "", "buttons": []}, "junk",
                   {"text": "Shall I call you?", "buttons": [{"title": "Yes", "payload": "/affirm"}, {"x": 1}]}]}

    def take(sender):
        return queued.pop(sender, [])

    async def take_async(sender):
        return take(sender)

    # channels/outbound.py belongs to another part of the work; this stands in for its take_webchat()
    module = types.ModuleType("channels.outbound")
    module.take_webchat = take_async if asynchronous else take
    monkeypatch.setitem(sys.modules, "channels.outbound", module)
    c = await chat()
    first = (await c.client.get(f"{c.base}/inbox/{ME}")).json()["messages"]
    second = (await c.client.get(f"{c.base}/inbox/{ME}")).json()["messages"]
    assert first == [{"text": "Hello, this is Sam from the helpline.", "buttons": []},
                     {"text": "Shall I call you?", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    assert second == []


async def test_the_plan_pdf_needs_a_web_chat_id_and_a_finished_check_in(chat, domain):
    no_checkin = [e for e in checkin_events() if not (isinstance(e, SlotSet) and e.key == "assessment_done")]
    c = await chat(store=await _store_with(domain, ME, no_checkin))
    assert (await c.client.get(f"{c.base}/plan/web-1")).status_code == 400
    assert (await c.client.get(f"{c.base}/plan/sms-0123456789abcdef")).status_code == 400
    for sender in (OTHER, ME):   # no conversation, or a conversation with no check-in finished yet
        reply = await c.client.get(f"{c.base}/plan/{sender}")
        assert reply.status_code == 404 and "check-in" in reply.text and "content-disposition" not in reply.headers
    done = await chat(store=await _store_with(domain, ME, checkin_events()))
    pdf = await done.client.get(f"{done.base}/plan/{ME}?large=1")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    assert pdf.headers["content-disposition"] == 'attachment; filename="signpost-plan-large-print.pdf"'
