"""Intent accuracy on the held-out file (never used for training): macro-F1 and confusions.

Usage: python bench/nlu_eval.py [--model models/signpost.tar.gz] [--heldout tests/nlu/heldout.yml]
Targets (issue 3): macro-F1 >= 0.90 and every crisis example caught.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from signposting.evaluation import Report, read_nlu_examples, score  # noqa: E402


async def predict(agent, texts: list[str]) -> list[str]:
    return [(await agent.parse_message(text))["intent"]["name"] for text in texts]


async def evaluate_async(agent, heldout: Path) -> Report:
    pairs = read_nlu_examples(heldout)
    texts = [t for t, _ in pairs]
    return score([g for _, g in pairs], await predict(agent, texts), texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "signpost.tar.gz"))
    parser.add_argument("--heldout", default=str(ROOT / "tests" / "nlu" / "heldout.yml"))
    args = parser.parse_args()
    from rasa.core.agent import Agent

    started = time.monotonic()
    agent = Agent.load(args.model)
    print(f"Model loaded in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    report = asyncio.run(evaluate_async(agent, Path(args.heldout)))
    n = sum(s.support for s in report.scores)
    print(f"Parsed {n} held-out messages in {time.monotonic() - started:.1f} s\n")
    print(report.table())
    print("\nConfusions (gold -> predicted: count):")
    for gold, predicted, count in report.confusions[:25]:
        print(f"  {gold} -> {predicted}: {count}")
    print("\nMisclassified examples:")
    for text, gold, predicted in report.errors[:40]:
        print(f"  [{gold} -> {predicted}] {text}")
    crisis = report.recall_of("crisis")
    print(f"\nintent macro-F1 {report.macro_f1:.3f} (target >= 0.90); crisis recall {crisis:.3f} (target 1.000)")


if __name__ == "__main__":
    main()
