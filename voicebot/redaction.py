"""Masking of long numbers (card, account, phone, identity numbers) in what the bot keeps.

Any run of eight or more digits, written ("4111 1111 1111 1111") or spoken ("four one one
one ...", "四一一一…"), keeps only its last four digits. Short numbers (amounts, dates, the
last four digits a caller is asked for) stay readable. The full redaction policy (Luhn,
CVV, expiry, e-mail, identity numbers) comes with the compliance work.
"""

from __future__ import annotations

import re

MIN_DIGITS = 8
_SPOKEN = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3",
           "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
           "零": "0", "\u3007": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
           "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_WORDS = "|".join(w for w in _SPOKEN if w.isascii())
_DIGIT = rf"(?:\d|\b(?:{_WORDS})\b|[{''.join(w for w in _SPOKEN if not w.isascii())}])"
# Digits separated by spaces, dashes, dots or commas, as ASR writes spoken digit strings.
_RUN = re.compile(rf"{_DIGIT}(?:[\s\-.,]*{_DIGIT})+", re.IGNORECASE)
# A date as the bot writes slots (2026-11-22) or people write it (22.11.2026): not a secret.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{4}")


def redact(text: str) -> str:
    return _RUN.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    if _DATE.fullmatch(match[0]):
        return match[0]
    digits = [_SPOKEN.get(token.lower(), token) for token in re.findall(_DIGIT, match[0],
                                                                          re.IGNORECASE)]
    if len(digits) < MIN_DIGITS:
        return match[0]
    return f"[{len(digits)} digits ending {''.join(digits[-4:])}]"
