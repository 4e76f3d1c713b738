"""The local balancer (scripts/balancer.py) in front of small stand-in servers on 127.0.0.1.

What a user of the production profile would notice: every request is answered while any server
is up, the busy server is spared, a server that stops is routed around, and what Twilio or
Telegram sent (signature headers, form bodies, big bodies) reaches the server byte for byte.
"""
from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import os
import socket
import sys
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import httpx
import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import balancer  # noqa: E402



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def upstream_app(name: str) -> web.Application:
    """A stand-in server that says who it is and what it received."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({
            "server": name, "method": request.method, "path": request.raw_path, "host": request.headers.get("Host"),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body_sha256": hashlib.sha256(body).hexdigest(), "body_length": len(body),
            "body_text": body.decode(errors="replace")[:200],
        })

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("seconds", "1")))
        return web.json_response({"server": name})

    async def gzipped(_request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b"compressed hello " * 100),
                            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})

    async def stream(request: web.Request) -> web.StreamResponse:
        reply = web.StreamResponse()
        await reply.prepare(request)
        for index in range(3):
            await reply.write(f"part {index}\n".encode())
            await asyncio.sleep(0.4)
        await reply.write_eof()
        return reply

    async def socket_(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"{name} heard {message.data}")
        return ws

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/", lambda _r: web.Response(text="Hello from Rasa"))
    app.router.add_get("/slow", slow)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/stream", stream)
    app.router.add_get("/ws", socket_)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@contextlib.asynccontextmanager
async def serving(app: web.Application, port: int) -> AsyncIterator[web.AppRunner]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield runner
    finally:
        await runner.cleanup()


@pytest.fixture()
async def stack():
    """Two stand-in servers (a, b) behind a balancer; yields (balancer URL, {name: runner}, balancer)."""
    ports = {"a": free_port(), "b": free_port()}
    front = free_port()
    runners = {}
    async with contextlib.AsyncExitStack() as stack_:
        for name, port in ports.items():
            runners[name] = await stack_.enter_async_context(serving(upstream_app(name), port))
        proxy = balancer.Balancer([f"http://127.0.0.1:{p}" for p in ports.values()], "/", health_interval=0.2)
        await stack_.enter_async_context(serving(proxy.app(), front))
        yield f"http://127.0.0.1:{front}", runners, proxy


async def test_requests_are_shared_between_the_servers(stack):
    base, _, _ = stack
    async with httpx.AsyncClient(base_url=base) as client:
        served = [(await client.get("/webhooks/rest/webhook")).json()["server"] for _ in range(10)]
    assert served.count("a") == 5 and served.count("b") == 5


async def test_a_busy_server_is_spared(stack):
    base, _, _ = stack
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        slow = asyncio.create_task(client.get("/slow", params={"seconds": "1.5"}))
        await asyncio.sleep(0.3)  # the slow request is now in flight on one server
        quick = [(await client.get("/ping")).json()["server"] for _ in range(4)]
        busy = (await slow).json()["server"]
    assert busy not in quick and len(set(quick)) == 1


async def test_twilio_signature_form_body_and_host_reach_the_server_untouched(stack):
    base, _, _ = stack
    form = "Body=Hello%20there&From=whatsapp%3A%2B447700900123&To=%2B441234567890&MessageSid=SM123"
    headers = {"X-Twilio-Signature": "q1w2e3r4t5y6u7i8o9p0+/=", "Content-Type": "application/x-www-form-urlencoded",
               "Host": "signpost.example.org", "X-Telegram-Bot-Api-Secret-Token": "s3cret", "Authorization": "Bearer t"}
    async with httpx.AsyncClient(base_url=base) as client:
        seen = (await client.post("/webhooks/twilio_sms/webhook?x=1&y=%2F", content=form, headers=headers)).json()
    assert seen["path"] == "/webhooks/twilio_sms/webhook?x=1&y=%2F"
    assert seen["host"] == "signpost.example.org"
    for name, value in headers.items():
        assert seen["headers"][name.lower()] == value
    assert seen["body_text"] == form
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"


async def test_a_big_body_streams_through_byte_for_byte(stack):
    base, _, _ = stack
    body = os.urandom(5 * 1024 * 1024)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(body), 256 * 1024):
            yield body[start:start + 256 * 1024]

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        sized = (await client.post("/upload", content=body)).json()
        chunked = (await client.post("/upload", content=chunks())).json()
    for seen in (sized, chunked):
        assert seen["body_length"] == len(body) and seen["body_sha256"] == hashlib.sha256(body).hexdigest()


async def test_responses_stream_and_compressed_bodies_are_not_decoded(stack):
    base, _, _ = stack
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        async with client.stream("GET", "/stream") as reply:
            started = asyncio.get_running_loop().time()
            first = await reply.aiter_raw().__anext__()
            first_after = asyncio.get_running_loop().time() - started
        zipped = await client.get("/gzip", headers={"Accept-Encoding": "gzip"})
    assert first.startswith(b"part 0") and first_after < 0.35  # the first part came before the last was written
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.text == "compressed hello " * 100


async def test_a_server_that_stops_is_routed_around(stack):
    base, runners, proxy = stack
    await runners["a"].cleanup()  # server a goes away without warning
    async with httpx.AsyncClient(base_url=base) as client:
        replies = [await client.post("/webhooks/rest/webhook", json={"message": "hi"}) for _ in range(6)]
        await asyncio.sleep(0.5)
        status = (await client.get("/_balancer/status")).json()
    assert [r.status_code for r in replies] == [200] * 6
    assert {r.json()["server"] for r in replies} == {"b"}
    assert [s["healthy"] for s in status] == [False, True]


async def test_no_server_up_is_a_clear_503(stack):
    base, runners, _ = stack
    for runner in runners.values():
        await runner.cleanup()
    async with httpx.AsyncClient(base_url=base) as client:
        reply = await client.post("/webhooks/rest/webhook", json={"message": "hi"})
    assert reply.status_code == 503 and "try again" in reply.text


async def test_websockets_are_proxied_both_ways(stack):
    base, _, _ = stack
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(base.replace("http", "ws") + "/ws") as ws:
            await ws.send_str("hello")
            reply = await ws.receive(timeout=5)
    assert reply.type == aiohttp.WSMsgType.TEXT and reply.data.endswith("heard hello")


async def test_socketio_polling_stays_on_the_server_that_opened_it():
    """A socket.io long-polling session is pinned to the server that knows its sid."""
    handshake = '0{"sid":"abc123","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}'
    ports = {"a": free_port(), "b": free_port()}
    front = free_port()

    def app(name: str) -> web.Application:
        async def engine(request: web.Request) -> web.Response:
            if "sid" not in request.query:
                return web.Response(text=handshake if name == "a" else handshake.replace("abc123", "zzz999"))
            return web.Response(text=json.dumps({"server": name, "sid": request.query["sid"]}))

        application = web.Application()
        application.router.add_get("/", lambda _r: web.Response(text="ok"))
        application.router.add_route("*", "/socket.io/", engine)
        return application

    async with contextlib.AsyncExitStack() as stack_:
        for name, port in ports.items():
            await stack_.enter_async_context(serving(app(name), port))
        proxy = balancer.Balancer([f"http://127.0.0.1:{p}" for p in ports.values()], "/")
        await stack_.enter_async_context(serving(proxy.app(), front))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{front}") as client:
            opened = (await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})).text
            sid = json.loads(opened[1:])["sid"]
            owner = "a" if sid == "abc123" else "b"
            polls = [(await client.get("/socket.io/", params={"EIO": "4", "transport": "polling", "sid": sid})).json()
                     for _ in range(6)]
    assert {p["server"] for p in polls} == {owner}


def test_balancer_command_line_needs_a_port_and_backends(capsys):
    with pytest.raises(SystemExit):
        balancer.parse_args(["--port", "5005"])
    args = balancer.parse_args(["--port", "5005", "--health", "/health", "http://127.0.0.1:1", "http://127.0.0.1:2"])
    assert args.backends == ["http://127.0.0.1:1", "http://127.0.0.1:2"] and args.health == "/health"
