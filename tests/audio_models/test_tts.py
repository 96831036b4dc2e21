"""Piper speaks at the call's rate, sentence by sentence, and Whisper understands it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import CALL_RATE

from audio_models.asr.whisper import WhisperRecognizer
from audio_models.catalog import ModelNotFoundError, piper_voice, whisper_model_dir
from audio_models.tts.cache import CachingSynthesizer
from audio_models.tts.piper import PiperSynthesizer


@pytest.fixture(scope="module")
def synthesizer() -> PiperSynthesizer:
    return PiperSynthesizer(*piper_voice(), sample_rate=CALL_RATE)


def test_one_chunk_per_sentence_at_the_call_rate(synthesizer: PiperSynthesizer) -> None:
    chunks = list(synthesizer.synthesize("Your card is blocked. A new one is on its way."))
    assert len(chunks) == 2
    for chunk in chunks:
        assert chunk.dtype == np.int16
        assert 0.5 * CALL_RATE < len(chunk) < 5 * CALL_RATE
        assert np.abs(chunk).max() > 1000  # audible, not silence


def test_speech_round_trips_through_recognition(synthesizer: PiperSynthesizer) -> None:
    pcm = np.concatenate(list(synthesizer.synthesize("Your card has been blocked.")))
    text = WhisperRecognizer(whisper_model_dir("tiny.en")).transcribe(pcm, CALL_RATE).text
    assert "card" in text.lower() and "block" in text.lower()


def test_missing_voice_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"onnx\.json"):
        piper_voice(str(tmp_path / "voice.onnx"))


class CountingSynthesizer:
    """The real Piper engine, counting how often it is asked."""

    def __init__(self, inner: PiperSynthesizer) -> None:
        self.inner, self.name, self.sample_rate = inner, inner.name, inner.sample_rate
        self.calls = 0

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        self.calls += 1
        return self.inner.synthesize(text)


def test_the_cache_synthesises_a_text_once(synthesizer: PiperSynthesizer) -> None:
    counting = CountingSynthesizer(synthesizer)
    cache = CachingSynthesizer(counting, max_texts=2)
    cache.prepare(["Goodbye.", "Your card is blocked. Thank you."])
    again = list(cache.synthesize("Your card is blocked. Thank you."))
    assert counting.calls == 2 and len(again) == 2  # from the cache, sentence by sentence
    # Piper's voice is stochastic; the cache gives the very same audio each time.
    repeat = list(cache.synthesize("Your card is blocked. Thank you."))
    assert all(np.array_equal(a, b) for a, b in zip(again, repeat, strict=True))
    cache.prepare(["Hello."])  # a third text pushes out the least recently used
    list(cache.synthesize("Goodbye."))
    assert counting.calls == 4


def test_an_answer_cut_short_is_not_cached(synthesizer: PiperSynthesizer) -> None:
    counting = CountingSynthesizer(synthesizer)
    cache = CachingSynthesizer(counting)
    next(cache.synthesize("First sentence. Second sentence."))  # barge-in after one
    list(cache.synthesize("First sentence. Second sentence."))
    assert counting.calls == 2
