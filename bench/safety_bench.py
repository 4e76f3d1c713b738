"""Crisis screen benchmark: recall per kind, false alarms, time per message, time to compile.

    python bench/safety_bench.py            # main and held-out parts, 20 timing rounds
    python bench/safety_bench.py --rounds 5 --show-misses

Reads tests/data/safety_messages.yml. The held-out part is what to quote as the
screen's expected performance on messages it has not been tuned on (see the notes
at the top of that file for its history). The screen runs on spaCy's Matcher and
PhraseMatcher; the first load includes importing spaCy, the second line is the
compile alone (what a reload of an edited patterns.yml costs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from signposting.safety import DEFAULT_PATTERNS_PATH, CrisisKind, SafetyScreen, load_screen  # noqa: E402

DATA_PATH = ROOT / "tests" / "data" / "safety_messages.yml"


def report(screen: SafetyScreen, name: str, crisis: list[dict], lookalike: list[dict], show: bool) -> None:
    print(f"\n== {name}: {len(crisis)} crisis, {len(lookalike)} look-alike messages")
    caught: Counter[str] = Counter()
    right_kind: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for m in crisis:
        total[m["kind"]] += 1
        r = screen.screen(m["text"])
        if r is not None:
            caught[m["kind"]] += 1
            right_kind[m["kind"]] += r.kind.value == m["kind"]
        elif show:
            print(f"   MISS  {m['kind']:<20} {m['text']}")
    print(f"   {'kind':<20} {'recall':>14} {'right kind':>12}")
    for kind in CrisisKind:
        n = total[kind.value]
        if n:
            print(f"   {kind.value:<20} {caught[kind.value]:>4}/{n:<4} {100 * caught[kind.value] / n:5.1f}%"
                  f" {right_kind[kind.value]:>7}/{n}")
    n_all = sum(total.values())
    print(f"   {'all':<20} {sum(caught.values()):>4}/{n_all:<4} {100 * sum(caught.values()) / n_all:5.1f}%"
          f" {sum(right_kind.values()):>7}/{n_all}")

    alarms: Counter[str] = Counter()
    tags: Counter[str] = Counter(m["tag"] for m in lookalike)
    for m in lookalike:
        r = screen.screen(m["text"])
        if r is not None:
            alarms[m["tag"]] += 1
            if show:
                print(f"   FALSE ALARM  {r.kind.value} {r.matched!r}: {m['text']}")
    fa = sum(alarms.values())
    print(f"   false alarms: {fa}/{len(lookalike)} = {100 * fa / len(lookalike):.1f}%"
          + (f"  (by tag: {dict(alarms)})" if fa else ""))
    if not fa:
        print(f"   look-alike tags: {dict(sorted(tags.items()))}")


def timing(screen: SafetyScreen, texts: list[str], rounds: int) -> None:
    samples: list[float] = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter_ns()
            screen.screen(text)
            samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    print(f"\n== timing: {len(samples)} screens ({len(texts)} messages x {rounds})")
    print(f"   mean {statistics.mean(samples):.0f} us   median {statistics.median(samples):.0f} us"
          f"   p95 {p95:.0f} us   max {samples[-1]:.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="timing rounds over all messages")
    parser.add_argument("--show-misses", action="store_true", help="print every miss and false alarm")
    args = parser.parse_args()

    start = time.perf_counter()
    screen = load_screen()
    print(f"patterns loaded and compiled in {1000 * (time.perf_counter() - start):.0f} ms (spaCy imported)")
    patterns = yaml.safe_load(DEFAULT_PATTERNS_PATH.read_text(encoding="utf-8"))
    start = time.perf_counter()
    SafetyScreen(patterns, str(DEFAULT_PATTERNS_PATH))
    print(f"patterns compiled again in {1000 * (time.perf_counter() - start):.0f} ms")
    phrase_matcher, *matchers = screen.spacy_matchers
    print(f"engine: one spaCy PhraseMatcher ({len(phrase_matcher)} phrases of patterns.yml) and"
          f" {len(matchers)} Matchers ({sum(len(m) for m in matchers)} rules), by anchor word")
    data = yaml.safe_load(DATA_PATH.read_text(encoding="utf-8"))
    held = data["held_out"]
    report(screen, "main (tuned on)", data["crisis"], data["lookalike"], args.show_misses)
    report(screen, "held_out", held["crisis"], held["lookalike"], args.show_misses)
    history = held.get("history") or []
    if history:
        print("   first look at each held-out round, before it was tuned on:")
        for h in history:
            print(f"     round {h['round']} ({h['date']}): recall {h['crisis_caught']}/{h['crisis_total']}"
                  f" = {100 * h['crisis_caught'] / h['crisis_total']:.0f}%, false alarms"
                  f" {h['false_alarms']}/{h['lookalike_total']} = {100 * h['false_alarms'] / h['lookalike_total']:.0f}%")
        print("   The latest round has been tuned on since; quote the first-look figures.")
    report(screen, "all", data["crisis"] + held["crisis"], data["lookalike"] + held["lookalike"], False)
    texts = [m["text"] for m in data["crisis"] + data["lookalike"] + held["crisis"] + held["lookalike"]]
    timing(screen, texts, max(1, args.rounds))


if __name__ == "__main__":
    main()
