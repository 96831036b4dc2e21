"""The interface every intent engine implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Intent:
    name: str
    confidence: float  # 0..1; below the dialogue's threshold the bot asks again


class IntentClassifier(Protocol):
    def classify(self, text: str) -> Intent: ...
