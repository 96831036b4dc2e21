"""Policy and claim references in what a caller says: digits with spelled letters."""

from __future__ import annotations

from collections.abc import Sequence

from voicebot.understanding.slot_phrases import Phrase, as_phrases, phrase_at, skip_words
from voicebot.understanding.slot_values import Found
from voicebot.understanding.spoken_numbers import read_number

REFERENCE_CUES = {
    "policy_number": as_phrases("policy", "policy number", "保单", "保单号", "保单号码"),
    "claim_number": as_phrases("claim", "claim number", "claim reference", "理赔", "理赔号",
                               "理赔编号", "理赔单号", "案件号", "报案号"),
}
_REFERENCE_FILLERS = frozenset({
    "number", "no", "is", "it's", "its", "reference", "ref", "id", "the", "my", "was",
    "号", "码", "是", "为", "编", "单"})
_NATO = frozenset({
    "alfa", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "whisky", "xray", "yankee", "zulu"})
_MIN_REFERENCE_DIGITS = 4  # fewer is a misheard fragment: better to ask again


def _spelled_letters(token: str) -> str | None:
    """Letters of a reference: "C", "PL", "CLM" (Whisper writes spelled letters in capitals),
    "charlie"; "a", "i" and "o" in lower case are words or a zero."""
    if token.lower() in _NATO:
        return token[0].upper()
    if not (token.isascii() and token.isalpha()) or token == "OK":
        return None
    if token.isupper() and len(token) <= 4:
        return token
    return token.upper() if len(token) == 1 and token not in "aio" else None


def _reference(tokens: Sequence[str], words: Sequence[str], start: int) -> Found | None:
    pieces: list[tuple[str, int]] = []  # each piece with the index after it
    i = start
    while i < len(tokens):
        letters = _spelled_letters(tokens[i])
        number = None if letters else read_number(words, i)
        if letters:
            pieces.append((letters, i + 1))
        elif number and number.digits:
            pieces.append((number.digits, number.end))
        else:
            break
        i = pieces[-1][1]
    while pieces and pieces[-1][0] in ("A", "I"):  # "claim 12345678 I think": the word "I"
        pieces.pop()
    text = "".join(piece for piece, _ in pieces)
    if sum(c.isdigit() for c in text) < _MIN_REFERENCE_DIGITS:
        return None
    return Found(text, start, pieces[-1][1])


def find_cued_references(tokens: Sequence[str], words: Sequence[str],
                         cues: frozenset[Phrase]) -> list[Found]:
    """References after one of `cues`: "policy number PL 2024 0518"."""
    found: list[Found] = []
    for i in range(len(words)):
        cue = phrase_at(words, i, cues)
        start = skip_words(words, i + len(cue), _REFERENCE_FILLERS) if cue else len(words)
        reference = _reference(tokens, words, start) if start < len(words) else None
        found += [reference] if reference else []
    return found


def find_bare_references(tokens: Sequence[str], words: Sequence[str]) -> list[Found]:
    """References said alone, as when the bot has just asked for one."""
    found: list[Found] = []
    i = 0
    while i < len(tokens):
        reference = _reference(tokens, words, i)
        found += [reference] if reference else []
        i = reference.end if reference else i + 1
    return found
