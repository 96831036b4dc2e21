"""Piper speaks at the call's rate, sentence by sentence, and Whisper understands it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CALL_RATE

from audio_models.asr.whisper import WhisperRecognizer
from audio_models.catalog import ModelNotFoundError, piper_voice, whisper_model_dir
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
