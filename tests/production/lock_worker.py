"""One 'Rasa server' for test_lock_store: takes a conversation's lock N times and counts inside it."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def run(prefix: str, turns: int, db: int) -> tuple[int, int]:
    """(lock errors, times another worker was inside at the same time)."""
    import redis
    from rasa.core.lock_store import LockError

    from bot.lock_store import AtomicRedisLockStore

    store = AtomicRedisLockStore(host="127.0.0.1", port=6379, db=db, key_prefix=prefix)
    shared = redis.Redis(host="127.0.0.1", port=6379, db=db)
    errors = overlaps = 0

    async def turns_() -> None:
        nonlocal errors, overlaps
        for _ in range(turns):
            try:
                async with store.lock("conversation-1", lock_lifetime=30, wait_time_in_seconds=0.005):
                    if shared.incr(f"{prefix}:inside") > 1:
                        overlaps += 1
                    count = int(shared.get(f"{prefix}:count") or 0)  # a read-modify-write, like a turn
                    await asyncio.sleep(0.002)
                    shared.set(f"{prefix}:count", count + 1)
                    shared.decr(f"{prefix}:inside")
            except LockError:
                errors += 1

    asyncio.run(turns_())
    return errors, overlaps
