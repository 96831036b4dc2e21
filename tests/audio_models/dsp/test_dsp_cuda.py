"""The numba.cuda front end (audio_models.dsp.cuda) against the NumPy reference.

By default the kernels run under the Numba CUDA simulator (pure Python threads, no GPU), so
the batches are tiny. On a GPU host the same checks run on the device, with longer calls:

    VOICEBOT_CUDA_TESTS=gpu .venv/bin/python -m pytest tests/audio_models/dsp/test_dsp_cuda.py

Float32 on the device against the float64 reference: 16 kHz audio within 1e-4 (absolute,
full scale 1), level within 1e-3 dB, aperiodicity within 1e-4, the same voicing decision on
every hop (the signals keep YIN's curve at least 0.03 from the threshold) and pitch within
0.05 Hz where voiced.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any
from unittest import mock

import numpy as np
import pytest

from audio_models.dsp import reference
from audio_models.dsp.backend import NumpyFrontEnd
from audio_models.dsp.cuda import CudaFrontEnd, gpu_available
from audio_models.dsp.settings import (
    FRAME,
    HOPS,
    RATE,
    WIDE_FRAME,
    YIN_THRESHOLD,
    FrontEndSettings,
)
from audio_models.dsp.state import DOWN_HISTORY

# tests/conftest.py chose the simulator or the GPU for the whole run, before numba.cuda
# was first imported (it decides once).
ON_GPU = os.environ["NUMBA_ENABLE_CUDASIM"] == "0"

AUDIO_ATOL = 1e-4
LEVEL_ATOL_DB = 1e-3
APERIODICITY_ATOL = 1e-4
PITCH_ATOL_HZ = 0.05
VOICING_MARGIN = 0.03  # how far from YIN's threshold the test signals keep every hop

# The simulator runs each CUDA thread as a Python thread: a few calls, a few frames. The
# noise tracker rotates its first sub-window at frame 16, so denoising runs 17 frames.
FRAMES_SCALE = 20 if ON_GPU else 1
CHAINS = {
    "all off": (FrontEndSettings(dc_removal=False), 6),
    "dc only": (FrontEndSettings(dc_removal=True), 6),
    "all on": (FrontEndSettings(dc_removal=True, denoise=True, gain_control=True), 17),
}
ALL_ON = CHAINS["all on"][0]
ROWS = np.array([5, 0, 3])  # out of order, with gaps; the warm-up ran (and reset) row 0
CAPACITY = 7


def call_signals(frames: int) -> np.ndarray:
    """(3, frames * FRAME): voice at 140 Hz on a DC offset, noise then voice at 200 Hz, and
    noise alone; each hop clearly voiced or clearly not."""
    rng = np.random.default_rng(7)
    n = frames * FRAME
    t = np.arange(n) / RATE

    def voice(f0: float, amplitude: float) -> np.ndarray:
        harmonics = (0.5**h * np.sin(2 * np.pi * (h + 1) * f0 * t) for h in range(3))
        return amplitude * sum(harmonics, np.zeros(n))

    return np.stack([
        voice(140, 0.3) + 0.2 + 0.003 * rng.standard_normal(n),
        np.where(t < 0.16, 0.02 * rng.standard_normal(n), voice(200, 0.3)),
        0.05 * rng.standard_normal(n),
    ])


def stream(front_end: CudaFrontEnd, signals: np.ndarray, rows: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Each row of ``signals`` through its state row, one tick per frame: 16 kHz audio
    (calls, samples) and features (calls, hops, FEATURES)."""
    ticks = [front_end.process(signals[:, start:start + FRAME], rows)
             for start in range(0, signals.shape[1], FRAME)]
    return (np.concatenate([wide for wide, _ in ticks], axis=1),
            np.concatenate([features for _, features in ticks], axis=1))


def assert_features_close(features: np.ndarray, expected: np.ndarray) -> None:
    """(..., FEATURES) level, pitch, aperiodicity, each within its tolerance."""
    np.testing.assert_allclose(features[..., 0], expected[..., 0], rtol=0, atol=LEVEL_ATOL_DB)
    np.testing.assert_allclose(features[..., 2], expected[..., 2], rtol=0,
                               atol=APERIODICITY_ATOL)
    voiced = expected[..., 1] > 0
    np.testing.assert_array_equal(features[..., 1] > 0, voiced)
    np.testing.assert_allclose(features[..., 1][voiced], expected[..., 1][voiced], rtol=0,
                               atol=PITCH_ATOL_HZ)


def assert_matches_reference(wide: np.ndarray, features: np.ndarray, signal: np.ndarray,
                             settings: FrontEndSettings) -> None:
    """One call's streamed output against the reference's run over the whole signal."""
    expected_wide, expected = reference.process_signal(signal, settings)
    assert np.all(np.abs(expected[:, 2] - YIN_THRESHOLD) > VOICING_MARGIN), "signal too close"
    np.testing.assert_allclose(wide, expected_wide, rtol=0, atol=AUDIO_ATOL)
    assert_features_close(features, expected)


def test_gpu_available_only_on_a_real_gpu() -> None:
    assert gpu_available() is ON_GPU


@pytest.mark.parametrize("chain", list(CHAINS))
def test_streamed_calls_match_the_reference_over_whole_signals(chain: str) -> None:
    settings, frames = CHAINS[chain]
    signals = call_signals(frames * FRAMES_SCALE)
    wide, features = stream(CudaFrontEnd(CAPACITY, settings), signals, ROWS)
    assert wide.dtype == features.dtype == np.float32
    assert wide.shape == (len(ROWS), signals.shape[1] * 2)
    assert features.shape == (len(ROWS), signals.shape[1] // FRAME * HOPS, 3)
    for call, signal in enumerate(signals):
        assert_matches_reference(wide[call], features[call], signal, settings)


def test_reset_restarts_only_its_slot() -> None:
    old, kept, new = call_signals(4)
    front_end = CudaFrontEnd(3, ALL_ON)
    rows = np.array([2, 0])
    stream(front_end, np.stack([old[:2 * FRAME], kept[:2 * FRAME]]), rows)
    front_end.reset(np.array([2]))
    wide, features = stream(front_end, np.stack([new[:2 * FRAME], kept[2 * FRAME:]]), rows)
    assert_matches_reference(wide[0], features[0], new[:2 * FRAME], ALL_ON)
    expected_wide, expected = reference.process_signal(kept, ALL_ON)
    np.testing.assert_allclose(wide[1], expected_wide[4 * FRAME:], rtol=0, atol=AUDIO_ATOL)
    assert_features_close(features[1], expected[2 * HOPS:])


def test_broken_and_int16_frames_give_the_reference_output() -> None:
    """NaN and infinities become silence and loud samples are clipped, as in the reference,
    and they leave no NaN in the state: the next frames come out finite too."""
    broken = call_signals(1)[:2].copy()
    broken[0, 10:20] = np.nan
    broken[1, ::7] = np.inf
    broken[1, 3::7] = -np.inf
    broken[1, 5::7] = 40.0
    later = (call_signals(2)[:2, FRAME:] * 32767).astype(np.int16)
    rows = np.array([1, 0])
    cuda_front_end, numpy_front_end = CudaFrontEnd(2, ALL_ON), NumpyFrontEnd(2, ALL_ON)
    for frames in (broken, later):
        wide, features = cuda_front_end.process(frames, rows)
        expected_wide, expected = numpy_front_end.process(frames, rows)
        assert np.isfinite(wide).all() and np.isfinite(features).all()
        np.testing.assert_allclose(wide, expected_wide, rtol=0, atol=AUDIO_ATOL)
        assert_features_close(features, expected)


def test_downsampling_keeps_each_rows_history_until_reset() -> None:
    rng = np.random.default_rng(3)
    ticks = rng.uniform(-1, 1, size=(4, 2, WIDE_FRAME))
    front_end = CudaFrontEnd(5, FrontEndSettings())
    rows = np.array([4, 1])
    history = np.zeros((2, DOWN_HISTORY))
    for tick in ticks[:3]:
        np.testing.assert_allclose(front_end.downsample(tick, rows),
                                   reference.downsample(tick, history), rtol=0, atol=AUDIO_ATOL)
    front_end.reset(np.array([4]))
    history[0] = 0
    np.testing.assert_allclose(front_end.downsample(ticks[3], rows),
                               reference.downsample(ticks[3], history), rtol=0, atol=AUDIO_ATOL)


@pytest.fixture(scope="module")
def small_front_end() -> CudaFrontEnd:
    return CudaFrontEnd(3, FrontEndSettings())


def test_an_empty_tick_gives_empty_output(small_front_end: CudaFrontEnd) -> None:
    wide, features = small_front_end.process(np.zeros((0, FRAME), dtype=np.int16), np.array([]))
    assert wide.shape == (0, WIDE_FRAME) and features.shape == (0, HOPS, 3)
    assert small_front_end.downsample(np.zeros((0, WIDE_FRAME)), np.array([])).shape == (0, FRAME)


@pytest.mark.parametrize(("frames", "rows"), [
    (np.zeros((2, FRAME - 1)), np.array([0, 1])),
    (np.zeros(FRAME), np.array([0])),
    (np.zeros((2, FRAME), dtype=np.complex64), np.array([0, 1])),
    (np.zeros((2, FRAME)), np.array([0, 1, 2])),
    (np.zeros((2, FRAME)), np.array([0, 3])),
    (np.zeros((2, FRAME)), np.array([-1, 0])),
    (np.zeros((2, FRAME)), np.array([1, 1])),
    (np.zeros((2, FRAME)), np.array([0.0, 1.0])),
], ids=["short frames", "one dimension", "complex", "rows too many", "row past capacity",
        "negative row", "row twice", "float rows"])
def test_wrong_frames_or_rows_raise(small_front_end: CudaFrontEnd, frames: np.ndarray,
                                    rows: np.ndarray) -> None:
    with pytest.raises(ValueError):
        small_front_end.process(frames, rows)


@pytest.mark.parametrize("wide", [np.zeros((2, FRAME)), np.zeros(2 * WIDE_FRAME)])
def test_downsampling_wrong_shapes_raise(small_front_end: CudaFrontEnd,
                                         wide: np.ndarray) -> None:
    with pytest.raises(ValueError):
        small_front_end.downsample(wide, np.array([0, 1]))


@pytest.mark.parametrize("rows", [np.array([3]), np.array([[0, 1]])])
def test_reset_of_wrong_rows_raises(small_front_end: CudaFrontEnd, rows: np.ndarray) -> None:
    with pytest.raises(ValueError):
        small_front_end.reset(rows)


# --- the real CUDA target, without a GPU -----------------------------------------------------
def lowering_problems() -> list[str]:
    """Type every kernel for the real CUDA target and lower it to LLVM IR (no GPU or NVVM
    needed; run with the real target loaded): what the simulator cannot catch, numba.cuda
    rejecting a construct, and any float64 arithmetic the float32 design must not have."""
    import numba.cuda.types
    from numba.cuda.compiler import compile_cuda

    from audio_models.dsp import cuda as kernels

    types: Any = numba.cuda.types  # its names are made at import, unseen by mypy
    f32, i32, c64 = types.float32, types.int32, types.complex64
    rows, vector = types.Array(i32, 1, "C"), types.Array(f32, 1, "C")
    dense = types.Array(f32, 2, "C")  # a buffer sliced to the tick's calls
    field = types.Array(f32, 2, "A")  # a column range of the state buffer (or the frame)
    cube, spectrum = types.Array(f32, 3, "C"), types.Array(c64, 2, "C")
    signatures = {
        "_remove_dc_kernel": (dense, rows, vector, field, field, dense),
        "_difference_kernel": (dense, cube),
        "_pitch_kernel": (dense, cube, cube),
        "_spectrum_kernel": (field, rows, vector, spectrum, *[field] * 6, spectrum),
        "_synthesis_kernel": (spectrum, rows, spectrum, *[field] * 4),
        "_gain_kernel": (field, rows, cube, vector, field, field, dense),
        "_stage_kernel": (dense, rows, field, dense),
        "_fir_kernel": (dense, dense, types.int64, dense),
        "_reset_kernel": (dense, vector, rows),
    }
    device = mock.Mock(compute_capability=(9, 0))  # device functions ask the current device
    problems = []
    with mock.patch("numba.cuda.dispatcher.get_current_device", return_value=device):
        for name, signature in signatures.items():
            result = compile_cuda(getattr(kernels, name).py_func, types.void, signature,
                                  cc=(9, 0))
            libraries, ir = [result.library], []
            while libraries:  # the kernel and the device functions it calls
                library = libraries.pop()
                ir.append(library.get_llvm_str())
                libraries.extend(library._linking_libraries)
            problems += [f"{name}: {line.strip()}" for line in "\n".join(ir).splitlines()
                         if re.search(r"\bdouble\b", line)]
    return problems


@pytest.mark.skipif(ON_GPU, reason="on a GPU every kernel is compiled for real")
def test_kernels_lower_for_the_real_gpu_in_float32() -> None:
    run = subprocess.run([sys.executable, __file__, "lower"], capture_output=True, text=True,
                         env={**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


if __name__ == "__main__" and sys.argv[1:] == ["lower"]:
    found = lowering_problems()
    print("\n".join(found) or "every kernel lowers, in float32")
    sys.exit(1 if found else 0)
