"""The production profile's settings (scripts/production.py): environment over .env over defaults,
clear errors for settings that cannot work, and the endpoints file Rasa gets.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import production  # noqa: E402
import run  # noqa: E402


def test_environment_wins_over_env_file_which_wins_over_defaults(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\n\nexport SIGNPOST_RASA_INSTANCES=3\nREDIS_URL='redis://127.0.0.1:6380/4'\n"
                        "TWILIO_AUTH_TOKEN=\"abc\"\nSIGNPOST_LOCK_PREFIX=fromfile\n")
    cfg = production.settings({"SIGNPOST_ENV_FILE": str(env_file), "SIGNPOST_LOCK_PREFIX": "fromenv"})
    assert cfg["SIGNPOST_RASA_INSTANCES"] == "3" and cfg["REDIS_URL"] == "redis://127.0.0.1:6380/4"
    assert cfg["SIGNPOST_LOCK_PREFIX"] == "fromenv" and cfg["TWILIO_AUTH_TOKEN"] == "abc"
    assert cfg["SIGNPOST_ACTIONS_INSTANCES"] == "2"  # a default
    assert cfg["SIGNPOST_TRACKER_URL"] == cfg["DATABASE_URL"]  # empty means the same database


def test_the_example_file_is_complete_and_valid():
    example = production.read_env_file(ROOT / ".env.example")
    assert set(production.DEFAULTS) <= set(example), "document every setting in .env.example"
    production.settings({"SIGNPOST_ENV_FILE": str(ROOT / ".env.example")})


@pytest.mark.parametrize("setting, value, words", [
    ("DATABASE_URL", "sqlite:///x.db", "must be a PostgreSQL URL"),
    ("SIGNPOST_RASA_INSTANCES", "0", "from 1 to 16"),
    ("SIGNPOST_LOCK_PREFIX", "my-prefix", "letters and digits"),
    ("REDIS_URL", "127.0.0.1:6379", "redis://"),
    ("RABBITMQ_URL", "http://x", "amqp://"),
    ("SIGNPOST_OUTCOMES", "yes", "SIGNPOST_OUTCOMES='yes': on or off"),
    ("SIGNPOST_DIRECT_ACTIONS", "true", "SIGNPOST_DIRECT_ACTIONS='true': on or off"),
    ("SIGNPOST_TRACKER_SYNCHRONOUS_COMMIT", "1", "SIGNPOST_TRACKER_SYNCHRONOUS_COMMIT='1': on or off"),
])
def test_settings_that_cannot_work_are_named(setting, value, words):
    with pytest.raises(production.SettingsError, match=words):
        production.settings({"SIGNPOST_ENV_FILE": "", setting: value})


def test_a_broken_env_file_line_is_named(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("GOOD=1\nthis is not a setting\n")
    with pytest.raises(production.SettingsError, match=r"\.env:2"):
        production.settings({"SIGNPOST_ENV_FILE": str(env_file)})


def test_endpoints_for_rasa():
    cfg = production.settings({"SIGNPOST_ENV_FILE": "", "REDIS_URL": "redis://:s3cret@127.0.0.1:6379/2",
                               "RABBITMQ_URL": "amqp://bot:pw@127.0.0.1:5673/signpost"})
    values = production.placeholders(cfg, "http://127.0.0.1:5055/webhook")
    endpoints = production.render_endpoints((ROOT / "bot" / "endpoints.production.yml").read_text(), values)
    assert endpoints["action_endpoint"] == {"url": "http://127.0.0.1:5055/webhook"}
    assert endpoints["tracker_store"] == {"type": "bot.tracker_store.SignpostTrackerStore", "url": cfg["DATABASE_URL"]}
    assert endpoints["lock_store"] == {"type": "bot.lock_store.AtomicRedisLockStore", "url": "127.0.0.1",
                                       "port": 6379, "db": 2, "password": "s3cret", "key_prefix": "signpost"}
    assert endpoints["event_broker"] == {"type": "bot.event_broker.TurnPikaEventBroker", "url": "amqp://127.0.0.1:5673/signpost?heartbeat=600", "port": 5673,
                                         "username": "bot", "password": "pw", "exchange_name": "signpost-events",
                                         "queues": ["signpost-outcomes"]}
    assert "${" not in yaml.safe_dump(endpoints)
    with pytest.raises(production.SettingsError, match="SIGNPOST_ACTIONS_URL"):
        production.render_endpoints("action_endpoint: {url: '${SIGNPOST_ACTIONS_URL}'}", {})


@pytest.mark.parametrize("direct", ["on", "off"])
def test_each_rasa_server_gets_an_action_server_of_its_own_unless_switched_off(tmp_path, direct):
    cfg = production.settings({"SIGNPOST_ENV_FILE": "", "SIGNPOST_STATE_DIR": str(tmp_path),
                               "SIGNPOST_RASA_INSTANCES": "3", "SIGNPOST_DIRECT_ACTIONS": direct})
    stack = production.Stack(cfg)
    action_urls = [f"http://127.0.0.1:{child.port}/webhook" for child in stack.actions]
    seen = []
    for child in stack.rasa:
        endpoints = yaml.safe_load(Path(child.command[child.command.index("--endpoints") + 1]).read_text())
        assert endpoints["action_endpoint"]["url"] == f"http://127.0.0.1:{stack.actions_port}/webhook"  # the balancer
        seen.append(endpoints["action_endpoint"].get("direct_url"))
    assert seen == ([action_urls[0], action_urls[1], action_urls[0]] if direct == "on" else [None] * 3)


def test_profile_choice(monkeypatch):
    monkeypatch.delenv("SIGNPOST_PROFILE", raising=False)
    assert run.profile([]) == "embedded"
    assert run.profile(["--profile", "production"]) == "production"
    assert run.profile(["--profile="]) == "embedded"  # `make run PROFILE=` with nothing
    monkeypatch.setenv("SIGNPOST_PROFILE", "production")
    assert run.profile([]) == "production"
    assert run.main(["--profile", "cloud"]) == 2


def test_api_token_reaches_rasa_in_the_embedded_profile(monkeypatch):
    monkeypatch.setenv("SIGNPOST_API_TOKEN", "t0ken")
    monkeypatch.setenv("SIGNPOST_TRACKER_DB", "/tmp/signpost-test-tracker/tracker.db")
    Path("/tmp/signpost-test-tracker").mkdir(exist_ok=True)
    _, rasa = run.commands(run.settings())
    assert rasa[rasa.index("--auth-token") + 1] == "t0ken" and rasa[rasa.index("--interface") + 1] == "127.0.0.1"
    monkeypatch.delenv("SIGNPOST_API_TOKEN")
    assert "--auth-token" not in run.commands(run.settings())[1]
