"""Prosody on synthetic signals with known pitch, level and rhythm, and on espeak-ng speech."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from audio_models.pcm import read_wav
from audio_models.prosody import Prosody, measure_prosody

RATES = (8000, 16000)


def harmonic(f0: float | np.ndarray, rate: int, seconds: float = 2.0,
             level: float = 0.3) -> np.ndarray:
    """Five harmonics with falling amplitude, like a voiced vowel; ``f0`` may vary per sample."""
    n = int(rate * seconds)
    phase = 2 * np.pi * np.cumsum(np.broadcast_to(f0, (n,))) / rate
    harmonics = np.arange(1, 6)[:, None]
    return np.asarray(level * (np.sin(harmonics * phase) / harmonics).sum(axis=0))


def syllables(per_second: float, rate: int, seconds: float = 3.0) -> np.ndarray:
    """A 150 Hz voice switched on and off ``per_second`` times, like syllable nuclei."""
    t = np.arange(int(rate * seconds)) / rate
    return np.asarray(harmonic(150, rate, seconds) * np.sin(np.pi * per_second * t) ** 2)


def espeak(text: str, folder: Path, words_per_minute: int) -> np.ndarray:
    path = folder / f"{words_per_minute}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(words_per_minute), "-w", str(path),
                    text], check=True)
    return read_wav(path, 8000)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("f0", [150.0, 250.0])
def test_pitch_of_a_harmonic_tone_is_within_5_percent(f0: float, rate: int) -> None:
    prosody = measure_prosody(harmonic(f0, rate), rate)
    assert prosody.pitch_hz == pytest.approx(f0, rel=0.05)
    assert prosody.voiced_ratio > 0.9
    assert prosody.pitch_range_semitones < 0.5


def test_int16_input_reads_like_float() -> None:
    tone = harmonic(200.0, 8000)
    as_int = measure_prosody(np.round(tone * 32767).astype(np.int16), 8000)
    assert as_int.pitch_hz == pytest.approx(200.0, rel=0.05)
    assert as_int.rms_db == pytest.approx(measure_prosody(tone, 8000).rms_db, abs=0.1)


def test_a_pitch_glide_over_an_octave_has_a_wide_pitch_range() -> None:
    glide = np.linspace(120.0, 240.0, 16000)
    prosody = measure_prosody(harmonic(glide, 8000), 8000)
    # 10th to 90th percentile of a 12-semitone glide, linear in Hz.
    assert 7.0 < prosody.pitch_range_semitones < 11.0
    assert 150.0 < prosody.pitch_hz < 200.0


@pytest.mark.parametrize("rate", RATES)
def test_speaking_rate_follows_the_syllable_rate(rate: int) -> None:
    slow = measure_prosody(syllables(4, rate), rate).speaking_rate
    fast = measure_prosody(syllables(7, rate), rate).speaking_rate
    assert slow == pytest.approx(4, rel=0.1)
    assert fast == pytest.approx(7, rel=0.1)


def test_four_times_the_amplitude_is_12_db_louder() -> None:
    quiet = measure_prosody(syllables(5, 8000) * 0.2, 8000)
    loud = measure_prosody(syllables(5, 8000) * 0.8, 8000)
    assert loud.rms_db - quiet.rms_db == pytest.approx(12.04, abs=0.3)
    assert loud.energy_range_db == pytest.approx(quiet.energy_range_db, abs=0.3)
    assert loud.speaking_rate == quiet.speaking_rate


@pytest.mark.parametrize("samples", [np.zeros(0, np.int16), np.zeros(8000, np.int16),
                                     np.zeros(5, np.float32), np.full(8000, 0.5)],
                         ids=["empty", "silence", "tiny", "dc-offset"])
def test_no_sound_gives_zeros(samples: np.ndarray) -> None:
    assert measure_prosody(samples, 8000) == Prosody(0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                                                     samples.size / 8000)


def test_faint_line_hiss_is_not_speech() -> None:
    hiss = np.random.default_rng(0).normal(0, 0.0005, 8000)
    assert measure_prosody(hiss, 8000).voiced_ratio == 0.0


def test_loud_noise_has_a_level_but_no_pitch() -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, 16000)
    prosody = measure_prosody(noise, 8000)
    assert prosody.rms_db == pytest.approx(-20.0, abs=1.0)
    assert prosody.pitch_hz == 0.0
    assert prosody.voiced_ratio == 0.0


def test_clipped_audio_keeps_its_pitch() -> None:
    clipped = np.clip(harmonic(200.0, 8000, level=3.0), -1.0, 1.0)
    prosody = measure_prosody(clipped, 8000)
    assert prosody.pitch_hz == pytest.approx(200.0, rel=0.05)
    assert -3.0 < prosody.rms_db <= 0.0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples_are_refused(bad: float) -> None:
    samples = harmonic(150.0, 8000)
    samples[100] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        measure_prosody(samples, 8000)


def test_other_rates_shapes_and_types_are_refused() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        measure_prosody(np.zeros(100), 44100)
    with pytest.raises(ValueError, match="mono"):
        measure_prosody(np.zeros((100, 2)), 8000)
    with pytest.raises(ValueError, match="int16 or float"):
        measure_prosody(np.zeros(100, np.int32), 8000)


def test_espeak_speech_sounds_like_speech_and_faster_speech_counts_faster(
        tmp_path: Path) -> None:
    text = "Hello, I would like to check the balance of my savings account, please."
    slow = measure_prosody(espeak(text, tmp_path, 110), 8000)
    fast = measure_prosody(espeak(text, tmp_path, 260), 8000)
    assert 80.0 < slow.pitch_hz < 130.0  # espeak's en-us voice speaks near 100 Hz
    assert 0.3 < slow.voiced_ratio < 0.95  # consonants are unvoiced
    assert 2.0 < slow.speaking_rate < 5.0
    assert fast.speaking_rate > 1.4 * slow.speaking_rate
    assert fast.duration_s < slow.duration_s
