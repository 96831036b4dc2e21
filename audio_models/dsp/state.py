"""Per-call state of the front end, one row per call slot, so a batch is one array."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from audio_models.dsp.settings import (
    BINS,
    FRAME,
    HISTORY,
    MIN_SUBWINDOWS,
    RESAMPLE_TAPS,
    FrontEndSettings,
)

UP_HISTORY = RESAMPLE_TAPS // 2 - 1  # 8 kHz samples the 2x up-sampler keeps
DOWN_HISTORY = RESAMPLE_TAPS - 1  # 16 kHz samples the 2x down-sampler keeps


@dataclass
class FrontEndState:
    """Everything a call's front end remembers between frames; row ``i`` is slot ``i``."""

    dc: np.ndarray  # (calls, 2): last input and output of the DC filter
    history: np.ndarray  # (calls, HISTORY): DC-free samples the prosody windows reach back to
    previous_input: np.ndarray  # (calls, FRAME): first half of the next noise window
    overlap: np.ndarray  # (calls, FRAME): second half of the last synthesised window
    smoothed_power: np.ndarray  # (calls, BINS)
    subwindow_min: np.ndarray  # (calls, BINS): minimum of the sub-window being filled
    minima: np.ndarray  # (calls, MIN_SUBWINDOWS, BINS): minima of the last sub-windows
    clean_power: np.ndarray  # (calls, BINS): last frame's estimated speech power
    frames: np.ndarray  # (calls,) frames seen, as float so every field has one dtype
    agc: np.ndarray  # (calls, 2): tracked speech level, last gain
    upsampler: np.ndarray  # (calls, UP_HISTORY)

    @classmethod
    def allocate(cls, calls: int, settings: FrontEndSettings,
                 dtype: type[np.floating] = np.float64) -> FrontEndState:
        def zeros(*shape: int) -> np.ndarray:
            return np.zeros((calls, *shape), dtype=dtype)
        state = cls(dc=zeros(2), history=zeros(HISTORY), previous_input=zeros(FRAME),
                    overlap=zeros(FRAME), smoothed_power=zeros(BINS), subwindow_min=zeros(BINS),
                    minima=zeros(MIN_SUBWINDOWS, BINS), clean_power=zeros(BINS),
                    frames=zeros(), agc=zeros(2), upsampler=zeros(UP_HISTORY))
        state.reset(np.arange(calls), settings)
        return state

    def reset(self, rows: np.ndarray, settings: FrontEndSettings) -> None:
        """Start the calls in ``rows`` afresh (a new call took the slot)."""
        for f in fields(self):
            getattr(self, f.name)[rows] = 0
        self.subwindow_min[rows] = np.inf
        self.minima[rows] = np.inf
        self.agc[rows, 0] = 10 ** (settings.target_rms_db / 20)
        self.agc[rows, 1] = 1.0

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The fields in declaration order, as the compiled kernels take them."""
        return tuple(getattr(self, f.name) for f in fields(self))
