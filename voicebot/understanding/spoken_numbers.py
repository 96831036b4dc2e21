"""Spoken numbers as Whisper writes them, in English and Mandarin: digit strings and values."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from voicebot.understanding.language import normalise

_TOKEN = re.compile(
    r"""
      \d{4}-\d{1,2}-\d{1,2}                 # ISO date: 2026-11-20
    | \d{1,2}/\d{1,2}(?:/\d{2,4})?          # month/day(/year): 3/14
    | \d+(?:st|nd|rd|th)\b                  # numeric ordinal: 3rd
    | \d{1,3}(?:,\d{3})+(?:\.\d+)?          # numeral with thousands separators: 1,250.50
    | \d+(?:\.\d+)?                         # numeral: 250, 2.5, 0013
    | [A-Za-z]+(?:'[A-Za-z]+)?              # word, apostrophe kept: don't
    | [\u3007\u3400-\u4dbf\u4e00-\u9fff]    # one CJK character
    | [$€£¥]                                # currency sign
    """,
    re.VERBOSE | re.ASCII,
)
_NUMERAL = re.compile(r"\d[\d,]*(?:\.\d+)?", re.ASCII)
_NUMERIC_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)", re.ASCII)

_UNITS = {"zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
          "six": 6, "seven": 7, "eight": 8, "nine": 9}
_LETTER_ZEROS = frozenset({"oh", "o"})  # zero said as the letter: only ever a digit on its own
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_WORD_VALUES = {**_UNITS, **_TEENS, **_TENS}
_SCALES = {"thousand": 1000, "million": 1_000_000}
_REPEATS = {"double": 2, "triple": 3}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
             "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
             "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
             "thirtieth": 30}
# Which kind of word may come right before each kind inside one English number ("" = none yet).
_MAY_FOLLOW = {
    "unit": frozenset({"", "tens", "hundred", "scale", "and"}),
    "teen": frozenset({"", "hundred", "scale", "and"}),
    "tens": frozenset({"", "hundred", "scale", "and"}),
    "hundred": frozenset({"unit", "teen", "a", "numeral"}),
    "scale": frozenset({"unit", "teen", "tens", "hundred", "a", "numeral"}),
    "and": frozenset({"hundred", "scale"}),
    "a": frozenset({""}),
    "numeral": frozenset({""}),
}

# "幺" is how 1 is said in phone and card numbers; "两" is 2 before units and in digit strings.
_ZH_DIGITS = {"零": 0, "\u3007": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_ZH_UNITS = _ZH_SMALL_UNITS.keys() | _ZH_BIG_UNITS.keys()


@dataclass(frozen=True)
class SpokenNumber:
    """A *group* (one number as said: "two hundred and fifty", "两百五", "45") or a *run* (groups
    said back to back, as card and policy digits are: "four five two one", "45 21", "四五二一").
    Positions are token indices from `tokenize`."""

    start: int
    end: int  # one past the last token
    value: Decimal | None  # None for digit strings that are no single number ("four five")
    digits: str | None  # digit by digit ("0013" keeps its zeros); None with a fraction


# Whisper writes four digits said one by one as "4.5.2.1" or "4.521" now and then (seen on
# telephone audio); no amount has dots between single digits, nor three decimals and one
# non-zero digit before the point (a rate such as "3.125%" stays a number).
_DOTTED_DIGITS = re.compile(r"\b\d(?:\.\d){2,}\b|\b[1-9]\.\d{3}\b(?![.,]?\d|\s*%)")


def tokenize(text: str) -> list[str]:
    """Words, numerals, single CJK characters and currency signs; punctuation is dropped so that
    "4, 5, 2, 1", "4.5.2.1", "4.521" and "C-L-M" read as sequences."""
    spaced = _DOTTED_DIGITS.sub(lambda m: m.group().replace(".", " "), normalise(text))
    return _TOKEN.findall(spaced)


def find_numbers(tokens: Sequence[str]) -> list[SpokenNumber]:
    """Every run in the tokens, left to right."""
    found: list[SpokenNumber] = []
    i = 0
    while i < len(tokens):
        # A free-standing "oh" is far more often the interjection ("Oh, 4521") than a leading
        # zero, so it does not start a run; inside one it is a zero.
        run = None if tokens[i].lower() in _LETTER_ZEROS else read_run(tokens, i)
        if run is None:
            i += 1
        else:
            found.append(run)
            i = run.end
    return found


def read_run(tokens: Sequence[str], start: int) -> SpokenNumber | None:
    """The run that begins exactly at `start`."""
    groups: list[SpokenNumber] = []
    end = start
    while end < len(tokens) and (group := read_number(tokens, end)) is not None:
        groups.append(group)
        end = group.end
    if not groups:
        return None
    if len(groups) == 1:
        return groups[0]
    parts = [g.digits for g in groups]
    digits = None if None in parts else "".join(p for p in parts if p is not None)
    return SpokenNumber(start, end, _hundreds_pair(tokens, groups), digits)


def read_number(tokens: Sequence[str], start: int) -> SpokenNumber | None:
    """The single group that begins exactly at `start`."""
    token = tokens[start]
    next_token = tokens[start + 1] if start + 1 < len(tokens) else ""
    # A numeral before a Chinese unit is read the Chinese way: "3万", "2.5万".
    before_unit = _numeral(token) is not None and next_token in _ZH_UNITS
    if token in _ZH_DIGITS or token == "十" or before_unit:
        return _chinese_group(tokens, start)
    return _english_group(tokens, start)


def read_ordinal(tokens: Sequence[str], start: int) -> SpokenNumber | None:
    """An ordinal at `start`: "3rd", "third", "twenty third"."""
    word = tokens[start].lower()
    if match := _NUMERIC_ORDINAL.fullmatch(word):
        return SpokenNumber(start, start + 1, Decimal(match[1]), match[1])
    following = tokens[start + 1].lower() if start + 1 < len(tokens) else ""
    if word in _TENS and _ORDINALS.get(following, 10) < 10:
        value = _TENS[word] + _ORDINALS[following]
        return SpokenNumber(start, start + 2, Decimal(value), str(value))
    if word in _ORDINALS:
        return SpokenNumber(start, start + 1, Decimal(_ORDINALS[word]), str(_ORDINALS[word]))
    return None


def _numeral(token: str) -> Decimal | None:
    return Decimal(token.replace(",", "")) if _NUMERAL.fullmatch(token) else None


def _digit(token: str) -> str | None:
    """A single spoken digit: "five", "oh", "5"."""
    word = token.lower()
    if word in _UNITS:
        return str(_UNITS[word])
    return word if len(word) == 1 and word.isdigit() else None


def _english_kind(word: str) -> str | None:
    if word in _UNITS:
        return "unit"
    if word in _TEENS:
        return "teen"
    if word in _TENS:
        return "tens"
    if word == "hundred":
        return "hundred"
    if word in _SCALES:
        return "scale"
    if word in ("and", "a"):
        return word
    return "numeral" if _numeral(word) is not None else None


def _english_group(tokens: Sequence[str], start: int) -> SpokenNumber | None:
    first = tokens[start].lower()
    if first in _REPEATS and start + 1 < len(tokens):
        digit = _digit(tokens[start + 1])  # "double five" -> "55"
        if digit is not None:
            return SpokenNumber(start, start + 2, None, digit * _REPEATS[first])
    total = current = Decimal(0)
    previous, last_scale, end = "", 10**12, start
    while end < len(tokens):
        word = tokens[end].lower()
        kind = _english_kind(word)
        following = _english_kind(tokens[end + 1].lower()) if end + 1 < len(tokens) else None
        if (kind is None or previous not in _MAY_FOLLOW[kind]
                or (word in _LETTER_ZEROS and previous)
                or (kind == "and" and following not in ("unit", "teen", "tens"))
                or (kind == "a" and following not in ("hundred", "scale"))
                or (kind == "hundred" and current >= 100)
                or (kind == "scale" and _SCALES[word] >= last_scale)):
            break
        if kind in ("unit", "teen", "tens"):
            current += _WORD_VALUES[word]
        elif kind == "hundred":
            current *= 100
        elif kind == "scale":
            last_scale = _SCALES[word]
            total, current = total + current * last_scale, Decimal(0)
        elif kind == "a":
            current = Decimal(1)
        elif kind == "numeral":
            current = Decimal(word.replace(",", ""))
        previous, end = kind, end + 1
    fraction, end = _fraction(tokens, end, "point", _digit)
    if end == start:
        return None
    return _group(tokens, start, end, total + current, fraction)


def _chinese_group(tokens: Sequence[str], start: int) -> SpokenNumber | None:
    total = section = Decimal(0)  # total: whole 万/亿 sections said; section: the current one
    pending: Decimal | None = None  # a digit waiting for its unit
    section_unit = last_unit = last_big = 0
    after_zero = False  # 零 said since the last unit: "一千零五" is 1005, not 1500
    end = start
    while end < len(tokens):
        token = tokens[end]
        digit = _ZH_DIGITS.get(token)
        value = Decimal(digit) if digit is not None else _numeral(token)
        if value is not None:
            if pending is not None:
                break  # two digits in a row: the next group of a digit string
            if value == 0 and last_unit:
                after_zero = True
            else:
                pending = value
        elif token in _ZH_SMALL_UNITS:
            unit = _ZH_SMALL_UNITS[token]
            # Units fall within a section; only 十 may stand without its digit ("十五").
            if (section_unit and unit >= section_unit) or (pending is None and end > start):
                break
            section += (1 if pending is None else pending) * unit
            pending, section_unit, last_unit, after_zero = None, unit, unit, False
        elif token in _ZH_BIG_UNITS:
            unit = _ZH_BIG_UNITS[token]
            if (pending is None and not section) or (last_big and unit >= last_big):
                break
            total += (section + (pending or 0)) * unit
            section, pending, section_unit, after_zero = Decimal(0), None, 0, False
            last_unit = last_big = unit
        else:
            break
        end += 1
    if pending is not None:
        # Colloquial "两百五" = 250, "一千二" = 1200: a last digit after 百/千/万 counts one unit
        # down, unless 零 was said in between.
        colloquial = last_unit >= 100 and not after_zero
        section += pending * last_unit / 10 if colloquial else pending
    fraction, end = _fraction(tokens, end, "点", _chinese_digit)
    if end == start:
        return None
    return _group(tokens, start, end, total + section, fraction)


def _chinese_digit(token: str) -> str | None:
    return str(_ZH_DIGITS[token]) if token in _ZH_DIGITS else None


def _fraction(tokens: Sequence[str], end: int, point: str,
              digit_of: Callable[[str], str | None]) -> tuple[str, int]:
    """The digits after a decimal point ("point five", "点五") at `end`, and where they stop."""
    if end >= len(tokens) or tokens[end].lower() != point:
        return "", end
    fraction, i = "", end + 1
    while i < len(tokens) and (digit := digit_of(tokens[i])) is not None:
        fraction, i = fraction + digit, i + 1
    return (fraction, i) if fraction else ("", end)


def _group(tokens: Sequence[str], start: int, end: int, whole: Decimal,
           fraction: str) -> SpokenNumber:
    if fraction:
        return SpokenNumber(start, end, whole + Decimal("0." + fraction), None)
    if end - start == 1 and _numeral(tokens[start]) is not None:
        text = tokens[start].replace(",", "")  # as written, so "0013" keeps its zeros
        return SpokenNumber(start, end, whole, None if "." in text else text)
    integral = whole == whole.to_integral_value()
    return SpokenNumber(start, end, whole, str(int(whole)) if integral else None)


def _hundreds_pair(tokens: Sequence[str], groups: list[SpokenNumber]) -> Decimal | None:
    """The value of two English groups said as hundreds: "three fifty" is 350.

    "three fifty" could also be 3.50 in a shop; we read it like "nineteen ninety" and "twelve
    fifty" (1250), the one reading that works for every size, and the dialogue reads the amount
    back for confirmation. Other runs ("four five two one") have no single value.
    """
    english = all(tokens[g.start].isascii() and tokens[g.start].isalpha() for g in groups)
    if len(groups) != 2 or not english:
        return None
    high, low = (g.value for g in groups)
    if high is None or low is None or not (1 <= high < 100 and 10 <= low < 100):
        return None
    return high * 100 + low if high == int(high) and low == int(low) else None
