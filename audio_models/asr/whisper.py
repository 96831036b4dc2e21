"""Whisper through faster-whisper (CTranslate2), loaded from a local folder only.

A caller's turn lasts a few seconds, but Whisper is normally run on a 30 s window, and the
encoder's cost follows the window, not the speech (tiny.en on 2 cores: 182 ms for 30 s,
33 ms for 10 s, 20 ms for 6 s). With ``window="fit"`` a turn is encoded in a window just
longer than its audio, at least 10 s (shorter windows made Whisper repeat digit strings
endlessly or drop words; from 8 s on, transcripts matched the 30 s ones), and decoded
greedily in one pass; audio too long for that takes the usual path.
"""

from __future__ import annotations

import math
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

from audio_models.interfaces import Transcript
from audio_models.pcm import resample, to_float

WHISPER_RATE = 16000
FRAMES_PER_SECOND = 100
# Silence kept after the words, and the step windows grow in: a little trailing silence keeps
# the last word; steps keep the number of distinct window shapes small.
_MARGIN_S = 1.0
_STEP_S = 2.0
_MIN_WINDOW_S = 10.0
_FULL_WINDOW_S = 30.0
_MAX_TOKENS_PER_S = 12  # generous for speech (about 3 words/s), a bound on a runaway decode


class WhisperRecognizer:
    def __init__(self, model_dir: Path, language: str | None = "en", device: str = "cpu",
                 compute_type: str | None = None, cpu_threads: int = 0, beam_size: int = 1,
                 window: str = "fit") -> None:
        if window not in ("fit", "full"):
            raise ValueError(f"window must be fit or full, got {window!r}")
        self.name = f"whisper:{model_dir.name}"
        self.language = language
        self.beam_size = beam_size
        self.window = window
        # int8 is the fastest on CPU; on a GPU float16 is.
        compute_type = compute_type or ("int8" if device == "cpu" else "float16")
        self._model = WhisperModel(str(model_dir), device=device, compute_type=compute_type,
                                   cpu_threads=cpu_threads, local_files_only=True)

    def transcribe(self, pcm: np.ndarray, sample_rate: int) -> Transcript:
        audio = to_float(resample(pcm, sample_rate, WHISPER_RATE))
        seconds = len(pcm) / sample_rate
        if self.window == "fit" and seconds + _MARGIN_S <= _FULL_WINDOW_S:
            text, language = self._fitted(audio, seconds)
        else:
            segments, info = self._model.transcribe(
                audio, language=self.language, beam_size=self.beam_size, vad_filter=False,
                without_timestamps=True, condition_on_previous_text=False)
            text = " ".join(s.text.strip() for s in segments).strip()
            language = info.language
        return Transcript(text, language, seconds)

    def _fitted(self, audio: np.ndarray, seconds: float) -> tuple[str, str]:
        fitted = math.ceil((seconds + _MARGIN_S) / _STEP_S) * _STEP_S
        window = min(_FULL_WINDOW_S, max(_MIN_WINDOW_S, fitted))
        padded = np.zeros(int(window * WHISPER_RATE), dtype=np.float32)
        padded[:len(audio)] = audio
        frames = int(window * FRAMES_PER_SECOND)
        features = self._model.feature_extractor(padded)[:, :frames]
        model = self._model.model
        encoded = model.encode(ctranslate2.StorageView.from_array(
            np.ascontiguousarray(features[None], dtype=np.float32)))
        language = self.language
        if language is None:
            if not model.is_multilingual:
                language = "en"
            else:
                token, _ = model.detect_language(encoded)[0][0]
                language = token[2:-2]  # "<|de|>" -> "de"
        tokenizer = Tokenizer(self._model.hf_tokenizer, model.is_multilingual,
                              task="transcribe", language=language)
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = model.generate(encoded, [prompt], beam_size=self.beam_size,
                                max_length=len(prompt) + int(_MAX_TOKENS_PER_S * window))
        return tokenizer.decode(result[0].sequences_ids[0]).strip(), language
