from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio_models.pcm import frames, read_wav, resample, rms, write_wav


def test_resampling_keeps_a_tone_and_its_length() -> None:
    t = np.arange(22050) / 22050
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    out = resample(tone, 22050, 8000)
    assert len(out) == 8000 and out.dtype == np.int16
    spectrum = np.abs(np.fft.rfft(out.astype(np.float32)))
    assert abs(int(np.argmax(spectrum)) - 440) <= 1  # 1 Hz bins over one second


def test_frames_are_exact_and_the_last_is_padded() -> None:
    pcm = np.arange(400, dtype=np.int16)
    out = list(frames(pcm, 160))
    assert [len(f) for f in out] == [320, 320, 320]
    assert np.frombuffer(out[-1], "<i2")[80:].tolist() == [0] * 80
    assert rms(bytes(320)) == 0.0


def test_wav_round_trip_and_resample(tmp_path: Path) -> None:
    pcm = (np.random.default_rng(1).normal(0, 3000, 16000)).astype(np.int16)
    write_wav(tmp_path / "a.wav", pcm, 16000)
    assert len(read_wav(tmp_path / "a.wav", 8000)) == 8000
    assert np.array_equal(read_wav(tmp_path / "a.wav", 16000), pcm)


def test_a_file_that_is_not_a_wav_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"not audio")
    with pytest.raises(ValueError, match="not a readable WAV"):
        read_wav(tmp_path / "x.wav", 8000)
