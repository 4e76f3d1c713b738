"""The web chat connector on a loopback Sanic server, with a stand-in for Rasa's message handler."""
from __future__ import annotations

import itertools

import httpx
import pytest
from sanic import Sanic

from channels.webchat import WebChatInput

pytestmark = pytest.mark.asyncio


_names = itertools.count()
Sanic.test_mode = True  # lets several apps start in one process (Sanic 21.12 rewrites its protocol otherwise)


async def _serve(on_new_message):
    app = Sanic(f"webchat_test_{next(_names)}")
    app.blueprint(WebChatInput().blueprint(on_new_message), url_prefix="/webhooks/webchat")
    server = await app.create_server(host="127.0.0.1", port=0, return_asyncio_server=True)
    await server.startup()
    port = server.server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/webhooks/webchat"


async def echo(message):
    await message.output_channel.send_text_message(message.sender_id, f"you said: {message.text}")


async def broken(message):
    raise RuntimeError("action server down")


async def silent(message):
    return None


async def test_page_and_script_are_served_safely():
    server, base = await _serve(echo)
    try:
        async with httpx.AsyncClient() as client:
            page = await client.get(base + "/")
            script = await client.get(base + "/static/chat.js")
            escape = await client.get(base + "/static/..%2F..%2Fwebchat.py")
        assert page.status_code == 200 and 'role="log"' in page.text and "Leave this site quickly" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert script.status_code == 200 and "textContent" in script.text and "innerHTML" not in script.text
        assert escape.status_code == 404
    finally:
        await server.close()


async def test_messages_go_through_and_bad_input_gets_400():
    server, base = await _serve(echo)
    try:
        async with httpx.AsyncClient() as client:
            ok = await client.post(base + "/webhook", json={"sender": "web-1", "message": "hello 👋 مرحبا"})
            not_json = await client.post(base + "/webhook", content=b"{oops")
            empty = await client.post(base + "/webhook", json={"sender": "web-1", "message": "   "})
            no_sender = await client.post(base + "/webhook", json={"message": "hi"})
            huge = await client.post(base + "/webhook", json={"sender": "web-1", "message": "x" * 20000})
        assert ok.status_code == 200 and ok.json()[0]["text"] == "you said: hello 👋 مرحبا"
        assert not_json.status_code == 400 and empty.status_code == 400 and no_sender.status_code == 400
        assert huge.status_code == 200 and len(huge.json()[0]["text"]) == len("you said: ") + 5000
    finally:
        await server.close()


@pytest.mark.parametrize("handler", [broken, silent])
async def test_a_failed_or_silent_turn_still_gives_a_helpline(handler, knowledge):
    server, base = await _serve(handler)
    try:
        async with httpx.AsyncClient() as client:
            reply = await client.post(base + "/webhook", json={"sender": "web-2", "message": "hello"})
        text = reply.json()[0]["text"]
        assert reply.status_code == 200
        assert knowledge.helplines["macmillan_support_line"]["phone"] in text and "999" in text
    finally:
        await server.close()
