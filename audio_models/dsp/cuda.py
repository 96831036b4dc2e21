"""The front end on an NVIDIA GPU with numba.cuda: each stage is one launch over the frames of
every call in the tick, so a tick costs the same few launches whatever the number of calls.

Each call's state lives on the device in one row of a float32 buffer laid out field by field
as ``FrontEndState`` (plus the down-sampler's history). A tick copies the frames and their
``rows`` in through pinned buffers, runs the kernels on one stream, copies the 16 kHz audio
and the features out and synchronises once. The NumPy ``reference`` defines every result.

Launches of a tick of n calls (the two noise kernels only with ``denoise``):

=====================  ==================  =================================================
kernel                 grid x block        one thread per
=====================  ==================  =================================================
``_remove_dc_kernel``  ceil(n/64) x <=64   call: the DC filter (a sequential IIR), laying
                                           out [history, frame] for the features
``_difference_kernel`` (n, HOPS) x 137     (call, hop, lag): YIN's difference function
``_pitch_kernel``      ceil(2n/64) x <=64  (call, hop): level, then the dip of YIN's curve
``_spectrum_kernel``   n x 161             (call, bin): DFT, noise floor, Wiener gain
``_synthesis_kernel``  n x 160             (call, sample): inverse DFT, overlap-add
``_gain_kernel``       ceil(n/64) x <=64   call: gain control (a sequential level), laying
                                           out [history, frame] for the up-sampler
``_fir_kernel``        n x 160             (call, 8 kHz sample): its two 16 kHz samples
=====================  ==================  =================================================

``downsample`` is ``_stage_kernel`` (one thread per call) then ``_fir_kernel`` (one thread
per output sample); ``reset`` is one ``_reset_kernel`` (a block per row). No kernel needs
``syncthreads``: where a history must be read before it is overwritten, a one-thread-per-call
kernel lays it out first, and the samples all threads of a block read come through L1 as
broadcasts. The block-per-call kernels loop over their items with the block's stride, so
under the simulator (a Python thread per CUDA thread) their blocks are narrower.

Precision: float32 throughout on the device, against the float64 reference, well inside the
tolerances the tests hold it to (audio 1e-4, level 1e-3 dB, pitch 0.05 Hz): the sums are
short (at most 320 terms), the DC and level filters are stable, and the DFT tables (with the
window folded in) are rounded once from float64. Constants are float32 too, so nothing is
promoted to float64. The noise tracker's frame counter is a float32 state field like the
others: exact to 2**24 frames, 93 hours of one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields
from typing import Any, NamedTuple, TypeVar, cast

import numba.cuda as numba_cuda
import numpy as np
from numba.cuda.core import config as cuda_config

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

# Kernel-side names of numba.cuda (grid, blockIdx, ...) are made at import, unseen by mypy.
cuda: Any = numba_cuda
Array = Any  # a device array
DeviceFunction = TypeVar("DeviceFunction", bound=Callable[..., Any])

_CALL_BLOCK = 64  # threads per block of the one-thread-per-call kernels
_RESET_BLOCK = 128  # threads striding over a state row
# The simulator runs each CUDA thread as a Python thread: its blocks get this many threads,
# each looping over more items (the same kernels, the same results).
_SIMULATOR_BLOCK = 8

# Constants as float32, so that no arithmetic on the device is promoted to float64.
_F32 = np.float32
_ZERO, _HALF, _ONE, _TWO, _TEN = _F32(0), _F32(0.5), _F32(1), _F32(2), _F32(10)
_INF = _F32(np.inf)
_EPS = _F32(EPS)
_FRAME_SAMPLES = _F32(FRAME)
_LEVEL_SAMPLES = _F32(LEVEL_WINDOW)
_RATE = _F32(RATE)
_THRESHOLD = _F32(YIN_THRESHOLD)
_MIN_PITCH, _MAX_PITCH = _F32(MIN_PITCH_HZ), _F32(MAX_PITCH_HZ)
_PSD_KEEP, _PSD_NEW = _F32(PSD_SMOOTHING), _F32(1 - PSD_SMOOTHING)
_PRIOR_KEEP, _PRIOR_NEW = _F32(PRIOR_SNR_SMOOTHING), _F32(1 - PRIOR_SNR_SMOOTHING)
_NOISE_BIAS = _F32(NOISE_BIAS)
_GATE_RMS, _ATTACK, _RELEASE = _F32(AGC_GATE_RMS), _F32(AGC_ATTACK), _F32(AGC_RELEASE)
_COMPLEX_ZERO = np.complex64(0)


def gpu_available() -> bool:
    """True only when a real CUDA GPU and driver can be used (never under the simulator)."""
    if cuda_config.ENABLE_CUDASIM:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install must read as "no GPU", not crash the caller
        return False


def _kernel(function: Callable[..., None]) -> Any:
    """A CUDA kernel, launched as ``kernel[grid, block, stream](...)``."""
    return cuda.jit(function)


def _device(function: DeviceFunction) -> DeviceFunction:
    """A function the kernels call."""
    return cast(DeviceFunction, cuda.jit(device=True)(function))


# --- shared by the one-thread-per-call kernels -------------------------------------------------
@_device
def _load_history(history: Array, row: int, window: Array, i: int) -> None:
    """Start call ``i``'s window with the history its state row ``row`` kept."""
    for n in range(history.shape[1]):
        window[i, n] = history[row, n]


@_device
def _keep_tail(window: Array, i: int, history: Array, row: int) -> None:
    """The end of the window becomes the history for the next frame."""
    start = window.shape[1] - history.shape[1]
    for n in range(history.shape[1]):
        history[row, n] = window[i, start + n]


@_kernel
def _remove_dc_kernel(frames: Array, rows: Array, params: Array, dc: Array, history: Array,
                      window: Array) -> None:
    """window[i] = [history, frame with DC removed (y[n] = x[n] - x[n-1] + pole * y[n-1])]."""
    i = cuda.grid(1)
    if i >= frames.shape[0]:
        return
    row = rows[i]
    _load_history(history, row, window, i)
    remove = params[P_DC] != _ZERO
    pole = params[P_POLE]
    x_prev, y_prev = dc[row, 0], dc[row, 1]
    for n in range(FRAME):
        x = frames[i, n]
        if remove:
            y_prev = x - x_prev + pole * y_prev
            x_prev = x
            x = y_prev
        window[i, HISTORY + n] = x
    if remove:
        dc[row, 0] = x_prev
        dc[row, 1] = y_prev
    _keep_tail(window, i, history, row)


# --- prosody features ----------------------------------------------------------------------
@_device
def _hop_end(hop: int) -> int:
    """Where, in the [history, frame] window, the audio a hop describes ends."""
    return HISTORY + (hop + 1) * HOP


@_kernel
def _difference_kernel(window: Array, diff: Array) -> None:
    """diff[i, hop, lag] = sum over the pitch window of (x[n] - x[n + lag])**2."""
    i, hop = cuda.blockIdx.x, cuda.blockIdx.y
    start = _hop_end(hop) - PITCH_SPAN
    for lag in range(cuda.threadIdx.x, MAX_LAG + 1, cuda.blockDim.x):
        total = _ZERO
        for n in range(start, start + PITCH_WINDOW):
            step = window[i, n] - window[i, n + lag]
            total += step * step
        diff[i, hop, lag] = total


@_device
def _level_db(window: Array, i: int, end: int) -> np.float32:
    """dBFS of the LEVEL_WINDOW samples that end at ``end``."""
    total = _ZERO
    for n in range(end - LEVEL_WINDOW, end):
        total += window[i, n] * window[i, n]
    return _TEN * math.log10(total / _LEVEL_SAMPLES + _EPS)


@_device
def _normalise(curve: Array, i: int, hop: int) -> None:
    """YIN's cumulative mean normalised difference, in place of the difference function."""
    total = _ZERO
    curve[i, hop, 0] = _ONE
    for lag in range(1, MAX_LAG + 1):
        value = curve[i, hop, lag]
        total += value
        curve[i, hop, lag] = value * _F32(lag) / total if total > _EPS else _ONE


@_device
def _pitch_at(curve: Array, i: int, hop: int, lag: int) -> np.float32:
    """Pitch of the dip at ``lag``, refined between lags by a parabola; 0 outside the range."""
    before, at, after = curve[i, hop, lag - 1], curve[i, hop, lag], curve[i, hop, lag + 1]
    curvature = before - _TWO * at + after
    offset = _HALF * (before - after) / curvature if curvature > _EPS else _ZERO
    f0 = _RATE / (_F32(lag) + min(max(offset, -_HALF), _HALF))
    return f0 if _MIN_PITCH <= f0 <= _MAX_PITCH else _ZERO


@_device
def _yin(curve: Array, i: int, hop: int) -> tuple[np.float32, np.float32]:
    """Pitch (0 where unvoiced) and aperiodicity, as ``reference.yin``: the first local
    minimum under the threshold, and the lowest point of the curve."""
    _normalise(curve, i, hop)
    lowest = _INF
    dip = 0
    for lag in range(MIN_LAG, MAX_LAG):
        value = curve[i, hop, lag]
        lowest = min(lowest, value)
        if (dip == 0 and value < _THRESHOLD and value <= curve[i, hop, lag - 1]
                and value <= curve[i, hop, lag + 1]):
            dip = lag
    return (_pitch_at(curve, i, hop, dip) if dip else _ZERO), lowest


@_kernel
def _pitch_kernel(window: Array, diff: Array, features: Array) -> None:
    """features[i, hop] = level dBFS, pitch Hz, aperiodicity."""
    t = cuda.grid(1)
    if t >= features.shape[0] * HOPS:
        return
    i, hop = t // HOPS, t % HOPS
    features[i, hop, 0] = _level_db(window, i, _hop_end(hop))
    f0, aperiodicity = _yin(diff, i, hop)
    features[i, hop, 1] = f0
    features[i, hop, 2] = aperiodicity


# --- noise suppression ---------------------------------------------------------------------
@_device
def _analyse(previous_input: Array, row: int, frame: Array, i: int, forward: Array,
             k: int) -> np.complex64:
    """Bin ``k`` of the windowed DFT of [previous input, frame]."""
    total = _COMPLEX_ZERO
    for n in range(FRAME):
        total += previous_input[row, n] * forward[n, k]
    for n in range(FRAME):
        total += frame[i, n] * forward[FRAME + n, k]
    return total


@_device
def _noise_floor(minima: Array, row: int, k: int, lowest: np.float32) -> np.float32:
    """The lowest smoothed power of bin ``k`` over the last sub-windows (minima is laid out
    (calls, MIN_SUBWINDOWS * BINS))."""
    for s in range(MIN_SUBWINDOWS):
        lowest = min(lowest, minima[row, s * BINS + k])
    return lowest


@_device
def _push_minimum(minima: Array, row: int, k: int, value: np.float32) -> None:
    """The oldest sub-window's minimum makes room for ``value``."""
    for s in range(MIN_SUBWINDOWS - 1):
        minima[row, s * BINS + k] = minima[row, (s + 1) * BINS + k]
    minima[row, (MIN_SUBWINDOWS - 1) * BINS + k] = value


@_device
def _wiener_gain(power: np.float32, frames_seen: int, row: int, k: int, floor: np.float32,
                 smoothed_power: Array, subwindow_min: Array, minima: Array,
                 clean_power: Array) -> np.float32:
    """Gain of bin ``k``: noise by minimum statistics, a priori SNR decision-directed."""
    smoothed = (power if frames_seen == 0
                else _PSD_KEEP * smoothed_power[row, k] + _PSD_NEW * power)
    lowest = min(subwindow_min[row, k], smoothed)
    if (frames_seen + 1) % MIN_SUBWINDOW == 0:
        _push_minimum(minima, row, k, lowest)
        lowest = _INF
    noise = _NOISE_BIAS * _noise_floor(minima, row, k, lowest) + _EPS
    posterior = power / noise
    prior = (_PRIOR_KEEP * clean_power[row, k] / noise
             + _PRIOR_NEW * max(posterior - _ONE, _ZERO))
    gain: np.float32 = max(prior / (_ONE + prior), floor)
    smoothed_power[row, k] = smoothed
    subwindow_min[row, k] = lowest
    clean_power[row, k] = gain * gain * power
    return gain


@_kernel
def _spectrum_kernel(frame: Array, rows: Array, params: Array, forward: Array,
                     previous_input: Array, smoothed_power: Array, subwindow_min: Array,
                     minima: Array, clean_power: Array, frames_seen: Array,
                     spectrum: Array) -> None:
    """spectrum[i, k] = Wiener gain * DFT bin k of call i's analysis window."""
    i = cuda.blockIdx.x
    row = rows[i]
    seen = int(frames_seen[row, 0])
    for k in range(cuda.threadIdx.x, BINS, cuda.blockDim.x):
        bin_value = _analyse(previous_input, row, frame, i, forward, k)
        power = bin_value.real * bin_value.real + bin_value.imag * bin_value.imag
        spectrum[i, k] = bin_value * _wiener_gain(
            power, seen, row, k, params[P_FLOOR], smoothed_power, subwindow_min, minima,
            clean_power)


@_device
def _synthesise(spectrum: Array, i: int, inverse: Array, n: int) -> np.float32:
    """Sample ``n`` of the windowed inverse DFT: sum over bins of Re(bin * table)."""
    total = _ZERO
    for k in range(BINS):
        total += (spectrum[i, k] * inverse[k, n]).real  # the compiler drops the unused imag
    return total


@_kernel
def _synthesis_kernel(spectrum: Array, rows: Array, inverse: Array, frame: Array,
                      previous_input: Array, overlap: Array, frames_seen: Array) -> None:
    """Overlap-add: the frame becomes the first half of this window plus the second half of
    the last one; the noise state moves on by one frame."""
    i = cuda.blockIdx.x
    row = rows[i]
    for n in range(cuda.threadIdx.x, FRAME, cuda.blockDim.x):
        previous_input[row, n] = frame[i, n]
        frame[i, n] = overlap[row, n] + _synthesise(spectrum, i, inverse, n)
        overlap[row, n] = _synthesise(spectrum, i, inverse, FRAME + n)
    if cuda.threadIdx.x == 0:  # every bin read the count in the launch before
        frames_seen[row, 0] += _ONE


# --- gain control and resampling -----------------------------------------------------------
@_device
def _steer_level(frame: Array, i: int, voiced: bool, params: Array, agc: Array,
                 row: int) -> np.float32:
    """Track the level of voiced frames; the gain (within limits) that brings it to target."""
    total = _ZERO
    for n in range(FRAME):
        total += frame[i, n] * frame[i, n]
    rms = math.sqrt(total / _FRAME_SAMPLES)
    level = agc[row, 0]
    if voiced and rms > _GATE_RMS:
        level += (_ATTACK if rms > level else _RELEASE) * (rms - level)
    agc[row, 0] = level
    gain: np.float32 = min(max(params[P_TARGET] / level, params[P_MIN_GAIN]), params[P_MAX_GAIN])
    return gain


@_kernel
def _gain_kernel(frame: Array, rows: Array, features: Array, params: Array, agc: Array,
                 upsampler: Array, window: Array) -> None:
    """window[i] = [up-sampler history, frame with gain control], the gain ramped from the
    last frame's so that a change never clicks."""
    i = cuda.grid(1)
    if i >= frame.shape[0]:
        return
    row = rows[i]
    _load_history(upsampler, row, window, i)
    control = params[P_AGC] != _ZERO
    last, gain = _ONE, _ONE
    if control:
        voiced = False
        for hop in range(HOPS):
            voiced = voiced or features[i, hop, 1] > _ZERO
        last = agc[row, 1]
        gain = _steer_level(frame, i, voiced, params, agc, row)
        agc[row, 1] = gain
    for n in range(FRAME):
        x = frame[i, n]
        if control:
            ramp = last + (gain - last) * (_F32(n + 1) / _FRAME_SAMPLES)
            x = min(max(x * ramp, -_ONE), _ONE)
        window[i, UP_HISTORY + n] = x
    _keep_tail(window, i, upsampler, row)


@_kernel
def _stage_kernel(source: Array, rows: Array, history: Array, window: Array) -> None:
    """window[i] = [history, source[i]] (for the down-sampler)."""
    i = cuda.grid(1)
    if i >= source.shape[0]:
        return
    row = rows[i]
    _load_history(history, row, window, i)
    for n in range(source.shape[1]):
        window[i, history.shape[1] + n] = source[i, n]
    _keep_tail(window, i, history, row)


@_kernel
def _fir_kernel(window: Array, taps: Array, step: int, out: Array) -> None:
    """out[i, phases * m + p] = window[i, step * m:][:taps] @ taps[p]: the 2x up-sampler's two
    phases (step 1) or the 2x down-sampler (step 2, one phase)."""
    i = cuda.blockIdx.x
    phases = taps.shape[0]
    for m in range(cuda.threadIdx.x, out.shape[1] // phases, cuda.blockDim.x):
        for p in range(phases):
            total = _ZERO
            for t in range(taps.shape[1]):
                total += window[i, step * m + t] * taps[p, t]
            out[i, phases * m + p] = total


@_kernel
def _reset_kernel(state: Array, template: Array, rows: Array) -> None:
    """Row rows[block] of the state becomes the template (a fresh call)."""
    row = rows[cuda.blockIdx.x]
    for n in range(cuda.threadIdx.x, state.shape[1], cuda.blockDim.x):
        state[row, n] = template[n]


# --- host side -----------------------------------------------------------------------------
def _threads(block: int) -> int:
    """Threads per block of a block-stride kernel: ``block`` on a GPU (one per lag, bin or
    sample), a few under the simulator."""
    return min(block, _SIMULATOR_BLOCK) if cuda_config.ENABLE_CUDASIM else block


def _one_thread_each(count: int) -> tuple[int, int]:
    """(blocks, threads per block) for ``count`` threads of a one-thread-per-item kernel."""
    threads = min(_CALL_BLOCK, count)
    return -(-count // threads), threads


def _checked_rows(rows: np.ndarray, capacity: int, count: int) -> np.ndarray:
    """The reference's checks, as the kernels take rows (int32)."""
    return reference.checked_rows(rows, count, capacity).astype(np.int32)


def _checked_wide(wide: np.ndarray) -> np.ndarray:
    x = np.asarray(wide)
    if x.ndim != 2 or x.shape[1] != WIDE_FRAME or not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"down-sampling needs numbers of shape (calls, {WIDE_FRAME}), "
                         f"got {x.dtype} {x.shape}")
    return x


def _device_dft_tables() -> tuple[np.ndarray, np.ndarray]:
    """complex64 tables from ``dft_tables()`` with the sqrt-Hann window folded in:
    bin k = sum_n x[n] forward[n, k], and irfft(bins)[n] * window[n] =
    sum_k Re(bins[k] inverse[k, n]) (the imaginary parts of the DC and Nyquist bins count
    for nothing, as in irfft). Built in float64, rounded once."""
    cos, sin = dft_tables()
    window = analysis_window()
    forward = window[:, None] * (cos - 1j * sin)
    weight = np.full(BINS, 2.0 / WINDOW)
    weight[[0, -1]] = 1.0 / WINDOW  # the bins irfft does not mirror
    inverse = weight[:, None] * (cos.T + 1j * sin.T) * window[None, :]
    inverse[[0, -1]] = inverse[[0, -1]].real
    return forward.astype(np.complex64), inverse.astype(np.complex64)


def _fir_taps() -> tuple[np.ndarray, np.ndarray]:
    """Reversed taps for ``_fir_kernel``: the up-sampler's two phases (gain 2), then the
    down-sampler's one."""
    taps = resample_filter()
    up = np.stack([(2 * taps)[phase::2][::-1] for phase in range(2)])
    return up.astype(np.float32), taps[None, ::-1].astype(np.float32)


class _StateFields(NamedTuple):
    """Views of the device state buffer, (capacity, width): the ``FrontEndState`` fields in
    order, flattened per row (``minima`` is (capacity, MIN_SUBWINDOWS * BINS), ``frames``
    (capacity, 1)), then the down-sampler's history."""

    dc: Array
    history: Array
    previous_input: Array
    overlap: Array
    smoothed_power: Array
    subwindow_min: Array
    minima: Array
    clean_power: Array
    frames: Array
    agc: Array
    upsampler: Array
    downsampler: Array


def _fresh_row(settings: FrontEndSettings) -> tuple[np.ndarray, dict[str, slice]]:
    """One call's state as ``FrontEndState`` starts it, field after field in one float32 row,
    and the columns of each field."""
    state = FrontEndState.allocate(1, settings, dtype=np.float32)
    parts = {f.name: getattr(state, f.name).reshape(-1) for f in fields(state)}
    parts["downsampler"] = np.zeros(DOWN_HISTORY, dtype=np.float32)
    columns, start = {}, 0
    for name, part in parts.items():
        columns[name] = slice(start, start + part.size)
        start += part.size
    return np.concatenate(list(parts.values())), columns


class _Mirror:
    """A pinned host array and its device twin: the copies of a tick go through these."""

    def __init__(self, shape: tuple[int, ...], dtype: type[np.generic]) -> None:
        self.host: np.ndarray = cuda.pinned_array(shape, dtype=dtype)
        self.device: Array = cuda.device_array(shape, dtype=dtype)

    def send(self, values: np.ndarray, stream: Any) -> Array:
        """Queue the copy of ``values`` to the device; the device view of them."""
        count = len(values)
        self.host[:count] = values
        self.device[:count].copy_to_device(self.host[:count], stream=stream)
        return self.device[:count]

    def fetch(self, count: int, stream: Any) -> None:
        self.device[:count].copy_to_host(self.host[:count], stream=stream)

    def received(self, count: int) -> np.ndarray:
        """What ``fetch`` brought, once the stream is synchronised (a copy: the pinned array
        is reused next tick)."""
        return self.host[:count].copy()


class CudaFrontEnd:
    """The front end as numba.cuda kernels over all the calls of a tick (see the module
    docstring); one scheduler drives it: it is not thread-safe."""

    name = "cuda"

    def __init__(self, capacity: int, settings: FrontEndSettings) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.settings = settings
        self._stream = cuda.stream()
        template, columns = _fresh_row(settings)
        self._template = cuda.to_device(template)
        self._state = cuda.to_device(np.tile(template, (capacity, 1)))
        self._fields = _StateFields(**{name: self._state[:, c] for name, c in columns.items()})
        self._params = cuda.to_device(settings.as_array().astype(np.float32))
        self._forward, self._inverse = (cuda.to_device(t) for t in _device_dft_tables())
        self._up_taps, self._down_taps = (cuda.to_device(t) for t in _fir_taps())
        self._allocate_buffers(capacity)
        self._compile()

    def _allocate_buffers(self, capacity: int) -> None:
        self._frames = _Mirror((capacity, FRAME), np.float32)
        self._slots = _Mirror((capacity,), np.int32)
        self._wide = _Mirror((capacity, WIDE_FRAME), np.float32)
        self._features = _Mirror((capacity, HOPS, FEATURES), np.float32)
        self._wide_in = _Mirror((capacity, WIDE_FRAME), np.float32)
        self._narrow = _Mirror((capacity, FRAME), np.float32)
        self._window = cuda.device_array((capacity, HISTORY + FRAME), dtype=np.float32)
        self._diff = cuda.device_array((capacity, HOPS, MAX_LAG + 1), dtype=np.float32)
        self._spectrum = cuda.device_array((capacity, BINS), dtype=np.complex64)
        self._up_window = cuda.device_array((capacity, UP_HISTORY + FRAME), dtype=np.float32)
        self._down_window = cuda.device_array((capacity, DOWN_HISTORY + WIDE_FRAME),
                                              dtype=np.float32)

    def _compile(self) -> None:
        """Launch every kernel once on row 0, then reset it: numba compiles a kernel at its
        first launch, which must not be the first tick of a live call."""
        first = np.zeros(1, dtype=np.intp)
        self.process(np.zeros((1, FRAME), dtype=np.float32), first)
        self.downsample(np.zeros((1, WIDE_FRAME), dtype=np.float32), first)
        self.reset(first)

    def reset(self, rows: np.ndarray) -> None:
        """Clear the state of ``rows`` for new calls, on the device (and wait: it is rare)."""
        slots = _checked_rows(rows, self.capacity, np.size(rows))
        if len(slots) == 0:
            return
        device_rows = cuda.to_device(slots, stream=self._stream)
        _reset_kernel[len(slots), _threads(_RESET_BLOCK), self._stream](
            self._state, self._template, device_rows)
        self._stream.synchronize()

    def process(self, frames: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``frames`` (n, FRAME), one per row in ``rows``: the 16 kHz audio (n, WIDE_FRAME)
        and the features (n, HOPS, FEATURES), float32, as ``reference.process``."""
        x = reference.checked_frames(frames)
        count = len(x)
        slots = _checked_rows(rows, self.capacity, count)
        if count == 0:
            return (np.empty((0, WIDE_FRAME), dtype=np.float32),
                    np.empty((0, HOPS, FEATURES), dtype=np.float32))
        self._run(self._frames.send(x, self._stream), self._slots.send(slots, self._stream))
        self._wide.fetch(count, self._stream)
        self._features.fetch(count, self._stream)
        self._stream.synchronize()
        return self._wide.received(count), self._features.received(count)

    def _run(self, frames: Array, rows: Array) -> None:
        """Queue the kernels of one tick: DC removal -> features -> noise suppression ->
        gain control -> up-sampling, as ``reference.process``."""
        count, stream, state = frames.shape[0], self._stream, self._fields
        window, diff = self._window[:count], self._diff[:count]
        frame = window[:, HISTORY:]  # the frame as each stage leaves it
        features = self._features.device[:count]
        calls, per_call = _one_thread_each(count)
        hops, per_hop = _one_thread_each(count * HOPS)
        _remove_dc_kernel[calls, per_call, stream](frames, rows, self._params, state.dc,
                                                   state.history, window)
        _difference_kernel[(count, HOPS), _threads(MAX_LAG + 1), stream](window, diff)
        _pitch_kernel[hops, per_hop, stream](window, diff, features)
        if self.settings.denoise:
            spectrum = self._spectrum[:count]
            _spectrum_kernel[count, _threads(BINS), stream](
                frame, rows, self._params, self._forward, state.previous_input,
                state.smoothed_power, state.subwindow_min, state.minima, state.clean_power,
                state.frames, spectrum)
            _synthesis_kernel[count, _threads(FRAME), stream](
                spectrum, rows, self._inverse, frame, state.previous_input, state.overlap,
                state.frames)
        up_window = self._up_window[:count]
        _gain_kernel[calls, per_call, stream](frame, rows, features, self._params, state.agc,
                                              state.upsampler, up_window)
        _fir_kernel[count, _threads(FRAME), stream](up_window, self._up_taps, 1,
                                                    self._wide.device[:count])

    def downsample(self, wide: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """2x decimation of (n, WIDE_FRAME) 16 kHz frames to 8 kHz (n, FRAME) float32, as
        ``reference.downsample``, for audio going to the calls in ``rows``; each row's filter
        history stays on the device (``reset`` clears it)."""
        x = _checked_wide(wide)
        count = len(x)
        slots = _checked_rows(rows, self.capacity, count)
        if count == 0:
            return np.empty((0, FRAME), dtype=np.float32)
        stream = self._stream
        source = self._wide_in.send(x, stream)
        device_rows = self._slots.send(slots, stream)
        window = self._down_window[:count]
        calls, per_call = _one_thread_each(count)
        _stage_kernel[calls, per_call, stream](source, device_rows, self._fields.downsampler,
                                               window)
        _fir_kernel[count, _threads(FRAME), stream](window, self._down_taps, 2,
                                                    self._narrow.device[:count])
        self._narrow.fetch(count, stream)
        stream.synchronize()
        return self._narrow.received(count)
