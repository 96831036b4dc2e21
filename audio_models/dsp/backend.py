"""The one interface the scheduler drives, and the choice of backend by name."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from audio_models.dsp import reference
from audio_models.dsp.settings import FrontEndSettings
from audio_models.dsp.state import FrontEndState

BACKENDS = ("numpy", "cpu", "cuda")


class FrontEndBackend(Protocol):
    """Runs one 20 ms frame of many calls at once; each call owns one state row (slot)."""

    name: str
    capacity: int  # state rows, the most calls it serves

    def reset(self, rows: np.ndarray) -> None:
        """Clear the state of ``rows`` for new calls."""
        ...

    def process(self, frames: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``frames`` (n, FRAME) int16 or float, one per row in ``rows``; returns the 16 kHz
        audio (n, WIDE_FRAME) and the features (n, HOPS, FEATURES), both float32."""
        ...


class NumpyFrontEnd:
    """The reference itself as a backend: slowest, but needs nothing compiled."""

    name = "numpy"

    def __init__(self, capacity: int, settings: FrontEndSettings) -> None:
        self.capacity = capacity
        self.settings = settings
        self.state = FrontEndState.allocate(capacity, settings)

    def reset(self, rows: np.ndarray) -> None:
        self.state.reset(rows, self.settings)

    def process(self, frames: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return reference.process(frames, self.state, rows, self.settings)


def make_backend(name: str, capacity: int, settings: FrontEndSettings) -> FrontEndBackend:
    """``numpy``, ``cpu`` (Numba) or ``cuda``; compiled backends are imported only when
    chosen, so a host without a GPU never loads the CUDA driver."""
    if name == "numpy":
        return NumpyFrontEnd(capacity, settings)
    if name == "cpu":
        from audio_models.dsp.cpu import NumbaFrontEnd
        return NumbaFrontEnd(capacity, settings)
    if name == "cuda":
        from audio_models.dsp.cuda import CudaFrontEnd, gpu_available
        if not gpu_available():
            raise RuntimeError("front-end backend 'cuda' needs an NVIDIA GPU and driver; "
                               "none was found: use --dsp-backend cpu")
        return CudaFrontEnd(capacity, settings)
    raise ValueError(f"unknown front-end backend {name!r}; choose one of {', '.join(BACKENDS)}")
