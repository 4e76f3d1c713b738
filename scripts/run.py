"""Start Signpost on 127.0.0.1: the action server, then the Rasa server with its channels.

Prints the web chat's address once both answer. Ctrl-C (or SIGTERM) stops both cleanly.

Two profiles (`--profile NAME` or SIGNPOST_PROFILE):
    embedded    (default) one action server and one Rasa server, conversations in a SQLite file:
                runs on a bare laptop.
    production  PostgreSQL, Redis and RabbitMQ, several Rasa and action servers behind a local
                balancer, the outcomes consumer: see scripts/production.py and .env.example.

Environment of the embedded profile (all optional):
    SIGNPOST_RASA_PORT     Rasa server port (default 5005)
    SIGNPOST_ACTIONS_PORT  action server port (default 5055)
    SIGNPOST_TRACKER_DB    SQLite file for conversations (default .rasa/tracker.db)
    SIGNPOST_MODEL         model file (default models/signpost.tar.gz)
    SIGNPOST_API_TOKEN     when set, Rasa's HTTP API (/conversations, /model...) needs ?token=...
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


PROFILES = ("embedded", "production")


def settings() -> dict[str, str]:
    return {
        "rasa_port": os.environ.get("SIGNPOST_RASA_PORT", "5005"),
        "actions_port": os.environ.get("SIGNPOST_ACTIONS_PORT", "5055"),
        "tracker_db": os.environ.get("SIGNPOST_TRACKER_DB", str(ROOT / ".rasa" / "tracker.db")),
        "model": os.environ.get("SIGNPOST_MODEL", str(ROOT / "models" / "signpost.tar.gz")),
        "api_token": os.environ.get("SIGNPOST_API_TOKEN", ""),
    }


def environment(cfg: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=str(ROOT),
        SANIC_HOST="127.0.0.1",  # the action server listens on loopback only
        SIGNPOST_ACTIONS_PORT=cfg["actions_port"],
        SIGNPOST_TRACKER_DB=cfg["tracker_db"],
    )
    return env


def endpoints_file(cfg: dict[str, str]) -> Path:
    """bot/endpoints.yml with this run's ports and paths filled in (Rasa only reads whole-value ${VARS})."""
    template = (ROOT / "bot" / "endpoints.yml").read_text()
    for key, value in (("SIGNPOST_ACTIONS_PORT", cfg["actions_port"]), ("SIGNPOST_TRACKER_DB", cfg["tracker_db"])):
        template = template.replace("${" + key + "}", value)
    path = Path(cfg["tracker_db"]).parent / f"endpoints-{cfg['rasa_port']}.yml"
    path.write_text(template)
    return path


def commands(cfg: dict[str, str]) -> tuple[list[str], list[str]]:
    logging_config = ["--logging-config-file", str(ROOT / "bot" / "logging.yml")]  # identifiers redacted from logs
    actions = [sys.executable, str(ROOT / "scripts" / "actions_server.py"),  # `rasa run actions`, warmed up
               "--actions", "actions", "-p", cfg["actions_port"],
               "--logging-config_file", logging_config[1]]  # rasa_sdk's own spelling of the option
    rasa = [
        sys.executable, str(ROOT / "scripts" / "rasa_server.py"), "run",  # `rasa run` + a speed-up, a warm-up
        "--model", cfg["model"],
        "--endpoints", str(endpoints_file(cfg)),
        "--credentials", "bot/credentials.yml",
        "--interface", "127.0.0.1",
        "--port", cfg["rasa_port"],
        "--enable-api",
        *logging_config,
    ]
    if cfg.get("api_token"):
        rasa += ["--auth-token", cfg["api_token"]]
    return actions, rasa


def wait_for(url: str, process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def profile(argv: list[str]) -> str:
    """--profile NAME (or --profile=NAME) on the command line, else SIGNPOST_PROFILE, else embedded."""
    chosen = os.environ.get("SIGNPOST_PROFILE") or "embedded"
    for index, arg in enumerate(argv):
        if arg == "--profile" and index + 1 < len(argv):
            chosen = argv[index + 1]
        elif arg.startswith("--profile="):
            chosen = arg.split("=", 1)[1]
    return chosen or "embedded"


def main(argv: list[str] | None = None) -> int:
    chosen = profile(sys.argv[1:] if argv is None else argv)
    if chosen not in PROFILES:
        print(f"Unknown profile '{chosen}': use one of {', '.join(PROFILES)}.", file=sys.stderr)
        return 2
    if chosen == "production":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import production

        return production.main()
    cfg = settings()
    if not Path(cfg["model"]).exists():
        print(f"No model at {cfg['model']}: run `make train` first.", file=sys.stderr)
        return 1
    Path(cfg["tracker_db"]).parent.mkdir(parents=True, exist_ok=True)
    env = environment(cfg)
    actions_cmd, rasa_cmd = commands(cfg)
    processes: list[subprocess.Popen] = []

    stopping: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print(f"Starting the action server on 127.0.0.1:{cfg['actions_port']}...", flush=True)
        processes.append(subprocess.Popen(actions_cmd, cwd=ROOT, env=env))
        if not wait_for(f"http://127.0.0.1:{cfg['actions_port']}/health", processes[0], 120):
            print("The action server did not start; see the messages above.", file=sys.stderr)
            return 1
        print(f"Starting Rasa on 127.0.0.1:{cfg['rasa_port']} (loading the model takes about 30 s)...", flush=True)
        processes.append(subprocess.Popen(rasa_cmd, cwd=ROOT, env=env))
        base = f"http://127.0.0.1:{cfg['rasa_port']}"
        token = f"?token={urllib.parse.quote(cfg['api_token'])}" if cfg.get("api_token") else ""
        if not wait_for(f"{base}/webhooks/webchat/health", processes[1], 300) or not wait_for(
                f"{base}/status{token}", processes[1], 60):
            print("Rasa did not start; see the messages above.", file=sys.stderr)
            return 1
        # the check-in messages people ask for (stored in the project database, so a restart loses none)
        processes.append(subprocess.Popen([sys.executable, "-m", "signposting", "followups", "run"], cwd=ROOT, env=env))
        print(
            "\nSignpost is running.\n"
            f"  Web chat:     {base}/webhooks/webchat/\n"
            f"  REST webhook: curl -s {base}/webhooks/rest/webhook -d '{{\"sender\":\"me\",\"message\":\"hello\"}}'\n"
            "  Terminal:     make chat   (in another terminal)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        time.sleep(1)  # Ctrl-C reaches the whole process group: a child may stop before we hear of it
        if stopping:
            raise KeyboardInterrupt
        print("A Signpost process stopped unexpectedly; stopping the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Signpost...", flush=True)
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
