"""A stand-in for Telegram's Bot API on 127.0.0.1 (python-telegram-bot's ``base_url`` points here).

``POST /bot<token>/<method>`` answers ``{"ok": true, "result": ...}`` like Telegram and records
the method and its parameters; any other token gets Telegram's 404. ``fail_next`` (HTTP statuses)
and ``delay_next`` (seconds) make the next calls fail or answer slowly, to test retries.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

TOKEN = "123456789:AAFakeTokenForTests_abcdefghij"
_DESCRIPTIONS = {400: "Bad Request: chat not found", 403: "Forbidden: bot was blocked by the user",
                 500: "Internal Server Error", 502: "Bad Gateway"}


class FakeBotApi:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        self.fail_next: list[int] = []
        self.delay_next: list[float] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(body or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                prefix, _, method = self.path.rpartition("/")
                if prefix != f"/bot{api.token}":
                    return self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                with api._lock:
                    delay = api.delay_next.pop(0) if api.delay_next else 0.0
                    failure = api.fail_next.pop(0) if api.fail_next else None
                    if not failure and not delay:
                        api.calls.append((method, params))
                if delay:
                    time.sleep(delay)
                    return self._answer(504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"})
                if failure:
                    return self._answer(failure, {"ok": False, "error_code": failure,
                                                  "description": _DESCRIPTIONS.get(failure, "Error")})
                result: object = True
                if method == "sendMessage":
                    result = {"message_id": len(api.calls), "date": 1700000000, "text": params["text"],
                              "chat": {"id": int(params["chat_id"]), "type": "private"}}
                self._answer(200, {"ok": True, "result": result})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent(self) -> list[dict]:
        """Each accepted sendMessage's parameters, reply_markup decoded."""
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

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FakeBotApi":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
