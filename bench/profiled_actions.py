"""The action server (`rasa run actions`), with a profiler that bench/profile_turn.py switches on and off.

SIGUSR1 starts profiling the event loop's thread (where the actions run); SIGUSR2 stops it and
writes the statistics to the file named by SIGNPOST_PROFILE_OUT. Not for production use.
"""
from __future__ import annotations

import cProfile
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    profiler = cProfile.Profile()
    out = os.environ.get("SIGNPOST_PROFILE_OUT", "actions.prof")

    def start(*_: object) -> None:
        profiler.enable()

    def stop(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    from rasa_sdk.__main__ import main as sdk_main

    sys.argv = ["rasa_sdk", *sys.argv[1:]]
    sdk_main()


if __name__ == "__main__":
    main()
