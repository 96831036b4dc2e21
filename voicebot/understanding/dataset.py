"""Labelled utterances for training and evaluating intent models.

Two formats: CSV with a header `text,category` (the layout of public intent datasets such
as BANKING77), and the project's YAML (`language:` and `intents: {name: [utterances]}`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


class DatasetError(ValueError):
    """A training file is unreadable; the message names the file and line."""


def load_examples(paths: Iterable[Path]) -> list[Example]:
    examples = [e for path in paths for e in _load(path)]
    if not examples:
        raise DatasetError("no examples: give at least one non-empty --data file")
    return examples


def _load(path: Path) -> list[Example]:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(path)
    if path.suffix.lower() == ".csv":
        return _load_csv(path)
    raise DatasetError(f"{path}: unknown format; use .csv (text,category) or .yaml")


def _load_csv(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = [h.strip().lower() for h in next(rows, [])]
        if header[:2] != ["text", "category"]:
            raise DatasetError(f"{path}:1: expected the header 'text,category', got {header}")
        examples = []
        for row in rows:
            if not row:
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                # Unquoted commas inside the text are common in copied datasets: the label
                # is the last field, the rest is the utterance.
                if len(row) > 2 and row[-1].strip():
                    row = [",".join(row[:-1]), row[-1]]
                else:
                    raise DatasetError(f"{path}:{rows.line_num}: expected text,category, "
                                       f"got {row}")
            examples.append(Example(row[0].strip(), row[1].strip()))
    return examples


def _load_yaml(path: Path) -> list[Example]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DatasetError(f"{path}: {e}") from e
    intents = data.get("intents") if isinstance(data, dict) else None
    if not isinstance(intents, dict):
        raise DatasetError(f"{path}: expected a mapping with 'intents: {{name: [utterances]}}'")
    examples = []
    for name, utterances in intents.items():
        if not isinstance(utterances, list) or not all(isinstance(u, str) for u in utterances):
            raise DatasetError(f"{path}: intent {name!r} must be a list of utterances")
        examples += [Example(u.strip(), str(name)) for u in utterances if u.strip()]
    return examples
