"""One conversation, held over web chat, SMS, WhatsApp and Telegram with the real trained bot.

Each channel's own connector is mounted on one Sanic app, with the trained Agent's
``handle_message`` behind it and a real action server (``rasa run actions``) on 127.0.0.1; Twilio
calls are signed like Twilio's, and Telegram answers go to a fake Bot API on 127.0.0.1. The person
types the same words and presses the same buttons on every channel, the way that channel allows:
web chat sends the button's payload, SMS and WhatsApp reply with the option's number, Telegram
presses the inline button. Every turn checks that channel's limits, and that the same content
(every text the web chat shows, every button) reached the other channels too.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sanic import Sanic
from twilio.request_validator import RequestValidator

from channels import state as channel_state
from channels.telegram import SECRET_HEADER, TelegramInput
from channels.twilio_sms import TwilioInput
from channels.webchat import WebChatInput
from signposting import sms
from tests.support.fake_telegram import TOKEN, FakeBotApi

pytestmark = [pytest.mark.model]

ROOT = Path(__file__).resolve().parents[2]
TEST_KEY = "9U5OZZ9i42xN31jxr6WBORMusBT8lteCNnb-PWU-CQPxDPI7htObmXSs_S9ZjyqRTJpR88V2mSy7oFnKfIXALQ"  # tests only
TWILIO_TOKEN = "all-channels-auth-token"
SECRET = "all-channels-secret"
CHAT = 5550001
Sanic.test_mode = True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    """The real action server on a free loopback port (directory, benefits and summary need it)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("actions") / "actions.log"
    env = dict(os.environ, SANIC_HOST="127.0.0.1", PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
    with log_path.open("w") as log:
        process = subprocess.Popen([str(Path(sys.executable).with_name("rasa")), "run", "actions", "--actions",
                                    "actions", "-p", str(port)], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the action server did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(1)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def bot(agent, action_server):
    """The session's trained Agent, talking to our action server for this module only."""
    from rasa.utils.endpoints import EndpointConfig

    before = agent.action_endpoint, agent.processor.action_endpoint
    agent.action_endpoint = agent.processor.action_endpoint = EndpointConfig(action_server)
    yield agent
    agent.action_endpoint, agent.processor.action_endpoint = before


# --------------------------------------------------------------------------- what one turn looked like
@dataclass
class Turn:
    texts: list[str]                 # what the person reads, in order (for SMS: every text, after MOREs)
    buttons: list[str]               # the titles of the buttons (or options) offered
    first: list[str] = field(default_factory=list)  # what arrived before the person had to ask for MORE

    @property
    def flat(self) -> str:
        return " ".join(" ".join(self.texts).split())


def _flat(text: str) -> str:
    return " ".join(text.split())


class WebChat:
    name = "web chat"

    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client, self.url, self.payloads = client, base + "/webhooks/webchat/webhook", {}

    async def say(self, text: str) -> Turn:
        reply = await self.client.post(self.url, json={"sender": "web-0123456789abcdef0a11c4a7", "message": text})
        assert reply.status_code == 200
        messages = reply.json()
        # never an empty bubble (a message may carry only data for the page itself, e.g. the plan is ready)
        assert messages and all(m.get("text") or m.get("buttons") or m.get("custom") for m in messages)
        self.payloads = {b["title"]: b["payload"] for m in messages for b in m.get("buttons") or []}
        texts = [m["text"] for m in messages if m.get("text")]
        return Turn(texts, [b["title"] for m in messages for b in m.get("buttons") or []], texts)

    async def press(self, title: str) -> Turn:
        return await self.say(self.payloads[title])


class TextMessages:
    """SMS (or WhatsApp): a signed Twilio webhook per message; asks for MORE until it has everything."""

    _sids = itertools.count(1)

    def __init__(self, client: httpx.AsyncClient, base: str, sender: str, name: str) -> None:
        self.client, self.url, self.sender, self.name = client, base + "/webhooks/twilio_sms/webhook", sender, name
        self.options: dict[str, str] = {}

    async def _send(self, body: str) -> list[str]:
        params = {"From": self.sender, "To": "+447700900999", "Body": body, "NumMedia": "0",
                  "MessageSid": f"SM{next(self._sids):032x}"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(self.url, params)
        reply = await self.client.post(self.url, data=params, headers={"X-Twilio-Signature": signature})
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/xml")
        bodies = [m.text or "" for m in ET.fromstring(reply.text).findall("Message")]
        for text in bodies:  # every text is one SMS segment: 160 GSM-7 characters, or 70 UTF-16 units
            assert sms.fits(text), f"{self.name}: more than one segment: {text!r}"
        return bodies

    async def say(self, text: str, crisis: bool = False) -> Turn:
        bodies = await self._send(text)
        limit = sms.CRISIS_MAX_SEGMENTS if crisis else 3
        assert 1 <= len(bodies) <= limit, f"{self.name}: {len(bodies)} texts at once"
        first, texts = list(bodies), list(bodies)
        while texts[-1].endswith("\n" + sms.MORE_SUFFIX):  # the person asks for the rest
            texts[-1] = texts[-1][: -len(sms.MORE_SUFFIX) - 1]
            more = await self._send("MORE")
            assert 1 <= len(more) <= 3, f"{self.name}: {len(more)} texts after MORE"
            texts += more
        return self._read(texts, first)

    def _read(self, texts: list[str], first: list[str]) -> Turn:
        """The options as the person reads them: 'Reply 2 for X', 'Reply a number from 0 to 10'."""
        whole = "\n".join(texts)
        self.options = {title: number for number, title in re.findall(r"^Reply (\d+) for (.+)$", whole, re.M)}
        for low, high in re.findall(r"^Reply a number from (\d+) to (\d+)$", whole, re.M):
            self.options.update({str(n): str(n) for n in range(int(low), int(high) + 1)})
        return Turn(texts, list(self.options), first)

    async def press(self, title: str) -> Turn:
        return await self.say(self.options[title])  # answered by number, as the text says


class Telegram:
    def __init__(self, client: httpx.AsyncClient, base: str, api: FakeBotApi, channel: TelegramInput) -> None:
        self.client, self.url, self.api, self.channel = client, base + "/webhooks/telegram/webhook", api, channel
        self.name, self.updates, self.keys = "Telegram", itertools.count(100), {}

    async def _post(self, update: dict) -> Turn:
        before = len(self.api.sent())
        reply = await self.client.post(self.url, content=json.dumps({"update_id": next(self.updates), **update}),
                                       headers={"Content-Type": "application/json", SECRET_HEADER: SECRET})
        assert reply.status_code == 200
        await self.channel.drain()
        sent = self.api.sent()[before:]
        assert sent and all(m["chat_id"] == str(CHAT) for m in sent)
        buttons = []
        for message in sent:
            assert len(message["text"].encode("utf-16-le")) // 2 <= 4096
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    assert len(button["callback_data"].encode("utf-8")) <= 64
                    buttons.append(button)
        self.keys = {b["text"]: b["callback_data"] for b in buttons}
        texts = [m["text"] for m in sent]
        return Turn(texts, [b["text"] for b in buttons], texts)

    async def say(self, text: str) -> Turn:
        return await self._post({"message": {"message_id": 1, "date": 1700000000, "text": text,
                                             "chat": {"id": CHAT, "type": "private"},
                                             "from": {"id": CHAT, "is_bot": False, "first_name": "Alex"}}})

    async def press(self, title: str) -> Turn:
        return await self._post({"callback_query": {
            "id": f"cb{time.monotonic_ns()}", "chat_instance": "ci", "data": self.keys[title],
            "from": {"id": CHAT, "is_bot": False, "first_name": "Alex"},
            "message": {"message_id": 2, "date": 1700000000, "text": "...", "chat": {"id": CHAT, "type": "private"}}}})


# --------------------------------------------------------------------------- the conversation
STEPS = [  # (what the person does, the words or button title)
    ("say", "hello"),
    ("press", "I look after someone with cancer"),
    ("say", "Money mostly. I have had to stop work to look after him"),
    ("press", "Yes, let's start"),
    ("press", "Skip"),                              # where they are on the journey
    ("press", "Don't know"),                        # where they live
    ("press", "Working"),
    ("press", "6"),
    ("say", "really bad"),
    ("say", "9"),
    ("say", "skip"),  # (the Skip button is refused by the check-in itself: see the report)
    ("say", "8"),
    ("press", "None of these"),                     # no other areas
    ("press", "That's all"),                        # the top ones: as ranked
    ("say", "my sister"),                           # what helps already; then the summary
    ("say", "are there any support groups near me"),
    ("say", "G12"),                                 # services near a postcode
    ("say", "what benefits could I get?"),
    ("say", "I want to end my life"),               # a crisis, in the middle of the benefits questions
]


WEB_ONLY = ("plan_ready_web", "plan_offer_keep")   # the PDF links are on the page; no check-ins to a closed page


def _same_content(reference: Turn, other: Turn, channel: str, step: str) -> None:
    """Every text the web chat showed, word for word, and every button, reached the other channel."""
    from signposting import knowledge as kb, privacy

    web_only = {_flat(kb.current().say(key, days=privacy.retention_days())) for key in WEB_ONLY}
    for text in reference.texts:
        if _flat(text) in web_only:
            continue
        assert _flat(text) in other.flat, f"{channel} at {step!r} is missing: {text[:80]!r}"
    missing = [title for title in reference.buttons if title not in other.buttons]
    assert not missing, f"{channel} at {step!r} does not offer {missing}"


@pytest.mark.asyncio
async def test_the_same_conversation_on_web_chat_sms_whatsapp_and_telegram(bot, tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", TEST_KEY)
    state = channel_state.ChannelState(f"sqlite:///{tmp_path / 'channels.db'}")
    api = FakeBotApi()
    telegram = TelegramInput(access_token=TOKEN, webhook_secret=SECRET, base_url=api.base_url, state=state)
    app = Sanic("all_channels_test")
    app.blueprint(WebChatInput().blueprint(bot.handle_message), url_prefix="/webhooks/webchat")
    app.blueprint(TwilioInput(auth_token=TWILIO_TOKEN, state=state).blueprint(bot.handle_message),
                  url_prefix="/webhooks/twilio_sms")
    app.blueprint(telegram.blueprint(bot.handle_message), url_prefix="/webhooks/telegram")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    transcript: dict[str, list[Turn]] = {}
    try:
        async with httpx.AsyncClient(timeout=120) as client:
            web = WebChat(client, base)
            others = [TextMessages(client, base, "+447700900555", "SMS"),
                      TextMessages(client, base, "whatsapp:+447700900556", "WhatsApp"),
                      Telegram(client, base, api, telegram)]
            for action, words in STEPS:  # each step on every channel before the next: same minute, same hours
                crisis = words == "I want to end my life"
                reference = await (web.say(words) if action == "say" else web.press(words))
                transcript.setdefault(web.name, []).append(reference)
                for channel in others:
                    if action == "press":
                        turn = await channel.press(words)
                    elif isinstance(channel, TextMessages):
                        turn = await channel.say(words, crisis=crisis)
                    else:
                        turn = await channel.say(words)
                    transcript.setdefault(channel.name, []).append(turn)
                    _same_content(reference, turn, channel.name, words)
    finally:
        await server.close()
        api.close()

    record = tmp_path / "transcript.json"  # what each channel showed, for reading when something fails
    record.write_text(json.dumps({channel: [t.texts for t in turns] for channel, turns in transcript.items()},
                                 ensure_ascii=False, indent=1))
    if os.environ.get("SIGNPOST_TRANSCRIPT"):
        Path(os.environ["SIGNPOST_TRANSCRIPT"]).write_text(record.read_text())
    by_step = {channel: dict(zip([w for _, w in STEPS], turns)) for channel, turns in transcript.items()}
    for channel, turns in by_step.items():
        # the check-in asked five questions, scored by buttons or numbers, and summed up in order
        summary = turns["my sister"].flat
        assert summary.index("Money: 9 out of 10") < summary.index("How you're feeling: 6 out of 10"), channel
        assert "Skipped: Work." in summary, channel
        # services near G12, by name, with a phone number
        assert "Maggie's Glasgow" in turns["G12"].flat, channel
        assert "0141 357 2269" in turns["G12"].flat, channel
        # the benefits answer for Scotland, and its first question
        assert "Social Security Scotland" in turns["what benefits could I get?"].flat, channel
        # a crisis: the numbers first, before the question the form was asking, and without MORE
        crisis = turns["I want to end my life"]
        first = " ".join(crisis.first)
        assert "116 123" in first and "999" in first, channel
        assert crisis.flat.index("116 123") < crisis.flat.index("How old are you?"), channel
    services = re.findall(r"^\d+\. (.+?):", "\n".join(by_step["web chat"]["G12"].texts), re.M)
    assert len(services) >= 2
    for channel in by_step:  # the same services, in the same order, everywhere
        flat = by_step[channel]["G12"].flat
        assert [flat.index(name) for name in services] == sorted(flat.index(name) for name in services), channel
