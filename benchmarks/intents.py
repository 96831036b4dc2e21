"""Intent classification: accuracy and per-utterance latency of the feature sets, compared.

    .venv/bin/python -m benchmarks.intents [--train FILE ...] [--test FILE ...] [--runs 3]

Trains one model per feature set (n-grams, the MiniLM embedding, both: the default) on the
same data, then classifies the test set ``--runs`` times with each, one utterance at a time
on one thread, alternating models run by run so that they share the machine's noise.
Default data: the shipped financial intent set (English + Mandarin) and its held-out split;
a public CSV set such as BANKING77 works the same (``--train train.csv --test test.csv``).
Writes intents.json and intents.png under ``--out`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from benchmarks.stats import machine, percentiles
from voicebot.understanding.classifier import TrainedIntentClassifier, TrainingSettings
from voicebot.understanding.dataset import load_examples
from voicebot.understanding.encoder import SentenceEncoder, prepare_encoder
from voicebot.understanding.evaluation import accuracy, class_reports, timed_predictions
from voicebot.understanding.training import SHIPPED_TEST, SHIPPED_TRAIN

FEATURE_SETS = {
    "n-grams": TrainingSettings(embedding=False),
    "embedding": TrainingSettings(ngrams=False),
    "n-grams + embedding": TrainingSettings(),
}
LATENCY_TARGET_MS = 10.0


def _plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (bars, cdf) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = list(results)
    scores = [100 * results[n]["accuracy"] for n in names]
    bars.barh(names, scores, color="tab:blue")
    for row, score in enumerate(scores):
        bars.text(score, row, f" {score:.2f} %", va="center", fontsize=9)
    bars.set(xlabel="test accuracy (%)", xlim=(min(scores) - 5, 100),
             title="Accuracy on the held-out set")
    for n in names:
        xs = np.sort(results[n]["raw_latency_ms"])
        cdf.step(xs, np.arange(1, len(xs) + 1) / len(xs), where="post", label=n)
    cdf.axvline(LATENCY_TARGET_MS, color="red", linestyle="--", label="10 ms target (p95)")
    cdf.set(xlabel="ms per utterance, one thread", ylabel="share of utterances",
            title="Classification latency CDF")
    cdf.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, action="append", help="training file(s)")
    parser.add_argument("--test", type=Path, action="append", help="test file(s)")
    parser.add_argument("--runs", type=int, default=3, help="passes over the test set per model")
    parser.add_argument("--out", type=Path, default=Path("results/intents"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train = load_examples(args.train or SHIPPED_TRAIN)
    test = load_examples(args.test or SHIPPED_TEST)
    # One thread, as one call's classification runs on the hotline.
    encoder = SentenceEncoder(prepare_encoder(), threads=1)
    models: dict[str, TrainedIntentClassifier] = {}
    train_s: dict[str, float] = {}
    for name, settings in tqdm(FEATURE_SETS.items(), desc="training", unit="model"):
        started = time.perf_counter()
        models[name] = TrainedIntentClassifier.train(
            [e.text for e in train], [e.intent for e in train], encoder, settings)
        train_s[name] = time.perf_counter() - started
    truth = [e.intent for e in test]
    predicted: dict[str, list[str]] = {}
    latencies: dict[str, list[float]] = {name: [] for name in models}
    run_p95: dict[str, list[float]] = {name: [] for name in models}
    with tqdm(total=args.runs * len(models) * len(test), desc="classifying", unit="utt") as bar:
        for _ in range(args.runs):
            for name, model in models.items():
                predicted[name], ms = timed_predictions(model, test, bar.update)
                latencies[name] += ms
                run_p95[name].append(float(np.percentile(ms, 95)))
    results = {name: {
        "train_examples": len(train), "test_examples": len(test), "runs": args.runs,
        "accuracy": accuracy(truth, predicted[name]),
        "macro_f1": float(np.mean([r.f1 for r in class_reports(truth, predicted[name])])),
        "train_seconds": round(train_s[name], 1),
        "latency_ms": percentiles(latencies[name]),
        "latency_p95_ms_per_run": run_p95[name],
        "raw_latency_ms": latencies[name],
    } for name in models}
    data = {"machine": machine(), "train": [str(p) for p in args.train or SHIPPED_TRAIN],
            "test": [str(p) for p in args.test or SHIPPED_TEST], "feature_sets": results}
    (args.out / "intents.json").write_text(json.dumps(data, indent=2))
    _plot(results, args.out / "intents.png")
    print(f"\n{len(train)} training and {len(test)} test utterances, {args.runs} runs, "
          f"{os.cpu_count()} CPUs; latency per utterance on one thread")
    print(f"{'feature set':22} {'accuracy':>9} {'macro-F1':>9} {'train s':>8} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'p99 ms':>7}  p95 per run")
    for name, r in results.items():
        lat = r["latency_ms"]
        runs = " ".join(f"{p:.1f}" for p in r["latency_p95_ms_per_run"])
        print(f"{name:22} {r['accuracy']:>9.2%} {r['macro_f1']:>9.2%} {r['train_seconds']:>8.1f} "
              f"{lat['p50']:>7.2f} {lat['p95']:>7.2f} {lat['p99']:>7.2f}  {runs}")
    print(f"\nwritten: {args.out / 'intents.json'}, {args.out / 'intents.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
