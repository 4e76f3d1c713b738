"""Start the real Signpost servers (`scripts/run.py`) on free 127.0.0.1 ports, for e2e and browser tests.

    with running_signpost(tmp_path, extra_env={...}) as server:
        httpx.post(f"{server.base}/webhooks/rest/webhook", ...)

Each server gets its own tracker database and log file; the log tail is shown if start-up fails.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Optional

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 400


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running Signpost: its base URL, ports, process (a process group of its own) and log file."""

    base: str
    rasa_port: int
    actions_port: int
    process: subprocess.Popen
    log_path: Path
    env: dict = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def say(self, sender: str, message: str, timeout: float = 60) -> list[dict]:
        """One turn over the REST channel."""
        reply = httpx.post(f"{self.base}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                           timeout=timeout)
        reply.raise_for_status()
        return reply.json()

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=60)


def start(workdir: Path, extra_env: Optional[Mapping[str, str]] = None, rasa_port: Optional[int] = None,
          actions_port: Optional[int] = None) -> Server:
    """Start scripts/run.py and wait until it says it is running (or fail with the log's tail)."""
    import pytest

    workdir.mkdir(parents=True, exist_ok=True)
    rasa_port, actions_port = rasa_port or free_port(), actions_port or free_port()
    env = dict(os.environ, SIGNPOST_RASA_PORT=str(rasa_port), SIGNPOST_ACTIONS_PORT=str(actions_port),
               SIGNPOST_TRACKER_DB=str(workdir / "tracker.db"), PYTHONUNBUFFERED="1",
               RASA_TELEMETRY_ENABLED="false", PYTHONPATH=str(ROOT))
    env.update(extra_env or {})
    log_path = workdir / f"run-{rasa_port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{rasa_port}", rasa_port, actions_port, process, log_path, env)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if "Signpost is running" in server.log():
            return server
        if process.poll() is not None:
            pytest.fail("run.py exited early:\n" + server.log()[-5000:])
        time.sleep(1)
    server.stop()
    pytest.fail("Signpost did not start in time:\n" + server.log()[-5000:])
    raise AssertionError  # unreachable: pytest.fail raises


@contextlib.contextmanager
def running_signpost(workdir: Path, extra_env: Optional[Mapping[str, str]] = None) -> Iterator[Server]:
    server = start(workdir, extra_env)
    try:
        yield server
    finally:
        server.stop()
