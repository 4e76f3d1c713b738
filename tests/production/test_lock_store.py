"""The Redis lock store shared by several Rasa servers (bot/lock_store.py), against the real Redis.

Three processes play three Rasa servers taking turns of one conversation as fast as they can. Each
turn must run alone (no overlap), none may fail, and no turn may be lost: the counter each turn
increments by a read-modify-write ends at exactly the number of turns. (Rasa's own RedisLockStore,
run the same way here, lost tickets and left the conversation locked for good within seconds.)
"""
from __future__ import annotations

import multiprocessing
import uuid

import pytest
import redis

from tests.production import lock_worker

DB = 1
TURNS = 40
SERVERS = 3


@pytest.fixture()
def prefix():
    name = f"test{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis(host="127.0.0.1", port=6379, db=DB)
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


def test_turns_of_one_conversation_on_three_servers_never_overlap_or_get_lost(prefix):
    try:
        redis.Redis(host="127.0.0.1", port=6379, db=DB, socket_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis on 127.0.0.1:6379 is part of this project's machines: {exc}")
    context = multiprocessing.get_context("spawn")
    with context.Pool(SERVERS) as pool:
        results = pool.starmap(lock_worker.run, [(prefix, TURNS, DB)] * SERVERS, chunksize=1)
    client = redis.Redis(host="127.0.0.1", port=6379, db=DB)
    assert [errors for errors, _ in results] == [0] * SERVERS
    assert [overlaps for _, overlaps in results] == [0] * SERVERS
    assert int(client.get(f"{prefix}:count")) == TURNS * SERVERS
    assert client.get(f"{prefix}:lock:conversation-1") is None  # nothing left locked


def test_the_lock_store_is_built_from_endpoint_settings(prefix):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    from bot.lock_store import AtomicRedisLockStore

    config = EndpointConfig(url="127.0.0.1", type="bot.lock_store.AtomicRedisLockStore", port=6379, db=DB,
                            key_prefix=prefix)
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore) and store.key_prefix == f"{prefix}:lock:"
    ticket = store.issue_ticket("someone")
    assert store.get_lock("someone").now_serving == ticket
    store.cleanup("someone", ticket)
    assert store.get_lock("someone") is None
