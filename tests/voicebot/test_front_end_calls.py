"""The call-audio front end on live SIP calls: a noisy caller is understood through the
whole chain (DC removal, noise suppression, gain control, batched), and a front end that
fails mid-call costs the call nothing (it goes on with the audio merely resampled).

The hotline runs in this process with the real models; the failing backend wraps the real
one and raises (fault injection, not a mock)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CALL_RATE, LOOPBACK, Speech, free_port, hotline_in_process

from audio_models.dsp.backend import FrontEndBackend
from audio_models.pcm import write_wav
from voicebot.hotline import Hotline

pytestmark = pytest.mark.e2e

QUESTION = "Hello, I lost my credit card yesterday. Can you block it?"


def noisy(speech: Speech, text: str, snr_db: float, folder: Path) -> Path:
    """The caller's words in white noise (and a DC offset, as cheap handsets have)."""
    pcm = speech.pcm(text).astype(np.float64)
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 1, pcm.size)
    active = pcm[np.abs(pcm) > 0.05 * np.abs(pcm).max()]
    noise *= np.sqrt(np.mean(active**2) / 10 ** (snr_db / 10))
    mixed = np.clip(pcm + noise + 300, -32768, 32767)
    path = folder / "noisy.wav"
    write_wav(path, mixed.astype(np.int16), CALL_RATE)
    return path


def call(hotline: Hotline, wav: Path) -> subprocess.CompletedProcess[str]:
    uri = f"sip:hotline@{LOOPBACK}:{hotline.config.port}"
    return subprocess.run([sys.executable, "-m", "voicebot.cli", "call", uri, "--play", str(wav),
                           "--rtp-port", str(free_port())],
                          capture_output=True, text=True, timeout=120)


def only_record(folder: Path) -> dict[str, object]:
    (record,) = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    return record


def test_a_noisy_caller_is_understood_through_the_whole_front_end(
        tmp_path: Path, speech: Speech) -> None:
    # 20 dB: how well each stage copes with worse noise is the asr_noise benchmark's job
    # (tiny.en misreads espeak speech in 10 dB white noise with or without the front end).
    wav = noisy(speech, QUESTION, snr_db=20, folder=tmp_path)
    records = tmp_path / "records"
    with hotline_in_process(records, front_end=("dc", "denoise", "agc"),
                            dsp_backend="cpu") as hotline:
        assert hotline.engines.front_end.backend.name == "cpu"
        result = call(hotline, wav)
        frames = hotline.engines.front_end.frames
    assert result.returncode == 0, result.stdout + result.stderr
    (turn,) = only_record(records)["turns"]  # type: ignore[misc]
    assert turn["intent"] == "card_lost", turn
    assert frames > 100  # every frame of the call went through the batch


class FailingAfter:
    """The real backend, raising from its ``after``-th batch on."""

    def __init__(self, inner: FrontEndBackend, after: int) -> None:
        self.inner, self.after, self.batches = inner, after, 0
        self.name, self.capacity = inner.name, inner.capacity

    def reset(self, rows: np.ndarray) -> None:
        self.inner.reset(rows)

    def process(self, frames: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.batches += 1
        if self.batches > self.after:
            raise RuntimeError("injected front-end failure")
        return self.inner.process(frames, rows)


def test_a_failing_front_end_costs_the_call_nothing(tmp_path: Path, speech: Speech) -> None:
    with hotline_in_process(tmp_path) as hotline:
        failing = FailingAfter(hotline.engines.front_end.backend, after=20)
        hotline.engines.front_end.backend = failing
        result = call(hotline, speech.wav(QUESTION))
    assert result.returncode == 0, result.stdout + result.stderr
    assert failing.batches > 100  # it kept failing for the rest of the call
    record = only_record(tmp_path)
    (turn,) = record["turns"]  # type: ignore[misc]
    assert turn["intent"] == "card_lost", turn
