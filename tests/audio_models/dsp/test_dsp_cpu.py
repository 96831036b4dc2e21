"""The Numba CPU front end against the NumPy reference: every stage combination, call slots,
streaming against whole signals, bad input, and what the noise suppressor does."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from audio_models.dsp import reference
from audio_models.dsp.backend import FrontEndBackend, NumpyFrontEnd, make_backend
from audio_models.dsp.cpu import NumbaFrontEnd, downsample
from audio_models.dsp.settings import (
    FRAME,
    RATE,
    WIDE_FRAME,
    WIDE_RATE,
    FrontEndSettings,
    resample_filter,
)
from audio_models.dsp.state import DOWN_HISTORY, FrontEndState

FRAMES = 120  # 2.4 s: the noise minima roll over all their sub-windows and the AGC moves
# Both backends compute in float64 and round to float32 once, so they may differ by one
# float32 step of the value at most (3e-5 Hz at 300 Hz, 8e-6 dB at -100 dB).
AUDIO_ATOL = 1e-6
FEATURE_RTOL = float(np.finfo(np.float32).eps)
FEATURE_ATOL = 1e-6
ALL_STAGES = FrontEndSettings(dc_removal=True, denoise=True, gain_control=True)


def voice(pitch_hz: np.ndarray, level: float, syllables_per_second: float = 0.0
          ) -> np.ndarray:
    """A vowel-like tone (five harmonics) following the per-sample ``pitch_hz``, switched on
    and off like syllables (so that frames go voiced and unvoiced and the AGC tracks onsets)
    unless ``syllables_per_second`` is 0."""
    phase = 2 * np.pi * np.cumsum(pitch_hz) / RATE
    harmonics = np.arange(1, 6)[:, None]
    tone = level * (np.sin(harmonics * phase) / harmonics).sum(axis=0)
    if syllables_per_second == 0:
        return np.asarray(tone)
    envelope = np.sin(np.pi * syllables_per_second * np.arange(len(tone)) / RATE) ** 2
    return np.asarray(tone * envelope)


def glide(start_hz: float, end_hz: float, samples: int) -> np.ndarray:
    return np.linspace(start_hz, end_hz, samples)


def white_noise(rms: float, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, rms, n)


def several_calls(frames: int = FRAMES) -> np.ndarray:
    """(calls, samples): a male and a noisy female voice, quiet and loud noise, silence,
    and a weak voice on a DC offset."""
    n = frames * FRAME
    return np.stack([
        voice(glide(110, 180, n), 0.3, 1.5),
        voice(glide(260, 190, n), 0.1, 2.0) + white_noise(0.01, n, seed=1),
        white_noise(0.003, n, seed=2),
        white_noise(0.2, n, seed=3),
        np.zeros(n),
        0.25 + voice(glide(150, 150, n), 0.02, 1.0),
    ])


def run(backend: FrontEndBackend, signals: np.ndarray, rows: np.ndarray
        ) -> tuple[np.ndarray, np.ndarray]:
    """Stream (calls, samples) through ``backend`` frame by frame in slots ``rows``: the
    16 kHz audio (calls, 2 * samples) and the features (calls, hops, FEATURES)."""
    outputs = [backend.process(signals[:, start:start + FRAME], rows)
               for start in range(0, signals.shape[1], FRAME)]
    wide, features = zip(*outputs, strict=True)
    return np.concatenate(wide, axis=1), np.concatenate(features, axis=1)


def assert_same_output(actual: tuple[np.ndarray, np.ndarray],
                       expected: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_allclose(actual[0], expected[0], rtol=0, atol=AUDIO_ATOL)
    np.testing.assert_allclose(actual[1], expected[1], rtol=FEATURE_RTOL, atol=FEATURE_ATOL)


@pytest.fixture(scope="module")
def calls() -> np.ndarray:
    return several_calls()


STAGE_COMBINATIONS = [
    FrontEndSettings(dc_removal=dc, denoise=denoise, gain_control=agc)
    for dc, denoise, agc in itertools.product((False, True), repeat=3)
]


@pytest.mark.parametrize("settings", STAGE_COMBINATIONS,
                         ids=lambda s: f"dc{s.dc_removal:d}-ns{s.denoise:d}-agc{s.gain_control:d}")
def test_every_stage_combination_matches_reference(settings: FrontEndSettings,
                                                   calls: np.ndarray) -> None:
    rows = np.arange(len(calls))
    expected = run(NumpyFrontEnd(len(calls), settings), calls, rows)
    backend = NumbaFrontEnd(len(calls), settings)
    assert_same_output(run(backend, calls, rows), expected)
    # The comparison means something only if the signals reach the decisions under test.
    pitch = expected[1][:, :, 1]
    assert (pitch[0] > 0).any() and (pitch[0] == 0).any()
    assert (pitch[1] > 0).any()
    if settings.gain_control:
        assert (backend.state.agc[:, 1] != 1.0).any()


def test_make_backend_builds_the_cpu_backend() -> None:
    backend = make_backend("cpu", 3, FrontEndSettings())
    assert isinstance(backend, NumbaFrontEnd)
    assert (backend.name, backend.capacity) == ("cpu", 3)


def test_calls_in_shuffled_slots_equal_each_call_alone(calls: np.ndarray) -> None:
    chosen = calls[:3, :40 * FRAME]
    slots = np.array([5, 2, 7])
    shared = NumbaFrontEnd(8, ALL_STAGES)
    together = run(shared, chosen, slots)
    for i, signal in enumerate(chosen):
        alone = run(NumbaFrontEnd(1, ALL_STAGES), signal[None], np.zeros(1, dtype=np.intp))
        np.testing.assert_array_equal(together[0][i], alone[0][0])
        np.testing.assert_array_equal(together[1][i], alone[1][0])
    untouched = np.setdiff1d(np.arange(8), slots)
    fresh = FrontEndState.allocate(8, ALL_STAGES)
    for used, initial in zip(shared.state.arrays(), fresh.arrays(), strict=True):
        np.testing.assert_array_equal(used[untouched], initial[untouched])


def test_reset_starts_a_slot_afresh_and_leaves_the_others(calls: np.ndarray) -> None:
    half = 30 * FRAME
    first_call, second_call, neighbour = calls[0], calls[1], calls[3]
    backend = NumbaFrontEnd(4, ALL_STAGES)
    slots = np.array([1, 3])
    before = run(backend, np.stack([first_call[:half], neighbour[:half]]), slots)
    backend.reset(np.array([1]))
    after = run(backend, np.stack([second_call[:half], neighbour[half:2 * half]]), slots)

    fresh = run(NumbaFrontEnd(1, ALL_STAGES), second_call[None, :half], np.zeros(1, np.intp))
    np.testing.assert_array_equal(after[0][0], fresh[0][0])
    np.testing.assert_array_equal(after[1][0], fresh[1][0])
    uninterrupted = run(NumbaFrontEnd(1, ALL_STAGES), neighbour[None, :2 * half],
                        np.zeros(1, np.intp))
    np.testing.assert_array_equal(np.concatenate([before[0][1], after[0][1]]),
                                  uninterrupted[0][0])
    np.testing.assert_array_equal(np.concatenate([before[1][1], after[1][1]]),
                                  uninterrupted[1][0])


def test_streaming_equals_reference_on_whole_recording() -> None:
    n = int(40.5 * FRAME)  # a partial last frame, which process_signal pads with zeros
    recording = voice(glide(140, 210, n), 0.2, 1.0) + white_noise(0.01, n, seed=4)
    expected = reference.process_signal(recording, ALL_STAGES)
    padded = np.pad(recording, (0, -n % FRAME))[None]
    wide, features = run(NumbaFrontEnd(1, ALL_STAGES), padded, np.zeros(1, np.intp))
    assert_same_output((wide[0], features[0]), expected)


def test_upsampler_equals_whole_signal_interpolation() -> None:
    frames = 20
    tone = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(frames * FRAME) / RATE)
    plain = FrontEndSettings(dc_removal=False, denoise=False, gain_control=False)
    wide, _ = run(NumbaFrontEnd(1, plain), tone[None], np.zeros(1, np.intp))
    stuffed = np.zeros(2 * len(tone))
    stuffed[::2] = tone
    expected = np.convolve(stuffed, 2 * resample_filter())[:len(stuffed)]
    np.testing.assert_allclose(wide[0], expected, rtol=0, atol=AUDIO_ATOL)


def test_downsampler_equals_whole_signal_decimation() -> None:
    frames = 12
    t = np.arange(frames * WIDE_FRAME) / WIDE_RATE
    wide = np.stack([0.5 * np.sin(2 * np.pi * 700 * t),
                     white_noise(0.1, len(t), seed=5)])
    history = np.zeros((2, DOWN_HISTORY))
    reference_history = np.zeros((2, DOWN_HISTORY))
    pieces, reference_pieces = [], []
    for start in range(0, wide.shape[1], WIDE_FRAME):
        frame = wide[:, start:start + WIDE_FRAME]
        pieces.append(downsample(frame, history))
        reference_pieces.append(reference.downsample(frame, reference_history))
    narrow = np.concatenate(pieces, axis=1)
    whole = np.stack([np.convolve(w, resample_filter())[::2][:frames * FRAME] for w in wide])
    np.testing.assert_allclose(narrow, whole, rtol=0, atol=1e-12)
    np.testing.assert_allclose(narrow, np.concatenate(reference_pieces, axis=1),
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(history, wide[:, -DOWN_HISTORY:])


def test_downsampler_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="downsample needs"):
        downsample(np.zeros((2, WIDE_FRAME)), np.zeros((1, DOWN_HISTORY)))


def test_non_finite_samples_become_silence_as_in_reference(calls: np.ndarray) -> None:
    broken = calls[:3, :30 * FRAME].copy()
    broken[0, 1000:1100] = np.nan
    broken[1, 2000:2003] = np.inf
    broken[2, ::97] = -np.inf
    rows = np.arange(3)
    actual = run(NumbaFrontEnd(3, ALL_STAGES), broken, rows)
    assert np.isfinite(actual[0]).all() and np.isfinite(actual[1]).all()
    assert_same_output(actual, run(NumpyFrontEnd(3, ALL_STAGES), broken, rows))


@pytest.mark.parametrize("dtype", [np.int16, np.float64])
def test_full_scale_input_stays_bounded(dtype: type[np.generic]) -> None:
    square = np.sign(np.sin(2 * np.pi * 100 * np.arange(30 * FRAME) / RATE))
    signal = (np.where(square >= 0, 32767, -32768).astype(np.int16) if dtype is np.int16
              else 3.0 * square)  # over full scale: clipped on the way in
    loud = FrontEndSettings(dc_removal=True, denoise=True, gain_control=True, max_gain_db=40)
    wide, features = run(NumbaFrontEnd(1, loud), signal[None], np.zeros(1, np.intp))
    assert np.isfinite(wide).all() and np.isfinite(features).all()
    # Gain control clips to [-1, 1]; the interpolator can overshoot that by its phases' gain.
    taps = 2 * resample_filter()
    bound = max(np.abs(taps[0::2]).sum(), np.abs(taps[1::2]).sum())
    assert np.abs(wide).max() <= bound * (1 + 1e-6)


@pytest.mark.parametrize(("frames", "message"), [
    (np.zeros((2, FRAME - 60)), "shape"),
    (np.zeros(FRAME), "shape"),
    (np.zeros((1, 2, FRAME)), "shape"),
    (np.full((1, FRAME), "a"), "int16 or float"),
    (np.zeros((1, FRAME), dtype=np.int32), "int16 or float"),
], ids=["short-frame", "1-d", "3-d", "text", "int32"])
def test_malformed_frames_raise(frames: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NumbaFrontEnd(2, FrontEndSettings()).process(frames, np.arange(len(frames)))


@pytest.mark.parametrize(("rows", "message"), [
    (np.array([0]), "one per frame"),
    (np.array([0.0, 1.0]), "integer"),
    (np.array([0, 4]), r"\[0, 4\)"),
    (np.array([-1, 0]), r"\[0, 4\)"),
    (np.array([2, 2]), "repeat"),
], ids=["too-few", "float", "past-capacity", "negative", "repeated"])
def test_bad_rows_raise(rows: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NumbaFrontEnd(4, FrontEndSettings()).process(np.zeros((2, FRAME)), rows)


def test_silent_call_gives_silence_and_no_pitch() -> None:
    wide, features = run(NumbaFrontEnd(1, ALL_STAGES), np.zeros((1, 20 * FRAME)),
                         np.zeros(1, np.intp))
    assert not wide.any()
    assert not features[:, :, 1].any()


def settled_rms_db(signal: np.ndarray, settings: FrontEndSettings) -> float:
    """Level of the 16 kHz output after its first second, once the noise tracker has
    settled."""
    wide, _ = run(NumbaFrontEnd(1, settings), signal[None], np.zeros(1, np.intp))
    settled = wide[0, WIDE_RATE:]
    return float(10 * np.log10(np.mean(settled.astype(np.float64) ** 2)))


def test_denoiser_lowers_steady_noise_and_keeps_a_voice() -> None:
    n = 3 * RATE  # the noise tracker's full 1.6 s of history after the first second
    noise = white_noise(0.01, n, seed=6)
    # Speech-like: intonation and syllables. A tone steady for longer than the tracker's
    # 1.6 s is indistinguishable from a hum and is taken for noise, as minimum statistics do.
    pitch = 300 * (1 + 0.1 * np.sin(2 * np.pi * np.arange(n) / RATE))
    speech = voice(pitch, 1.0, syllables_per_second=2.0)
    speech *= 0.01 * np.sqrt(10) / np.sqrt(np.mean(speech**2))  # +10 dB SNR
    plain = FrontEndSettings(dc_removal=True, denoise=False, gain_control=False)
    denoised = FrontEndSettings(dc_removal=True, denoise=True, gain_control=False)

    assert settled_rms_db(noise, plain) - settled_rms_db(noise, denoised) >= 6.0
    assert abs(settled_rms_db(speech + noise, denoised) - settled_rms_db(speech, plain)) <= 2.0
