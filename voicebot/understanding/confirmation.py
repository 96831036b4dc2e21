"""Yes or no to the bot's confirmation question ("Shall I block the card ending 4521?")."""

from __future__ import annotations

import re

from voicebot.understanding.language import normalise
from voicebot.understanding.spoken_numbers import tokenize

# A clause and the punctuation that ends it (full-width marks are ASCII after `normalise`);
# a question ("is that right?") answers nothing.
_CLAUSE = re.compile(r"([^,.!?;:。、]+)([,.!?;:。、]*)")
_QUESTION_ENDINGS = ("吗", "呢")

# What each phrase answers, longest phrase first. None marks phrases that hold a yes or no word
# but answer nothing ("I don't know", "不好意思" = sorry).
_ANSWERS: dict[str, bool | None] = {
    "yes": True, "yeah": True, "yep": True, "yup": True, "correct": True, "that's right": True,
    "that is right": True, "all right": True, "alright": True, "go ahead": True,
    "please do": True, "do it": True, "sure": True, "ok": True, "okay": True,
    "of course": True, "absolutely": True, "exactly": True, "definitely": True,
    "why not": True, "no problem": True, "not a problem": True, "no worries": True,
    "i think so": True,
    "no": False, "nope": False, "nah": False, "not": False, "don't": False, "dont": False,
    "do not": False, "wrong": False, "incorrect": False, "cancel": False, "never": False,
    "stop": False, "of course not": False, "isn't": False,
    "don't know": None, "do not know": None, "dont know": None, "not sure": None,
    "no idea": None, "don't worry": None, "make sure": None, "don't understand": None,
    "是的": True, "对的": True, "没错": True, "不错": True, "可以": True, "好的": True,
    "好吧": True, "没问题": True, "没有问题": True, "当然": True, "确定": True, "确认": True,
    "不": False, "不是": False, "不对": False, "不用": False, "不要": False, "不行": False,
    "不可以": False, "错了": False, "取消": False, "没有": False, "算了": False,
    "不好意思": None, "对不起": None, "不知道": None, "不清楚": None, "不确定": None,
    "不太清楚": None, "不太确定": None, "不客气": None, "没关系": None, "好像": None,
    "是不是": None, "对不对": None, "好不好": None, "行不行": None, "可不可以": None,
}
# Short words that answer only as the first word of a clause: 是/对/好/行 inside a sentence are
# the copula, "right" or parts of other words (我是, 你好, 银行); "right" may be a direction.
_FIRST_WORD_ANSWERS: dict[str, bool] = {
    "right": True, "fine": True, "perfect": True, "是": True, "对": True, "好": True, "行": True,
    "别": False,
}
_INTERJECTIONS = frozenset({"oh", "um", "uh", "well", "so", "hmm", "er", "ah",
                            "嗯", "啊", "哦", "噢", "呃", "那"})


def _key(text: str) -> tuple[str, ...]:
    return tuple(token.lower() for token in tokenize(text))


_PHRASES = {_key(phrase): answer for phrase, answer in _ANSWERS.items()}
_LONGEST = max(map(len, _PHRASES))


def yes_or_no(text: str) -> bool | None:
    """True for yes, False for no, None when the caller said neither.

    Any no wins over a yes ("yes, but not now", "不是这张, 是另一张"): acting on a misread yes
    is the one mistake that blocks a card or pays a claim, so a yes must stand alone.
    """
    answers: set[bool] = set()
    for clause, ending in _CLAUSE.findall(normalise(text)):
        if "?" not in ending and not clause.rstrip().endswith(_QUESTION_ENDINGS):
            answers |= _clause_answers(_key(clause))
    if False in answers:
        return False
    return True if True in answers else None


def _clause_answers(words: tuple[str, ...]) -> set[bool]:
    answers: set[bool] = set()
    first = True  # still at the clause's first word, interjections aside
    i = 0
    while i < len(words):
        phrase = next((words[i:i + n] for n in range(_LONGEST, 0, -1)
                       if words[i:i + n] in _PHRASES), None)
        if phrase:
            answer = _PHRASES[phrase]
            i += len(phrase)
        else:
            answer = _FIRST_WORD_ANSWERS.get(words[i]) if first else None
            i += 1
        if answer is not None:
            answers.add(answer)
        first = first and (phrase is None and words[i - 1] in _INTERJECTIONS)
    return answers
