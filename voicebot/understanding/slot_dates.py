"""Dates a caller says, never in the future: relative days, weekdays, numeric and spoken dates."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

from voicebot.understanding.slot_phrases import (
    as_phrase,
    as_phrases,
    phrase_at,
    skip_words,
    whole_number,
)
from voicebot.understanding.slot_values import Found
from voicebot.understanding.spoken_numbers import (
    SpokenNumber,
    read_number,
    read_ordinal,
    read_run,
)

_DAYS_BACK = {as_phrase(k): v for k, v in {
    "today": 0, "yesterday": 1, "the day before yesterday": 2, "day before yesterday": 2,
    "今天": 0, "昨天": 1, "前天": 2, "大前天": 3}.items()}
_AGO = as_phrases("days ago", "day ago", "天前", "天以前", "天之前")
MONTHS = {name: number for number, names in enumerate(
    ("january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
     "august aug", "september sep sept", "october oct", "november nov", "december dec"),
    start=1) for name in names.split()}
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
             "saturday": 5, "sunday": 6}
_ZH_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_ZH_WEEK = as_phrases("周", "星期", "礼拜")
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


def _relative_day(words: Sequence[str], i: int, today: datetime.date) -> Found | None:
    if phrase := phrase_at(words, i, _DAYS_BACK):
        return Found(today - datetime.timedelta(days=_DAYS_BACK[phrase]), i, i + len(phrase))
    number = read_number(words, i)  # "two days ago", "三天前"
    days = whole_number(number)
    if number and days is not None and (ago := phrase_at(words, number.end, _AGO)):
        return Found(today - datetime.timedelta(days=days), i, number.end + len(ago))
    return None


def _weekday(words: Sequence[str], i: int, today: datetime.date) -> Found | None:
    if words[i] in _WEEKDAYS:  # "Friday", "last Friday", "on Friday" all mean the latest one
        return Found(_last_weekday(today, _WEEKDAYS[words[i]]), i, i + 1)
    last_week = words[i] == "上"
    start = skip_words(words, i + 1, frozenset({"个"})) if last_week else i
    week = phrase_at(words, start, _ZH_WEEK)
    end = start + len(week) if week else len(words)
    if end >= len(words) or words[end] not in _ZH_WEEKDAYS:
        return None
    weekday = _ZH_WEEKDAYS[words[end]]
    if last_week:  # 上周五 is Friday of the previous calendar week, which starts on Monday
        date = today - datetime.timedelta(days=today.weekday() + 7 - weekday)
    else:
        date = _last_weekday(today, weekday)
    return Found(date, i, end + 1)


def _numeric_date(words: Sequence[str], i: int, today: datetime.date) -> Found | None:
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
    return Found(date, i, i + 1) if date else None


def _day_of_month(words: Sequence[str], i: int) -> SpokenNumber | None:
    if i >= len(words):
        return None
    day = read_ordinal(words, i) or read_number(words, i)
    value = whole_number(day)
    return day if value is not None and 1 <= value <= 31 else None


def _english_date(words: Sequence[str], i: int, today: datetime.date) -> Found | None:
    """"March 3rd", "March the third, 2026", "the third of March", "3 March"."""
    if words[i] in MONTHS:
        month, day = MONTHS[words[i]], _day_of_month(words, skip_words(words, i + 1, _THE))
        end = day.end if day else i
    else:
        day = _day_of_month(words, skip_words(words, i, _THE))
        after = skip_words(words, day.end, frozenset({"of"})) if day else len(words)
        if after >= len(words) or words[after] not in MONTHS:
            return None
        month, end = MONTHS[words[after]], after + 1
    if day is None:
        return None
    year = _year_at(words, end, today)
    date = _past_date(today, month, whole_number(day) or 0, year)
    return Found(date, i, end + 1 if year else end) if date else None


def _year_at(words: Sequence[str], i: int, today: datetime.date) -> int | None:
    """A year after a date ("March 3rd, 2026"); a number past this year is something else."""
    word = words[i] if i < len(words) else ""
    year = int(word) if len(word) == 4 and word.isdigit() else 0
    return year if 1900 <= year <= today.year else None


def _chinese_date(words: Sequence[str], i: int, today: datetime.date) -> Found | None:
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
    date = _past_date(today, whole_number(month) or 0, whole_number(day) or 0, year)
    return Found(date, i, day.end + 1) if date else None


_DATE_READERS: tuple[Callable[[Sequence[str], int, datetime.date], Found | None], ...] = (
    _relative_day, _weekday, _numeric_date, _english_date, _chinese_date)


def find_dates(words: Sequence[str], today: datetime.date) -> list[Found]:
    found: list[Found] = []
    i = 0
    while i < len(words):
        hit = next((f for read in _DATE_READERS if (f := read(words, i, today))), None)
        if hit:
            found.append(hit)
        i = hit.end if hit else i + 1
    return found


def describe_date(date: datetime.date, language: str) -> str:
    """"March 3", "3月3日"."""
    if language == "zh":
        return f"{date.month}月{date.day}日"
    return f"{_MONTH_NAMES[date.month - 1]} {date.day}"
