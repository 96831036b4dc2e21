"""`voicebot nlu train|eval` and `voicebot kb check`: the understanding side of the CLI."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from audio_models.catalog import default_cache_dir
from voicebot.knowledge_loader import check
from voicebot.progress import progress_bar
from voicebot.understanding.classifier import TrainedIntentClassifier, TrainingSettings
from voicebot.understanding.dataset import load_examples
from voicebot.understanding.encoder import SentenceEncoder, prepare_encoder
from voicebot.understanding.evaluation import evaluate, format_report
from voicebot.understanding.training import SHIPPED_TEST, SHIPPED_TRAIN, train_model

_counting = progress_bar("utt")


def _encoder(args: argparse.Namespace, threads: int) -> SentenceEncoder:
    cache = Path(args.cache) if args.cache else default_cache_dir()
    return SentenceEncoder(prepare_encoder(cache), threads=threads)


def nlu_train(args: argparse.Namespace) -> int:
    data = args.data or SHIPPED_TRAIN
    settings = TrainingSettings(regularisation=args.regularisation)
    model = train_model(data, args.out, _encoder(args, threads=args.threads), settings,
                        _counting)
    print(f"trained {len(model.labels)} intents from {', '.join(map(str, data))} -> {args.out}")
    return 0


def nlu_eval(args: argparse.Namespace) -> int:
    # One thread: the latency reported is what one call's classification costs on one core.
    model = TrainedIntentClassifier.load(args.model, _encoder(args, threads=1))
    examples = load_examples(args.data or SHIPPED_TEST)
    report = evaluate(model, examples, progress=_counting(len(examples), "classifying"))
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    return 0


def kb_check(args: argparse.Namespace) -> int:
    errors = check(args.folder)
    for error in errors:
        print(error)
    print(f"{args.folder}: {'OK' if not errors else f'{len(errors)} error(s)'}")
    return 1 if errors else 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nlu = sub.add_parser("nlu", help="train and evaluate intent models").add_subparsers(
        dest="nlu_command", required=True)
    p = nlu.add_parser("train", help="train an intent model from CSV (text,category) or YAML")
    p.add_argument("--data", type=Path, action="append",
                   help="training file, repeatable (default: the shipped financial set)")
    p.add_argument("--out", type=Path, required=True, help="folder to write the model to")
    p.add_argument("--regularisation", type=float, default=TrainingSettings.regularisation,
                   help="logistic regression C (default %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="threads for embedding (default 2)")
    p.add_argument("--cache", help="folder for prepared models (default ~/.cache/voicebot)")
    p.set_defaults(run=nlu_train)
    p = nlu.add_parser("eval", help="accuracy, macro-F1, worst classes and latency on test data")
    p.add_argument("--model", type=Path, required=True, help="folder written by `nlu train`")
    p.add_argument("--data", type=Path, action="append",
                   help="test file, repeatable (default: the shipped held-out split)")
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    p.add_argument("--cache", help="folder for prepared models (default ~/.cache/voicebot)")
    p.set_defaults(run=nlu_eval)
    kb = sub.add_parser("kb", help="knowledge base tools").add_subparsers(
        dest="kb_command", required=True)
    p = kb.add_parser("check", help="validate a knowledge-base folder without serving it")
    p.add_argument("folder", type=Path)
    p.set_defaults(run=kb_check)
