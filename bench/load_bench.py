"""Load test: Signpost (embedded and production profiles) against Rasa's own starter bot, in one run.

For each target: start it on 127.0.0.1, run locust headless for 1, 10 and 50 simulated people
(each waits 1-3 s between messages, as a person would), sample the memory (RSS) of every Rasa and
action server process while it runs, stop it. Then print one table: turns, failed turns, p50/p95
turn time, throughput, memory per process, cold start, and Signpost's p95 as a multiple of the
baseline's at the same load.

Targets:
    baseline    `rasa init --no-prompt` (the mood bot) in a scratch folder outside the repo, same venv,
                `rasa run` with its defaults (in-memory tracker store, no action server).
    embedded    scripts/run.py (one Rasa server, one action server, SQLite).
    production  scripts/run.py --profile production (two Rasa servers, two action servers, the
                balancer, PostgreSQL, Redis and RabbitMQ: a schema, key prefix and queue of its own).

Traffic goes to 127.0.0.1 only, and every locust run is bounded in time.

Usage:
    python bench/load_bench.py                    # 1, 10, 50 users; 50 users for 300 s, the others 120 s
    python bench/load_bench.py --quick            # a short smoke run (1 and 5 users, 20 s each)
    python bench/load_bench.py --targets embedded,production --users 10,50 --duration 300 --out results.json
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOAD = ROOT / "bench" / "load"
ADMIN_URL = "postgresql://root@127.0.0.1/test"
TARGETS = ("baseline", "embedded", "production")
MB = 1024 * 1024
# the stores' server processes, by name: their CPU time shows what the production profile's stores cost
STORES = {"postgres": "PostgreSQL", "redis-server": "Redis", "beam.smp": "RabbitMQ"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Level:
    """One locust run: a number of people for a time, and what it measured."""

    target: str
    users: int
    seconds: int
    turns: int = 0
    failed: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    turns_per_s: float = 0.0
    rss_mb: dict[str, float] = field(default_factory=dict)  # process kind -> peak RSS of one process
    cpu_ms_per_turn: dict[str, float] = field(default_factory=dict)  # process kind -> CPU time of all of them / turns
    slowest_steps: list[str] = field(default_factory=list)  # the conversation steps with the highest p95
    load_average: float = 0.0  # mean 1-minute load average of the machine during the run
    failures: list[str] = field(default_factory=list)


@dataclass
class Target:
    name: str
    base: str
    process: subprocess.Popen
    cold_start_s: float
    locustfile: Path
    cleanup: Callable[[], None] = lambda: None
    log: Optional[Path] = None


# --------------------------------------------------------------------------- memory
def kind_of(process: psutil.Process) -> Optional[str]:
    try:
        command = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if "run actions" in command or "actions_server.py" in command or "rasa_sdk" in command:
        return "action server"
    if "balancer.py" in command:
        return "balancer"
    if "outcomes consume" in command:
        return "outcomes consumer"
    if "rasa_server.py" in command or "/bin/rasa run" in command:
        return "Rasa server"
    return None


class MemorySampler:
    """Peak RSS of each process under a root process, by kind, sampled every `every` seconds."""

    def __init__(self, root_pid: int, every: float = 2.0, stores: bool = False) -> None:
        self.root_pid = root_pid
        self.every = every
        self.stores = stores  # also sample PostgreSQL, Redis and RabbitMQ (only the production profile uses them)
        self.peaks: dict[int, tuple[str, int]] = {}
        self.cpu: dict[int, tuple[str, float, float]] = {}  # pid -> (kind, CPU seconds first seen, last seen)
        self.load: list[float] = []  # the machine's 1-minute load average: other work on the 2 cores shows here
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.load.append(os.getloadavg()[0])
            try:
                root = psutil.Process(self.root_pid)
                family = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process, kind in [(p, kind_of(p)) for p in family] + (self._stores() if self.stores else []):
                if kind is None:
                    continue
                try:
                    rss = process.memory_info().rss
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                previous = self.peaks.get(process.pid, (kind, 0))[1]
                self.peaks[process.pid] = (kind, max(previous, rss))
                used = times.user + times.system
                self.cpu[process.pid] = (kind, self.cpu.get(process.pid, (kind, used, used))[1], used)
            self._stop.wait(self.every)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    @staticmethod
    def _stores() -> list[tuple[psutil.Process, str]]:
        """The machine's PostgreSQL, Redis and RabbitMQ processes (the production profile's stores), with their kind."""
        return [(p, STORES[p.info["name"]]) for p in psutil.process_iter(["name"]) if p.info.get("name") in STORES]

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used by all processes of each kind while sampled."""
        result: dict[str, float] = {}
        for kind, first, last in self.cpu.values():
            result[kind] = result.get(kind, 0.0) + (last - first)
        return result

    def per_kind(self) -> dict[str, float]:
        """The largest peak RSS of any one process of each kind, in MB (the stores' servers left out)."""
        result: dict[str, float] = {}
        for kind, rss in self.peaks.values():
            if kind not in STORES.values():
                result[kind] = max(result.get(kind, 0.0), rss / MB)
        return result


# --------------------------------------------------------------------------- targets
def wait_until_it_answers(base: str, process: subprocess.Popen, seconds: float = 600) -> float:
    started = time.monotonic()
    with httpx.Client(base_url=base, timeout=60) as client:
        while time.monotonic() - started < seconds:
            if process.poll() is not None:
                raise RuntimeError("the target stopped before answering")
            try:
                if client.post("/webhooks/rest/webhook", json={"sender": "warm-up", "message": "hello"}).json():
                    return time.monotonic() - started
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
    raise RuntimeError(f"{base} did not answer in {seconds} s")


def prepare_baseline(folder: Path) -> Path:
    """Rasa's starter bot, trained once in a scratch folder outside the repo (reused next time)."""
    models = folder / "models"
    if models.is_dir() and any(models.glob("*.tar.gz")):
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    print(f"Preparing the baseline (rasa init --no-prompt) in {folder}; this trains the mood bot...", flush=True)
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(folder)], cwd=folder, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return folder


def start_baseline(folder: Path, logs: Path) -> Target:
    port = free_port()
    model = sorted((folder / "models").glob("*.tar.gz"))[-1]
    log = logs / "baseline.log"
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen([str(BIN / "rasa"), "run", "--model", str(model), "--enable-api",
                                    "--interface", "127.0.0.1", "--port", str(port)], cwd=folder, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_it_answers(base, process)
    return Target("baseline", base, process, time.monotonic() - started, LOAD / "locustfile_baseline.py", log=log)


def start_signpost(profile: str, scratch: Path, logs: Path) -> Target:
    rasa_port, actions_port = free_port(), free_port()
    env = dict(os.environ, SIGNPOST_RASA_PORT=str(rasa_port), SIGNPOST_ACTIONS_PORT=str(actions_port),
               SIGNPOST_TRACKER_DB=str(scratch / f"{profile}-tracker.db"), SIGNPOST_PROFILE=profile,
               SIGNPOST_ENV_FILE="", RASA_TELEMETRY_ENABLED="false", PYTHONUNBUFFERED="1",
               DATABASE_URL=f"sqlite:///{scratch / f'{profile}-directory.db'}")
    cleanup: Callable[[], None] = lambda: None
    if profile == "production":
        env, cleanup = production_stores(env, scratch)
    log = logs / f"{profile}.log"
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run.py")], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{rasa_port}"
    try:
        wait_until_it_answers(base, process)
    except RuntimeError:
        stop(process)
        cleanup()
        raise
    return Target(profile, base, process, time.monotonic() - started, LOAD / "locustfile_signpost.py", cleanup, log)


def production_stores(env: dict[str, str], scratch: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """A PostgreSQL schema, Redis key prefix and RabbitMQ names of this run's own, and how to remove them."""
    import redis
    from sqlalchemy import create_engine

    name = f"bench{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, future=True)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {name}")
    env = dict(env, DATABASE_URL=f"{ADMIN_URL}?options=-csearch_path%3D{name}", REDIS_URL="redis://127.0.0.1:6379/1",
               SIGNPOST_LOCK_PREFIX=name, SIGNPOST_EVENTS_EXCHANGE=f"{name}-events",
               SIGNPOST_EVENTS_QUEUE=f"{name}-outcomes", SIGNPOST_OUTCOMES_KEY=f"bench-{name}",
               SIGNPOST_STATE_DIR=str(scratch))

    def cleanup() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        client = redis.Redis(host="127.0.0.1", port=6379, db=1)
        for key in client.scan_iter(f"{name}*"):
            client.delete(key)
        subprocess.run(["rabbitmqctl", "delete_queue", f"{name}-outcomes"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    return env, cleanup


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --------------------------------------------------------------------------- locust
def run_locust(target: Target, users: int, seconds: int, scratch: Path) -> Level:
    prefix = scratch / f"{target.name}-{users}"
    spawn_rate = max(1, min(users, 10))
    command = [str(BIN / "locust"), "-f", str(target.locustfile), "--headless", "-u", str(users), "-r",
               str(spawn_rate), "-t", f"{seconds}s", "--host", target.base, "--csv", str(prefix), "--only-summary",
               "--stop-timeout", "30", "--loglevel", "ERROR"]
    level = Level(target.name, users, seconds)
    with MemorySampler(target.process.pid, stores=target.name == "production") as sampler:
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=seconds + 180)
    level.rss_mb = sampler.per_kind()
    level.load_average = sum(sampler.load) / len(sampler.load) if sampler.load else 0.0
    steps: list[tuple[float, str]] = []
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                level.turns = int(row["Request Count"])
                level.failed = int(row["Failure Count"])
                level.p50_ms = float(row["50%"] or 0)
                level.p95_ms = float(row["95%"] or 0)
                level.max_ms = float(row["Max Response Time"] or 0)
                level.turns_per_s = float(row["Requests/s"] or 0)
            elif row["Name"] != "turn" and row["Request Count"] not in ("", "0"):
                steps.append((float(row["95%"] or 0), f"{row['Name']} p95 {float(row['95%'] or 0):.0f} ms"))
    level.slowest_steps = [text for _, text in sorted(steps, reverse=True)[:3]]
    if level.turns:
        level.cpu_ms_per_turn = {kind: seconds * 1000 / level.turns for kind, seconds in sampler.cpu_seconds().items()
                                 if kind not in STORES.values() or seconds * 1000 / level.turns >= 0.5}
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        with failures.open(newline="") as handle:
            level.failures = [f"{row['Occurrences']}x {row['Error']}" for row in csv.DictReader(handle)][:5]
    return level


# --------------------------------------------------------------------------- report
def table(levels: list[Level], targets: dict[str, dict]) -> str:
    lines = [f"{'target':<11}{'users':>6}{'secs':>6}{'turns':>7}{'failed':>7}{'p50 ms':>8}{'p95 ms':>8}"
             f"{'max ms':>8}{'turns/s':>9}{'load':>6}  {'RSS MB per process (peak)'}"]
    for level in levels:
        memory = ", ".join(f"{kind} {mb:.0f}" for kind, mb in sorted(level.rss_mb.items()))
        lines.append(f"{level.target:<11}{level.users:>6}{level.seconds:>6}{level.turns:>7}{level.failed:>7}"
                     f"{level.p50_ms:>8.0f}{level.p95_ms:>8.0f}{level.max_ms:>8.0f}{level.turns_per_s:>9.1f}"
                     f"{level.load_average:>6.1f}  {memory}")
    lines.append("(load: the machine's mean 1-minute load average during the run; 2 cores, shared with other work)")
    lines.append("")
    lines.append("CPU time per turn (all processes of a kind together), and the slowest steps of the conversation:")
    for level in levels:
        cpu = ", ".join(f"{kind} {ms:.1f}" for kind, ms in sorted(level.cpu_ms_per_turn.items()))
        lines.append(f"{level.target:<11}{level.users:>6} users: {cpu or '-'} ms; {'; '.join(level.slowest_steps)}")
    lines.append("")
    for name, facts in targets.items():
        lines.append(f"{name:<11} cold start (launch to first answer) {facts['cold_start_s']:.0f} s")
    baseline = {level.users: level for level in levels if level.target == "baseline"}
    checks = []
    for level in levels:
        if level.target == "baseline" or level.users not in baseline or not baseline[level.users].p95_ms:
            continue
        ratio = level.p95_ms / baseline[level.users].p95_ms
        lines.append(f"{level.target:<11} p95 at {level.users:>2} users = {ratio:.2f} x the baseline's")
        if level.target == "embedded" and level.users in (10, 50):
            checks.append(f"embedded p95 within 1.5x baseline at {level.users} users: "
                          f"{'MET' if ratio <= 1.5 else 'MISSED'} ({ratio:.2f}x)")
        if level.target == "production" and level.users == 50:
            checks.append(f"production p95 below the baseline's at 50 users: "
                          f"{'MET' if ratio < 1 else 'MISSED'} ({ratio:.2f}x)")
    failed = sum(level.failed for level in levels if level.target != "baseline")
    checks.append(f"zero failed Signpost turns: {'MET' if failed == 0 else f'MISSED ({failed} failed)'}")
    return "\n".join(lines + [""] + checks)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated: baseline,embedded,production")
    parser.add_argument("--users", default="1,10,50", help="comma-separated numbers of simultaneous people")
    parser.add_argument("--duration", type=int, default=300, help="seconds of load at the largest number of users")
    parser.add_argument("--short-duration", type=int, default=120, help="seconds of load at the smaller numbers")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 and 5 users, 20 s each")
    parser.add_argument("--baseline-dir", type=Path, default=Path(tempfile.gettempdir()) / "signpost-baseline-bot",
                        help="scratch folder for Rasa's starter bot (outside the repo; reused between runs)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.duration, args.short_duration = "1,5", 20, 20
    users = sorted(int(u) for u in args.users.split(","))
    wanted = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; use {', '.join(TARGETS)}")
    if args.baseline_dir.resolve().is_relative_to(ROOT):
        parser.error("--baseline-dir must be outside the repository")
    if "baseline" in wanted:
        prepare_baseline(args.baseline_dir)
    scratch = Path(tempfile.mkdtemp(prefix="signpost-load-"))
    print(f"Logs and locust CSVs: {scratch}", flush=True)
    levels: list[Level] = []
    facts: dict[str, dict] = {}
    for name in wanted:
        print(f"Starting {name}...", flush=True)
        target = (start_baseline(args.baseline_dir, scratch) if name == "baseline"
                  else start_signpost(name, scratch, scratch))
        facts[name] = {"cold_start_s": target.cold_start_s}
        try:
            for count in users:
                seconds = args.duration if count == users[-1] else args.short_duration
                print(f"  {name}: {count} user(s) for {seconds} s...", flush=True)
                level = run_locust(target, count, seconds, scratch)
                levels.append(level)
                print(f"    {level.turns} turns, {level.failed} failed, p50 {level.p50_ms:.0f} ms, "
                      f"p95 {level.p95_ms:.0f} ms, {level.turns_per_s:.1f} turns/s", flush=True)
                for failure in level.failures:
                    print(f"    failure: {failure}", flush=True)
        finally:
            stop(target.process)
            target.cleanup()
    report = table(levels, facts)
    print("\n" + report)
    if args.out:
        args.out.write_text(json.dumps({"levels": [asdict(level) for level in levels], "targets": facts,
                                        "cores": os.cpu_count()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
