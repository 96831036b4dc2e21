"""The small interfaces the agent programs against; engines are chosen by config."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    audio_seconds: float


class Recognizer(Protocol):
    """Speech to text for one finished utterance."""

    name: str

    def transcribe(self, pcm: np.ndarray, sample_rate: int) -> Transcript:
        """``pcm``: mono int16 samples at ``sample_rate``."""
        ...


class Synthesizer(Protocol):
    """Text to speech, streamed: the first sentence comes back before the last is made."""

    name: str
    sample_rate: int  # of the chunks it yields: the call's clock rate

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        """Yields mono int16 chunks, one per sentence or clause."""
        ...


class VoiceActivityDetector(Protocol):
    """Is there speech in this frame?"""

    frame_ms: int

    def is_speech(self, frame: bytes, sample_rate: int) -> bool:
        """``frame``: ``frame_ms`` of 16-bit little-endian mono PCM."""
        ...
