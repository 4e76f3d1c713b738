"""The production profile of `scripts/run.py`: real stores, several Rasa and action servers, a balancer.

    make run PROFILE=production        (or: SIGNPOST_PROFILE=production python scripts/run.py)

What runs, all on 127.0.0.1:
- `signposting db upgrade` first: Alembic migrations for the project's tables, then the directory index.
- SIGNPOST_ACTIONS_INSTANCES action servers behind a balancer on SIGNPOST_ACTIONS_PORT (5055). Each
  Rasa server calls an action server of its own directly (the first Rasa server the first action
  server, and so on round), and the balancer when that one refuses a connection (a restart): one
  hop less on every call (scripts/rasa_server.py). SIGNPOST_DIRECT_ACTIONS=off sends every call
  through the balancer.
- SIGNPOST_RASA_INSTANCES Rasa servers behind a balancer on SIGNPOST_RASA_PORT (5005), all sharing
  PostgreSQL (tracker store), Redis (lock store) and RabbitMQ (event broker).
- the outcomes consumer (`signposting outcomes consume`), unless SIGNPOST_OUTCOMES=off;
- the follow-up scheduler (`signposting followups run`): check-in messages people asked for.

Why the supervisor restarts a process that dies: the others carry on meanwhile (the balancer sends
turns to the live instances), and since every conversation is in PostgreSQL a restarted server
resumes any conversation at the step it was at. Settings come from the environment, then `.env`
(SIGNPOST_ENV_FILE), then the defaults below; `.env.example` documents each one. The ports and
process ids of this run are written to SIGNPOST_STATE_DIR/production-<port>.json for tools and tests.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
NUMBER_KEYS = {"port", "db"}
RABBITMQ_HEARTBEAT = 600  # seconds; see placeholders()
RESTARTS_PER_MINUTE = 5  # a process that dies more often than this stops the whole run

DEFAULTS: dict[str, str] = {
    "SIGNPOST_RASA_PORT": "5005",
    "SIGNPOST_ACTIONS_PORT": "5055",
    "SIGNPOST_RASA_INSTANCES": "2",
    "SIGNPOST_ACTIONS_INSTANCES": "2",
    "SIGNPOST_DIRECT_ACTIONS": "on",
    "SIGNPOST_MODEL": str(ROOT / "models" / "signpost.tar.gz"),
    "SIGNPOST_STATE_DIR": str(ROOT / ".rasa"),
    "DATABASE_URL": "postgresql://127.0.0.1:5432/signpost",
    "SIGNPOST_TRACKER_URL": "",  # empty: the same database as DATABASE_URL
    "SIGNPOST_TRACKER_STORE_TYPE": "bot.tracker_store.SignpostTrackerStore",  # redacts; "SQL" is Rasa's own
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "SIGNPOST_TRACKER_SYNCHRONOUS_COMMIT": "off",  # see bot/tracker_store.py
    "SIGNPOST_LOCK_STORE_TYPE": "bot.lock_store.AtomicRedisLockStore",
    "SIGNPOST_LOCK_PREFIX": "signpost",
    "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
    "SIGNPOST_EVENTS_EXCHANGE": "signpost-events",
    "SIGNPOST_EVENTS_QUEUE": "signpost-outcomes",
    "SIGNPOST_EVENT_BROKER_TYPE": "bot.event_broker.TurnPikaEventBroker",  # a message a turn; "pika" is Rasa's own
    "SIGNPOST_OUTCOMES": "on",
    "SIGNPOST_API_TOKEN": "",
}


class SettingsError(ValueError):
    """A setting that cannot work; the message says which and what to do."""


# --------------------------------------------------------------------------- settings
def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments, blank lines and `export ` allowed; quotes around values removed)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Every production setting: the environment first, then the .env file, then DEFAULTS."""
    env_file = environ.get("SIGNPOST_ENV_FILE", str(ROOT / ".env"))
    from_file = read_env_file(Path(env_file)) if env_file else {}
    cfg = {key: environ.get(key, from_file.get(key, default)) for key, default in DEFAULTS.items()}
    for key, value in from_file.items():  # anything else in .env (TWILIO_AUTH_TOKEN...) reaches the children
        cfg.setdefault(key, environ.get(key, value))
    cfg["SIGNPOST_TRACKER_URL"] = cfg["SIGNPOST_TRACKER_URL"] or cfg["DATABASE_URL"]
    check(cfg)
    return cfg


def check(cfg: Mapping[str, str]) -> None:
    for key in ("SIGNPOST_RASA_INSTANCES", "SIGNPOST_ACTIONS_INSTANCES"):
        if not cfg[key].isdigit() or not 1 <= int(cfg[key]) <= 16:
            raise SettingsError(f"{key}={cfg[key]!r}: use a whole number from 1 to 16")
    for key in ("DATABASE_URL", "SIGNPOST_TRACKER_URL"):
        if not cfg[key].startswith(("postgresql://", "postgresql+psycopg2://")):
            raise SettingsError(f"{key} must be a PostgreSQL URL in the production profile (got {cfg[key]!r}); "
                                "the embedded profile is the one that uses SQLite")
    if not cfg["SIGNPOST_LOCK_PREFIX"].isalnum():
        raise SettingsError(f"SIGNPOST_LOCK_PREFIX={cfg['SIGNPOST_LOCK_PREFIX']!r}: letters and digits only")
    for key in ("SIGNPOST_OUTCOMES", "SIGNPOST_DIRECT_ACTIONS", "SIGNPOST_TRACKER_SYNCHRONOUS_COMMIT"):
        if cfg[key] not in ("on", "off"):
            raise SettingsError(f"{key}={cfg[key]!r}: on or off")
    redis_url = urllib.parse.urlsplit(cfg["REDIS_URL"])
    if redis_url.scheme != "redis" or not redis_url.hostname:
        raise SettingsError(f"REDIS_URL={cfg['REDIS_URL']!r}: expected redis://host:port/db")
    amqp = urllib.parse.urlsplit(cfg["RABBITMQ_URL"])
    if amqp.scheme not in ("amqp", "amqps") or not amqp.hostname:
        raise SettingsError(f"RABBITMQ_URL={cfg['RABBITMQ_URL']!r}: expected amqp://user:password@host:port/")


def placeholders(cfg: Mapping[str, str], actions_url: str, direct_actions_url: str = "") -> dict[str, str]:
    """The values bot/endpoints.production.yml asks for, from the settings.

    `actions_url`: the action balancer; `direct_actions_url`: this Rasa server's own action server
    (empty: none, every call goes through the balancer).
    """
    redis_url = urllib.parse.urlsplit(cfg["REDIS_URL"])
    amqp = urllib.parse.urlsplit(cfg["RABBITMQ_URL"])
    vhost = amqp.path if amqp.path not in ("", "/") else ""
    # Rasa connects to RabbitMQ before it loads the model, which blocks its event loop for a minute
    # or more: with RabbitMQ's default 60 s heartbeat the connection is dropped before the first
    # turn and events wait for a reconnection. A longer heartbeat unless the URL sets its own.
    query = f"?{amqp.query}" if amqp.query else f"?heartbeat={RABBITMQ_HEARTBEAT}"
    return {
        "SIGNPOST_ACTIONS_URL": actions_url,
        "SIGNPOST_ACTIONS_DIRECT_URL": direct_actions_url,
        "SIGNPOST_TRACKER_STORE_TYPE": cfg["SIGNPOST_TRACKER_STORE_TYPE"],
        "SIGNPOST_TRACKER_URL": cfg["SIGNPOST_TRACKER_URL"],
        "SIGNPOST_LOCK_STORE_TYPE": cfg["SIGNPOST_LOCK_STORE_TYPE"],
        "SIGNPOST_REDIS_HOST": redis_url.hostname or "127.0.0.1",
        "SIGNPOST_REDIS_PORT": str(redis_url.port or 6379),
        "SIGNPOST_REDIS_DB": redis_url.path.strip("/") or "0",
        "SIGNPOST_REDIS_PASSWORD": urllib.parse.unquote(redis_url.password or ""),
        "SIGNPOST_LOCK_PREFIX": cfg["SIGNPOST_LOCK_PREFIX"],
        "SIGNPOST_RABBITMQ_HOST": f"{amqp.scheme}://{amqp.hostname}:{amqp.port or 5672}{vhost}{query}",
        "SIGNPOST_RABBITMQ_PORT": str(amqp.port or 5672),
        "SIGNPOST_RABBITMQ_USER": urllib.parse.unquote(amqp.username or "guest"),
        "SIGNPOST_RABBITMQ_PASSWORD": urllib.parse.unquote(amqp.password or "guest"),
        "SIGNPOST_EVENT_BROKER_TYPE": cfg["SIGNPOST_EVENT_BROKER_TYPE"],
        "SIGNPOST_EVENTS_EXCHANGE": cfg["SIGNPOST_EVENTS_EXCHANGE"],
        "SIGNPOST_EVENTS_QUEUE": cfg["SIGNPOST_EVENTS_QUEUE"],
    }


def render_endpoints(template: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The endpoints template with every ${NAME} filled in; empty settings are left out, ports are numbers."""

    def fill(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            filled = {k: fill(v, k) for k, v in node.items()}
            return {k: v for k, v in filled.items() if v not in ("", None)}
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, str):
            missing = [name for name in PLACEHOLDER.findall(node) if name not in values]
            if missing:
                raise SettingsError(f"bot/endpoints.production.yml needs {', '.join(missing)}")
            text = PLACEHOLDER.sub(lambda m: values[m.group(1)], node)
            return int(text) if key in NUMBER_KEYS and text.isdigit() else text
        return node

    return fill(yaml.safe_load(template))


# --------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(url: str, default_port: int) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@dataclass
class Child:
    """One supervised process: how to start it, how to tell it is ready, and its restarts."""

    name: str
    command: list[str]
    port: Optional[int] = None
    ready_url: Optional[str] = None
    process: Optional[subprocess.Popen] = None
    restarts: list[float] = field(default_factory=list)

    def start(self, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=dict(env))

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "port": self.port, "pid": self.process.pid if self.process else None}


def wait_ready(children: list[Child], seconds: float) -> Optional[Child]:
    """Wait until every child answers its ready URL; the first one that died or timed out, if any."""
    deadline = time.monotonic() + seconds
    waiting = [c for c in children if c.ready_url]
    while waiting and time.monotonic() < deadline:
        for child in list(waiting):
            if not child.alive():
                return child
            if answers(child.ready_url or ""):
                waiting.remove(child)
        time.sleep(0.5)
    return waiting[0] if waiting else None


class Stack:
    """All the processes of one production run, started in order and kept running."""

    def __init__(self, cfg: dict[str, str]) -> None:
        self.cfg = cfg
        self.rasa_port = int(cfg["SIGNPOST_RASA_PORT"])
        self.actions_port = int(cfg["SIGNPOST_ACTIONS_PORT"])
        self.state_dir = Path(cfg["SIGNPOST_STATE_DIR"])
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.state_dir / f"production-{self.rasa_port}.json"
        self.env = self._environment()
        token = cfg["SIGNPOST_API_TOKEN"]
        self.status_suffix = f"?token={urllib.parse.quote(token)}" if token else ""
        actions_ports = [free_port() for _ in range(int(cfg["SIGNPOST_ACTIONS_INSTANCES"]))]
        rasa_ports = [free_port() for _ in range(int(cfg["SIGNPOST_RASA_INSTANCES"]))]
        direct = cfg["SIGNPOST_DIRECT_ACTIONS"] == "on"
        python = sys.executable
        self.actions = [Child(f"action server {i + 1}", [python, str(ROOT / "scripts" / "actions_server.py"),
                                                         "--actions", "actions", "-p", str(port),
                                                         "--logging-config_file", str(ROOT / "bot" / "logging.yml")],
                              port,
                              f"http://127.0.0.1:{port}/health")  # warmed up before it listens (see there)
                        for i, port in enumerate(actions_ports)]
        self.actions_balancer = Child("action balancer", [
            python, str(ROOT / "scripts" / "balancer.py"), "--port", str(self.actions_port), "--health", "/health",
            *[f"http://127.0.0.1:{p}" for p in actions_ports]], self.actions_port,
            f"http://127.0.0.1:{self.actions_port}/_balancer/status")
        rasa_cmd = [python, str(ROOT / "scripts" / "rasa_server.py"), "run", "--model", cfg["SIGNPOST_MODEL"],
                    "--credentials", "bot/credentials.yml", "--interface", "127.0.0.1",
                    "--enable-api", "--logging-config-file", str(ROOT / "bot" / "logging.yml")]  # identifiers redacted
        if token:
            rasa_cmd += ["--auth-token", token]
        self.rasa = [Child(f"Rasa server {i + 1}", [
            *rasa_cmd, "--port", str(port),
            "--endpoints", str(self._endpoints_file(i, actions_ports[i % len(actions_ports)] if direct else None))],
            port, f"http://127.0.0.1:{port}/status{self.status_suffix}") for i, port in enumerate(rasa_ports)]
        self.rasa_balancer = Child("Rasa balancer", [
            python, str(ROOT / "scripts" / "balancer.py"), "--port", str(self.rasa_port), "--health", "/",
            *[f"http://127.0.0.1:{p}" for p in rasa_ports]], self.rasa_port,
            f"http://127.0.0.1:{self.rasa_port}/_balancer/status")
        self.outcomes = (Child("outcomes consumer", [python, "-m", "signposting", "outcomes", "consume"])
                         if cfg["SIGNPOST_OUTCOMES"] == "on" else None)
        # check-in messages people asked for; any number may run: a follow-up is claimed before it is sent
        self.followups = Child("follow-up scheduler", [python, "-m", "signposting", "followups", "run"])

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({k: v for k, v in self.cfg.items() if v != ""})
        env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT),
                   SANIC_HOST="127.0.0.1")  # the action servers listen on loopback only
        env.pop("SIGNPOST_TRACKER_DB", None)
        return env

    def _endpoints_file(self, instance: int, direct_actions_port: Optional[int]) -> Path:
        """The endpoints of Rasa server number `instance` (from 0): its own action server, if any."""
        template = (ROOT / "bot" / "endpoints.production.yml").read_text()
        direct = f"http://127.0.0.1:{direct_actions_port}/webhook" if direct_actions_port else ""
        values = placeholders(self.cfg, f"http://127.0.0.1:{self.actions_port}/webhook", direct)
        path = self.state_dir / f"endpoints-production-{self.rasa_port}-{instance + 1}.yml"
        path.write_text(yaml.safe_dump(render_endpoints(template, values), sort_keys=False))
        path.chmod(0o600)  # it may hold passwords
        return path

    @property
    def children(self) -> list[Child]:
        return [*self.actions, self.actions_balancer, *self.rasa, self.rasa_balancer,
                *([self.outcomes] if self.outcomes else []), self.followups]

    def write_state(self) -> None:
        state = {
            "profile": "production", "rasa_port": self.rasa_port, "actions_port": self.actions_port,
            "rasa": [c.as_dict() for c in self.rasa], "actions": [c.as_dict() for c in self.actions],
            "rasa_balancer": self.rasa_balancer.as_dict(), "actions_balancer": self.actions_balancer.as_dict(),
            "outcomes": self.outcomes.as_dict() if self.outcomes else None,
            "followups": self.followups.as_dict(), "supervisor": os.getpid(),
        }
        self.state_path.write_text(json.dumps(state, indent=2))

    def preflight(self) -> list[str]:
        """What is missing before anything starts, in plain words."""
        problems = []
        if not Path(self.cfg["SIGNPOST_MODEL"]).exists():
            problems.append(f"No model at {self.cfg['SIGNPOST_MODEL']}: run `make train` first.")
        for name, url, port, hint in (
                ("PostgreSQL", self.cfg["DATABASE_URL"], 5432, "DATABASE_URL"),
                ("Redis", self.cfg["REDIS_URL"], 6379, "REDIS_URL"),
                ("RabbitMQ", self.cfg["RABBITMQ_URL"], 5672, "RABBITMQ_URL")):
            if not reachable(url, port):
                where = urllib.parse.urlsplit(url)
                problems.append(f"{name} does not answer at {where.hostname}:{where.port or port}: start it, "
                                f"or set {hint} (see .env.example).")
        return problems

    def migrate(self) -> bool:
        print("Bringing the database up to date (migrations, then the directory index)...", flush=True)
        result = subprocess.run([sys.executable, "-m", "signposting", "db", "upgrade"], cwd=ROOT, env=self.env)
        return result.returncode == 0

    def start_all(self) -> Optional[str]:
        """Start everything in order; an error message if something did not come up."""
        steps: list[tuple[str, list[Child], float]] = [
            (f"{len(self.actions)} action server(s)", self.actions, 120),
            ("the action balancer", [self.actions_balancer], 30),
            (f"{len(self.rasa)} Rasa server(s) (loading the model takes about a minute)", self.rasa, 400),
            ("the Rasa balancer", [self.rasa_balancer], 30),
        ]
        for label, group, seconds in steps:
            print(f"Starting {label}...", flush=True)
            for child in group:
                child.start(self.env)
            self.write_state()
            failed = wait_ready(group, seconds)
            if failed is not None:
                return f"{failed.name} did not start; see the messages above."
        if self.outcomes:
            self.outcomes.start(self.env)
        self.followups.start(self.env)
        self.write_state()
        return None

    def supervise(self, stopping: Callable[[], bool]) -> Optional[str]:
        """Restart any process that dies; an error message if one keeps dying."""
        while not stopping():
            for child in self.children:
                if child.alive() or stopping():
                    continue
                code = child.process.poll() if child.process else None
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                if len(child.restarts) > RESTARTS_PER_MINUTE:
                    return f"{child.name} stopped {len(child.restarts)} times in a minute (last exit {code})."
                print(f"{child.name} stopped (exit {code}); restarting it.", file=sys.stderr, flush=True)
                child.start(self.env)
                self.write_state()
            time.sleep(0.5)
        return None

    def stop(self) -> None:
        """SIGINT to everyone, newest first (front doors before what they lean on), then wait or kill."""
        order = [c for c in reversed(self.children) if c.alive()]
        for child in order:
            assert child.process is not None
            child.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 20
        for child in order:
            assert child.process is not None
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.state_path.unlink(missing_ok=True)


def main() -> int:
    try:
        cfg = settings(os.environ)
    except SettingsError as exc:
        print(f"Settings: {exc}", file=sys.stderr)
        return 2
    stack = Stack(cfg)
    problems = stack.preflight()
    if problems:
        print("Cannot start the production profile:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1

    stopping: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if not stack.migrate():
            print("The database could not be brought up to date; see the messages above.", file=sys.stderr)
            return 1
        error = stack.start_all()
        if error:
            print(error, file=sys.stderr)
            return 1
        base = f"http://127.0.0.1:{stack.rasa_port}"
        print(
            "\nSignpost is running (production profile: "
            f"{len(stack.rasa)} Rasa servers, {len(stack.actions)} action servers, PostgreSQL, Redis, RabbitMQ).\n"
            f"  Web chat:     {base}/webhooks/webchat/\n"
            f"  REST webhook: curl -s {base}/webhooks/rest/webhook -d '{{\"sender\":\"me\",\"message\":\"hello\"}}'\n"
            f"  Balancer:     {base}/_balancer/status\n"
            f"  Outcomes:     {'.venv/bin/python -m signposting report' if stack.outcomes else 'off'}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        error = stack.supervise(lambda: bool(stopping))
        if error:
            print(error + " Stopping the rest.", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        print("\nStopping Signpost...", flush=True)
        return 0
    finally:
        stack.stop()
