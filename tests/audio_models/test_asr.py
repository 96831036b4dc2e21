"""Whisper on call audio (8 kHz, as it comes off the line), from the offline packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CALL_RATE, Speech

from audio_models.asr.whisper import WhisperRecognizer
from audio_models.catalog import ModelNotFoundError, prepare_whisper_base, whisper_model_dir


def test_tiny_en_transcribes_a_caller(speech: Speech) -> None:
    recognizer = WhisperRecognizer(whisper_model_dir("tiny.en"))
    result = recognizer.transcribe(speech.pcm("Please block my credit card."), CALL_RATE)
    assert "card" in result.text.lower()
    assert result.audio_seconds == pytest.approx(len(speech.pcm("Please block my credit card."))
                                                 / CALL_RATE)


@pytest.mark.parametrize(("text", "words"), [
    ("Hello, I lost my credit card yesterday. Can you block it?", ("credit card", "block it")),
    ("I want to complain about the service at your branch.", ("complain", "service")),
])
def test_a_fitted_window_hears_the_words(speech: Speech, text: str,
                                         words: tuple[str, ...]) -> None:
    result = WhisperRecognizer(whisper_model_dir("tiny.en"), window="fit").transcribe(
        speech.pcm(text), CALL_RATE)
    assert all(w in result.text.lower() for w in words), result.text


def test_audio_longer_than_a_window_is_transcribed_whole(speech: Speech) -> None:
    texts = ["Please block my credit card.", "I would like to open a savings account.",
             "What is the interest rate on a mortgage?", "I moved to a new address last month.",
             "Please send me a new debit card.", "Can I talk to a real person please?"]
    gap = np.zeros(CALL_RATE // 2, np.int16)
    long_turn = np.concatenate([part for t in texts * 2 for part in (speech.pcm(t), gap)]
                               + [speech.pcm("Thank you very much, goodbye.")])
    assert len(long_turn) / CALL_RATE > 30  # the usual, segmented path
    result = WhisperRecognizer(whisper_model_dir("tiny.en")).transcribe(long_turn, CALL_RATE)
    heard = result.text.lower()
    assert "credit card" in heard and "mortgage" in heard and "goodbye" in heard, heard


def test_base_is_joined_once_and_recognises(speech: Speech, tmp_path: Path) -> None:
    steps: list[int] = []

    def progress(total: int, what: str):  # type: ignore[no-untyped-def]
        steps.append(total)
        return lambda n: None

    folder = prepare_whisper_base(tmp_path, progress)
    model = folder / "model.bin"
    assert model.stat().st_size > 100_000_000 and steps
    mtime = model.stat().st_mtime_ns
    assert prepare_whisper_base(tmp_path, progress) == folder
    assert model.stat().st_mtime_ns == mtime and len(steps) == 1  # not joined again
    recognizer = WhisperRecognizer(folder, language=None)  # multilingual: detect the language
    result = recognizer.transcribe(speech.pcm("What is the balance of my account?"), CALL_RATE)
    assert "account" in result.text.lower() and result.language == "en"


def test_any_ctranslate2_folder_works_by_path() -> None:
    folder = whisper_model_dir("tiny.en")
    assert whisper_model_dir(str(folder)) == folder


def test_unknown_model_says_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"tiny\.en, base"):
        whisper_model_dir(str(tmp_path / "nothing-here"))
