"""Benefits engine speed: a full check and questions_that_matter over varied answer sets.

    .venv/bin/python bench/benefits_bench.py [--count 500] [--seed 7]

Prints mean and p95 per call for
  check                  every benefit for one set of answers (target: <= 5 ms)
  questions_that_matter  which unknown answers still matter (target: < 50 ms, called once per turn)
Answer sets mix nations, roles and values either side of every threshold, with each field unknown
about a third of the time. Exits 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signposting import benefits as b  # noqa: E402

TARGET_CHECK_MS = 5.0
TARGET_QUESTIONS_MS = 50.0


def answer_sets(rules: b.RuleSet, count: int, seed: int) -> list[b.Answers]:
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        values = {field: (None if rng.random() < 0.35 else rng.choice(rules.samples[field])) for field in b.ASK_ORDER}
        values["date"] = date(2026, 4, 6) if rng.random() < 0.5 else date(2027, 4, 5)
        result.append(b.Answers(**values))
    return result


def timed(function, items: list) -> list[float]:
    times = []
    for item in items:
        start = time.perf_counter()
        function(item)
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float], target: float) -> bool:
    mean, p95 = statistics.fmean(times), statistics.quantiles(times, n=20)[-1]
    ok = p95 <= target
    print(f"{label:<22} mean {mean:7.3f} ms   p95 {p95:7.3f} ms   max {max(times):7.3f} ms   "
          f"target {target:g} ms  {'OK' if ok else 'SLOW'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.perf_counter()
    rules = b.load_rules(date(2026, 11, 23))
    print(f"load_rules (first, with schema validation): {(time.perf_counter() - start) * 1000:.1f} ms; "
          f"{len(rules.rules)} rules, {len(rules.rates)} rates, tax year {rules.tax_year}")
    items = answer_sets(rules, args.count, args.seed)
    for answers in items[:20]:  # warm up
        b.check(answers, rules)
        b.questions_that_matter(answers, rules)
    results = [o.result for a in items for o in b.check(a, rules)]
    print(f"{len(items)} answer sets: {len(results)} outcomes "
          f"({', '.join(f'{results.count(r)} {r}' for r in b.RESULTS)})")
    ok = report("check", timed(lambda a: b.check(a, rules), items), TARGET_CHECK_MS)
    ok &= report("check (rules cached)", timed(b.check, items), TARGET_CHECK_MS)
    ok &= report("questions_that_matter", timed(lambda a: b.questions_that_matter(a, rules), items),
                 TARGET_QUESTIONS_MS)
    empty = b.Answers(date=date(2026, 11, 23))
    ok &= report("  (nothing known)", timed(lambda a: b.questions_that_matter(a, rules), [empty] * 50),
                 TARGET_QUESTIONS_MS)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
