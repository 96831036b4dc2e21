"""Acoustic features of one caller turn (level, pitch, speaking rate) for arousal estimates.

All frame maths is vectorised over frames; pitch is YIN's cumulative mean normalised
difference, computed for every speech frame at once with FFTs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_closing, convolve1d
from scipy.signal import butter, find_peaks, sosfilt, sosfilt_zi

SUPPORTED_RATES = (8000, 16000)
HIGHPASS_HZ = 40.0  # removes DC and hum, which would otherwise read as loud, steady "speech"
HOP_S = 0.010
ENERGY_FRAME_S = 0.030
PITCH_WINDOW_S = 0.020  # YIN integration window; a pitch frame is this plus the longest lag
MIN_PITCH_HZ = 60.0
MAX_PITCH_HZ = 400.0
YIN_THRESHOLD = 0.25  # above YIN's usual 0.15: telephone band-limiting blurs the dips
SPEECH_FLOOR_DB = -55.0  # frames quieter than this are line noise, never speech
SPEECH_DYNAMIC_DB = 35.0  # and so are frames this far below the turn's loud frames
MAX_INNER_PAUSE_S = 0.25  # gaps shorter than this are within a phrase, not a pause
ENVELOPE_SMOOTH_S = 0.030
MIN_NUCLEUS_GAP_S = 0.080  # no one says more than 12 syllables a second
NUCLEUS_PROMINENCE_DB = 3.0
_EPS = 1e-12


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
    hop = round(HOP_S * sample_rate)
    if x.size < hop:
        return _silent(duration)
    x = _highpass(x, sample_rate)
    level_db = _frame_levels(x, sample_rate, hop)
    loud = level_db >= max(SPEECH_FLOOR_DB, float(np.percentile(level_db, 95)) - SPEECH_DYNAMIC_DB)
    if not loud.any():
        return _silent(duration)
    # The caller's speaking time: loud frames plus the short gaps between syllables.
    speaking = binary_closing(loud, structure=np.ones(round(MAX_INNER_PAUSE_S / HOP_S)))
    speaking |= loud  # closing erodes loud frames at the edges of the turn
    f0 = _yin_pitch(x, sample_rate, hop, np.flatnonzero(loud))
    voiced = f0[f0 > 0]
    power = 10 ** (level_db[loud] / 10)
    p10, p90 = np.percentile(level_db[loud], [10, 90])
    return Prosody(
        rms_db=float(10 * np.log10(power.mean())),
        energy_range_db=float(p90 - p10),
        pitch_hz=float(np.median(voiced)) if voiced.size else 0.0,
        pitch_range_semitones=_semitone_spread(voiced),
        voiced_ratio=voiced.size / int(loud.sum()),
        speaking_rate=_count_nuclei(level_db, loud) / (int(speaking.sum()) * HOP_S),
        duration_s=duration,
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


def _highpass(x: np.ndarray, sample_rate: int) -> np.ndarray:
    sos = butter(2, HIGHPASS_HZ, "highpass", fs=sample_rate, output="sos")
    # Start in the steady state of the first sample, so a DC offset causes no onset thump.
    filtered, _ = sosfilt(sos, x, zi=sosfilt_zi(sos) * x[0])
    return np.asarray(filtered)


def _silent(duration: float) -> Prosody:
    return Prosody(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, duration)


def _frames(x: np.ndarray, length: int, hop: int, starts: np.ndarray) -> np.ndarray:
    """Frames of ``length`` samples starting at ``starts`` hops; zero-padded past the end."""
    padded = np.pad(x, (0, length))
    windows = np.lib.stride_tricks.sliding_window_view(padded, length)
    return np.asarray(windows[starts * hop])


def _frame_levels(x: np.ndarray, sample_rate: int, hop: int) -> np.ndarray:
    """Level of each hop's frame in dBFS, full-scale sine = -3 dB."""
    starts = np.arange(x.size // hop)
    power = np.mean(_frames(x, round(ENERGY_FRAME_S * sample_rate), hop, starts) ** 2, axis=1)
    return np.asarray(10 * np.log10(power + _EPS))


def _yin_pitch(x: np.ndarray, sample_rate: int, hop: int, starts: np.ndarray) -> np.ndarray:
    """F0 in Hz of the frames at ``starts`` (0 where unvoiced), YIN without its step 6."""
    window = round(PITCH_WINDOW_S * sample_rate)
    min_lag = int(sample_rate / MAX_PITCH_HZ)
    max_lag = int(np.ceil(sample_rate / MIN_PITCH_HZ)) + 2  # room for a dip at the lowest F0
    frames = _frames(x, window + max_lag + 1, hop, starts)
    n_fft = 1 << int(np.ceil(np.log2(2 * frames.shape[1])))
    # Cross-correlation of each frame's first window with the frame, for lags 0..max_lag.
    spectrum = np.fft.rfft(frames, n_fft) * np.conj(np.fft.rfft(frames[:, :window], n_fft))
    corr = np.fft.irfft(spectrum, n_fft)[:, : max_lag + 1]
    energy = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    lagged_energy = energy[:, window : window + max_lag + 1] - energy[:, : max_lag + 1]
    diff = energy[:, [window]] + lagged_energy - 2 * corr
    lags = np.arange(1, max_lag + 1)
    cumulative = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    # A frame with no variation at all has no period: leave its curve at 1, above any threshold.
    cmnd[:, 1:] = np.where(cumulative > _EPS, diff[:, 1:] * lags / np.maximum(cumulative, _EPS),
                           1.0)
    # The first dip under the threshold that is a local minimum; the first, not the deepest,
    # so that twice the period (an octave too low) never wins.
    inner = cmnd[:, 1:-1]
    dips = (inner < YIN_THRESHOLD) & (inner <= cmnd[:, :-2]) & (inner <= cmnd[:, 2:])
    dips[:, : min_lag - 1] = False
    found = dips.any(axis=1)
    lag = dips.argmax(axis=1) + 1
    rows = np.arange(len(lag))
    # Parabolic interpolation between lags: at 8 kHz one lag is 3 % of a 250 Hz period.
    before, at, after = cmnd[rows, lag - 1], cmnd[rows, lag], cmnd[rows, lag + 1]
    curvature = before - 2 * at + after
    offset = np.where(curvature > _EPS, 0.5 * (before - after) / np.maximum(curvature, _EPS), 0)
    f0 = sample_rate / (lag + np.clip(offset, -0.5, 0.5))
    return np.where(found & (f0 >= MIN_PITCH_HZ) & (f0 <= MAX_PITCH_HZ), f0, 0.0)


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
