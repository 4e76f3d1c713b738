"""The never-silent REST channel on a loopback Sanic server, with stand-ins for Rasa's message handler.

The real servers (action server killed, action server that never answers) are in
tests/e2e/test_resilience.py; these check the channel's own rules quickly.
"""
from __future__ import annotations

import asyncio
import itertools
import socket
import time

import httpx
import pytest
from sanic import Sanic

from channels.rest import SafeRestInput, answer_within, safe_replies, turn_timeout
from channels.webchat import MAX_MESSAGE_CHARS
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

_names = itertools.count()
Sanic.test_mode = True


async def _serve(on_new_message, seconds: float = 5):
    app = Sanic(f"rest_test_{next(_names)}")
    app.blueprint(SafeRestInput(seconds).blueprint(on_new_message), url_prefix="/webhooks/rest")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # a free port of our own (Sanic reads port=0 as 8000)
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    port = sock.getsockname()[1]
    return server, f"http://127.0.0.1:{port}/webhooks/rest"


async def echo(message):
    await message.output_channel.send_text_message(message.sender_id, f"you said: {message.text}")


async def broken(message):
    raise RuntimeError("Failed to execute custom action: couldn't connect to the action server")


async def silent(message):
    return None


async def hangs(message):
    await asyncio.sleep(3600)


async def post(base: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(base + "/webhook", **kwargs)


async def test_a_normal_turn_is_passed_through_unchanged():
    server, base = await _serve(echo)
    try:
        reply = await post(base, json={"sender": "e2e-1", "message": "hello"})
        async with httpx.AsyncClient() as client:
            health = await client.get(base + "/")
    finally:
        await server.close()
    assert reply.status_code == 200 and reply.json() == [{"recipient_id": "e2e-1", "text": "you said: hello"}]
    assert health.json() == {"status": "ok"}


@pytest.mark.parametrize("handler", [broken, silent], ids=["turn fails", "bot says nothing"])
async def test_a_failed_or_empty_turn_still_gets_a_helpline_number(handler, knowledge):
    server, base = await _serve(handler)
    try:
        reply = await post(base, json={"sender": "e2e-2", "message": "what benefits can I get"})
    finally:
        await server.close()
    text = " ".join(m["text"] for m in reply.json())
    assert reply.status_code == 200
    assert knowledge.helplines["macmillan_support_line"]["phone"] in text and "999" in text


async def test_a_crisis_message_gets_the_crisis_answer_even_when_the_turn_fails():
    server, base = await _serve(broken)
    try:
        reply = await post(base, json={"sender": "e2e-3", "message": "I want to end my life"})
    finally:
        await server.close()
    text = reply.json()[0]["text"]
    assert "116 123" in text and "999" in text and "85258" in text
    assert "0808 808 8000" in text, "nation unknown here: every nation's line is listed"


async def test_a_turn_that_hangs_is_answered_within_the_time_limit(knowledge):
    server, base = await _serve(hangs, seconds=1)
    try:
        start = time.monotonic()
        reply = await post(base, json={"sender": "e2e-4", "message": "hello"})
        took = time.monotonic() - start
    finally:
        await server.close()
    assert took < 5, f"took {took:.1f} s"
    assert knowledge.helplines["macmillan_support_line"]["phone"] in reply.json()[0]["text"]


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"content": b"{not json"}, "wasn't JSON"),
        ({"json": ["a list"]}, "wasn't JSON"),
        ({"json": {"message": "hello"}}, "sender must be"),
        ({"json": {"sender": "has spaces", "message": "hello"}}, "sender must be"),
        ({"json": {"sender": "x" * 129, "message": "hello"}}, "sender must be"),
        ({"json": {"sender": "e2e-5"}}, "message must be"),
        ({"json": {"sender": "e2e-5", "message": "   "}}, "message must be"),
        ({"json": {"sender": "e2e-5", "message": 7}}, "message must be"),
    ],
)
async def test_bad_requests_get_a_clear_400_and_no_turn(kwargs, says):
    turns: list[UserMessage] = []

    async def record(message):
        turns.append(message)

    server, base = await _serve(record)
    try:
        reply = await post(base, **kwargs)
    finally:
        await server.close()
    assert reply.status_code == 400 and says in reply.json()["error"] and turns == []


async def test_a_very_long_message_is_trimmed_not_refused():
    seen: list[str] = []

    async def record(message):
        seen.append(message.text)
        await echo(message)

    server, base = await _serve(record)
    try:
        reply = await post(base, json={"sender": "e2e-6", "message": "a" * (MAX_MESSAGE_CHARS + 100)})
    finally:
        await server.close()
    assert reply.status_code == 200 and len(seen[0]) == MAX_MESSAGE_CHARS


async def test_answer_within_leaves_an_answer_in_the_collector():
    collector = CollectingOutputChannel()
    await answer_within(hangs, UserMessage("hi", collector, "x"), 0.2)
    assert collector.messages and "999" in collector.messages[0]["text"]


def test_safe_replies_keeps_real_replies():
    real = [{"recipient_id": "x", "text": "hello"}]
    assert safe_replies(real, "I want to die") is real
    assert safe_replies([{"recipient_id": "x", "buttons": [{"title": "Yes", "payload": "/affirm"}]}], "x")[0]["buttons"]


@pytest.mark.parametrize("value, seconds", [(None, 20.0), ("", 20.0), ("5", 5.0), ("2.5", 2.5)])
def test_turn_timeout_setting(value, seconds):
    assert turn_timeout({} if value is None else {"SIGNPOST_TURN_TIMEOUT": value}) == seconds


@pytest.mark.parametrize("value", ["soon", "0", "301", "-1"])
def test_a_bad_turn_timeout_stops_start_up_with_a_clear_message(value):
    with pytest.raises(ValueError, match="SIGNPOST_TURN_TIMEOUT"):
        turn_timeout({"SIGNPOST_TURN_TIMEOUT": value})


def test_credentials_build_the_channel_under_rasas_rest_url():
    channel = SafeRestInput.from_credentials(None)
    assert channel.name() == "rest" and isinstance(channel, SafeRestInput) and channel.seconds == 20.0
