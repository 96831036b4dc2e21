"""Which language an utterance is in, and the clean-up every text parser starts with."""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# Whisper often writes Mandarin in traditional characters: fold those the parsers look for.
_TRADITIONAL = str.maketrans(
    "號後數碼為單賠編報塊錢幣歐鎊週禮個儲帳賬戶記貸車轉費總約"
    "兩萬億點沒錯對問題當確認別嗎氣謝關係",
    "号后数码为单赔编报块钱币欧镑周礼个储账账户记贷车转费总约"
    "两万亿点没错对问题当确认别吗气谢关系",
)


def language_of(text: str) -> str:
    """"zh" when CJK characters outnumber Latin words, else "en".

    Words rather than letters are counted because a Chinese character carries about a word's
    meaning, so code-switched "我的 credit card 丢了" counts as Chinese.
    """
    cjk = len(_CJK.findall(text))
    return "zh" if cjk > len(_LATIN_WORD.findall(text)) else "en"


def normalise(text: str) -> str:
    """One spelling for the parsers: full-width digits and punctuation as ASCII (NFKC),
    straight apostrophes, simplified characters."""
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").translate(_TRADITIONAL)
