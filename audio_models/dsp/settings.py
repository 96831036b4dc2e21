"""Constants and settings shared by the three backends, so that they compute the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.signal import firwin

RATE = 8000  # call audio (G.711)
WIDE_RATE = 16000  # what the recognizer and VAD are fed
FRAME = 160  # 20 ms at 8 kHz: one RTP packet
WIDE_FRAME = 2 * FRAME
HOP = 80  # prosody features every 10 ms: two per frame
HOPS = FRAME // HOP

# Noise suppression: 40 ms sqrt-Hann windows every 20 ms, so the added delay is one frame.
WINDOW = 2 * FRAME
BINS = WINDOW // 2 + 1
PSD_SMOOTHING = 0.8  # of the periodogram the noise floor is tracked on
MIN_SUBWINDOW = 16  # frames per sub-window of the minimum search (0.32 s)
MIN_SUBWINDOWS = 5  # the minimum is taken over the last 1.6 s
NOISE_BIAS = 2.0  # the minimum of a smoothed periodogram is below its mean (Martin 2001)
PRIOR_SNR_SMOOTHING = 0.98  # decision-directed a priori SNR (Ephraim-Malah)

# Gain control: speech frames are brought to TARGET_RMS, slowly, within the gain limits.
AGC_GATE_RMS = 10 ** (-50 / 20)  # voiced frames quieter than -50 dBFS do not move the level
AGC_ATTACK = 0.3  # per frame, when the level rises
AGC_RELEASE = 0.05  # per frame, when it falls

# Resampling 8 <-> 16 kHz: one low-pass FIR, split into two phases for 2x up-sampling.
RESAMPLE_TAPS = 48
RESAMPLE_CUTOFF_HZ = 3600.0

# Prosody features: level over 30 ms, YIN pitch over a 20 ms window; each feature describes
# the audio that ends at its hop (causal, so the streaming kernels never wait for more).
LEVEL_WINDOW = 240
PITCH_WINDOW = 160
MIN_PITCH_HZ = 60.0
MAX_PITCH_HZ = 400.0
MIN_LAG = int(RATE / MAX_PITCH_HZ)
MAX_LAG = int(np.ceil(RATE / MIN_PITCH_HZ)) + 2  # room for a dip at the lowest pitch
PITCH_SPAN = PITCH_WINDOW + MAX_LAG + 1
YIN_THRESHOLD = 0.25  # above YIN's usual 0.15: telephone band-limiting blurs the dips
HISTORY = max(LEVEL_WINDOW, PITCH_SPAN) - HOP  # samples kept from earlier frames
FEATURES = 3  # level dBFS, pitch Hz (0 = unvoiced), aperiodicity (YIN's dip, 1 = none)
EPS = 1e-12


@dataclass(frozen=True)
class FrontEndSettings:
    """Which stages run; resampling to 16 kHz and the prosody features always do.

    Delay added to what VAD and ASR hear: the up-sampler's 1.5 ms (23.5 samples at 16 kHz,
    linear phase), plus one frame (20 ms) when noise suppression runs."""

    dc_removal: bool = True
    denoise: bool = False
    gain_control: bool = False
    dc_pole: float = 0.995  # one-pole high-pass, corner near 6 Hz
    gain_floor_db: float = -12.0  # the most noise suppression takes off any bin
    target_rms_db: float = -20.0
    max_gain_db: float = 20.0
    min_gain_db: float = -12.0

    def __post_init__(self) -> None:
        if not 0.0 < self.dc_pole < 1.0:
            raise ValueError(f"dc_pole must be in (0, 1), got {self.dc_pole}")
        if self.gain_floor_db > 0:
            raise ValueError(f"gain_floor_db must be <= 0 dB, got {self.gain_floor_db}")
        if self.min_gain_db > self.max_gain_db:
            raise ValueError("min_gain_db must not exceed max_gain_db")

    def as_array(self) -> np.ndarray:
        """The numbers the compiled kernels read, in a fixed order (see ``PARAMS``)."""
        return np.array([
            float(self.dc_removal), float(self.denoise), float(self.gain_control),
            self.dc_pole, 10 ** (self.gain_floor_db / 20), 10 ** (self.target_rms_db / 20),
            10 ** (self.max_gain_db / 20), 10 ** (self.min_gain_db / 20),
        ], dtype=np.float64)


# Index of each setting in ``FrontEndSettings.as_array()``.
P_DC, P_DENOISE, P_AGC, P_POLE, P_FLOOR, P_TARGET, P_MAX_GAIN, P_MIN_GAIN = range(8)


@cache
def resample_filter() -> np.ndarray:
    """Low-pass taps at 16 kHz with unit DC gain (float64)."""
    taps = firwin(RESAMPLE_TAPS, RESAMPLE_CUTOFF_HZ, fs=WIDE_RATE, window=("kaiser", 8.0))
    return np.asarray(taps, dtype=np.float64)


@cache
def analysis_window() -> np.ndarray:
    """Periodic sqrt-Hann: used for analysis and synthesis, the squares overlap-add to 1."""
    n = np.arange(WINDOW)
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * n / WINDOW))


@cache
def dft_tables() -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the real DFT of one window, shape (WINDOW, BINS): the compiled
    kernels multiply by these instead of calling an FFT they do not have."""
    n = np.arange(WINDOW)[:, None]
    k = np.arange(BINS)[None, :]
    angle = 2 * np.pi * n * k / WINDOW
    return np.cos(angle), np.sin(angle)
