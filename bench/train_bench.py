"""Training time, peak memory and model size.

Usage: python bench/train_bench.py   (trains into a scratch folder; the project's model is untouched)
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    rasa = str(Path(sys.executable).with_name("rasa"))
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        result = subprocess.run(
            [rasa, "train", "--domain", "bot/domain", "--data", "data", "--config", "config.yml",
             "--out", out, "--fixed-model-name", "bench", "--force", "--quiet"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.monotonic() - started
        if result.returncode != 0:
            sys.exit("training failed:\n" + result.stderr[-3000:])
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mb = (Path(out) / "bench.tar.gz").stat().st_size / 1e6
    print(f"training time      {seconds:7.1f} s   (cores: {os.cpu_count()})")
    print(f"training peak RSS  {peak_mb:7.0f} MB")
    print(f"model size         {size_mb:7.1f} MB")


if __name__ == "__main__":
    main()
