"""Does a transcript sound like a finished sentence? Part of ending a turn early.

Whisper punctuates what it hears: a full stop or question mark after the last word means a
falling, closing intonation, while a trailing connective or filler ("and", "um", "然后")
means the caller is still going, whatever the punctuation says.
"""

from __future__ import annotations

import re

_FINAL = tuple(".?!。？！")
_GOING_ON = frozenset({
    "and", "or", "but", "so", "because", "cause", "then", "also", "plus", "with", "for",
    "to", "the", "a", "my", "um", "uh", "er", "erm", "hmm", "like", "if", "that", "which",
    "然后", "还有", "而且", "但是", "就是", "那个", "嗯", "呃", "因为", "所以", "我的",
})
_LAST_WORD = re.compile(r"([a-z']+|[\u4e00-\u9fff]{1,2})\W*$", re.IGNORECASE)


def sounds_finished(text: str) -> bool:
    """Closing punctuation, and no connective or filler at the end."""
    return text.strip().endswith(_FINAL) and not trails_off(text)


def trails_off(text: str) -> bool:
    """Ends on a connective or a filler: the caller is still going."""
    last = _LAST_WORD.search(text.strip())
    return last is not None and last.group(1).lower() in _GOING_ON
