"""Slots in what a caller says: card digits, amount, date, policy/claim reference, account type."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from voicebot.understanding.language import language_of
from voicebot.understanding.spoken_numbers import (
    SpokenNumber,
    find_numbers,
    read_number,
    read_ordinal,
    read_run,
    tokenize,
)

SLOT_NAMES = ("card_last4", "amount", "date", "policy_number", "claim_number", "account_type")


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str  # ISO 4217


SlotValue: TypeAlias = str | Amount | datetime.date
Phrase: TypeAlias = tuple[str, ...]


@dataclass(frozen=True)
class _Found:
    value: SlotValue
    start: int
    end: int  # one past the last token


def _key(text: str) -> Phrase:
    """A phrase as the tokens it is said in: English by words, Chinese by characters."""
    return tuple(token.lower() for token in tokenize(text))


def _keys(*texts: str) -> frozenset[Phrase]:
    return frozenset(map(_key, texts))


def _phrase_at(words: Sequence[str], start: int, phrases: Iterable[Phrase]) -> Phrase | None:
    """The longest of the phrases said from `start` on."""
    said = [p for p in phrases if tuple(words[start:start + len(p)]) == p]
    return max(said, key=len, default=None)


def _phrase_before(words: Sequence[str], end: int, phrases: Iterable[Phrase]) -> Phrase | None:
    """The longest of the phrases said right before `end`."""
    said = [p for p in phrases if len(p) <= end and tuple(words[end - len(p):end]) == p]
    return max(said, key=len, default=None)


def _skip(words: Sequence[str], start: int, fillers: frozenset[str]) -> int:
    while start < len(words) and words[start] in fillers:
        start += 1
    return start


def _blank(tokens: list[str], found: list[_Found]) -> list[str]:
    """The tokens with those of the slots found made empty: no reader matches them again."""
    taken = {i for hit in found for i in range(hit.start, hit.end)}
    return ["" if i in taken else token for i, token in enumerate(tokens)]


def _whole(number: SpokenNumber | None) -> int | None:
    value = number.value if number else None
    return int(value) if value is not None and value == int(value) else None


# --- dates -----------------------------------------------------------------------------------

_DAYS_BACK = {_key(k): v for k, v in {
    "today": 0, "yesterday": 1, "the day before yesterday": 2, "day before yesterday": 2,
    "今天": 0, "昨天": 1, "前天": 2, "大前天": 3}.items()}
_AGO = _keys("days ago", "day ago", "天前", "天以前", "天之前")
_MONTHS = {name: number for number, names in enumerate(
    ("january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
     "august aug", "september sep sept", "october oct", "november nov", "december dec"),
    start=1) for name in names.split()}
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
             "saturday": 5, "sunday": 6}
_ZH_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_ZH_WEEK = _keys("周", "星期", "礼拜")
_ZH_DAY_MARKS = frozenset({"号", "日"})
_THE = frozenset({"the"})
_OLDEST_YEAR_BACK = 8  # enough to reach the last February 29


def _past_date(today: datetime.date, month: int, day: int,
               year: int | None = None) -> datetime.date | None:
    """The date said, never in the future; without a year, its latest occurrence up to today."""
    years = [year] if year else range(today.year, today.year - _OLDEST_YEAR_BACK, -1)
    for candidate in years:
        try:
            date = datetime.date(candidate, month, day)
        except ValueError:
            continue
        if date <= today:
            return date
    return None


def _last_weekday(today: datetime.date, weekday: int) -> datetime.date:
    """The latest such weekday before today: callers talk about past transactions."""
    return today - datetime.timedelta(days=(today.weekday() - weekday) % 7 or 7)


def _relative_day(words: Sequence[str], i: int, today: datetime.date) -> _Found | None:
    if phrase := _phrase_at(words, i, _DAYS_BACK):
        return _Found(today - datetime.timedelta(days=_DAYS_BACK[phrase]), i, i + len(phrase))
    number = read_number(words, i)  # "two days ago", "三天前"
    days = _whole(number)
    if number and days is not None and (ago := _phrase_at(words, number.end, _AGO)):
        return _Found(today - datetime.timedelta(days=days), i, number.end + len(ago))
    return None


def _weekday(words: Sequence[str], i: int, today: datetime.date) -> _Found | None:
    if words[i] in _WEEKDAYS:  # "Friday", "last Friday", "on Friday" all mean the latest one
        return _Found(_last_weekday(today, _WEEKDAYS[words[i]]), i, i + 1)
    last_week = words[i] == "上"
    start = _skip(words, i + 1, frozenset({"个"})) if last_week else i
    week = _phrase_at(words, start, _ZH_WEEK)
    end = start + len(week) if week else len(words)
    if end >= len(words) or words[end] not in _ZH_WEEKDAYS:
        return None
    weekday = _ZH_WEEKDAYS[words[end]]
    if last_week:  # 上周五 is Friday of the previous calendar week, which starts on Monday
        date = today - datetime.timedelta(days=today.weekday() + 7 - weekday)
    else:
        date = _last_weekday(today, weekday)
    return _Found(date, i, end + 1)


def _numeric_date(words: Sequence[str], i: int, today: datetime.date) -> _Found | None:
    """"2026-11-20", or "3/14" and "3/14/2026" read month first."""
    if "-" in words[i]:
        year, month, day = map(int, words[i].split("-"))
    elif "/" in words[i]:
        month, day, *rest = map(int, words[i].split("/"))
        year = rest[0] if rest else 0
        if 0 < year < 100:  # "3/14/26": this century unless that is still to come
            year += 2000 if 2000 + year <= today.year else 1900
    else:
        return None
    date = _past_date(today, month, day, year or None)
    return _Found(date, i, i + 1) if date else None


def _day_of_month(words: Sequence[str], i: int) -> SpokenNumber | None:
    if i >= len(words):
        return None
    day = read_ordinal(words, i) or read_number(words, i)
    value = _whole(day)
    return day if value is not None and 1 <= value <= 31 else None


def _english_date(words: Sequence[str], i: int, today: datetime.date) -> _Found | None:
    """"March 3rd", "March the third, 2026", "the third of March", "3 March"."""
    if words[i] in _MONTHS:
        month, day = _MONTHS[words[i]], _day_of_month(words, _skip(words, i + 1, _THE))
        end = day.end if day else i
    else:
        day = _day_of_month(words, _skip(words, i, _THE))
        after = _skip(words, day.end, frozenset({"of"})) if day else len(words)
        if after >= len(words) or words[after] not in _MONTHS:
            return None
        month, end = _MONTHS[words[after]], after + 1
    if day is None:
        return None
    year = _year_at(words, end, today)
    date = _past_date(today, month, _whole(day) or 0, year)
    return _Found(date, i, end + 1 if year else end) if date else None


def _year_at(words: Sequence[str], i: int, today: datetime.date) -> int | None:
    """A year after a date ("March 3rd, 2026"); a number past this year is something else."""
    word = words[i] if i < len(words) else ""
    year = int(word) if len(word) == 4 and word.isdigit() else 0
    return year if 1900 <= year <= today.year else None


def _chinese_date(words: Sequence[str], i: int, today: datetime.date) -> _Found | None:
    """"11月20号", "十一月二十日", "2026年11月20日", "二〇二六年三月三号"."""
    year, start = None, i
    run = read_run(words, i)
    if run and run.digits and len(run.digits) == 4 and words[run.end:run.end + 1] == ["年"]:
        year, start = int(run.digits), run.end + 1
    month = read_number(words, start) if start < len(words) else None
    if not month or words[month.end:month.end + 1] != ["月"]:
        return None
    day = read_number(words, month.end + 1) if month.end + 1 < len(words) else None
    if not day or day.end >= len(words) or words[day.end] not in _ZH_DAY_MARKS:
        return None
    date = _past_date(today, _whole(month) or 0, _whole(day) or 0, year)
    return _Found(date, i, day.end + 1) if date else None


_DATE_READERS: tuple[Callable[[Sequence[str], int, datetime.date], _Found | None], ...] = (
    _relative_day, _weekday, _numeric_date, _english_date, _chinese_date)


def _dates(words: Sequence[str], today: datetime.date) -> list[_Found]:
    found: list[_Found] = []
    i = 0
    while i < len(words):
        hit = next((f for read in _DATE_READERS if (f := read(words, i, today))), None)
        if hit:
            found.append(hit)
        i = hit.end if hit else i + 1
    return found


# --- amounts ---------------------------------------------------------------------------------

_CURRENCIES = {_key(k): v for k, v in {
    "dollars": "USD", "dollar": "USD", "bucks": "USD", "buck": "USD", "usd": "USD", "$": "USD",
    "美元": "USD", "美金": "USD",
    "euros": "EUR", "euro": "EUR", "eur": "EUR", "€": "EUR", "欧元": "EUR",
    "pounds": "GBP", "pound": "GBP", "quid": "GBP", "gbp": "GBP", "£": "GBP", "英镑": "GBP",
    "yuan": "CNY", "rmb": "CNY", "renminbi": "CNY", "cny": "CNY", "元": "CNY", "块": "CNY",
    "块钱": "CNY", "人民币": "CNY",
    "¥": "CNY",  # also the yen sign, but this hotline's callers mean yuan
    "hong kong dollars": "HKD", "hkd": "HKD", "港币": "HKD", "港元": "HKD"}.items()}
# Said before the number: "$250", "RMB 250", "人民币两百".
_CURRENCY_PREFIXES = _keys("$", "€", "£", "¥", "usd", "eur", "gbp", "rmb", "cny", "hkd",
                           "人民币", "港币")
_MINOR_UNITS = {_key(k): Decimal(v) for k, v in {
    "cents": "0.01", "cent": "0.01", "pence": "0.01", "p": "0.01",
    "毛": "0.1", "角": "0.1", "分": "0.01"}.items()}
_MONEY_CUES = _keys(
    "paid", "pay", "payment", "charged", "charge", "amount", "transfer", "transferred",
    "sent", "withdrew", "withdrawn", "withdrawal", "deposit", "deposited", "spent", "cost",
    "costs", "refund", "debited", "金额", "付了", "付款", "支付", "转了", "转账", "花了", "扣了",
    "扣款", "消费", "取了", "取款", "存了", "刷了", "一共", "总共")
_MONEY_FILLERS = frozenset({
    "of", "about", "around", "roughly", "approximately", "almost", "nearly", "over", "was",
    "is", "were", "me", "a", "the", "only", "just", "like", "it", "total", "exactly",
    "了", "是", "为", "约", "大", "概", "共"})
_DEFAULT_CURRENCY = {"en": "USD", "zh": "CNY"}


def _minor_units(words: Sequence[str], end: int, value: Decimal,
                 currency: str) -> tuple[Decimal, int]:
    """Cents after the main unit: "and twenty cents", "五毛", and colloquial "三块五" (3.5)."""
    start = end
    i = _skip(words, end, frozenset({"and"}))
    while i < len(words) and (number := read_number(words, i)) and number.end < len(words):
        minor, count = _phrase_at(words, number.end, _MINOR_UNITS), _whole(number)
        if minor is None or count is None or not 0 < count < 100:
            break
        value, end = value + count * _MINOR_UNITS[minor], number.end + len(minor)
        i = end
    tenth = read_number(words, end) if end == start and end < len(words) else None
    if currency == "CNY" and tenth and tenth.end == end + 1 and not words[end].isascii():
        digit = _whole(tenth)
        if digit is not None and 0 < digit < 10:
            return value + Decimal(digit) / 10, tenth.end
    return value, end


def _after_money_cue(words: Sequence[str], start: int) -> bool:
    """Whether a money word comes before the number, fillers aside: "I paid about 250"."""
    while not _phrase_before(words, start, _MONEY_CUES):
        if start == 0 or words[start - 1] not in _MONEY_FILLERS:
            return False
        start -= 1
    return True


def _amount(words: Sequence[str], number: SpokenNumber, default_currency: str,
            expected: bool) -> _Found | None:
    if number.value is None:
        return None
    start, end, value, currency = number.start, number.end, number.value, None
    if suffix := _phrase_at(words, end, _CURRENCIES):
        currency, end = _CURRENCIES[suffix], end + len(suffix)
        value, end = _minor_units(words, end, value, currency)
    if prefix := _phrase_before(words, start, _CURRENCY_PREFIXES):
        currency, start = currency or _CURRENCIES[prefix], start - len(prefix)
    if currency is None:
        # A lone Chinese digit is a count ("一下", "两张"), never an amount without its currency.
        lone_digit = end - start == 1 and not words[start].isascii()
        if lone_digit or not (expected or _after_money_cue(words, start)):
            return None
        currency = default_currency
    return _Found(Amount(value, currency), start, end)


def _amounts(words: Sequence[str], default_currency: str, expected: bool) -> list[_Found]:
    found: list[_Found] = []
    for number in find_numbers(words):
        taken = found[-1].end if found else 0  # cents already read with the amount before
        amount = _amount(words, number, default_currency, expected)
        if amount and number.start >= taken:
            found.append(amount)
    return found


# --- card digits -----------------------------------------------------------------------------

_CARD_CUES = _keys(
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


def _cued_cards(words: Sequence[str]) -> list[_Found]:
    found: list[_Found] = []
    for i in range(len(words)):
        cue = _phrase_at(words, i, _CARD_CUES)
        start = _skip(words, i + len(cue), _CARD_FILLERS) if cue else len(words)
        run = read_run(words, start) if start < len(words) else None
        if run and (digits := _last_four(words, run)):
            found.append(_Found(digits, i, run.end))
    return found


def _bare_cards(words: Sequence[str]) -> list[_Found]:
    return [_Found(digits, run.start, run.end) for run in find_numbers(words)
            if (digits := _last_four(words, run)) and not _said_as_year(words, run)]


def _said_as_year(words: Sequence[str], run: SpokenNumber) -> bool:
    """"2024年", "March 2024": no day, so no date slot, but still no card digits."""
    after = words[run.end] if run.end < len(words) else ""
    return after == "年" or (run.start > 0 and words[run.start - 1] in _MONTHS)


# --- policy and claim references -------------------------------------------------------------

_REFERENCE_CUES = {
    "policy_number": _keys("policy", "policy number", "保单", "保单号", "保单号码"),
    "claim_number": _keys("claim", "claim number", "claim reference", "理赔", "理赔号",
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


def _reference(tokens: Sequence[str], words: Sequence[str], start: int) -> _Found | None:
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
    return _Found(text, start, pieces[-1][1])


def _cued_references(tokens: Sequence[str], words: Sequence[str],
                     cues: frozenset[Phrase]) -> list[_Found]:
    found: list[_Found] = []
    for i in range(len(words)):
        cue = _phrase_at(words, i, cues)
        start = _skip(words, i + len(cue), _REFERENCE_FILLERS) if cue else len(words)
        reference = _reference(tokens, words, start) if start < len(words) else None
        found += [reference] if reference else []
    return found


def _bare_references(tokens: Sequence[str], words: Sequence[str]) -> list[_Found]:
    found: list[_Found] = []
    i = 0
    while i < len(tokens):
        reference = _reference(tokens, words, i)
        found += [reference] if reference else []
        i = reference.end if reference else i + 1
    return found


# --- account type ----------------------------------------------------------------------------

_ACCOUNT_TYPES = {_key(k): v for k, v in {
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


def _account_types(words: Sequence[str]) -> list[_Found]:
    found: list[_Found] = []
    for i in range(len(words)):
        if phrase := _phrase_at(words, i, _ACCOUNT_TYPES):
            found.append(_Found(_ACCOUNT_TYPES[phrase], i, i + len(phrase)))
    return found


# --- public API ------------------------------------------------------------------------------

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
    if language not in _DEFAULT_CURRENCY:
        raise ValueError(f"unsupported language {language!r}")
    tokens = tokenize(text)
    words = [token.lower() for token in tokens]
    slots: dict[str, SlotValue] = {}

    def keep(name: str, found: list[_Found]) -> None:
        nonlocal tokens, words
        if found:
            slots[name] = found[-1].value
            tokens, words = _blank(tokens, found), _blank(words, found)

    # Dates and amounts first: their words are blanked out, so "250 dollars" or "2026-11-20"
    # never become card digits or a reference. Said twice, the last one wins: callers correct
    # themselves at the end ("not 4521, 4522").
    keep("date", _dates(words, today))
    currency = default_currency or _DEFAULT_CURRENCY[language]
    keep("amount", _amounts(words, currency, expected == "amount"))
    for name, cues in _REFERENCE_CUES.items():
        keep(name, _cued_references(tokens, words, cues))
    keep("card_last4", _cued_cards(words))
    if expected == "card_last4" and expected not in slots:
        keep(expected, _bare_cards(words))
    if expected in _REFERENCE_CUES and expected not in slots:
        keep(expected, _bare_references(tokens, words))
    keep("account_type", _account_types(words))
    return slots


def describe(name: str, value: SlotValue, language: str) -> str:
    """How the bot says a slot back: "4521", "250 dollars", "March 3", "250元", "3月3日"."""
    if isinstance(value, Amount):
        return _describe_amount(value, language)
    if isinstance(value, datetime.date):
        if language == "zh":
            return f"{value.month}月{value.day}日"
        return f"{_MONTH_NAMES[value.month - 1]} {value.day}"
    if name == "account_type":
        return _ACCOUNT_NAMES[language][value]
    if name in _REFERENCE_CUES:
        return " ".join(value)  # one character at a time, as the caller spelled it
    return value


_CURRENCY_NAMES = {
    "en": {"USD": ("dollar", "dollars"), "EUR": ("euro", "euros"), "GBP": ("pound", "pounds"),
           "CNY": ("yuan", "yuan"), "HKD": ("Hong Kong dollar", "Hong Kong dollars")},
    "zh": {"USD": ("美元", "美元"), "EUR": ("欧元", "欧元"), "GBP": ("英镑", "英镑"),
           "CNY": ("元", "元"), "HKD": ("港币", "港币")},
}


def _describe_amount(amount: Amount, language: str) -> str:
    value = amount.value
    number = f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"
    one, many = _CURRENCY_NAMES[language].get(amount.currency, (amount.currency,) * 2)
    if language == "zh":
        return f"{number}{one}"
    return f"{number} {one if value == 1 else many}"
