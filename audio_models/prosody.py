"""Acoustic features of one caller turn (level, pitch, speaking rate) for arousal estimates.

The per-10 ms level and YIN pitch are the call-audio front end's prosody features
(``audio_models.dsp``): live calls get them from the batched front end, and
``measure_prosody`` computes the same for a recording; this module sums them up per turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_closing, convolve1d
from scipy.signal import find_peaks

from audio_models.dsp.reference import downsample_signal, signal_features
from audio_models.dsp.settings import HOP, RATE, WIDE_RATE

SUPPORTED_RATES = (RATE, WIDE_RATE)
HOP_S = HOP / RATE
SPEECH_FLOOR_DB = -55.0  # frames quieter than this are line noise, never speech
SPEECH_DYNAMIC_DB = 35.0  # and so are frames this far below the turn's loud frames
MAX_INNER_PAUSE_S = 0.25  # gaps shorter than this are within a phrase, not a pause
ENVELOPE_SMOOTH_S = 0.030
MIN_NUCLEUS_GAP_S = 0.080  # no one says more than 12 syllables a second
NUCLEUS_PROMINENCE_DB = 3.0


@dataclass(frozen=True)
class Prosody:
    rms_db: float  # mean power of speech frames, dBFS (0 dB = full-scale square wave)
    energy_range_db: float  # 10th to 90th percentile of speech frame levels
    pitch_hz: float  # median F0 over voiced frames; 0 when nothing is voiced
    pitch_range_semitones: float  # 10th to 90th percentile of F0
    voiced_ratio: float  # share of speech frames with a pitch
    speaking_rate: float  # syllable-like energy peaks per second of speech
    duration_s: float  # the whole turn, pauses included


def measure_prosody(samples: np.ndarray, sample_rate: int) -> Prosody:
    """Prosody of mono int16 or float (-1..1) audio at 8000 or 16000 Hz."""
    x = _as_float(samples, sample_rate)
    duration = x.size / sample_rate
    if sample_rate == WIDE_RATE:
        x = downsample_signal(x)
    # As if the line had been at the first sample forever: a DC offset causes no onset thump.
    return prosody_of(signal_features(x - x[0] if x.size else x), duration)


def prosody_of(features: np.ndarray, duration_s: float) -> Prosody:
    """Prosody from the front end's features, (hops, 3): level dBFS, pitch Hz (0 when
    unvoiced), aperiodicity; ``duration_s`` is the turn's, pauses included."""
    if len(features) == 0:
        return _silent(duration_s)
    level_db, f0 = features[:, 0].astype(np.float64), features[:, 1].astype(np.float64)
    loud = level_db >= max(SPEECH_FLOOR_DB, float(np.percentile(level_db, 95)) - SPEECH_DYNAMIC_DB)
    if not loud.any():
        return _silent(duration_s)
    # The caller's speaking time: loud frames plus the short gaps between syllables.
    speaking = binary_closing(loud, structure=np.ones(round(MAX_INNER_PAUSE_S / HOP_S)))
    speaking |= loud  # closing erodes loud frames at the edges of the turn
    voiced = f0[loud & (f0 > 0)]
    power = 10 ** (level_db[loud] / 10)
    p10, p90 = np.percentile(level_db[loud], [10, 90])
    return Prosody(
        rms_db=float(10 * np.log10(power.mean())),
        energy_range_db=float(p90 - p10),
        pitch_hz=float(np.median(voiced)) if voiced.size else 0.0,
        pitch_range_semitones=_semitone_spread(voiced),
        voiced_ratio=voiced.size / int(loud.sum()),
        speaking_rate=_count_nuclei(level_db, loud) / (int(speaking.sum()) * HOP_S),
        duration_s=duration_s,
    )


def _as_float(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate not in SUPPORTED_RATES:
        raise ValueError(f"sample rate must be one of {SUPPORTED_RATES}, got {sample_rate}")
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"need mono audio (1-D array), got shape {x.shape}")
    if x.dtype == np.int16:
        return x.astype(np.float64) / 32768.0
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"need int16 or float samples, got {x.dtype}")
    if not np.isfinite(x).all():
        raise ValueError("audio contains NaN or infinite samples")
    return x.astype(np.float64)


def _silent(duration: float) -> Prosody:
    return Prosody(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, duration)


def _semitone_spread(f0: np.ndarray) -> float:
    if f0.size < 2:
        return 0.0
    low, high = np.percentile(f0, [10, 90])
    return float(12 * np.log2(high / low))


def _count_nuclei(level_db: np.ndarray, loud: np.ndarray) -> int:
    """Peaks of the smoothed level envelope inside speech: one per syllable nucleus."""
    width = round(ENVELOPE_SMOOTH_S / HOP_S)
    kernel = np.hanning(width + 2)[1:-1]
    envelope = convolve1d(level_db, kernel / kernel.sum(), mode="nearest")
    peaks, _ = find_peaks(envelope, distance=round(MIN_NUCLEUS_GAP_S / HOP_S),
                          prominence=NUCLEUS_PROMINENCE_DB)
    return int(loud[peaks].sum())
