"""Train the Rasa model only when its inputs changed.

Inputs: config.yml, the domain (bot/domain/) and the custom NLU components (bot/components/),
and everything under data/. Run-time settings elsewhere in bot/ (endpoints, credentials, logging,
tracker and lock stores) are left out: changing them needs no retraining. Their SHA-256 fingerprint is stored beside the model in
models/signpost.fingerprint; a matching fingerprint and an existing model mean "up to date".

Usage: python scripts/train_if_stale.py [--force]
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
MODEL = MODELS / "signpost.tar.gz"
FINGERPRINT = MODELS / "signpost.fingerprint"


def training_inputs() -> list[Path]:
    """Every file whose change needs a new model, in a stable order."""
    files = [ROOT / "config.yml"]
    for folder in (ROOT / "bot" / "domain", ROOT / "bot" / "components", ROOT / "data"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files.append(path)
    return files


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def is_stale() -> bool:
    if not MODEL.exists() or not FINGERPRINT.exists():
        return True
    return FINGERPRINT.read_text().strip() != fingerprint()


def train() -> None:
    MODELS.mkdir(exist_ok=True)
    current = fingerprint()
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", PYTHONPATH=str(ROOT))
    rasa = Path(sys.executable).with_name("rasa")
    cmd = [
        str(rasa), "train",
        "--domain", "bot/domain", "--data", "data", "--config", "config.yml",
        "--out", "models", "--fixed-model-name", "signpost", "--force",
    ]
    print("Training the Rasa model (about a minute on 2 cores)...", flush=True)
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(f"Training failed (exit {result.returncode}); the previous model, if any, is unchanged.")
    FINGERPRINT.write_text(current + "\n")
    print(f"Model trained in {time.monotonic() - started:.0f} s: {MODEL.relative_to(ROOT)}", flush=True)


def main(argv: list[str]) -> None:
    if "--force" in argv or is_stale():
        train()
    else:
        print(f"Model is up to date ({MODEL.relative_to(ROOT)}); nothing to train.")


if __name__ == "__main__":
    main(sys.argv[1:])
