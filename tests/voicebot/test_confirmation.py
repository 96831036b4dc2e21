# Mandarin cases keep the full-width commas and question marks Whisper writes.
from __future__ import annotations

import pytest

from voicebot.understanding.confirmation import yes_or_no


@pytest.mark.parametrize("text", [
    "yes", "Yeah.", "yep", "Correct.", "That's right", "Go ahead", "please do", "Sure", "OK",
    "Okay", "Yes, block it.", "Oh yes", "Uh, yeah", "Right, go ahead", "Why not",
    "No problem, go ahead.", "I know, yes",
    "是", "是的", "对", "对的", "好", "好的", "没错", "可以", "行", "没问题",
    "嗯，好的", "對，沒錯", "不好意思，是的",
])
def test_yes(text: str) -> None:
    assert yes_or_no(text) is True


@pytest.mark.parametrize("text", [
    "no", "Nope.", "not that one", "Don't.", "That's wrong", "Cancel", "Not now.",
    "No, it ends in 4522.", "That's not right", "don't do it", "Of course not",
    "I don't think so", "no thanks",
    "Yes, but not now",  # any no wins: a yes must stand alone before the bot acts
    "不", "不是", "不对", "不用", "别", "错了", "取消",
    "对不起，不用了", "不是这张，是另一张",
])
def test_no(text: str) -> None:
    assert yes_or_no(text) is False


@pytest.mark.parametrize("text", [
    "I don't know", "I'm not sure", "I know", "Now", "nobody", "yesterday",
    "Is that right?", "Is that the card ending 4521?", "What do you mean?",
    "My cat is hungry", "the right one", "",
    "我的银行卡", "你好", "是吗", "可不可以", "不知道", "嗯",
    "是吗？",
])
def test_neither(text: str) -> None:
    assert yes_or_no(text) is None
