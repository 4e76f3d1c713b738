"""Isolated real stores for production-profile tests: a PostgreSQL schema, a Redis key prefix, and a
RabbitMQ exchange and queue of each test's own, all removed afterwards, so parallel runs and the
developer's own data never meet.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.support import servers

ADMIN_URL = "postgresql://root@127.0.0.1/test"
REDIS_DB = 1


@dataclass
class Stores:
    """Names of one test's own stores, and the environment that points Signpost at them."""

    name: str
    env: dict[str, str]

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> Iterator[Stores]:
    import redis
    from sqlalchemy import create_engine

    name = f"t{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, future=True)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {name}")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL on 127.0.0.1 is part of this project's machines: {exc}")
    state = tmp_path_factory.mktemp("production-state")
    env = {
        "SIGNPOST_PROFILE": "production",
        "SIGNPOST_ENV_FILE": "",  # never the developer's .env
        "DATABASE_URL": f"{ADMIN_URL}?options=-csearch_path%3D{name}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "SIGNPOST_LOCK_PREFIX": name,
        "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
        "SIGNPOST_EVENTS_EXCHANGE": f"{name}-events",
        "SIGNPOST_EVENTS_QUEUE": f"{name}-outcomes",
        "SIGNPOST_OUTCOMES_KEY": f"test-key-{name}",
        "SIGNPOST_STATE_DIR": str(state),
        "SIGNPOST_RASA_INSTANCES": "2",
        "SIGNPOST_ACTIONS_INSTANCES": "2",
    }
    try:
        yield Stores(name, env)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        admin.dispose()
        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
        for key in client.scan_iter(f"{name}*"):
            client.delete(key)
        asyncio.run(_delete_broker_names(env["SIGNPOST_EVENTS_EXCHANGE"], env["SIGNPOST_EVENTS_QUEUE"]))


async def _delete_broker_names(exchange: str, queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


class Production:
    """A running production profile (scripts/run.py) and what its state file says about it."""

    def __init__(self, server: servers.Server, state_dir: Path) -> None:
        self.server = server
        self.state_path = state_dir / f"production-{server.rasa_port}.json"

    @property
    def base(self) -> str:
        return self.server.base

    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def instance(self, index: int) -> str:
        return f"http://127.0.0.1:{self.state()['rasa'][index]['port']}"

    def say(self, sender: str, message: str, base: str | None = None) -> list[dict]:
        reply = httpx.post(f"{base or self.base}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                           timeout=120)
        reply.raise_for_status()
        return reply.json()

    def tracker(self, sender: str, base: str | None = None) -> dict:
        reply = httpx.get(f"{base or self.base}/conversations/{sender}/tracker", timeout=60)
        reply.raise_for_status()
        return reply.json()

    def stop(self) -> None:
        import signal

        self.server.stop(signal.SIGINT)


def start_production(workdir: Path, stores: Stores) -> Production:
    server = servers.start(workdir, stores.env)
    return Production(server, Path(stores.env["SIGNPOST_STATE_DIR"]))


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)
