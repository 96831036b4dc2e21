"""Slots in what a caller says: card digits, amount, date, policy/claim reference, account type."""

from __future__ import annotations

import datetime

from voicebot.understanding.language import language_of
from voicebot.understanding.slot_account_types import describe_account_type, find_account_types
from voicebot.understanding.slot_amounts import DEFAULT_CURRENCY, describe_amount, find_amounts
from voicebot.understanding.slot_cards import find_bare_cards, find_cued_cards
from voicebot.understanding.slot_dates import describe_date, find_dates
from voicebot.understanding.slot_references import (
    REFERENCE_CUES,
    find_bare_references,
    find_cued_references,
)
from voicebot.understanding.slot_values import Amount, Found, SlotValue
from voicebot.understanding.spoken_numbers import tokenize

__all__ = ["SLOT_NAMES", "Amount", "SlotValue", "describe", "extract_slots"]

SLOT_NAMES = ("card_last4", "amount", "date", "policy_number", "claim_number", "account_type")


def _blank(tokens: list[str], found: list[Found]) -> list[str]:
    """The tokens with those of the slots found made empty: no reader matches them again."""
    taken = {i for hit in found for i in range(hit.start, hit.end)}
    return ["" if i in taken else token for i, token in enumerate(tokens)]


def extract_slots(text: str, *, today: datetime.date, expected: str | None = None,
                  language: str | None = None,
                  default_currency: str | None = None) -> dict[str, SlotValue]:
    """The slots said in `text`. `expected` is the slot the bot just asked for: then bare
    digits count as card digits or a reference, and a bare number as an amount.
    `default_currency` is for amounts said with a money word but no currency (USD for English,
    CNY for Chinese unless given)."""
    if expected is not None and expected not in SLOT_NAMES:
        raise ValueError(f"unknown slot {expected!r}; known: {SLOT_NAMES}")
    language = language or language_of(text)
    if language not in DEFAULT_CURRENCY:
        raise ValueError(f"unsupported language {language!r}")
    tokens = tokenize(text)
    words = [token.lower() for token in tokens]
    slots: dict[str, SlotValue] = {}

    def keep(name: str, found: list[Found]) -> None:
        nonlocal tokens, words
        if found:
            slots[name] = found[-1].value
            tokens, words = _blank(tokens, found), _blank(words, found)

    # Dates and amounts first: their words are blanked out, so "250 dollars" or "2026-11-20"
    # never become card digits or a reference. Said twice, the last one wins: callers correct
    # themselves at the end ("not 4521, 4522").
    keep("date", find_dates(words, today))
    currency = default_currency or DEFAULT_CURRENCY[language]
    keep("amount", find_amounts(words, currency, expected == "amount"))
    for name, cues in REFERENCE_CUES.items():
        keep(name, find_cued_references(tokens, words, cues))
    keep("card_last4", find_cued_cards(words))
    if expected == "card_last4" and expected not in slots:
        keep(expected, find_bare_cards(words))
    if expected in REFERENCE_CUES and expected not in slots:
        keep(expected, find_bare_references(tokens, words))
    keep("account_type", find_account_types(words))
    return slots


def describe(name: str, value: SlotValue, language: str) -> str:
    """How the bot says a slot back: "4 5 2 1", "250 dollars", "March 3", "250元", "3月3日"."""
    if isinstance(value, Amount):
        return describe_amount(value, language)
    if isinstance(value, datetime.date):
        return describe_date(value, language)
    if name == "account_type":
        return describe_account_type(value, language)
    if name in REFERENCE_CUES or name == "card_last4":
        # One character at a time, as the caller said it: "4521" is read "four thousand...".
        return " ".join(value)
    return value
