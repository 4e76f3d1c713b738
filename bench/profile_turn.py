"""Where the time of one conversation turn goes, inside the Rasa server (with the real action server).

Loads the trained model in this process with the chosen profile's stores, holds a short warm-up
conversation, then profiles one turn of a fresh conversation and prints the functions that took
the most time (cumulative), grouped so that our code, Rasa, the database and the network stand out.

Usage:
    python bench/profile_turn.py [--profile embedded|production] [--turns 3] [--top 25]

The action server must be running for the actions (`make run` starts one on 5055), or pass
--start-actions to start one here on a free port. The production profile needs DATABASE_URL
(PostgreSQL), REDIS_URL and RABBITMQ_URL as for `make run PROFILE=production`.

cProfile (standard library) gives the tables by part of the code; `--pyinstrument` prints
pyinstrument's call tree of the Rasa server instead (wall-clock time, awaits attributed to the
code that waits), which shows a turn's phases in order.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

WARM_UP = ["/greet", "I look after my mum", "money mostly", "/start_assessment", "skip", "skip", "skip", "6", "3", "really bad"]
# the turns profiled, in a fresh conversation: a question answered from knowledge with services
TURNS = ["hello", "I look after my husband", "what support is there for carers", "are there any support groups near me",
         "G12", "what benefits can I get"]
# --conversation check-in: the load test's whole check-in (bench/load/locustfile_signpost.py), the
# longest conversation, where a turn's cost grows with the conversation's length
CHECK_IN = ["/greet", "I look after my husband, he has lung cancer", "Money mostly. I've had to stop work to look after him",
            "/start_assessment", "skip", "skip", '/inform{"choice":"working"}', "about a 6", "really bad", "9", "skip",
            "8", "that's all", '/inform{"choice":"done"}', "my sister"]
CONVERSATIONS = {"services": TURNS, "check-in": CHECK_IN}
GROUPS = (  # (label, path fragment), first match wins
    ("our code (signposting/, actions/, bot/, channels/)", tuple(f"{ROOT}/{part}/" for part in
                                                             ("signposting", "actions", "bot", "channels"))),
    ("TensorFlow / Keras", ("/tensorflow/", "/keras/")),
    ("SQLAlchemy + database driver", ("/sqlalchemy/", "/psycopg2/", "sqlite3")),
    ("Rasa dialogue and NLU", ("/rasa/",)),
    ("spaCy / thinc / numpy / scikit-learn", ("/spacy/", "/thinc/", "/numpy/", "/sklearn/", "/scipy/")),
    ("HTTP to the action server (aiohttp)", ("/aiohttp/", "/multidict/", "/yarl/")),
    ("Redis / RabbitMQ clients", ("/redis/", "/aio_pika/", "/aiormq/", "/pamqp/")),
    ("JSON / YAML", ("/json/", "/yaml/", "/ruamel/")),
    ("asyncio event loop (incl. waiting)", ("/asyncio/", "selectors.py")),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def endpoints_file(profile: str, actions_port: int, scratch: Path) -> Path:
    import yaml

    if profile == "embedded":
        text = (ROOT / "bot" / "endpoints.yml").read_text()
        text = text.replace("${SIGNPOST_ACTIONS_PORT}", str(actions_port))
        text = text.replace("${SIGNPOST_TRACKER_DB}", str(scratch / "tracker.db"))
        path = scratch / "endpoints.yml"
        path.write_text(text)
        return path
    import production

    cfg = production.settings(os.environ)
    values = production.placeholders(cfg, f"http://127.0.0.1:{actions_port}/webhook")
    path = scratch / "endpoints.production.yml"
    rendered = production.render_endpoints((ROOT / "bot" / "endpoints.production.yml").read_text(), values)
    path.write_text(yaml.safe_dump(rendered))
    return path


def start_actions(port: int, profile_out: Path) -> subprocess.Popen:
    """An action server that profiles itself between SIGUSR1 and SIGUSR2 (bench/profiled_actions.py)."""
    env = dict(os.environ, SANIC_HOST="127.0.0.1", PYTHONPATH=str(ROOT), SIGNPOST_PROFILE_OUT=str(profile_out))
    process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "profiled_actions.py"), "--actions", "actions",
                                "-p", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    sys.exit("the action server did not start")


def group_of(filename: str) -> str:
    for label, fragments in GROUPS:
        if any(fragment in filename for fragment in fragments):
            return label
    return "other (Python standard library, logging...)"


def by_group(stats: pstats.Stats) -> dict[str, float]:
    """Self time per group of code, in seconds."""
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        totals[group_of(filename)] += tottime
    return dict(totals)


async def run(args: argparse.Namespace) -> None:
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)  # as `rasa run` does, at warning level
    configure_structlog(logging.WARNING)
    if not args.no_speedups:
        import rasa_server

        rasa_server.install_speedups()
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints

    scratch = Path(tempfile.mkdtemp(prefix="signpost-profile-"))
    actions_port = args.actions_port or free_port()
    actions_profile = scratch / "actions.prof"
    helper = start_actions(actions_port, actions_profile) if args.start_actions else None
    try:
        endpoints = AvailableEndpoints.read_endpoints(str(endpoints_file(args.profile, actions_port, scratch)))
        agent = await load_agent(model_path=str(ROOT / "models" / "signpost.tar.gz"), endpoints=endpoints)

        async def say(sender: str, text: str) -> float:
            started = time.perf_counter()
            await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))
            return time.perf_counter() - started

        for text in WARM_UP:
            await say("warm-up", text)
        script = CONVERSATIONS[args.conversation]
        for text in script:  # every action and the directory used once before measuring
            await say("warm-up-2", text)
        profiler = cProfile.Profile()
        tree = None
        if args.pyinstrument:
            from pyinstrument import Profiler

            tree = Profiler(interval=0.0005, async_mode="enabled")
        timings = []
        if helper is not None:
            helper.send_signal(signal.SIGUSR1)
            await asyncio.sleep(0.5)
        for round_ in range(args.turns):
            sender = f"profile-{uuid.uuid4().hex[:6]}"
            for text in script:
                if tree is not None:
                    tree.start()
                    timings.append(await say(sender, text))
                    tree.stop()
                    continue
                profiler.enable()
                timings.append(await say(sender, text))
                profiler.disable()
        if helper is not None:
            helper.send_signal(signal.SIGUSR2)
            for _ in range(40):
                await asyncio.sleep(0.25)
                if actions_profile.exists():
                    break
    finally:
        if not args.no_speedups:
            await rasa_server.close_sessions()
        if helper is not None:
            helper.terminate()
            helper.wait(20)
    turns = len(timings)
    print(f"profile: {args.profile}{' (stock Rasa)' if args.no_speedups else ' (with speed-ups)'}; {turns} turns profiled; per turn: median {statistics.median(timings) * 1000:.0f} ms,"
          f" mean {statistics.mean(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms")
    if tree is not None:
        print(f"\nRasa server, pyinstrument call tree of all {turns} turns (wall-clock):")
        print(tree.output_text(unicode=False, color=False, show_all=False))
        return
    stats = pstats.Stats(profiler)
    if args.save:
        stats.dump_stats(str(args.save))
        print(f"raw profile (pstats) saved to {args.save}")
    total = sum(by_group(stats).values())
    print("\nself time by part of the code (per turn):")
    for label, seconds in sorted(by_group(stats).items(), key=lambda item: -item[1]):
        print(f"  {label:<52}{seconds / turns * 1000:8.1f} ms  {seconds / total:5.1%}")
    print_top(profiler, args.top, "Rasa server: most time, cumulative (all turns)")
    print_top(profiler, args.top, "Rasa server: most time in the function itself (all turns)", order="tottime")
    if actions_profile.exists():
        action_stats = pstats.Stats(str(actions_profile))
        groups = by_group(action_stats)
        print(f"\naction server: self time by part of the code (per turn; "
              f"{sum(groups.values()) / turns * 1000:.0f} ms in all, waiting for requests included):")
        for label, seconds in sorted(groups.items(), key=lambda item: -item[1]):
            print(f"  {label:<52}{seconds / turns * 1000:8.1f} ms")
        print_top(str(actions_profile), args.top, "action server: most time, cumulative (all turns)")


def print_top(source: object, top: int, title: str, order: str = "cumulative") -> None:
    out = io.StringIO()
    pstats.Stats(source, stream=out).sort_stats(order).print_stats(top)  # type: ignore[arg-type]
    print(f"\n{title}:")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=("embedded", "production"), default="embedded")
    parser.add_argument("--turns", type=int, default=3, help="how many conversations to profile")
    parser.add_argument("--conversation", choices=sorted(CONVERSATIONS), default="services",
                        help="services: a question, a local search, benefits (%d turns); check-in: the whole "
                             "self-assessment (%d turns)" % (len(TURNS), len(CHECK_IN)))
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--actions-port", type=int, default=None, help="a running action server's port")
    parser.add_argument("--start-actions", action="store_true", help="start an action server on a free port")
    parser.add_argument("--no-speedups", action="store_true",
                        help="profile stock Rasa, without scripts/rasa_server.py's speed-up (for before/after)")
    parser.add_argument("--pyinstrument", action="store_true",
                        help="print pyinstrument's call tree of the Rasa server instead of cProfile's tables")
    parser.add_argument("--save", type=Path, default=None, help="also save the Rasa server's raw profile (pstats)")
    args = parser.parse_args()
    if not args.start_actions and not args.actions_port:
        args.actions_port = 5055
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
