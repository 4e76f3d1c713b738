"""A small reverse proxy on 127.0.0.1 that spreads requests over several servers of one kind.

Why: the production profile runs two or more Rasa servers (and two action servers) so that a
busy or restarting process does not stop the service. Any instance can serve any turn because
conversations live in PostgreSQL and Redis holds the per-conversation lock; this proxy only has
to pick a live instance and pass the request through unchanged.

- Least busy first: the instance with the fewest requests in flight, ties taken in turn.
- Health-checked: each instance's health path is polled; one that fails (or refuses a
  connection) gets no traffic until it answers again. A request whose instance refuses the
  connection is tried on another one, since nothing of it was sent yet. Once the body has
  started to flow a failure is reported (502) rather than replayed: the turn may have happened.
- Transparent: method, path, query, body and headers (X-Twilio-Signature, Authorization,
  X-Telegram-Bot-Api-Secret-Token...) go through untouched, bodies stream both ways, and
  compressed responses are not decoded. Only hop-by-hop headers are dropped, as HTTP requires,
  and X-Forwarded-For/-Host/-Proto are added.
- WebSockets (socket.io) are proxied, and a socket.io long-polling session stays on the instance
  that opened it (its sid is learnt from the handshake).

Usage:
    python scripts/balancer.py --port 5005 --health / http://127.0.0.1:5006 http://127.0.0.1:5007
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import re
import sys
from dataclasses import dataclass, field
from typing import AsyncIterator, Optional, Sequence

import aiohttp
from aiohttp import web
from yarl import URL

logger = logging.getLogger("signpost.balancer")

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"})
SOCKETIO_SID = re.compile(rb'"sid"\s*:\s*"([^"]+)"')
STICKY_LIMIT = 10_000  # socket.io sessions remembered (oldest forgotten first)
SLOW_CHECKS = 5  # health checks timing out in a row before a (busy, not refusing) backend counts as down


@dataclass
class Backend:
    """One upstream server: where it is, whether it answers, and how busy it is now."""

    url: str
    healthy: bool = True
    in_flight: int = 0
    served: int = 0
    failures: int = 0
    slow_checks: int = 0

    def __str__(self) -> str:
        return self.url


@dataclass
class Pool:
    """The upstream servers and the rule for choosing one (least busy, ties in turn)."""

    backends: list[Backend]
    _turn: "itertools.count[int]" = field(default_factory=itertools.count)

    def choose(self, exclude: Sequence[Backend] = ()) -> Optional[Backend]:
        """The healthy backend with the fewest requests in flight; None when none is left."""
        candidates = [b for b in self.backends if b.healthy and b not in exclude]
        if not candidates:
            # all marked down: try one anyway rather than refuse (the health check may lag a restart)
            candidates = [b for b in self.backends if b not in exclude]
        if not candidates:
            return None
        fewest = min(b.in_flight for b in candidates)
        tied = [b for b in candidates if b.in_flight == fewest]
        return tied[next(self._turn) % len(tied)]

    def find(self, url: str) -> Optional[Backend]:
        return next((b for b in self.backends if b.url == url), None)


def forward_headers(request: web.Request) -> dict[str, str]:
    """The client's headers minus hop-by-hop ones (and those named in Connection), plus X-Forwarded-*."""
    named = {token.strip().lower() for token in request.headers.get("Connection", "").split(",") if token.strip()}
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in named:
            continue
        headers[name] = value if name not in headers else headers[name] + ", " + value
    peer = request.remote or ""
    previous = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{previous}, {peer}" if previous else peer
    headers.setdefault("X-Forwarded-Host", request.host)
    headers.setdefault("X-Forwarded-Proto", request.scheme)
    return headers


def response_headers(upstream: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    named = {t.strip().lower() for t in upstream.headers.get("Connection", "").split(",") if t.strip()}
    return [(k, v) for k, v in upstream.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in named and k.lower() != "content-length"]


class Balancer:
    """The proxy: an aiohttp app that forwards every request to a backend chosen from the pool."""

    def __init__(self, urls: Sequence[str], health_path: str = "/", health_interval: float = 1.0,
                 timeout: float = 300.0) -> None:
        self.pool = Pool([Backend(url.rstrip("/")) for url in urls])
        self.health_path = health_path
        self.health_interval = health_interval
        self.timeout = timeout
        self.sticky: dict[str, Backend] = {}  # socket.io sid -> backend
        self.session: Optional[aiohttp.ClientSession] = None
        self._health_task: Optional[asyncio.Task] = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self, _app: web.Application) -> None:
        self.session = aiohttp.ClientSession(
            auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, connect=5, sock_read=self.timeout),
            # a new upstream connection per request (cheap on loopback): a request is never written to a
            # pooled connection whose server has died or is closing it, so "connection refused" (nothing
            # sent yet: safe to try another server) is the only way a dead server shows up
            connector=aiohttp.TCPConnector(limit=0, force_close=True))
        await self.check_all()
        self._health_task = asyncio.create_task(self._health_loop())

    async def stop(self, _app: web.Application) -> None:
        if self._health_task:
            self._health_task.cancel()
        if self.session:
            await self.session.close()

    def app(self) -> web.Application:
        application = web.Application(client_max_size=0)
        application.on_startup.append(self.start)
        application.on_cleanup.append(self.stop)
        application.router.add_route("GET", "/_balancer/status", self.status)
        application.router.add_route("*", "/{tail:.*}", self.handle)
        return application

    # ------------------------------------------------------------------ health
    async def check(self, backend: Backend) -> None:
        """Down at once when it refuses connections or errs; only after SLOW_CHECKS slow answers in a row.

        A Rasa server busy with a turn can be slow to answer its health check; that is not a reason
        to send it nothing (it would get the next burst all at once when it is back).
        """
        assert self.session is not None
        try:
            async with self.session.get(backend.url + self.health_path,
                                        timeout=aiohttp.ClientTimeout(total=2)) as reply:
                await reply.read()
                ok = reply.status < 500
            backend.slow_checks = 0
        except asyncio.TimeoutError:
            backend.slow_checks += 1
            ok = backend.slow_checks < SLOW_CHECKS
        except (aiohttp.ClientError, OSError):
            ok = False
        if ok != backend.healthy:
            logger.warning("%s is %s", backend, "back" if ok else "down")
        backend.healthy = ok

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(b) for b in self.pool.backends))

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            await self.check_all()

    async def status(self, _request: web.Request) -> web.Response:
        return web.json_response([{"url": b.url, "healthy": b.healthy, "in_flight": b.in_flight,
                                   "served": b.served, "failures": b.failures} for b in self.pool.backends])

    # ------------------------------------------------------------------ proxying
    def _sticky_backend(self, request: web.Request) -> Optional[Backend]:
        sid = request.query.get("sid")
        if sid and request.path.startswith("/socket.io"):
            return self.sticky.get(sid)
        return None

    def _remember_sid(self, body: bytes, backend: Backend) -> None:
        match = SOCKETIO_SID.search(body[:512])
        if match:
            if len(self.sticky) >= STICKY_LIMIT:
                self.sticky.pop(next(iter(self.sticky)))
            self.sticky[match.group(1).decode()] = backend

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.websocket(request)
        pinned = self._sticky_backend(request)
        tried: list[Backend] = []
        while True:
            backend = pinned if pinned is not None and not tried else self.pool.choose(tried)
            if backend is None:
                return web.Response(status=503, text="No server is available right now; please try again.\n")
            tried.append(backend)
            started = [False]
            try:
                return await self._forward(request, backend, started)
            except aiohttp.ClientConnectorError as exc:  # refused: nothing was sent, so another may answer
                backend.failures += 1
                backend.healthy = False
                if started[0]:  # (never seen: the body is only read once connected) cannot replay a half-read body
                    return web.Response(status=502, text="The server could not be reached; please try again.\n")
                logger.warning("%s refused %s %s (%s); trying another", backend, request.method, request.path, exc)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # the server went away while it had the request: it may have acted on it, so not replayed
                backend.failures += 1
                logger.warning("%s failed during %s %s: %s", backend, request.method, request.path, exc)
                return web.Response(status=502, text="The server stopped while answering; please try again.\n")
            except asyncio.TimeoutError:
                backend.failures += 1
                return web.Response(status=504, text="The server took too long to answer.\n")

    async def _body(self, request: web.Request, started: list[bool]) -> AsyncIterator[bytes]:
        async for chunk in request.content.iter_any():
            started[0] = True
            yield chunk

    async def _forward(self, request: web.Request, backend: Backend, started: list[bool]) -> web.StreamResponse:
        assert self.session is not None
        headers = forward_headers(request)
        has_body = request.body_exists
        data = self._body(request, started) if has_body else None
        backend.in_flight += 1
        try:
            # encoded=True: the path and query go exactly as the client sent them (Twilio signs the URL)
            async with self.session.request(request.method, URL(backend.url + request.raw_path, encoded=True),
                                            headers=headers, data=data, allow_redirects=False,
                                            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type")
                                            ) as upstream:
                started[0] = True
                backend.served += 1
                reply = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for name, value in response_headers(upstream):
                    reply.headers.add(name, value)
                if upstream.content_length is not None:
                    reply.content_length = upstream.content_length
                socketio_handshake = request.path.startswith("/socket.io") and "sid" not in request.query
                await reply.prepare(request)
                async for chunk in upstream.content.iter_any():
                    if socketio_handshake:
                        self._remember_sid(chunk, backend)
                        socketio_handshake = False
                    await reply.write(chunk)
                await reply.write_eof()
                return reply
        finally:
            backend.in_flight -= 1

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """Proxy a WebSocket both ways for as long as either side keeps it open."""
        assert self.session is not None
        backend = self._sticky_backend(request) or self.pool.choose()
        if backend is None:
            return web.Response(status=503, text="No server is available right now; please try again.\n")
        headers = {k: v for k, v in forward_headers(request).items()
                   if not k.lower().startswith("sec-websocket")}
        backend.in_flight += 1
        try:
            async with self.session.ws_connect(URL(backend.url.replace("http", "ws", 1) + request.raw_path, encoded=True),
                                               headers=headers, autoping=False) as upstream:
                client = web.WebSocketResponse(autoping=False)
                await client.prepare(request)

                async def pump(source, sink) -> None:  # type: ignore[no-untyped-def]
                    async for message in source:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            await sink.send_str(message.data)
                        elif message.type == aiohttp.WSMsgType.BINARY:
                            await sink.send_bytes(message.data)
                        elif message.type == aiohttp.WSMsgType.PING:
                            await sink.ping(message.data)
                        elif message.type == aiohttp.WSMsgType.PONG:
                            await sink.pong(message.data)
                        else:
                            break
                    await sink.close()

                await asyncio.gather(pump(client, upstream), pump(upstream, client), return_exceptions=True)
                return client
        except aiohttp.ClientError as exc:
            backend.failures += 1
            logger.warning("WebSocket to %s failed: %s", backend, exc)
            return web.Response(status=502, text="The server could not be reached.\n")
        finally:
            backend.in_flight -= 1


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (it comes with Sanic, under Rasa), else asyncio's own.

    Every turn passes through a balancer twice or more (the Rasa server, then each action call), so
    its cost per request adds up; uvloop's loop does the same work with less CPU.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Spread HTTP requests over several local servers.")
    parser.add_argument("backends", nargs="+", help="upstream base URLs, e.g. http://127.0.0.1:5006")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--health", default="/", help="health path polled on each backend (default /)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between health checks")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s balancer:{args.port} %(message)s")
    balancer = Balancer(args.backends, args.health, args.interval)
    print(f"Balancer on {args.host}:{args.port} -> {', '.join(args.backends)}", flush=True)
    loop = new_event_loop()
    try:  # SIGINT and SIGTERM stop it gracefully (aiohttp's own handlers)
        web.run_app(balancer.app(), host=args.host, port=args.port, print=None, access_log=None, loop=loop)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
