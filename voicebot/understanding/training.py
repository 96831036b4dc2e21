"""Training intent models from data files, and the default model for the shipped intent set."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from voicebot.understanding.classifier import (
    FORMAT_VERSION,
    TrainedIntentClassifier,
    TrainingSettings,
)
from voicebot.understanding.dataset import load_examples
from voicebot.understanding.encoder import SentenceEncoder

DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_TRAIN = sorted(DATA_DIR.glob("financial.*.train.yaml"))
SHIPPED_TEST = sorted(DATA_DIR.glob("financial.*.test.yaml"))

Progress = Callable[[int, str], Callable[[int], None]]
"""(total, description) -> advance(n): lets the CLI show a progress bar."""


def train_model(data: Sequence[Path], out: Path, encoder: SentenceEncoder,
                settings: TrainingSettings | None = None,
                progress: Progress | None = None) -> TrainedIntentClassifier:
    examples = load_examples(data)
    texts = [e.text for e in examples]
    advance = progress(len(texts), "embedding training utterances") if progress else None
    model = TrainedIntentClassifier.train(texts, [e.intent for e in examples], encoder,
                                          settings, advance)
    model.save(out)
    return model


def shipped_model(cache_dir: Path, encoder: SentenceEncoder,
                  progress: Progress | None = None) -> TrainedIntentClassifier:
    """The model for the shipped financial intent set, trained once per version of its data."""
    # A new version of the data, the settings or the model format trains a new model.
    recipe = f"{FORMAT_VERSION}:{TrainingSettings()}".encode()
    digest = hashlib.sha256(b"".join([recipe, *(p.read_bytes() for p in SHIPPED_TRAIN)]))
    folder = cache_dir / f"intents-financial-{digest.hexdigest()[:12]}"
    if (folder / "model.json").is_file():
        return TrainedIntentClassifier.load(folder, encoder)
    return train_model(SHIPPED_TRAIN, folder, encoder, progress=progress)
