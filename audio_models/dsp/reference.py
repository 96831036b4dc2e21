"""The NumPy reference of the front end: readable, vectorised over calls, and the definition
the Numba and CUDA kernels are tested against.

One frame of each call in ``rows`` goes through, in order: DC removal -> prosody features
-> noise suppression -> gain control -> 2x up-sampling to 16 kHz.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.signal import lfilter, upfirdn

from audio_models.dsp.settings import (
    AGC_ATTACK,
    AGC_GATE_RMS,
    AGC_RELEASE,
    EPS,
    FEATURES,
    FRAME,
    HISTORY,
    HOP,
    HOPS,
    LEVEL_WINDOW,
    MAX_LAG,
    MAX_PITCH_HZ,
    MIN_LAG,
    MIN_PITCH_HZ,
    MIN_SUBWINDOW,
    NOISE_BIAS,
    PITCH_SPAN,
    PITCH_WINDOW,
    PRIOR_SNR_SMOOTHING,
    PSD_SMOOTHING,
    RATE,
    WIDE_FRAME,
    WINDOW,
    YIN_THRESHOLD,
    FrontEndSettings,
    analysis_window,
    resample_filter,
)
from audio_models.dsp.state import DOWN_HISTORY, UP_HISTORY, FrontEndState


def checked_rows(rows: np.ndarray, calls: int, capacity: int) -> np.ndarray:
    """The slots as intp, refused unless one distinct in-range slot per frame: compiled
    kernels do not check bounds, and two frames of one slot in a tick would be one call's
    audio out of order (on a GPU, a race on its state)."""
    slots = np.asarray(rows)
    if slots.ndim != 1 or len(slots) != calls or (calls and slots.dtype.kind not in "iu"):
        raise ValueError(f"rows must be {calls} integer slots, one per frame, got "
                         f"{slots.dtype} {slots.shape}")
    if calls and (slots.min() < 0 or slots.max() >= capacity):
        raise ValueError(f"rows must lie in [0, {capacity}), got {slots.min()}..{slots.max()}")
    if len(np.unique(slots)) != calls:
        raise ValueError("rows must not repeat a slot within one batch")
    return slots.astype(np.intp)


def checked_frames(frames: np.ndarray) -> np.ndarray:
    """The frames every backend accepts: float64 (calls, FRAME) in [-1, 1]. int16 is scaled;
    NaN and infinities become silence and louder samples are clipped, so one broken packet
    costs a click, never the call; a wrong shape is the caller's bug and raises."""
    x = np.asarray(frames)
    if x.ndim != 2 or x.shape[1] != FRAME:
        raise ValueError(f"front end needs frames of shape (calls, {FRAME}), got {x.shape}")
    if x.dtype == np.int16:
        return x.astype(np.float64) / 32768.0
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"front end needs int16 or float frames, got {x.dtype}")
    return np.clip(np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0),
                   -1.0, 1.0)


def process(frames: np.ndarray, state: FrontEndState, rows: np.ndarray,
            settings: FrontEndSettings) -> tuple[np.ndarray, np.ndarray]:
    """One frame per call: ``frames[i]`` belongs to state row ``rows[i]``.

    Returns the 16 kHz output (calls, WIDE_FRAME) and the prosody features
    (calls, HOPS, FEATURES): level dBFS, pitch Hz (0 = unvoiced), aperiodicity."""
    x = checked_frames(frames)
    if settings.dc_removal:
        x = _remove_dc(x, state, rows, settings.dc_pole)
    features = _features(x, state, rows)
    if settings.denoise:
        x = _suppress_noise(x, state, rows, 10 ** (settings.gain_floor_db / 20))
    if settings.gain_control:
        voiced = np.any(features[:, :, 1] > 0, axis=1)
        x = _control_gain(x, state, rows, settings, voiced)
    wide = _upsample(x, state, rows)
    return wide.astype(np.float32), features.astype(np.float32)


def _remove_dc(x: np.ndarray, state: FrontEndState, rows: np.ndarray, pole: float
               ) -> np.ndarray:
    """y[n] = x[n] - x[n-1] + pole * y[n-1]."""
    y = np.empty_like(x)
    x_prev, y_prev = state.dc[rows, 0], state.dc[rows, 1]
    for n in range(FRAME):
        y_prev = x[:, n] - x_prev + pole * y_prev
        x_prev = x[:, n]
        y[:, n] = y_prev
    state.dc[rows, 0], state.dc[rows, 1] = x_prev, y_prev
    return y


def _features(x: np.ndarray, state: FrontEndState, rows: np.ndarray) -> np.ndarray:
    """Level and YIN pitch of the audio ending at each hop of this frame."""
    signal = np.concatenate([state.history[rows], x], axis=1)
    state.history[rows] = signal[:, -HISTORY:]
    out = np.empty((len(x), HOPS, FEATURES))
    for hop in range(HOPS):
        end = HISTORY + (hop + 1) * HOP
        level = signal[:, end - LEVEL_WINDOW:end]
        out[:, hop, 0] = 10 * np.log10(np.mean(level**2, axis=1) + EPS)
        out[:, hop, 1], out[:, hop, 2] = yin(signal[:, end - PITCH_SPAN:end])
    return out


def yin(span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pitch in Hz (0 where unvoiced) and aperiodicity (the lowest point of YIN's
    cumulative mean normalised difference) of each row of (n, PITCH_SPAN) samples."""
    head = span[:, :PITCH_WINDOW]
    diff = np.stack([np.sum((head - span[:, lag:lag + PITCH_WINDOW]) ** 2, axis=1)
                     for lag in range(MAX_LAG + 1)], axis=1)
    lags = np.arange(1, MAX_LAG + 1)
    cumulative = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    # A span with no variation at all has no period: its curve stays at 1, above any threshold.
    cmnd[:, 1:] = np.where(cumulative > EPS, diff[:, 1:] * lags / np.maximum(cumulative, EPS), 1)
    # The first dip under the threshold that is a local minimum; the first, not the deepest,
    # so that twice the period (an octave too low) never wins.
    inner = cmnd[:, MIN_LAG:MAX_LAG]
    dips = ((inner < YIN_THRESHOLD) & (inner <= cmnd[:, MIN_LAG - 1:MAX_LAG - 1])
            & (inner <= cmnd[:, MIN_LAG + 1:MAX_LAG + 1]))
    found = dips.any(axis=1)
    lag = dips.argmax(axis=1) + MIN_LAG
    rows = np.arange(len(lag))
    # Parabolic interpolation between lags: at 8 kHz one lag is 3 % of a 250 Hz period.
    before, at, after = cmnd[rows, lag - 1], cmnd[rows, lag], cmnd[rows, lag + 1]
    curvature = before - 2 * at + after
    offset = np.where(curvature > EPS, 0.5 * (before - after) / np.maximum(curvature, EPS), 0)
    f0 = RATE / (lag + np.clip(offset, -0.5, 0.5))
    voiced = found & (f0 >= MIN_PITCH_HZ) & (f0 <= MAX_PITCH_HZ)
    return np.where(voiced, f0, 0.0), inner.min(axis=1)


def _suppress_noise(x: np.ndarray, state: FrontEndState, rows: np.ndarray, floor: float
                    ) -> np.ndarray:
    """Wiener gain per bin, with the noise tracked by minimum statistics and the a priori
    SNR by the decision-directed rule; 40 ms windows, 50 % overlap-add: 20 ms delay."""
    w = analysis_window()
    spectrum = np.fft.rfft(np.concatenate([state.previous_input[rows], x], axis=1) * w, axis=1)
    power = np.abs(spectrum) ** 2
    first = (state.frames[rows] == 0)[:, None]
    smoothed = np.where(first, power,
                        PSD_SMOOTHING * state.smoothed_power[rows] + (1 - PSD_SMOOTHING) * power)
    subwindow_min = np.minimum(state.subwindow_min[rows], smoothed)
    frames = state.frames[rows] + 1
    minima = state.minima[rows]
    full = frames % MIN_SUBWINDOW == 0
    minima[full] = np.concatenate([minima[full, 1:], subwindow_min[full, None]], axis=1)
    subwindow_min[full] = np.inf
    noise = NOISE_BIAS * np.minimum(minima.min(axis=1), subwindow_min) + EPS
    posterior = power / noise
    prior = (PRIOR_SNR_SMOOTHING * state.clean_power[rows] / noise
             + (1 - PRIOR_SNR_SMOOTHING) * np.maximum(posterior - 1, 0))
    gain = np.maximum(prior / (1 + prior), floor)
    clean = np.fft.irfft(gain * spectrum, WINDOW, axis=1) * w
    out = state.overlap[rows] + clean[:, :FRAME]
    state.smoothed_power[rows] = smoothed
    state.subwindow_min[rows] = subwindow_min
    state.minima[rows] = minima
    state.frames[rows] = frames
    state.clean_power[rows] = gain**2 * power
    state.overlap[rows] = clean[:, FRAME:]
    state.previous_input[rows] = x
    return np.asarray(out)


def _control_gain(x: np.ndarray, state: FrontEndState, rows: np.ndarray,
                  settings: FrontEndSettings, voiced: np.ndarray) -> np.ndarray:
    """Track the level of voiced frames (steady noise would otherwise be raised to speech
    level) and steer it to the target, ramping the gain across the frame so that a change
    never clicks."""
    level, last_gain = state.agc[rows, 0], state.agc[rows, 1]
    frame_rms = np.sqrt(np.mean(x**2, axis=1))
    rate = np.where(frame_rms > level, AGC_ATTACK, AGC_RELEASE)
    level = np.where(voiced & (frame_rms > AGC_GATE_RMS), level + rate * (frame_rms - level), level)
    gain = np.clip(10 ** (settings.target_rms_db / 20) / level,
                   10 ** (settings.min_gain_db / 20), 10 ** (settings.max_gain_db / 20))
    ramp = last_gain[:, None] + (gain - last_gain)[:, None] * (np.arange(1, FRAME + 1) / FRAME)
    state.agc[rows, 0], state.agc[rows, 1] = level, gain
    return np.asarray(np.clip(x * ramp, -1.0, 1.0))


def _upsample(x: np.ndarray, state: FrontEndState, rows: np.ndarray) -> np.ndarray:
    """2x polyphase interpolation: even outputs from the even taps, odd from the odd."""
    h = 2 * resample_filter()
    signal = np.concatenate([state.upsampler[rows], x], axis=1)
    state.upsampler[rows] = signal[:, -UP_HISTORY:]
    windows = np.lib.stride_tricks.sliding_window_view(signal, UP_HISTORY + 1, axis=1)
    out = np.empty((len(x), WIDE_FRAME))
    out[:, 0::2] = windows @ h[0::2][::-1]
    out[:, 1::2] = windows @ h[1::2][::-1]
    return out


def downsample(wide: np.ndarray, history: np.ndarray) -> np.ndarray:
    """2x decimation of (calls, WIDE_FRAME) 16 kHz frames to 8 kHz through the same low-pass
    (for audio going to the call); ``history`` (calls, DOWN_HISTORY) is updated in place."""
    h = resample_filter()
    signal = np.concatenate([history, wide], axis=1)
    history[:] = signal[:, -DOWN_HISTORY:]
    windows = np.lib.stride_tricks.sliding_window_view(signal, DOWN_HISTORY + 1, axis=1)
    return np.asarray(windows[:, 0:WIDE_FRAME:2] @ h[::-1])


def process_signal(x: np.ndarray, settings: FrontEndSettings) -> tuple[np.ndarray, np.ndarray]:
    """A whole 8 kHz recording through one call's front end, frame by frame (the last frame
    zero-padded): 16 kHz audio and features (hops, FEATURES)."""
    return process_signals([x], settings)[0]


def process_signals(recordings: Sequence[np.ndarray], settings: FrontEndSettings
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Whole 8 kHz recordings, each through a call slot of its own, all in one batch per frame
    (vectorised over calls: many recordings cost little more than one); per recording, what
    ``process_signal`` returns for it."""
    samples = [np.asarray(x, dtype=np.float64).ravel() for x in recordings]
    lengths = [len(s) + -len(s) % FRAME for s in samples]  # whole frames
    batch = np.stack([np.pad(s, (0, max(lengths) - len(s))) for s in samples])
    state = FrontEndState.allocate(len(samples), settings)
    rows = np.arange(len(samples))
    wide, features = zip(*(process(batch[:, i:i + FRAME], state, rows, settings)
                           for i in range(0, batch.shape[1], FRAME)), strict=True)
    all_wide, all_features = np.concatenate(wide, axis=1), np.concatenate(features, axis=1)
    return [(all_wide[row, :2 * n], all_features[row, :n // HOP])
            for row, n in enumerate(lengths)]


def signal_features(x: np.ndarray, pole: float = FrontEndSettings.dc_pole) -> np.ndarray:
    """The prosody features of a whole 8 kHz recording, (hops, FEATURES): what streaming it
    through ``process`` yields hop by hop (history starts silent), computed in one go."""
    samples = np.asarray(x, dtype=np.float64).ravel()
    dc_free = lfilter([1.0, -1.0], [1.0, -pole], samples)
    hops = len(samples) // HOP
    if hops == 0:
        return np.empty((0, FEATURES))
    signal = np.concatenate([np.zeros(HISTORY), dc_free])
    ends = HISTORY + HOP * np.arange(1, hops + 1)
    windows = np.lib.stride_tricks.sliding_window_view(signal, PITCH_SPAN)[ends - PITCH_SPAN]
    out = np.empty((hops, FEATURES))
    out[:, 0] = 10 * np.log10(np.mean(windows[:, -LEVEL_WINDOW:] ** 2, axis=1) + EPS)
    out[:, 1], out[:, 2] = yin(windows)
    return out


def downsample_signal(wide: np.ndarray) -> np.ndarray:
    """A whole 16 kHz recording to 8 kHz: what streaming it through ``downsample`` gives."""
    samples = np.asarray(wide, dtype=np.float64).ravel()
    return np.asarray(upfirdn(resample_filter(), samples, down=2)[: len(samples) // 2])
