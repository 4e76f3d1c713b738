"""The Telegram connector on a loopback Sanic server, against a fake Bot API server on 127.0.0.1.

The fake records every Bot API call (method name and parameters) and answers like Telegram; a
stand-in for Rasa's message handler records each UserMessage and replies with canned messages.
"""
from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import pytest
from sanic import Sanic

from channels.telegram import EMPTY_TEXT, EXPIRED_BUTTON, ONLY_TEXT, SECRET_HEADER, TelegramInput, sender_id

pytestmark = pytest.mark.asyncio

_names = itertools.count()
Sanic.test_mode = True

TOKEN = "123456789:AAFakeTokenForTests_abcdefghij"
SECRET = "s3cret-Webhook_token"
CHAT = 918273645
NAME = "Zebedee"


class FakeBotApi:
    """A tiny Telegram Bot API: POST /bot<token>/<method>, answers {"ok": true, "result": ...}."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(body or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                prefix, _, method = self.path.rpartition("/")
                if prefix != f"/bot{TOKEN}":
                    return self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                api.calls.append((method, params))
                result: object = True
                if method == "sendMessage":
                    result = {"message_id": len(api.calls), "date": 1700000000, "text": params["text"],
                              "chat": {"id": int(params["chat_id"]), "type": "private"}}
                self._answer(200, {"ok": True, "result": result})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent(self) -> list[dict]:
        """Each sendMessage's parameters, reply_markup decoded."""
        out = []
        for method, params in self.calls:
            if method == "sendMessage":
                params = dict(params)
                if "reply_markup" in params:
                    params["reply_markup"] = json.loads(params["reply_markup"])
                out.append(params)
        return out

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]


@pytest.fixture()
def api():
    fake = FakeBotApi()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


class Rasa:
    """Stands in for Rasa: records UserMessages, answers with canned replies."""

    def __init__(self, *replies: dict, fail: bool = False) -> None:
        self.messages = []
        self.replies = replies
        self.fail = fail

    async def __call__(self, message) -> None:
        self.messages.append(message)
        if self.fail:
            raise RuntimeError("action server down")
        for reply in self.replies:
            if reply.get("buttons"):
                await message.output_channel.send_text_with_buttons(message.sender_id, reply["text"], reply["buttons"])
            else:
                await message.output_channel.send_text_message(message.sender_id, reply["text"])


class Echo(Rasa):
    async def __call__(self, message) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"you said: {message.text}")


async def _serve(handler, channel: TelegramInput):
    app = Sanic(f"telegram_test_{next(_names)}")
    app.blueprint(channel.blueprint(handler), url_prefix="/webhooks/telegram")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # a free port of our own (Sanic reads port=0 as 8000)
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    port = sock.getsockname()[1]
    return server, f"http://127.0.0.1:{port}/webhooks/telegram"


class Conversation:
    def __init__(self, handler, api: FakeBotApi, **kwargs) -> None:
        self.handler, self.api = handler, api
        self.channel = TelegramInput(**{"access_token": TOKEN, "webhook_secret": SECRET,
                                        "base_url": api.base_url, **kwargs})
        self.ids = itertools.count(1000)

    async def __aenter__(self) -> "Conversation":
        self.server, self.base = await _serve(self.handler, self.channel)
        self.client = httpx.AsyncClient()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()
        await self.server.close()

    async def post(self, update: dict | None = None, secret: str | None = SECRET, content: bytes | None = None):
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if content is None:
            content = json.dumps({"update_id": next(self.ids), **(update or {})}).encode()
        response = await self.client.post(self.base + "/webhook", content=content,
                                          headers={"Content-Type": "application/json", **headers})
        await self.channel.drain()
        return response


def message(text: str | None = None, **extra) -> dict:
    person = {"id": CHAT, "is_bot": False, "first_name": NAME, "username": "zeb_the_tester"}
    body = {"message_id": 7, "date": 1700000000, "from": person,
            "chat": {"id": CHAT, "type": "private", "first_name": NAME, "username": "zeb_the_tester"}, **extra}
    if text is not None:
        body["text"] = text
    return {"message": body}


def callback(data: str) -> dict:
    person = {"id": CHAT, "is_bot": False, "first_name": NAME}
    return {"callback_query": {"id": "cbq-42", "from": person, "chat_instance": "ci-1", "data": data,
                               "message": {"message_id": 8, "date": 1700000000, "text": "Pick one",
                                           "chat": {"id": CHAT, "type": "private"}, "from": {
                                               "id": 1, "is_bot": True, "first_name": "Signpost"}}}}


async def test_text_goes_to_rasa_and_replies_come_back_as_plain_text_with_a_keyboard(api):
    rasa = Rasa({"text": "Hello, I'm Signpost. <b>not html</b> *not markdown*"},
                {"text": "What would help?", "buttons": [{"title": "Money worries", "payload": "/ask_financial_support"},
                                                         {"title": "Talk to someone", "payload": "/request_human"}]})
    async with Conversation(rasa, api) as chat:
        reply = await chat.post(message("hi there"))
    assert reply.status_code == 200 and reply.text == "ok"
    [user_message] = rasa.messages
    assert user_message.text == "hi there" and user_message.input_channel == "telegram"
    assert user_message.sender_id == sender_id(CHAT) and user_message.sender_id.startswith("tg-")
    assert len(user_message.sender_id) == 19 and str(CHAT) not in user_message.sender_id
    assert api.methods() == ["sendMessage", "sendMessage"]  # no getMe: the bot is never initialised
    assert api.sent() == [
        {"chat_id": str(CHAT), "text": "Hello, I'm Signpost. <b>not html</b> *not markdown*"},
        {"chat_id": str(CHAT), "text": "What would help?", "reply_markup": {"inline_keyboard": [
            [{"text": "Money worries", "callback_data": "/ask_financial_support"}],
            [{"text": "Talk to someone", "callback_data": "/request_human"}]]}},
    ]


async def test_a_long_payload_button_round_trips_through_its_short_id(api):
    long_payload = '/inform{"choice":"attendance_allowance","nation":"northern_ireland","note":"a long one"}'
    rasa = Rasa({"text": "Which benefit?", "buttons": [{"title": "Attendance Allowance", "payload": long_payload}]})
    async with Conversation(rasa, api) as chat:
        await chat.post(message("benefits"))
        [button] = api.sent()[0]["reply_markup"]["inline_keyboard"][0]
        assert button["text"] == "Attendance Allowance" and button["callback_data"].startswith("p:")
        assert len(button["callback_data"].encode()) <= 64
        await chat.post(callback(button["callback_data"]))
    assert [m.text for m in rasa.messages] == ["benefits", long_payload]
    assert rasa.messages[1].sender_id == sender_id(CHAT)
    assert ("answerCallbackQuery", {"callback_query_id": "cbq-42"}) in api.calls
    assert api.methods() == ["sendMessage", "answerCallbackQuery", "sendMessage"]


async def test_an_expired_button_is_answered_without_rasa(api):
    rasa = Rasa({"text": "unused"})
    async with Conversation(rasa, api) as chat:
        reply = await chat.post(callback("p:0badc0de"))
    assert reply.status_code == 200 and rasa.messages == []
    assert api.calls[0] == ("answerCallbackQuery", {"callback_query_id": "cbq-42"})
    assert api.sent() == [{"chat_id": str(CHAT), "text": EXPIRED_BUTTON}]


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_a_missing_or_wrong_secret_is_refused(api, secret):
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        reply = await chat.post(message("hi"), secret=secret)
    assert reply.status_code == 403 and rasa.messages == [] and api.calls == []


@pytest.mark.parametrize("content", [b"{oops", b"[1, 2]", b'"text"', b'{"message": {"text": "no update id"}}',
                                     b'{"update_id": "1"}', b'{"update_id": 1, "message": {"text": "no chat"}}'])
async def test_malformed_json_or_not_an_update_is_400(api, content):
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        reply = await chat.post(content=content)
    assert reply.status_code == 400 and rasa.messages == [] and api.calls == []


async def test_without_token_or_secret_the_webhook_says_503_and_health_says_unconfigured(api, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    channel = TelegramInput.from_credentials(None)
    assert channel.base_url == "https://api.telegram.org/bot"
    server, base = await _serve(Echo(), channel)
    try:
        async with httpx.AsyncClient() as client:
            health = await client.get(base + "/health")
            reply = await client.post(base + "/webhook", json={"update_id": 1}, headers={SECRET_HEADER: ""})
        assert health.status_code == 200 and health.json() == {"status": "ok", "configured": False}
        assert reply.status_code == 503 and "TELEGRAM_BOT_TOKEN" in reply.json()["error"]
    finally:
        await server.close()


async def test_credentials_fall_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")
    from_env = TelegramInput.from_credentials({})
    assert (from_env.access_token, from_env.webhook_secret, from_env.base_url) == (TOKEN, SECRET, "http://127.0.0.1:9/bot")
    given = TelegramInput.from_credentials({"access_token": "1:x", "webhook_secret": "y", "base_url": "http://h/bot"})
    assert (given.access_token, given.webhook_secret, given.base_url) == ("1:x", "y", "http://h/bot")
    assert given.configured and TelegramInput.name() == "telegram"


@pytest.mark.parametrize("kind", [
    {"photo": [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]},
    {"voice": {"file_id": "f2", "file_unique_id": "u2", "duration": 3}},
    {"document": {"file_id": "f3", "file_unique_id": "u3", "file_name": "letter.pdf"}},
    {"sticker": {"file_id": "f4", "file_unique_id": "u4", "type": "regular", "width": 512, "height": 512,
                 "is_animated": False, "is_video": False}},
])
async def test_photos_voice_documents_and_stickers_get_only_read_text(api, kind):
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        reply = await chat.post(message(**kind))
    assert reply.status_code == 200 and rasa.messages == []
    assert api.sent() == [{"chat_id": str(CHAT), "text": ONLY_TEXT}] and "only read text" in ONLY_TEXT


async def test_empty_text_gets_a_prompt_and_very_long_text_is_trimmed(api):
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        await chat.post(message("   "))
        await chat.post(message("x" * 20000))
    assert api.sent()[0] == {"chat_id": str(CHAT), "text": EMPTY_TEXT}
    assert [len(m.text) for m in rasa.messages] == [5000]
    assert [m["text"] for m in api.sent()[1:]] == ["you said:", "x" * 4096, "x" * 904]  # 4,096 at most


async def test_start_greets_and_typed_commands_cannot_name_an_intent(api):
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        await chat.post(message("/start"))
        await chat.post(message('/request_human{"x":"y"}'))
    assert [m.text for m in rasa.messages] == ["/greet", 'request_human{"x":"y"}']


async def test_a_reply_over_4096_characters_is_split_into_parts(api):
    paragraph = "Macmillan can help with grants, benefits and work. " * 30
    long_reply = "\n\n".join([paragraph.strip()] * 8)
    rasa = Rasa({"text": long_reply, "buttons": [{"title": "More", "payload": "/more_services"}]})
    async with Conversation(rasa, api) as chat:
        await chat.post(message("help with money"))
    sent = api.sent()
    assert len(sent) >= 3 and all(len(m["text"]) <= 4096 for m in sent)
    assert "\n\n".join(m["text"] for m in sent) == long_reply
    assert [("reply_markup" in m) for m in sent] == [False] * (len(sent) - 1) + [True]


async def test_emoji_and_right_to_left_text_survive_both_ways(api):
    text = "مرحبا، أحتاج مساعدة 👋🏽 שלום 🏴󠁧󠁢󠁳󠁣󠁴󠁿 ❤️‍🩹"
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        await chat.post(message(text))
    assert rasa.messages[0].text == text
    assert api.sent() == [{"chat_id": str(CHAT), "text": "you said: " + text}]


@pytest.mark.parametrize("rasa", [Rasa(fail=True), Rasa()], ids=["broken", "silent"])
async def test_a_failed_or_silent_turn_still_gives_a_helpline(api, rasa, knowledge):
    async with Conversation(rasa, api) as chat:
        reply = await chat.post(message("hello"))
    [sent] = api.sent()
    assert reply.status_code == 200 and sent["chat_id"] == str(CHAT)
    assert knowledge.helplines["macmillan_support_line"]["phone"] in sent["text"] and "999" in sent["text"]


async def test_the_raw_chat_id_names_and_token_never_reach_the_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    long_payload = "/inform" + json.dumps({"choice": "a" * 80})
    async with Conversation(Rasa({"text": "Pick", "buttons": [{"title": "A", "payload": long_payload}]}), api) as chat:
        await chat.post(message("hello"))
        await chat.post(callback(api.sent()[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]))
    async with Conversation(Rasa(fail=True), api) as chat:
        await chat.post(message("hello"))
    assert len(api.sent()) == 3 and caplog.records  # something was logged, just nothing personal
    assert str(CHAT) not in caplog.text and NAME not in caplog.text and "zeb_the_tester" not in caplog.text
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


async def test_sending_failures_are_logged_without_personal_data(caplog):
    caplog.set_level(logging.DEBUG)
    rasa = Echo()
    dead = FakeBotApi()
    dead.server.shutdown()
    dead.server.server_close()  # nothing listens there any more
    async with Conversation(rasa, dead) as chat:
        reply = await chat.post(message("hello"))
    assert reply.status_code == 200 and rasa.messages
    assert "sendMessage failed" in caplog.text and str(CHAT) not in caplog.text and TOKEN not in caplog.text
