"""Logs never carry identifiers (bot/logging.yml, bot/log_redaction.py).

Run in fresh Python processes, as the servers do, so this test session's own logging is untouched.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
PHONE, EMAIL, NHS = "07700 900123", "jo.bloggs@example.com", "943 476 5919"
ENV = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")

# What Rasa and rasa-sdk do: read the logging file, then (re)install coloured console logging.
SCRIPT = r"""
import logging, logging.config, sys, yaml
logging.config.dictConfig(yaml.safe_load(open("bot/logging.yml")))
import coloredlogs
coloredlogs.install(level="DEBUG")
log = logging.getLogger("rasa.core.processor")
log.debug("Received user message 'call me on %s or %s' with intent", sys.argv[1], sys.argv[2])
logging.getLogger("sanic.access").info("POST /webhooks/rest/webhook {'message': 'NHS %s'}", sys.argv[3])
logging.getLogger().warning("f-string style: I live at 12 Acacia Avenue, G12 8QQ")
try:
    raise ValueError(f"could not parse {sys.argv[1]}")
except ValueError:
    logging.getLogger("actions").exception("Action failed for '%s'", sys.argv[2])
logging.getLogger("broken").error("a %s format %s", "bad")
print("DONE", flush=True)
"""


def test_the_logging_file_redacts_every_line_even_after_coloredlogs_takes_over() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, PHONE, EMAIL, NHS], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "DONE" in result.stdout, result.stderr
    log = result.stderr
    for secret in (PHONE, EMAIL, NHS, "12 Acacia Avenue", "8QQ"):
        assert secret not in log, f"{secret!r} in:\n{log}"
    assert "call me on [phone] or [email]" in log and "NHS [NHS number]" in log
    assert "I live at [address], G12" in log
    assert "ValueError: could not parse [phone]" in log, "tracebacks are redacted too"
    assert log.count("Received user message") == 1, "each line once: no second, unredacted handler"
    assert "a %s format %s ('bad',)" in log, "a broken format string is still logged, not lost"


def test_the_logging_file_loads_cleanly() -> None:
    """Rasa only logs at debug level when the file cannot be applied, so check it here."""
    code = ("import logging.config, yaml; from bot import log_redaction; "
            "logging.config.dictConfig(yaml.safe_load(open('bot/logging.yml'))); assert log_redaction.installed()")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, check=True, timeout=60)


@pytest.mark.parametrize("command", [["run"], ["run", "actions"]])
def test_both_servers_accept_the_logging_file_option(command: list[str]) -> None:
    result = subprocess.run([str(Path(sys.executable).with_name("rasa")), *command, "--help"], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--logging-config-file" in result.stdout


@pytest.mark.e2e
def test_the_real_action_server_logs_no_identifiers(tmp_path: Path) -> None:
    """Start rasa-sdk as scripts/run.py does, plus the logging file, and make it log what someone typed."""
    port = free_port()
    log_path = tmp_path / "actions.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("rasa")), "run", "actions", "--actions", "actions", "-p", str(port),
             "--logging-config-file", "bot/logging.yml"],
            cwd=ROOT, env=dict(ENV, SANIC_HOST="127.0.0.1"), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("action server did not start:\n" + log_path.read_text()[-3000:])
        body = {"next_action": f"call {PHONE} or {EMAIL}", "sender_id": "web-1", "domain": {},
                "tracker": {"sender_id": "web-1", "slots": {}, "latest_message": {}, "events": [], "paused": False,
                            "followup_action": None, "active_loop": {}, "latest_action_name": None}}
        reply = httpx.post(f"http://127.0.0.1:{port}/webhook", content=json.dumps(body),
                           headers={"Content-Type": "application/json"}, timeout=30)
        assert reply.status_code == 404  # an unknown action: rasa-sdk logs its name as an error
        time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    text = log_path.read_text()
    assert "No registered action found for name 'call [phone] or [email]'" in text, text[-3000:]
    assert PHONE not in text and EMAIL not in text
