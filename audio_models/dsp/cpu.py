"""The front end compiled with Numba for the CPU: the maths of ``reference``, one call at a
time inside one compiled kernel per 20 ms tick, so a batch costs no Python per call.

The DFT of the noise suppressor multiplies by the ``dft_tables`` (no FFT in nopython mode);
both transforms use only the first BINS rows of the tables, folding sample ``n`` with sample
``WINDOW - n`` (their cosines are equal and their sines opposite), which halves the work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

from audio_models.dsp import reference
from audio_models.dsp.settings import (
    AGC_ATTACK,
    AGC_GATE_RMS,
    AGC_RELEASE,
    BINS,
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
    MIN_SUBWINDOWS,
    NOISE_BIAS,
    P_AGC,
    P_DC,
    P_DENOISE,
    P_FLOOR,
    P_MAX_GAIN,
    P_MIN_GAIN,
    P_POLE,
    P_TARGET,
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
    dft_tables,
    resample_filter,
)
from audio_models.dsp.state import DOWN_HISTORY, UP_HISTORY, FrontEndState

Function = TypeVar("Function", bound=Callable[..., Any])


def _kernel(function: Function) -> Function:
    """Compiled in nopython mode and cached on disk (the first compile takes seconds); the
    GIL is released so that a tick never holds up the SIP, media and model threads.
    Single-threaded on purpose: spread over 2 busy cores with ``parallel=True`` a tick of
    100 calls ran 1.7x faster when idle but 2.5x slower at the median under load."""
    return cast(Function, numba.njit(cache=True, nogil=True)(function))


# Global arrays are frozen into the compiled code as constants.
_DOWNSAMPLE_TAPS = resample_filter()


@_kernel
def _remove_dc(x: np.ndarray, dc: np.ndarray, pole: float) -> None:
    """y[n] = x[n] - x[n-1] + pole * y[n-1], in place; ``dc`` holds the last x and y."""
    x_prev = dc[0]
    y_prev = dc[1]
    for n in range(FRAME):
        sample = x[n]
        y_prev = sample - x_prev + pole * y_prev
        x_prev = sample
        x[n] = y_prev
    dc[0] = x_prev
    dc[1] = y_prev


@_kernel
def _level_db(samples: np.ndarray) -> float:
    energy = 0.0
    for sample in samples:
        energy += sample * sample
    return 10.0 * math.log10(energy / samples.size + EPS)


@_kernel
def _cmnd(span: np.ndarray, diff: np.ndarray, cmnd: np.ndarray) -> None:
    """YIN's difference function and its cumulative mean normalisation over lags
    0..MAX_LAG."""
    diff[:] = 0.0
    # Lags in the inner loop: each lag still sums its squares in sample order, and the
    # loop over lags vectorises where a per-lag reduction would not.
    for i in range(PITCH_WINDOW):
        head = span[i]
        for lag in range(MAX_LAG + 1):
            step = head - span[i + lag]
            diff[lag] += step * step
    cmnd[0] = 1.0
    cumulative = 0.0
    for lag in range(1, MAX_LAG + 1):
        cumulative += diff[lag]
        # A span with no variation has no period: its curve stays at 1, above any threshold.
        cmnd[lag] = diff[lag] * lag / cumulative if cumulative > EPS else 1.0


@_kernel
def _yin(span: np.ndarray, diff: np.ndarray, cmnd: np.ndarray) -> tuple[float, float]:
    """Pitch in Hz (0 when unvoiced) and aperiodicity of PITCH_SPAN samples."""
    _cmnd(span, diff, cmnd)
    aperiodicity = math.inf
    dip = 0
    for lag in range(MIN_LAG, MAX_LAG):
        value = cmnd[lag]
        aperiodicity = min(aperiodicity, value)
        # The first dip, not the deepest, so that twice the period never wins.
        if (dip == 0 and value < YIN_THRESHOLD and value <= cmnd[lag - 1]
                and value <= cmnd[lag + 1]):
            dip = lag
    if dip == 0:
        return 0.0, aperiodicity
    before, at, after = cmnd[dip - 1], cmnd[dip], cmnd[dip + 1]
    curvature = before - 2 * at + after
    offset = 0.5 * (before - after) / curvature if curvature > EPS else 0.0
    f0 = RATE / (dip + min(max(offset, -0.5), 0.5))
    voiced = MIN_PITCH_HZ <= f0 <= MAX_PITCH_HZ
    return (f0 if voiced else 0.0), aperiodicity


@_kernel
def _features(x: np.ndarray, history: np.ndarray, signal: np.ndarray, yin_work: np.ndarray,
              out: np.ndarray) -> bool:
    """Level, pitch and aperiodicity at each hop of this frame into ``out`` (HOPS, FEATURES);
    returns whether any hop is voiced."""
    signal[:HISTORY] = history
    signal[HISTORY:] = x
    history[:] = signal[FRAME:]
    voiced = False
    for hop in range(HOPS):
        end = HISTORY + (hop + 1) * HOP
        pitch, aperiodicity = _yin(signal[end - PITCH_SPAN:end], yin_work[0], yin_work[1])
        out[hop, 0] = _level_db(signal[end - LEVEL_WINDOW:end])
        out[hop, 1] = pitch
        out[hop, 2] = aperiodicity
        voiced = voiced or pitch > 0.0
    return voiced


@_kernel
def _real_dft(frame: np.ndarray, cos: np.ndarray, sin: np.ndarray, re: np.ndarray,
              im: np.ndarray) -> None:
    """Real and imaginary parts of the BINS bins of a WINDOW-sample real frame."""
    for k in range(BINS):
        re[k] = frame[0] + frame[FRAME] * cos[FRAME, k]
        im[k] = 0.0
    for n in range(1, FRAME):
        even = frame[n] + frame[WINDOW - n]
        odd = frame[n] - frame[WINDOW - n]
        for k in range(BINS):
            re[k] += even * cos[n, k]
            im[k] -= odd * sin[n, k]
    # The DC and Nyquist bins of a real frame are real; the tables' sin(pi * n) is not 0.
    im[0] = 0.0
    im[BINS - 1] = 0.0


@_kernel
def _inverse_real_dft(re: np.ndarray, im: np.ndarray, cos: np.ndarray, sin: np.ndarray,
                      sums: np.ndarray, out: np.ndarray) -> None:
    """The WINDOW real samples whose spectrum is ``re`` + i ``im`` (as ``np.fft.irfft``: the
    imaginary parts of the DC and Nyquist bins are ignored); ``sums`` is (2, BINS) work."""
    even = sums[0]
    odd = sums[1]
    even[:] = 0.0
    odd[:] = 0.0
    # Bins in the outer loop and samples in the inner one, reading row k of the tables as
    # column k: cos(2 pi k n / WINDOW) is symmetric in k and n.
    for k in range(BINS):
        weight = (1.0 if k == 0 or k == BINS - 1 else 2.0) / WINDOW
        real = re[k] * weight
        imaginary = im[k] * weight if 0 < k < BINS - 1 else 0.0
        for n in range(BINS):
            even[n] += real * cos[k, n]
            odd[n] += imaginary * sin[k, n]
    out[0] = even[0]
    out[FRAME] = even[FRAME]
    for n in range(1, FRAME):
        out[n] = even[n] - odd[n]
        out[WINDOW - n] = even[n] + odd[n]


@_kernel
def _wiener_gains(re: np.ndarray, im: np.ndarray, smoothed_power: np.ndarray,
                  subwindow_min: np.ndarray, minima: np.ndarray, clean_power: np.ndarray,
                  frames_seen: float, floor: float) -> float:
    """Track the noise by minimum statistics, apply the decision-directed Wiener gain to the
    spectrum in place, and return the updated count of frames seen."""
    first = frames_seen == 0
    frames_seen += 1
    full = frames_seen % MIN_SUBWINDOW == 0
    if full:
        for s in range(MIN_SUBWINDOWS - 1):
            minima[s] = minima[s + 1]
    for k in range(BINS):
        power = re[k] * re[k] + im[k] * im[k]
        if first:
            smoothed = power
        else:
            smoothed = PSD_SMOOTHING * smoothed_power[k] + (1 - PSD_SMOOTHING) * power
        current_min = min(subwindow_min[k], smoothed)
        if full:
            minima[MIN_SUBWINDOWS - 1, k] = current_min
            current_min = math.inf
        lowest = current_min
        for s in range(MIN_SUBWINDOWS):
            lowest = min(lowest, minima[s, k])
        noise = NOISE_BIAS * lowest + EPS
        posterior = power / noise
        prior = (PRIOR_SNR_SMOOTHING * clean_power[k] / noise
                 + (1 - PRIOR_SNR_SMOOTHING) * max(posterior - 1, 0.0))
        gain = max(prior / (1 + prior), floor)
        re[k] *= gain
        im[k] *= gain
        smoothed_power[k] = smoothed
        subwindow_min[k] = current_min
        clean_power[k] = gain * gain * power
    return frames_seen


@_kernel
def _suppress_noise(x: np.ndarray, previous_input: np.ndarray, overlap: np.ndarray,
                    smoothed_power: np.ndarray, subwindow_min: np.ndarray,
                    minima: np.ndarray, clean_power: np.ndarray, frames_seen: float,
                    floor: float, window: np.ndarray, cos: np.ndarray, sin: np.ndarray,
                    frame: np.ndarray, spectrum: np.ndarray) -> float:
    """Wiener-filter the 40 ms window ending with ``x`` and overlap-add it, in place (one
    frame of delay); ``frame`` (WINDOW) and ``spectrum`` (4, BINS) are work space. Returns
    the updated count of frames seen."""
    for n in range(FRAME):
        frame[n] = previous_input[n] * window[n]
        frame[FRAME + n] = x[n] * window[FRAME + n]
    _real_dft(frame, cos, sin, spectrum[0], spectrum[1])
    frames_seen = _wiener_gains(spectrum[0], spectrum[1], smoothed_power, subwindow_min,
                                minima, clean_power, frames_seen, floor)
    _inverse_real_dft(spectrum[0], spectrum[1], cos, sin, spectrum[2:], frame)
    previous_input[:] = x
    for n in range(FRAME):
        x[n] = overlap[n] + frame[n] * window[n]
        overlap[n] = frame[FRAME + n] * window[FRAME + n]
    return frames_seen


@_kernel
def _control_gain(x: np.ndarray, agc: np.ndarray, voiced: bool, params: np.ndarray) -> None:
    """Steer the level of voiced frames to the target, ramping the gain across the frame;
    ``agc`` holds the tracked level and the last gain."""
    level = agc[0]
    last_gain = agc[1]
    energy = 0.0
    for sample in x:
        energy += sample * sample
    frame_rms = math.sqrt(energy / FRAME)
    rate = AGC_ATTACK if frame_rms > level else AGC_RELEASE
    if voiced and frame_rms > AGC_GATE_RMS:
        level = level + rate * (frame_rms - level)
    gain = min(max(params[P_TARGET] / level, params[P_MIN_GAIN]), params[P_MAX_GAIN])
    for n in range(FRAME):
        ramp = last_gain + (gain - last_gain) * ((n + 1) / FRAME)
        x[n] = min(max(x[n] * ramp, -1.0), 1.0)
    agc[0] = level
    agc[1] = gain


@_kernel
def _fir(signal: np.ndarray, taps: np.ndarray, last_tap: int, tap_stride: int,
         input_stride: int, scale: float, out: np.ndarray) -> None:
    """out[m] = sum over j of signal[input_stride * m + j] * scale * taps[last_tap -
    tap_stride * j]: one phase of a polyphase filter over a signal that starts with its
    history."""
    out[:] = 0.0
    for j in range(last_tap // tap_stride + 1):
        tap = scale * taps[last_tap - tap_stride * j]
        for m in range(out.size):
            out[m] += signal[input_stride * m + j] * tap


@_kernel
def _upsample(x: np.ndarray, history: np.ndarray, taps: np.ndarray, signal: np.ndarray,
              phases: np.ndarray, out: np.ndarray) -> None:
    """2x interpolation into ``out`` (WIDE_FRAME): even outputs from the even taps, odd from
    the odd, scaled by 2 for the inserted zeros; ``phases`` (2, FRAME) is work space."""
    signal[:UP_HISTORY] = history
    signal[UP_HISTORY:] = x
    history[:] = signal[FRAME:]
    last_even_tap = 2 * UP_HISTORY
    _fir(signal, taps, last_even_tap, 2, 1, 2.0, phases[0])
    _fir(signal, taps, last_even_tap + 1, 2, 1, 2.0, phases[1])
    for m in range(FRAME):
        out[2 * m] = phases[0, m]
        out[2 * m + 1] = phases[1, m]


@_kernel
def _process_batch(frames: np.ndarray, rows: np.ndarray, state: tuple[np.ndarray, ...],
                   params: np.ndarray, taps: np.ndarray, window: np.ndarray, cos: np.ndarray,
                   sin: np.ndarray, wide: np.ndarray, features: np.ndarray) -> None:
    """One frame of each call through every enabled stage; ``state`` is
    ``FrontEndState.arrays()`` and call ``i`` owns row ``rows[i]`` of each."""
    (dc, history, previous_input, overlap, smoothed_power, subwindow_min, minima, clean_power,
     frames_seen, agc, upsampler) = state
    calls = frames.shape[0]
    audio = frames.copy()
    # Work space, allocated once per tick and reused by each call in turn.
    feature_signal = np.empty(HISTORY + FRAME)
    yin_work = np.empty((2, MAX_LAG + 1))
    noise_frame = np.empty(WINDOW)
    spectrum = np.empty((4, BINS))
    up_signal = np.empty(UP_HISTORY + FRAME)
    phases = np.empty((2, FRAME))
    for i in range(calls):
        slot = rows[i]
        x = audio[i]
        if params[P_DC] != 0.0:
            _remove_dc(x, dc[slot], params[P_POLE])
        voiced = _features(x, history[slot], feature_signal, yin_work, features[i])
        if params[P_DENOISE] != 0.0:
            frames_seen[slot] = _suppress_noise(
                x, previous_input[slot], overlap[slot], smoothed_power[slot],
                subwindow_min[slot], minima[slot], clean_power[slot], frames_seen[slot],
                params[P_FLOOR], window, cos, sin, noise_frame, spectrum)
        if params[P_AGC] != 0.0:
            _control_gain(x, agc[slot], voiced, params)
        _upsample(x, upsampler[slot], taps, up_signal, phases, wide[i])


@_kernel
def downsample(wide: np.ndarray, history: np.ndarray) -> np.ndarray:
    """2x decimation of (calls, WIDE_FRAME) 16 kHz frames to (calls, FRAME) at 8 kHz through
    the resampling low-pass, as ``reference.downsample``; ``history`` (calls, DOWN_HISTORY)
    is updated in place."""
    calls = wide.shape[0]
    if (wide.shape[1] != WIDE_FRAME or history.shape[0] != calls
            or history.shape[1] != DOWN_HISTORY):
        raise ValueError("downsample needs wide (calls, WIDE_FRAME) and history "
                         "(calls, DOWN_HISTORY)")
    out = np.empty((calls, FRAME))
    signal = np.empty(DOWN_HISTORY + WIDE_FRAME)
    for i in range(calls):
        signal[:DOWN_HISTORY] = history[i]
        signal[DOWN_HISTORY:] = wide[i]
        history[i] = signal[WIDE_FRAME:]
        _fir(signal, _DOWNSAMPLE_TAPS, DOWN_HISTORY, 1, 2, 1.0, out[i])
    return out


class NumbaFrontEnd:
    """The compiled CPU backend: ``reference.process`` semantics, a tick per kernel call."""

    name = "cpu"

    def __init__(self, capacity: int, settings: FrontEndSettings) -> None:
        self.capacity = capacity
        self.settings = settings
        self.state = FrontEndState.allocate(capacity, settings)
        self._params = settings.as_array()
        self._taps = resample_filter()
        self._window = analysis_window()
        self._cos, self._sin = dft_tables()

    def reset(self, rows: np.ndarray) -> None:
        self.state.reset(rows, self.settings)

    def process(self, frames: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(reference.checked_frames(frames))
        slots = reference.checked_rows(rows, len(x), self.capacity)
        wide = np.empty((len(x), WIDE_FRAME), dtype=np.float32)
        features = np.empty((len(x), HOPS, FEATURES), dtype=np.float32)
        _process_batch(x, slots, self.state.arrays(), self._params, self._taps, self._window,
                       self._cos, self._sin, wide, features)
        return wide, features
