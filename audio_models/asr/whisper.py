"""Whisper through faster-whisper (CTranslate2), loaded from a local folder only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel

from audio_models.interfaces import Transcript
from audio_models.pcm import resample, to_float

WHISPER_RATE = 16000


class WhisperRecognizer:
    def __init__(self, model_dir: Path, language: str | None = "en", device: str = "cpu",
                 compute_type: str | None = None, cpu_threads: int = 0, beam_size: int = 1) -> None:
        self.name = f"whisper:{model_dir.name}"
        self.language = language
        self.beam_size = beam_size
        # int8 is the fastest on CPU; on a GPU float16 is.
        compute_type = compute_type or ("int8" if device == "cpu" else "float16")
        self._model = WhisperModel(str(model_dir), device=device, compute_type=compute_type,
                                   cpu_threads=cpu_threads, local_files_only=True)

    def transcribe(self, pcm: np.ndarray, sample_rate: int) -> Transcript:
        audio = to_float(resample(pcm, sample_rate, WHISPER_RATE))
        segments, info = self._model.transcribe(
            audio, language=self.language, beam_size=self.beam_size, vad_filter=False,
            without_timestamps=True, condition_on_previous_text=False)
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text, info.language, len(pcm) / sample_rate)
