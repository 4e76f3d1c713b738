"""Scoring an intent classifier against a held-out set: per-intent precision/recall/F1, macro-F1, confusions."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml


def read_nlu_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs from a Rasa 3 NLU YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs = []
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((line[2:].strip(), block["intent"]))
    return pairs


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    scores: list[IntentScore]
    confusions: list[tuple[str, str, int]]   # (gold, predicted, count), most frequent first
    errors: list[tuple[str, str, str]]       # (text, gold, predicted)
    accuracy: float

    @property
    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.scores) / len(self.scores) if self.scores else 0.0

    def recall_of(self, intent: str) -> float:
        return next((s.recall for s in self.scores if s.intent == intent), 0.0)

    def table(self) -> str:
        lines = [f"{'intent':28} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}"]
        for s in sorted(self.scores, key=lambda s: s.f1):
            lines.append(f"{s.intent:28} {s.precision:6.2f} {s.recall:6.2f} {s.f1:6.2f} {s.support:4d}")
        lines.append(f"macro-F1 {self.macro_f1:.3f}   accuracy {self.accuracy:.3f}   examples {sum(s.support for s in self.scores)}")
        return "\n".join(lines)


def score(gold: list[str], predicted: list[str], texts: list[str] | None = None) -> Report:
    """Macro-averaged over the intents present in the gold labels."""
    texts = texts or [""] * len(gold)
    labels = sorted(set(gold))
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(IntentScore(label, precision, recall, f1, tp + fn))
    confusions = Counter((g, p) for g, p in zip(gold, predicted) if g != p)
    errors = [(t, g, p) for t, g, p in zip(texts, gold, predicted) if g != p]
    accuracy = sum(1 for g, p in zip(gold, predicted) if g == p) / len(gold) if gold else 0.0
    return Report(scores, [(g, p, n) for (g, p), n in confusions.most_common()], errors, accuracy)
