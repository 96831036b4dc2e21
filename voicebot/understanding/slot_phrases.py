"""Token and phrase matching shared by the slot readers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

from voicebot.understanding.spoken_numbers import SpokenNumber, tokenize

Phrase: TypeAlias = tuple[str, ...]


def as_phrase(text: str) -> Phrase:
    """A phrase as the tokens it is said in: English by words, Chinese by characters."""
    return tuple(token.lower() for token in tokenize(text))


def as_phrases(*texts: str) -> frozenset[Phrase]:
    return frozenset(map(as_phrase, texts))


def phrase_at(words: Sequence[str], start: int, phrases: Iterable[Phrase]) -> Phrase | None:
    """The longest of the phrases said from `start` on."""
    said = [p for p in phrases if tuple(words[start:start + len(p)]) == p]
    return max(said, key=len, default=None)


def phrase_before(words: Sequence[str], end: int, phrases: Iterable[Phrase]) -> Phrase | None:
    """The longest of the phrases said right before `end`."""
    said = [p for p in phrases if len(p) <= end and tuple(words[end - len(p):end]) == p]
    return max(said, key=len, default=None)


def skip_words(words: Sequence[str], start: int, fillers: frozenset[str]) -> int:
    while start < len(words) and words[start] in fillers:
        start += 1
    return start


def whole_number(number: SpokenNumber | None) -> int | None:
    value = number.value if number else None
    return int(value) if value is not None and value == int(value) else None
