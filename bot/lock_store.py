"""A Redis lock store whose every change is atomic, so several Rasa servers can share conversations.

Rasa's own RedisLockStore reads a conversation's ticket lock, changes it in Python and writes it
back as separate Redis calls. Inside one server that is safe (one event loop), but with two or
more servers two messages of the same conversation can interleave those calls: both get the same
ticket and run at once, or one server's clean-up deletes a ticket another has just issued, which
ends that message in a LockError. Here each change (issue a ticket, drop expired tickets, finish
serving) is one optimistic Redis transaction (WATCH/MULTI, retried on conflict), so tickets are
never duplicated or lost. Everything else (waiting for one's turn, lifetimes, key prefix) is Rasa's.

endpoints:  lock_store: {type: bot.lock_store.AtomicRedisLockStore, url: 127.0.0.1, port: 6379,
                         db: 1, key_prefix: signpost}
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional, Text

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore with atomic read-modify-write of each conversation's ticket lock."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # how Rasa builds a lock store named by its module path
            kwargs = {**endpoint_config.kwargs, **kwargs}
            kwargs.setdefault("host", endpoint_config.url or "localhost")
        super().__init__(**kwargs)

    def _change(self, conversation_id: Text,
                change: Callable[[Optional[TicketLock]], Optional[TicketLock]]) -> Optional[TicketLock]:
        """Apply ``change`` to the stored lock in one transaction; an empty lock is deleted."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
                    pipe.multi()
                    if lock is None or not lock.tickets:
                        pipe.delete(key)
                    else:
                        pipe.set(key, lock.dumps())
                    pipe.execute()
                    return lock
                except redis.WatchError:  # another server changed this lock meanwhile: read it again
                    continue

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        issued: list[int] = []

        def add(lock: Optional[TicketLock]) -> TicketLock:
            lock = lock or self.create_lock(conversation_id)
            issued[:] = [lock.issue_ticket(lock_lifetime)]
            return lock

        try:
            self._change(conversation_id, add)
        except redis.RedisError as exc:
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc
        return issued[0]

    def update_lock(self, conversation_id: Text) -> None:
        def drop_expired(lock: Optional[TicketLock]) -> Optional[TicketLock]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def drop(lock: Optional[TicketLock]) -> Optional[TicketLock]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock

        self._change(conversation_id, drop)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Finish serving; the lock goes when nobody is waiting, in the same transaction."""
        self.finish_serving(conversation_id, ticket_number)
