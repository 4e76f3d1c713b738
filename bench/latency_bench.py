"""Start-up time and single-user turn latency over REST, against the real servers on 127.0.0.1.

Starts `scripts/run.py` on free ports, measures the time until it answers, then holds the same
scripted conversation ROUNDS times (one user, one message at a time) and prints p50/p95 per turn.

Usage: python bench/latency_bench.py [--rounds 10]
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ["/greet", "I have breast cancer", "Paying the bills while I'm off work", "/start_assessment", "skip", "skip",
          "/inform{\"choice\":\"off_sick\"}", "about a 6", "3", "really bad", "skip", "that's all",
          "/inform{\"choice\":\"done\"}", "my partner", "what benefits can I get", "do I have to pay for prescriptions",
          "/inform{\"nation\":\"england\"}", "talk to a person", "thanks"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    rasa_port, actions_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, SIGNPOST_RASA_PORT=str(rasa_port), SIGNPOST_ACTIONS_PORT=str(actions_port),
                   SIGNPOST_TRACKER_DB=str(Path(scratch) / "tracker.db"))
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{rasa_port}"
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                while True:
                    if process.poll() is not None:
                        sys.exit("run.py exited before answering")
                    try:
                        if client.post("/webhooks/rest/webhook", json={"sender": "warm", "message": "hi"}).json():
                            break
                    except httpx.HTTPError:
                        time.sleep(0.5)
                ready = time.monotonic() - started
                timings: list[float] = []
                for round_ in range(args.rounds):
                    for message in SCRIPT:
                        t0 = time.perf_counter()
                        reply = client.post("/webhooks/rest/webhook",
                                            json={"sender": f"bench-{round_}", "message": message})
                        timings.append((time.perf_counter() - t0) * 1000)
                        reply.raise_for_status()
        finally:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(60)
    print(f"cold start (both servers, to first answer)  {ready:6.1f} s")
    print(f"single-user turns: {len(timings)}   p50 {statistics.median(timings):6.1f} ms   "
          f"p95 {percentile(timings, 0.95):6.1f} ms   max {max(timings):6.1f} ms")


if __name__ == "__main__":
    main()
