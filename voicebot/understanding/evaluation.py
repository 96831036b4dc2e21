"""How good an intent model is on held-out data: accuracy, macro-F1, the worst classes and
what they are mistaken for, and the latency of one classification."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voicebot.understanding.dataset import Example
from voicebot.understanding.intents import IntentClassifier


@dataclass(frozen=True)
class ClassReport:
    intent: str
    f1: float
    support: int
    confused_with: list[tuple[str, int]]  # the most frequent wrong answers


@dataclass(frozen=True)
class EvaluationReport:
    examples: int
    accuracy: float
    macro_f1: float
    worst: list[ClassReport]
    latency_ms_p50: float
    latency_ms_p95: float


def evaluate(classifier: IntentClassifier, examples: Sequence[Example], worst: int = 5,
             progress: Callable[[int], None] | None = None) -> EvaluationReport:
    """Classify each example alone, as a call would, timing every classification."""
    predicted, latencies = timed_predictions(classifier, examples, progress)
    truth = [e.intent for e in examples]
    reports = class_reports(truth, predicted)
    return EvaluationReport(
        examples=len(examples),
        accuracy=accuracy(truth, predicted),
        macro_f1=float(np.mean([r.f1 for r in reports])),
        worst=sorted(reports, key=lambda r: r.f1)[:worst],
        latency_ms_p50=float(np.percentile(latencies, 50)),
        latency_ms_p95=float(np.percentile(latencies, 95)))


def timed_predictions(classifier: IntentClassifier, examples: Sequence[Example],
                      progress: Callable[[int], None] | None = None,
                      ) -> tuple[list[str], list[float]]:
    """The intent predicted for each example, and how long each took (ms)."""
    predicted, latencies = [], []
    for example in examples:
        started = time.perf_counter()
        predicted.append(classifier.classify(example.text).name)
        latencies.append((time.perf_counter() - started) * 1000)
        if progress:
            progress(1)
    return predicted, latencies


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return float(np.mean([t == p for t, p in zip(truth, predicted, strict=True)]))


def class_reports(truth: Sequence[str], predicted: Sequence[str]) -> list[ClassReport]:
    return [_class_report(intent, truth, predicted) for intent in sorted(set(truth))]


def _class_report(intent: str, truth: Sequence[str], predicted: Sequence[str]) -> ClassReport:
    pairs = list(zip(truth, predicted, strict=True))
    hits = sum(1 for t, p in pairs if t == p == intent)
    support = sum(1 for t, _ in pairs if t == intent)
    claimed = sum(1 for _, p in pairs if p == intent)
    f1 = 2 * hits / (support + claimed) if support + claimed else 0.0
    wrong = Counter(p for t, p in pairs if t == intent and p != intent)
    return ClassReport(intent, f1, support, wrong.most_common(3))


def format_report(report: EvaluationReport) -> str:
    lines = [f"examples      {report.examples}",
             f"accuracy      {report.accuracy:.2%}",
             f"macro-F1      {report.macro_f1:.2%}",
             f"latency/utt   p50 {report.latency_ms_p50:.2f} ms   "
             f"p95 {report.latency_ms_p95:.2f} ms (one thread)",
             "", f"{'worst classes':32s} {'F1':>6s} {'n':>4s}  mistaken for"]
    for r in report.worst:
        confused = ", ".join(f"{name} x{n}" for name, n in r.confused_with) or "-"
        lines.append(f"{r.intent:32s} {r.f1:6.1%} {r.support:4d}  {confused}")
    return "\n".join(lines)
