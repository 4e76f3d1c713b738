"""A stand-in for Twilio's REST API on 127.0.0.1, recording every message the bot sends.

    with FakeTwilio(account_sid="AC...", auth_token="...") as twilio:
        monkeypatch.setenv("TWILIO_API_BASE", twilio.base_url)
        ... deliver(...) ...
        assert twilio.messages == [{"To": "+44...", "From": "+44...", "Body": "..."}]

Only ``POST /2010-04-01/Accounts/<sid>/Messages.json`` exists, with HTTP basic auth (sid, token)
as Twilio checks it; the answer is a JSON body shaped like Twilio's (sid, status "queued",
num_segments...). ``fail_next`` (HTTP statuses) and ``delay_next`` (seconds) make the next calls
fail or answer slowly, to test retries.
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token"


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: list[dict[str, Any]] = []  # every call: path, auth_ok, form
        self.fail_next: list[int] = []
        self.delay_next: list[float] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                expected = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                auth_ok = self.headers.get("Authorization") == expected
                self.record = {"path": self.path, "auth_ok": auth_ok, "form": form, "status": None,
                               "content_type": self.headers.get("Content-Type", "")}
                with fake._lock:
                    fake.requests.append(self.record)
                    delay = fake.delay_next.pop(0) if fake.delay_next else 0.0
                    failure = fake.fail_next.pop(0) if fake.fail_next else None
                if delay:
                    time.sleep(delay)
                if self.path != f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                    return self._answer(404, {"code": 20404, "message": "The requested resource was not found",
                                              "status": 404})
                if not auth_ok:
                    return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                if failure:
                    return self._answer(failure, {"code": 20500, "message": "Internal Server Error",
                                                  "status": failure})
                if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")):
                    return self._answer(400, {"code": 21604, "message": "A 'To' phone number is required.",
                                              "status": 400})
                sid = f"SM{next(fake._ids):032x}"
                self._answer(201, {
                    "sid": sid, "account_sid": fake.account_sid, "to": form["To"], "from": form.get("From"),
                    "body": form.get("Body", ""), "status": "queued", "direction": "outbound-api",
                    "num_segments": "1", "num_media": "0", "api_version": "2010-04-01", "price": None,
                    "date_created": "Mon, 23 Nov 2026 13:00:00 +0000", "date_updated": "Mon, 23 Nov 2026 13:00:00 +0000",
                    "date_sent": None, "error_code": None, "error_message": None, "messaging_service_sid": None,
                    "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
                    "subresource_uris": {"media": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}/Media.json"},
                })

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.record["status"] = status
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
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def messages(self) -> list[dict[str, str]]:
        """The messages Twilio accepted (201): To, From and Body of each, in order."""
        return [{k: r["form"][k] for k in ("To", "From", "Body") if k in r["form"]}
                for r in self.requests if r["status"] == 201]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FakeTwilio":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
