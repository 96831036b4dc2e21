"""A card's last four digits in what a caller says; never more of the card number."""

from __future__ import annotations

from collections.abc import Sequence

from voicebot.understanding.slot_dates import MONTHS
from voicebot.understanding.slot_phrases import as_phrases, phrase_at, skip_words
from voicebot.understanding.slot_values import Found
from voicebot.understanding.spoken_numbers import SpokenNumber, find_numbers, read_number, read_run

_CARD_CUES = as_phrases(
    "ending in", "ending with", "ends in", "ends with", "end in", "ending", "last four",
    "last 4", "last digits", "card number", "card ending", "尾号", "后四位", "末四位", "最后四位",
    "卡号")
_CARD_FILLERS = frozenset({
    "is", "are", "was", "were", "it's", "its", "digits", "numbers", "number", "of", "the",
    "my", "card", "in", "with", "是", "为", "的", "数", "字", "号", "码"})
_PAN_LENGTHS = range(13, 20)  # ISO/IEC 7812 card numbers


def _last_four(words: Sequence[str], run: SpokenNumber) -> str | None:
    """The card's last four digits from what was said: exactly four, or a whole card number.

    Of a whole card number only the last four are kept: the dialogue must never hold the full
    PAN. Other lengths (a phone number "138 0013 8000") are no card, so the bot asks again.
    """
    digits = run.digits or ""
    if len(digits) == 4:
        return digits
    if len(digits) in _PAN_LENGTHS:
        return digits[-4:]
    # Four-digit numbers back to back ("not 4521, 4522"; commas are dropped) are a correction:
    # the last one counts.
    groups: list[str] = []
    i = run.start
    while i < run.end and (group := read_number(words, i)):
        groups.append(group.digits or "")
        i = group.end
    return groups[-1] if len(groups) > 1 and all(len(g) == 4 for g in groups) else None


def find_cued_cards(words: Sequence[str]) -> list[Found]:
    """Card digits after a cue: "ending in 4521", "尾号4521"."""
    found: list[Found] = []
    for i in range(len(words)):
        cue = phrase_at(words, i, _CARD_CUES)
        start = skip_words(words, i + len(cue), _CARD_FILLERS) if cue else len(words)
        run = read_run(words, start) if start < len(words) else None
        if run and (digits := _last_four(words, run)):
            found.append(Found(digits, i, run.end))
    return found


def find_bare_cards(words: Sequence[str]) -> list[Found]:
    """Card digits said alone, as when the bot has just asked for them."""
    return [Found(digits, run.start, run.end) for run in find_numbers(words)
            if (digits := _last_four(words, run)) and not _said_as_year(words, run)]


def _said_as_year(words: Sequence[str], run: SpokenNumber) -> bool:
    """"2024年", "March 2024": no day, so no date slot, but still no card digits."""
    after = words[run.end] if run.end < len(words) else ""
    return after == "年" or (run.start > 0 and words[run.start - 1] in MONTHS)
