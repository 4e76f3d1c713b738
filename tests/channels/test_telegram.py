"""The Telegram connector on a loopback Sanic server, against a fake Bot API server on 127.0.0.1.

The fake (tests/support/fake_telegram.py) records every Bot API call (method name and parameters)
and answers like Telegram; a stand-in for Rasa's message handler records each UserMessage and
replies with canned messages. Each test has its own channel-state database and a fixed key.
"""
from __future__ import annotations

import itertools
import json
import logging
import socket

import httpx
import pytest
from sanic import Sanic

from channels import identity
from channels import state as channel_state
from channels.telegram import SECRET_HEADER, TelegramInput, sender_id
from signposting import knowledge as kb
from signposting import sms
from tests.support.fake_telegram import TOKEN, FakeBotApi

pytestmark = pytest.mark.asyncio

_names = itertools.count()
_update_ids = itertools.count(1000)
Sanic.test_mode = True

TEST_KEY = "9U5OZZ9i42xN31jxr6WBORMusBT8lteCNnb-PWU-CQPxDPI7htObmXSs_S9ZjyqRTJpR88V2mSy7oFnKfIXALQ"  # tests only
SECRET = "s3cret-Webhook_token"
CHAT = 918273645
NAME = "Zebedee"


@pytest.fixture(autouse=True)
def own_state(tmp_path, monkeypatch):
    """A fresh channel-state database and a fixed conversation-id key for each test."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'channels.db'}")
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", TEST_KEY)
    return channel_state.default()


@pytest.fixture()
def api():
    with FakeBotApi() as fake:
        yield fake


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
        self.ids = _update_ids  # Telegram numbers one bot's updates in one sequence

    async def __aenter__(self) -> "Conversation":
        self.server, self.base = await _serve(self.handler, self.channel)
        self.client = httpx.AsyncClient()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()
        await self.server.close()

    async def post(self, update: dict | None = None, secret: str | None = SECRET, content: bytes | None = None,
                   update_id: int | None = None):
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if content is None:
            update_id = next(self.ids) if update_id is None else update_id
            content = json.dumps({"update_id": update_id, **(update or {})}).encode()
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
    assert len(user_message.sender_id) <= 128 and str(CHAT) not in user_message.sender_id
    assert identity.address_of(user_message.sender_id) == ("tg", str(CHAT))  # reachable later
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


async def test_a_long_payload_button_sent_by_one_instance_works_on_another(api, tmp_path):
    """Behind a load balancer the button press may reach another instance than the one that sent it."""
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    long_payload = '/inform{"choice":"adp_daily_living","nation":"scotland","note":"longer than 64 bytes"}'
    rasa = Rasa({"text": "Which benefit?", "buttons": [{"title": "ADP", "payload": long_payload}]})
    async with Conversation(rasa, api, state=channel_state.ChannelState(shared)) as one:
        await one.post(message("benefits"), update_id=1)
    data = api.sent()[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    async with Conversation(rasa, api, state=channel_state.ChannelState(shared)) as two:
        await two.post(callback(data), update_id=2)
        replay = await two.post(callback(data), update_id=2)  # the same update again: no second turn
    assert data.startswith("p:") and len(data.encode()) <= 64
    assert [m.text for m in rasa.messages] == ["benefits", long_payload] and replay.status_code == 200


async def test_an_expired_button_is_answered_without_rasa(api):
    rasa = Rasa({"text": "unused"})
    async with Conversation(rasa, api) as chat:
        reply = await chat.post(callback("p:0badc0de0badc0de"))
    assert reply.status_code == 200 and rasa.messages == []
    assert api.calls[0] == ("answerCallbackQuery", {"callback_query_id": "cbq-42"})
    assert api.sent() == [{"chat_id": str(CHAT), "text": kb.current().say("channel_button_expired")}]


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


async def test_a_barrage_of_bad_requests_leaves_the_server_answering(api):
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        statuses = [(await chat.post(content=content)).status_code for content in (
            b"", b"\xff\xfe", b"null", b"{" * 5000, json.dumps({"update_id": 1, "message": "x" * 20000}).encode(),
            json.dumps({"update_id": True}).encode())]
        statuses.append((await chat.post(message("hi"), secret="forged")).status_code)
        good = await chat.post(message("still there?"))
    assert all(status in (400, 403) for status in statuses), statuses
    assert good.status_code == 200 and [m.text for m in rasa.messages] == ["still there?"]
    assert api.sent() == [{"chat_id": str(CHAT), "text": "you said: still there?"}]


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
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:10/bot")  # the name outbound.py reads too
    assert TelegramInput.from_credentials({}).base_url == "http://127.0.0.1:10/bot"
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
    assert api.sent() == [{"chat_id": str(CHAT), "text": kb.current().say("channel_only_text")}] and "only read text" in kb.current().say("channel_only_text")


async def test_empty_text_gets_a_prompt_and_very_long_text_is_trimmed_with_a_note(api):
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        await chat.post(message("   "))
        await chat.post(message("x" * 20000))
    assert api.sent()[0] == {"chat_id": str(CHAT), "text": kb.current().say("channel_empty")}
    assert [len(m.text) for m in rasa.messages] == [5000]
    assert [m["text"] for m in api.sent()[1:]] == [sms.trimmed_text(), "you said:", "x" * 4096, "x" * 904]


async def test_a_photo_with_a_caption_is_answered_from_the_caption(api):
    rasa = Echo()
    photo = [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]
    async with Conversation(rasa, api) as chat:
        await chat.post(message(photo=photo, caption="what does this letter mean"))
    assert [m.text for m in rasa.messages] == ["what does this letter mean"]


async def test_a_replayed_update_is_answered_200_but_gets_no_second_turn(api):
    rasa = Echo()
    async with Conversation(rasa, api) as chat:
        first = await chat.post(message("hello"), update_id=555)
        replay = await chat.post(message("hello"), update_id=555)
        forged = await chat.post(message("hello"), update_id=556, secret="guessed")
    assert first.status_code == replay.status_code == 200 and forged.status_code == 403
    assert len(rasa.messages) == 1 and len(api.sent()) == 1


async def test_edited_messages_and_membership_changes_are_acknowledged_quietly(api):
    rasa = Echo()
    person = {"id": CHAT, "is_bot": False, "first_name": NAME}
    edited = {"edited_message": {"message_id": 7, "date": 1700000000, "edit_date": 1700000100, "text": "hi",
                                 "chat": {"id": CHAT, "type": "private"}, "from": person}}
    blocked = {"my_chat_member": {"chat": {"id": CHAT, "type": "private"}, "from": person, "date": 1700000000,
                                  "old_chat_member": {"status": "member", "user": person},
                                  "new_chat_member": {"status": "kicked", "until_date": 0, "user": person}}}
    async with Conversation(rasa, api) as chat:
        replies = [await chat.post(edited), await chat.post(blocked)]
    assert [r.status_code for r in replies] == [200, 200] and rasa.messages == [] and api.calls == []


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
    text = "مرحبا، أحتاج مساعدة 👋🏽 שלום 🏴󠁧󠁢󠁳󠁣󠁴󠁿 ❤️‍🩹 مجھے مدد چاہیے"  # Arabic, Hebrew, Urdu, joined emoji
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
    dead.close()  # nothing listens there any more
    async with Conversation(rasa, dead) as chat:
        reply = await chat.post(message("hello"))
    assert reply.status_code == 200 and rasa.messages
    assert "sendMessage failed" in caplog.text and str(CHAT) not in caplog.text and TOKEN not in caplog.text


async def test_an_answer_that_telegram_fails_with_a_5xx_is_sent_again_once(api):
    rasa = Echo()
    api.fail_next = [502]
    async with Conversation(rasa, api) as chat:
        await chat.post(message("hello"))
    assert api.sent() == [{"chat_id": str(CHAT), "text": "you said: hello"}]
