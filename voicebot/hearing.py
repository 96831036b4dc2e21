"""One leg's audio, heard: every 20 ms frame through the batched front end, then VAD and
end-of-turn detection. The caller's session and a supervisor's transcript both listen so."""

from __future__ import annotations

import logging

import numpy as np

from audio_models.dsp.scheduler import FrontEndChannel, Processed
from audio_models.pcm import resample
from audio_models.vad import NO_FEATURES, TurnEvent
from voicebot.config import CALL_SAMPLE_RATE
from voicebot.engines import Engines

log = logging.getLogger(__name__)


class Hearing:
    def __init__(self, leg_id: str, engines: Engines, frame_samples: int) -> None:
        self.leg_id = leg_id
        self.engines = engines
        self.turns = engines.turn_detector()
        self._frame_bytes = 2 * frame_samples
        self._front_end: FrontEndChannel | None = None
        self._front_end_failed = False

    def open(self) -> None:
        self._front_end = self.engines.front_end.open()

    def close(self) -> None:
        if self._front_end is not None:
            self._front_end.close()
            self._front_end = None

    async def hear(self, at: float, frame: bytes) -> TurnEvent | None:
        """The frame received at ``at`` (monotonic), heard: what it changes in the turn."""
        heard = await self._clean(frame)
        return self.turns.push(at, heard.wide, heard.features)

    async def _clean(self, frame: bytes) -> Processed:
        """The frame through the batched front end; should that fail, the frame merely
        resampled, so the call goes on hearing the caller."""
        size = self._frame_bytes
        if len(frame) != size:  # the bridge sends 20 ms frames; anything else is cut or padded
            frame = frame[:size].ljust(size, b"\0")
        try:
            assert self._front_end is not None, "open() first"
            return await self._front_end.process(frame)
        except Exception:
            if not self._front_end_failed:
                log.exception("%s: front end failed; this call continues without it",
                              self.leg_id)
            self._front_end_failed = True
            pcm = resample(np.frombuffer(frame, dtype="<i2"), CALL_SAMPLE_RATE,
                           self.engines.sample_rate)
            return Processed(pcm.astype("<i2").tobytes(), NO_FEATURES)
