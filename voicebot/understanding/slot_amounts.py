"""Amounts of money in what a caller says, and how the bot says them back."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from voicebot.understanding.slot_phrases import (
    as_phrase,
    as_phrases,
    phrase_at,
    phrase_before,
    skip_words,
    whole_number,
)
from voicebot.understanding.slot_values import Amount, Found
from voicebot.understanding.spoken_numbers import SpokenNumber, find_numbers, read_number

_CURRENCIES = {as_phrase(k): v for k, v in {
    "dollars": "USD", "dollar": "USD", "bucks": "USD", "buck": "USD", "usd": "USD", "$": "USD",
    "美元": "USD", "美金": "USD",
    "euros": "EUR", "euro": "EUR", "eur": "EUR", "€": "EUR", "欧元": "EUR",
    "pounds": "GBP", "pound": "GBP", "quid": "GBP", "gbp": "GBP", "£": "GBP", "英镑": "GBP",
    "yuan": "CNY", "rmb": "CNY", "renminbi": "CNY", "cny": "CNY", "元": "CNY", "块": "CNY",
    "块钱": "CNY", "人民币": "CNY",
    "¥": "CNY",  # also the yen sign, but this hotline's callers mean yuan
    "hong kong dollars": "HKD", "hkd": "HKD", "港币": "HKD", "港元": "HKD"}.items()}
# Said before the number: "$250", "RMB 250", "人民币两百".
_CURRENCY_PREFIXES = as_phrases("$", "€", "£", "¥", "usd", "eur", "gbp", "rmb", "cny", "hkd",
                                "人民币", "港币")
_MINOR_UNITS = {as_phrase(k): Decimal(v) for k, v in {
    "cents": "0.01", "cent": "0.01", "pence": "0.01", "p": "0.01",
    "毛": "0.1", "角": "0.1", "分": "0.01"}.items()}
_MONEY_CUES = as_phrases(
    "paid", "pay", "payment", "charged", "charge", "amount", "transfer", "transferred",
    "sent", "withdrew", "withdrawn", "withdrawal", "deposit", "deposited", "spent", "cost",
    "costs", "refund", "debited", "金额", "付了", "付款", "支付", "转了", "转账", "花了", "扣了",
    "扣款", "消费", "取了", "取款", "存了", "刷了", "一共", "总共")
_MONEY_FILLERS = frozenset({
    "of", "about", "around", "roughly", "approximately", "almost", "nearly", "over", "was",
    "is", "were", "me", "a", "the", "only", "just", "like", "it", "total", "exactly",
    "了", "是", "为", "约", "大", "概", "共"})
DEFAULT_CURRENCY = {"en": "USD", "zh": "CNY"}
_CURRENCY_NAMES = {
    "en": {"USD": ("dollar", "dollars"), "EUR": ("euro", "euros"), "GBP": ("pound", "pounds"),
           "CNY": ("yuan", "yuan"), "HKD": ("Hong Kong dollar", "Hong Kong dollars")},
    "zh": {"USD": ("美元", "美元"), "EUR": ("欧元", "欧元"), "GBP": ("英镑", "英镑"),
           "CNY": ("元", "元"), "HKD": ("港币", "港币")},
}


def _minor_units(words: Sequence[str], end: int, value: Decimal,
                 currency: str) -> tuple[Decimal, int]:
    """Cents after the main unit: "and twenty cents", "五毛", and colloquial "三块五" (3.5)."""
    start = end
    i = skip_words(words, end, frozenset({"and"}))
    while i < len(words) and (number := read_number(words, i)) and number.end < len(words):
        minor, count = phrase_at(words, number.end, _MINOR_UNITS), whole_number(number)
        if minor is None or count is None or not 0 < count < 100:
            break
        value, end = value + count * _MINOR_UNITS[minor], number.end + len(minor)
        i = end
    tenth = read_number(words, end) if end == start and end < len(words) else None
    if currency == "CNY" and tenth and tenth.end == end + 1 and not words[end].isascii():
        digit = whole_number(tenth)
        if digit is not None and 0 < digit < 10:
            return value + Decimal(digit) / 10, tenth.end
    return value, end


def _after_money_cue(words: Sequence[str], start: int) -> bool:
    """Whether a money word comes before the number, fillers aside: "I paid about 250"."""
    while not phrase_before(words, start, _MONEY_CUES):
        if start == 0 or words[start - 1] not in _MONEY_FILLERS:
            return False
        start -= 1
    return True


def _amount(words: Sequence[str], number: SpokenNumber, default_currency: str,
            expected: bool) -> Found | None:
    if number.value is None:
        return None
    start, end, value, currency = number.start, number.end, number.value, None
    if suffix := phrase_at(words, end, _CURRENCIES):
        currency, end = _CURRENCIES[suffix], end + len(suffix)
        value, end = _minor_units(words, end, value, currency)
    if prefix := phrase_before(words, start, _CURRENCY_PREFIXES):
        currency, start = currency or _CURRENCIES[prefix], start - len(prefix)
    if currency is None:
        # A lone Chinese digit is a count ("一下", "两张"), never an amount without its currency.
        lone_digit = end - start == 1 and not words[start].isascii()
        if lone_digit or not (expected or _after_money_cue(words, start)):
            return None
        currency = default_currency
    return Found(Amount(value, currency), start, end)


def find_amounts(words: Sequence[str], default_currency: str, expected: bool) -> list[Found]:
    found: list[Found] = []
    for number in find_numbers(words):
        taken = found[-1].end if found else 0  # cents already read with the amount before
        amount = _amount(words, number, default_currency, expected)
        if amount and number.start >= taken:
            found.append(amount)
    return found


def describe_amount(amount: Amount, language: str) -> str:
    """"250 dollars", "250元"."""
    value = amount.value
    number = f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"
    one, many = _CURRENCY_NAMES[language].get(amount.currency, (amount.currency,) * 2)
    if language == "zh":
        return f"{number}{one}"
    return f"{number} {one if value == 1 else many}"
