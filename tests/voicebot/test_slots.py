from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from voicebot.understanding.language import language_of
from voicebot.understanding.slots import Amount, SlotValue, describe, extract_slots
from voicebot.understanding.spoken_numbers import SpokenNumber, find_numbers, tokenize

TODAY = datetime.date(2026, 11, 25)  # a Wednesday


def only_number(text: str) -> SpokenNumber:
    numbers = find_numbers(tokenize(text))
    assert len(numbers) == 1, numbers
    return numbers[0]


def slot(text: str, name: str, expected: str | None = None) -> SlotValue | None:
    return extract_slots(text, today=TODAY, expected=expected).get(name)


@pytest.mark.parametrize(("text", "language"), [
    ("Please block my card", "en"),
    ("我的卡丢了", "zh"),
    ("我的 credit card 丢了", "zh"),
    ("4521", "en"),
])
def test_language_of(text: str, language: str) -> None:
    assert language_of(text) == language


@pytest.mark.parametrize(("text", "digits"), [
    ("four five two one", "4521"),
    ("four five two two", "4522"),
    ("zero four five two", "0452"),
    ("four oh five two", "4052"),
    ("double five", "55"),
    ("triple zero", "000"),
    ("double five two one", "5521"),
    ("45 21", "4521"),
    ("4, 5, 2, 1", "4521"),
    ("4-5-2-1", "4521"),
    ("4.5.2.1", "4521"),  # Whisper's ways now and then
    ("4.521", "4521"),
    ("forty five twenty one", "4521"),
    ("四五二一", "4521"),
    ("幺三八", "138"),
    ("两两五", "225"),
    ("二〇二六", "2026"),
    ("138 0013 8000", "13800138000"),
    ("４５２１", "4521"),  # full-width digits
])
def test_digit_strings(text: str, digits: str) -> None:
    assert only_number(text).digits == digits


@pytest.mark.parametrize(("text", "value"), [
    ("two hundred and fifty", "250"),
    ("one thousand two hundred", "1200"),
    ("twelve hundred", "1200"),
    ("a hundred and five", "105"),
    ("two thousand and twenty four", "2024"),
    ("twenty-one hundred", "2100"),
    ("1,250.50", "1250.50"),
    ("three fifty", "350"),  # read as hundreds, like "nineteen ninety"; the bot confirms it
    ("twenty twenty four", "2024"),
    ("two point five", "2.5"),
    ("point five", "0.5"),
    ("两百五十", "250"),
    ("两百五", "250"),
    ("一千二", "1200"),
    ("三万", "30000"),
    ("三万五", "35000"),
    ("一万五千", "15000"),
    ("一千零五", "1005"),
    ("一百零五", "105"),
    ("二十", "20"),
    ("十五", "15"),
    ("三点五", "3.5"),
    ("2.5万", "25000"),
    ("一亿三千万", "130000000"),
    ("兩百五", "250"),  # traditional characters, as Whisper often writes them
])
def test_values(text: str, value: str) -> None:
    assert only_number(text).value == Decimal(value)


def test_digit_strings_have_no_value_and_fractions_no_digits() -> None:
    assert only_number("four five two one").value is None
    assert only_number("two point five").digits is None


@pytest.mark.parametrize(("text", "expected", "last4"), [
    ("Please block my card ending in 4521", None, "4521"),
    ("it ends in four five two two", None, "4522"),
    ("the last four digits are four five two one", None, "4521"),
    ("card number ending 4521", None, "4521"),
    ("No, it ends in 4522.", None, "4522"),
    ("my card number is 4111 1111 1111 4522", None, "4522"),  # whole PAN: keep the last four
    ("ends in oh four five two", None, "0452"),
    ("four five two one", "card_last4", "4521"),
    ("it's 4521", "card_last4", "4521"),
    ("Oh, 4521", "card_last4", "4521"),
    ("double four five two", "card_last4", "4452"),
    ("not 4521, 4522", "card_last4", "4522"),
    ("四五二一", "card_last4", "4521"),
    ("尾号是4521", None, "4521"),
    ("尾號是４５２１", None, "4521"),
    ("后四位是四五二一", None, "4521"),
    ("末四位幺三八二", None, "1382"),
    ("卡号是6222 0212 3456 7890 123", None, "0123"),
])
def test_card_last4(text: str, expected: str | None, last4: str) -> None:
    assert slot(text, "card_last4", expected) == last4


@pytest.mark.parametrize(("text", "expected"), [
    ("four five two one", None),  # bare digits only count when the bot asked for the card
    ("ends in 45221", None),  # five digits: misheard, ask again
    ("my number is 138 0013 8000", None),
    ("my number is 138 0013 8000", "card_last4"),  # 11 digits: a phone, not a card
    ("我的手机号是13800138000", "card_last4"),
    ("I paid 2500 dollars", "card_last4"),
    ("the amount was 4521", "card_last4"),
    ("一千二百三十四块", "card_last4"),
    ("it was 1,250.50", "card_last4"),
    ("on 2026-11-20", "card_last4"),
    ("on 3/14", "card_last4"),
    ("in March 2024", "card_last4"),
    ("2024年的时候", "card_last4"),
])
def test_no_card_last4(text: str, expected: str | None) -> None:
    assert slot(text, "card_last4", expected) is None


@pytest.mark.parametrize(("text", "expected", "value", "currency"), [
    ("two hundred and fifty dollars", None, "250", "USD"),
    ("$250", None, "250", "USD"),
    ("250 bucks", None, "250", "USD"),
    ("fifty dollars and twenty cents", None, "50.20", "USD"),
    ("twelve hundred dollars", None, "1200", "USD"),
    ("a hundred and five dollars", None, "105", "USD"),
    ("1,200.50 euros", None, "1200.50", "EUR"),
    ("€15", None, "15", "EUR"),
    ("£40", None, "40", "GBP"),
    ("five hundred pounds", None, "500", "GBP"),
    ("300 yuan", None, "300", "CNY"),
    ("RMB 250", None, "250", "CNY"),
    ("250 hong kong dollars", None, "250", "HKD"),
    ("两百五十元", None, "250", "CNY"),
    ("两百五十块", None, "250", "CNY"),
    ("三千块钱", None, "3000", "CNY"),
    ("人民币两百元", None, "200", "CNY"),
    ("一万五千元", None, "15000", "CNY"),
    ("三块五", None, "3.5", "CNY"),
    ("五十块二毛", None, "50.2", "CNY"),
    ("五百港币", None, "500", "HKD"),
    ("I paid 250", None, "250", "USD"),  # a money word but no currency: the default
    ("I was charged about three fifty", None, "350", "USD"),
    ("付了两百", None, "200", "CNY"),
    ("two hundred and fifty", "amount", "250", "USD"),
    ("3万", "amount", "30000", "CNY"),
])
def test_amount(text: str, expected: str | None, value: str, currency: str) -> None:
    assert slot(text, "amount", expected) == Amount(Decimal(value), currency)


def test_default_currency_is_a_parameter() -> None:
    slots = extract_slots("I paid 250", today=TODAY, default_currency="EUR")
    assert slots["amount"] == Amount(Decimal(250), "EUR")


@pytest.mark.parametrize(("text", "expected"), [
    ("I have 3 cards", None),
    ("card ending 4521", None),
    ("我想查一下", "amount"),  # 一 of 一下 is a count
    ("刷了一下卡", None),
])
def test_no_amount(text: str, expected: str | None) -> None:
    assert slot(text, "amount", expected) is None


@pytest.mark.parametrize(("text", "date"), [
    ("today", "2026-11-25"),
    ("yesterday", "2026-11-24"),
    ("the day before yesterday", "2026-11-23"),
    ("two days ago", "2026-11-23"),
    ("last Friday", "2026-11-20"),
    ("on Monday", "2026-11-23"),
    ("on Wednesday", "2026-11-18"),  # said on a Wednesday: the one before
    ("March 3rd", "2026-03-03"),
    ("the third of March", "2026-03-03"),
    ("March the twenty third", "2026-03-23"),
    ("March 3rd, 2025", "2025-03-03"),
    ("3/14", "2026-03-14"),
    ("3/14/26", "2026-03-14"),
    ("2026-11-20", "2026-11-20"),
    ("December 20", "2025-12-20"),  # month and day only: the latest one not in the future
    ("November 30", "2025-11-30"),
    ("February 29", "2024-02-29"),
    ("今天", "2026-11-25"),
    ("昨天", "2026-11-24"),
    ("前天", "2026-11-23"),
    ("三天前", "2026-11-22"),
    ("上周五", "2026-11-20"),
    ("上个星期三", "2026-11-18"),
    ("周日", "2026-11-22"),
    ("11月20号", "2026-11-20"),
    ("十一月二十日", "2026-11-20"),
    ("三月三号", "2026-03-03"),
    ("十二月五日", "2025-12-05"),
    ("二〇二五年三月三号", "2025-03-03"),
])
def test_date(text: str, date: str) -> None:
    assert slot(text, "date") == datetime.date.fromisoformat(date)


@pytest.mark.parametrize("text", [
    "2027-01-01",  # in the future
    "February 30",
    "in March",
    "wait a second",
    "I'm busy this week",
])
def test_no_date(text: str) -> None:
    assert slot(text, "date") is None


@pytest.mark.parametrize(("text", "expected", "name", "reference"), [
    ("policy number PL 2024 5678", None, "policy_number", "PL20245678"),
    ("My policy number is PL-2024-5678", None, "policy_number", "PL20245678"),
    ("claim C L M 4 5 6 7 8", None, "claim_number", "CLM45678"),
    ("claim number is 12345678", None, "claim_number", "12345678"),
    ("claim number 12345678 I think", None, "claim_number", "12345678"),
    ("claim charlie lima mike four five six seven eight", None, "claim_number", "CLM45678"),
    ("保单号 P 两千零二十四五六七八", None, "policy_number", "P20245678"),
    ("保單號是PL二零二四五六七八", None, "policy_number", "PL20245678"),
    ("理赔案件号 CLM 45678", None, "claim_number", "CLM45678"),
    ("报案号是二零二四零零一二", None, "claim_number", "20240012"),
    ("CLM45678", "claim_number", "claim_number", "CLM45678"),
    ("it's PL 2024 5678", "policy_number", "policy_number", "PL20245678"),
])
def test_reference(text: str, expected: str | None, name: str, reference: str) -> None:
    assert slot(text, name, expected) == reference


@pytest.mark.parametrize(("text", "name"), [
    ("I'd like to make a claim", "claim_number"),
    ("CLM45678", "claim_number"),  # no cue and not asked for
    ("claim 12 for 500 dollars", "claim_number"),  # too few digits
    ("what is your policy on refunds", "policy_number"),
])
def test_no_reference(text: str, name: str) -> None:
    assert slot(text, name) is None


@pytest.mark.parametrize(("text", "account_type"), [
    ("my checking account", "checking"),
    ("my current account", "checking"),
    ("from my savings", "savings"),
    ("my credit card", "credit_card"),
    ("the debit card", "debit_card"),
    ("my mortgage", "loan"),
    ("the car loan", "loan"),
    ("活期", "checking"),
    ("定期", "savings"),
    ("储蓄账户", "savings"),
    ("储蓄卡丢了", "debit_card"),
    ("借记卡", "debit_card"),
    ("信用卡", "credit_card"),
    ("贷款", "loan"),
    ("房贷", "loan"),
    ("not savings, checking account", "checking"),  # the correction, said last, wins
])
def test_account_type(text: str, account_type: str) -> None:
    assert slot(text, "account_type") == account_type


def test_checking_as_a_verb_is_no_account() -> None:
    assert slot("I'm checking my balance", "account_type") is None


@pytest.mark.parametrize(("text", "slots"), [
    ("On March 3rd I was charged 250 dollars on my card ending 4521",
     {"date": datetime.date(2026, 3, 3), "amount": Amount(Decimal(250), "USD"),
      "card_last4": "4521"}),
    ("I lost my credit card yesterday, it ends in 4521",
     {"date": datetime.date(2026, 11, 24), "card_last4": "4521", "account_type": "credit_card"}),
    ("我昨天在超市刷了两百五十块，卡的尾号是四五二一",  # Whisper writes full-width commas
     {"date": datetime.date(2026, 11, 24), "amount": Amount(Decimal(250), "CNY"),
      "card_last4": "4521"}),
    ("Hello, I have a question", {}),
])
def test_several_slots_in_one_utterance(text: str, slots: dict[str, SlotValue]) -> None:
    assert extract_slots(text, today=TODAY) == slots


@pytest.mark.parametrize(("name", "value", "language", "said"), [
    ("card_last4", "4521", "en", "4 5 2 1"),
    ("amount", Amount(Decimal(250), "USD"), "en", "250 dollars"),
    ("amount", Amount(Decimal(1), "USD"), "en", "1 dollar"),
    ("amount", Amount(Decimal("50.20"), "USD"), "en", "50.20 dollars"),
    ("amount", Amount(Decimal(250), "CNY"), "zh", "250元"),
    ("amount", Amount(Decimal(250), "USD"), "zh", "250美元"),
    ("date", datetime.date(2026, 3, 3), "en", "March 3"),
    ("date", datetime.date(2026, 3, 3), "zh", "3月3日"),
    ("claim_number", "CLM45678", "en", "C L M 4 5 6 7 8"),
    ("account_type", "credit_card", "en", "credit card"),
    ("account_type", "credit_card", "zh", "信用卡"),
])
def test_describe(name: str, value: SlotValue, language: str, said: str) -> None:
    assert describe(name, value, language) == said


def test_unknown_expected_slot_or_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown slot"):
        extract_slots("4521", today=TODAY, expected="pin")
    with pytest.raises(ValueError, match="unsupported language"):
        extract_slots("4521", today=TODAY, language="fr")
