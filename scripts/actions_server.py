"""`rasa run actions`, warmed up before it listens. Used by both profiles (scripts/run.py, scripts/production.py).

    python scripts/actions_server.py --actions actions -p 5056   (the same arguments as `rasa run actions`)

Why: the first action that searches the directory loads the knowledge files (about 4 s) and
builds the directory's word index, which imports spaCy and with it TensorFlow (15-20 s on a busy
2-core machine). Served cold, that first turn takes longer than the REST channel's turn limit and
the person gets "answered without it". Here that work is done before the server opens its port, so
its health check (and so the balancer) only sees it once it is quick; a server the supervisor
restarts after a crash comes back warm too. Then what it loaded is set aside from garbage
collection (scripts/rasa_server.py's settle_heap), so no turn waits for a full collection.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("signpost.actions")


def warm_up() -> None:
    """Load what the first turns would otherwise load: knowledge, the directory and its word index."""
    started = time.monotonic()
    try:
        from actions import common

        common.directory().text_index()
    except Exception as exc:  # noqa: BLE001 - a cold server is slower, not broken: start anyway
        print(f"Warm-up of the action server failed ({exc}); starting cold.", file=sys.stderr, flush=True)
        return
    print(f"Action server warmed up in {time.monotonic() - started:.1f} s.", flush=True)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    warm_up()
    from rasa_server import settle_heap  # scripts/ is on the path: this file runs from there

    settle_heap()
    from rasa_sdk.__main__ import main as sdk_main

    sys.argv = ["rasa_sdk", *sys.argv[1:]]
    sdk_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
