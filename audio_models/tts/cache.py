"""Audio of texts said before, kept: prompts and fixed answers cost no synthesis on a call."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator

import numpy as np

from audio_models.interfaces import Synthesizer


class CachingSynthesizer:
    """Wraps a synthesizer; keeps up to ``max_texts`` texts' audio, least recently used out.

    Only a text synthesised to its end is kept, so an answer cut short by barge-in is not.
    """

    def __init__(self, inner: Synthesizer, max_texts: int = 256) -> None:
        self.inner = inner
        self.name = f"cached-{inner.name}"
        self.sample_rate = inner.sample_rate
        self.max_texts = max_texts
        self._audio: OrderedDict[str, list[np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()  # the TTS worker and start-up both use it

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        with self._lock:
            cached = self._audio.get(text)
            if cached is not None:
                self._audio.move_to_end(text)
        if cached is not None:
            yield from cached
            return
        chunks = []
        for chunk in self.inner.synthesize(text):
            chunks.append(chunk)
            yield chunk
        with self._lock:
            self._audio[text] = chunks
            while len(self._audio) > self.max_texts:
                self._audio.popitem(last=False)

    def prepare(self, texts: Iterable[str]) -> None:
        """Synthesise ``texts`` now (at start-up) so that calls find them ready."""
        for text in texts:
            for _ in self.synthesize(text):
                pass
