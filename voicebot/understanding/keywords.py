"""A keyword intent engine for the walking skeleton: a few banking questions, no training.

Each intent lists phrases; the score is the share of a phrase's words found in order-free
form in the utterance, so "I've lost my card" and "my card is lost" both match "lost card".
"""

from __future__ import annotations

import re

from voicebot.understanding.intents import OUT_OF_SCOPE, Intent

KEYWORD_INTENTS: dict[str, tuple[str, ...]] = {
    "card_lost": ("lost card", "stolen card", "block card", "freeze card", "card missing",
                  "cancel card", "lost wallet"),
    "balance": ("balance", "how much money", "account balance", "how much do i have"),
    "human_agent": ("talk to a person", "speak to a person", "human", "agent", "operator",
                    "representative", "real person", "advisor"),
    "goodbye": ("goodbye", "bye", "that's all", "nothing else", "thank you bye"),
}
_WORD = re.compile(r"[a-z']+")
_STEMS = {"lose": "lost", "losing": "lost", "stole": "stolen", "cards": "card",
          "blocked": "block", "frozen": "freeze", "people": "person"}


def _words(text: str) -> set[str]:
    return {_STEMS.get(w, w) for w in _WORD.findall(text.lower())}


class KeywordIntentClassifier:
    def __init__(self, intents: dict[str, tuple[str, ...]] | None = None) -> None:
        self._phrases = [(name, _words(p)) for name, ps in (intents or KEYWORD_INTENTS).items()
                         for p in ps]

    def classify(self, text: str) -> Intent:
        words = _words(text)
        best = Intent(OUT_OF_SCOPE, 0.0)
        for name, phrase in self._phrases:
            score = len(phrase & words) / len(phrase)
            if score > best.confidence:
                best = Intent(name, score)
        return best
