"""Answers prepared early: while the caller pauses, before their turn is known to be over."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from audio_models.interfaces import Transcript
from voicebot.dialogue import Plan


@dataclass
class Answer:
    """What the bot will say to one caller turn, up to its first synthesised sentence."""

    transcript: Transcript
    asr_done: float
    answer_ready: float
    plan: Plan | None = None  # None: no words were heard
    speech: Iterator[np.ndarray] | None = None


class Speculation:
    """An answer prepared while the caller pauses, kept if the pause becomes the turn's end.

    Recognition runs in the ``pause_ms`` after the last word instead of after the whole
    hangover, so it is (nearly) done when the turn is decided.
    """

    def __init__(self) -> None:
        self._task: asyncio.Task[Answer] | None = None
        self._speech_ended_at = 0.0

    def start(self, speech_ended_at: float,
              prepare: Coroutine[Any, Any, Answer]) -> asyncio.Task[Answer]:
        self.cancel()
        self._speech_ended_at = speech_ended_at
        self._task = asyncio.create_task(prepare)
        # A dropped speculation's failure is nobody's to report; the turn's own attempt is.
        self._task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return self._task

    def take(self, speech_ended_at: float) -> asyncio.Task[Answer] | None:
        """The prepared answer if it was made from exactly this turn's words."""
        task, self._task = self._task, None
        if task is not None and speech_ended_at == self._speech_ended_at:
            return task
        if task is not None:
            task.cancel()
        return None

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
