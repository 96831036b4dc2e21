"""One front-end run per 20 ms tick for all live calls: each call hands in its frame, and
when every open call has (or a short deadline passes) the batch goes through the backend
in one go, so one kernel launch serves every call."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np

from audio_models.dsp.backend import FrontEndBackend
from audio_models.dsp.settings import FRAME

log = logging.getLogger(__name__)

# pjsua2's bridge clock hands every call its frame within the same tick, microseconds apart;
# waiting longer than this for a straggler would only add latency to the others.
DEFAULT_MAX_WAIT_S = 0.004


@dataclass(frozen=True)
class Processed:
    wide: bytes  # 20 ms of 16 kHz int16 little-endian PCM
    features: np.ndarray  # (HOPS, FEATURES): level dBFS, pitch Hz, aperiodicity


class FrontEndChannel:
    """A call's seat in the batch: hand in 8 kHz frames, get 16 kHz frames back in order."""

    def __init__(self, scheduler: BatchScheduler, slot: int) -> None:
        self._scheduler = scheduler
        self.slot = slot

    async def process(self, frame: bytes) -> Processed:
        """``frame``: 20 ms of 8 kHz int16 little-endian PCM. A frame of the wrong size is
        refused here (ValueError), before it can spoil the batch of the other calls."""
        if len(frame) != 2 * FRAME:
            raise ValueError(f"front end needs {2 * FRAME}-byte frames (20 ms of 8 kHz "
                             f"16-bit PCM), got {len(frame)} bytes")
        return await self._scheduler.submit(self.slot, np.frombuffer(frame, dtype="<i2"))

    def close(self) -> None:
        self._scheduler.release(self.slot)


class BatchScheduler:
    """Lives on the event loop that runs the calls' sessions."""

    def __init__(self, backend: FrontEndBackend, max_wait_s: float = DEFAULT_MAX_WAIT_S
                 ) -> None:
        self.backend = backend
        self.max_wait_s = max_wait_s
        self._free = list(range(backend.capacity - 1, -1, -1))
        self._open: set[int] = set()
        self._pending: dict[int, tuple[np.ndarray, asyncio.Future[Processed]]] = {}
        self._deadline: asyncio.TimerHandle | None = None
        self.batches = 0  # runs of the backend, for tests and metrics
        self.frames = 0

    def warm_up(self) -> None:
        """Run the backend once now (compiling its kernels), not on the first call's audio."""
        rows = np.arange(self.backend.capacity)
        self.backend.process(np.zeros((len(rows), FRAME), dtype=np.int16), rows)
        self.backend.reset(rows)

    def open(self) -> FrontEndChannel:
        if not self._free:
            raise RuntimeError(f"front end is full ({self.backend.capacity} calls)")
        slot = self._free.pop()
        self.backend.reset(np.array([slot]))
        self._open.add(slot)
        return FrontEndChannel(self, slot)

    def release(self, slot: int) -> None:
        if slot not in self._open:
            return
        self._open.discard(slot)
        self._free.append(slot)
        pending = self._pending.pop(slot, None)
        if pending is not None:
            pending[1].cancel()
        if self._pending and self._pending.keys() >= self._open:
            self._flush()

    def submit(self, slot: int, frame: np.ndarray) -> asyncio.Future[Processed]:
        if slot in self._pending:  # this call's next frame came before the others' first
            self._flush()
        future: asyncio.Future[Processed] = asyncio.get_running_loop().create_future()
        self._pending[slot] = (frame, future)
        if self._pending.keys() >= self._open:
            self._flush()
        elif self._deadline is None:
            self._deadline = asyncio.get_running_loop().call_later(self.max_wait_s, self._flush)
        return future

    def _flush(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        batch, self._pending = self._pending, {}
        if not batch:
            return
        rows = np.fromiter(batch, dtype=np.intp, count=len(batch))
        frames = np.stack([frame for frame, _ in batch.values()])
        try:
            wide, features = self.backend.process(frames, rows)
        except Exception as exc:  # a kernel bug must reach each call, not kill the loop
            log.exception("front end (%s) failed on a batch of %d calls",
                          self.backend.name, len(rows))
            for _, future in batch.values():
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.frames += len(rows)
        pcm = np.clip(np.rint(wide * 32768.0), -32768, 32767).astype("<i2")
        for i, (_, future) in enumerate(batch.values()):
            if not future.done():  # its call may have hung up meanwhile
                future.set_result(Processed(pcm[i].tobytes(), features[i]))
