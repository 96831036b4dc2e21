"""Account types in what a caller says, and how the bot names them back."""

from __future__ import annotations

from collections.abc import Sequence

from voicebot.understanding.slot_phrases import as_phrase, phrase_at
from voicebot.understanding.slot_values import Found

_ACCOUNT_TYPES = {as_phrase(k): v for k, v in {
    # "checking" alone is often the verb ("I'm checking my balance"), so only in phrases.
    "checking account": "checking", "chequing account": "checking", "current account": "checking",
    "from checking": "checking", "to checking": "checking", "into checking": "checking",
    "my checking": "checking", "活期": "checking",
    "savings": "savings", "saving account": "savings", "定期": "savings", "储蓄账户": "savings",
    "credit card": "credit_card", "信用卡": "credit_card",
    "debit card": "debit_card", "储蓄卡": "debit_card", "借记卡": "debit_card",
    "loan": "loan", "mortgage": "loan", "贷款": "loan", "房贷": "loan", "车贷": "loan"}.items()}
_ACCOUNT_NAMES = {
    "en": {"checking": "checking account", "savings": "savings account",
           "credit_card": "credit card", "debit_card": "debit card", "loan": "loan"},
    "zh": {"checking": "活期账户", "savings": "储蓄账户", "credit_card": "信用卡",
           "debit_card": "借记卡", "loan": "贷款"},
}


def find_account_types(words: Sequence[str]) -> list[Found]:
    found: list[Found] = []
    for i in range(len(words)):
        if phrase := phrase_at(words, i, _ACCOUNT_TYPES):
            found.append(Found(_ACCOUNT_TYPES[phrase], i, i + len(phrase)))
    return found


def describe_account_type(account_type: str, language: str) -> str:
    return _ACCOUNT_NAMES[language][account_type]
