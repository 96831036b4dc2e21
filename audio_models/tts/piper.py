"""Piper voices (ONNX), sentence by sentence, resampled to the call's clock rate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from piper import PiperVoice

from audio_models.pcm import resample


class PiperSynthesizer:
    def __init__(self, model: Path, config: Path, sample_rate: int, use_cuda: bool = False) -> None:
        self.name = f"piper:{model.stem}"
        self.sample_rate = sample_rate
        self._voice = PiperVoice.load(model, config, use_cuda=use_cuda)
        for _ in self.synthesize("Ready."):  # warm the ONNX session at start-up
            pass

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        for chunk in self._voice.synthesize(text):
            yield resample(chunk.audio_int16_array, chunk.sample_rate, self.sample_rate)
