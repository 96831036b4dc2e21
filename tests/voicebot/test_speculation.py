from __future__ import annotations

import asyncio

from audio_models.interfaces import Transcript
from voicebot.speculation import Answer, Speculation


async def _answer(text: str) -> Answer:
    await asyncio.sleep(0)
    return Answer(Transcript(text, "en", 1.0), 0.0, 0.0)


def test_a_prepared_answer_is_kept_only_for_the_same_words() -> None:
    async def scenario() -> None:
        speculation = Speculation()
        speculation.start(1.0, _answer("lost card"))
        task = speculation.take(1.0)
        assert task is not None and (await task).transcript.text == "lost card"
        assert speculation.take(1.0) is None  # taken once

        speculation.start(2.0, _answer("balance"))
        stale = speculation._task
        assert speculation.take(3.0) is None  # the caller went on: other words now
        await asyncio.sleep(0)
        assert stale is not None and stale.cancelled()

    asyncio.run(scenario())
