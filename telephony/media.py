"""Call audio: 20 ms PCM frames in and out of the pjsua2 conference bridge.

The bridge calls ``onFrameReceived``/``onFrameRequested`` on its clock thread, once per
20 ms tick for every call, holding the GIL: these callbacks only hand bytes over and pop
from a deque, so that one slow consumer never delays the other calls.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable

import pjsua2 as pj

FRAME_MS = 20

# Receives (monotonic arrival time, 16-bit little-endian mono PCM frame).
FrameSink = Callable[[float, bytes], None]


def frame_bytes(sample_rate: int) -> int:
    """Bytes in one 20 ms frame of 16-bit mono PCM."""
    return sample_rate * FRAME_MS // 1000 * 2


class CallAudio:
    """Thread-safe frame exchange between a call's media port and its consumer."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.frame_size = frame_bytes(sample_rate)
        self._silence = bytes(self.frame_size)
        self._outbound: collections.deque[bytes] = collections.deque()
        self._lock = threading.Lock()
        self._sink: FrameSink | None = None
        self.frames_received = 0
        self.frames_sent = 0
        self.playout_started_at: float | None = None  # first frame sent after an idle spell
        self.last_sent_at: float | None = None  # last queued frame handed to the bridge
        self._idle = True

    def set_sink(self, sink: FrameSink | None) -> None:
        """Where received frames go; ``None`` discards them."""
        self._sink = sink

    def play(self, frames: Iterable[bytes]) -> None:
        """Queue frames for the far end, each exactly one frame long."""
        with self._lock:
            for frame in frames:
                if len(frame) != self.frame_size:
                    raise ValueError(f"frame must be {self.frame_size} bytes, got {len(frame)}")
                self._outbound.append(frame)

    def clear(self) -> int:
        """Drop everything not yet sent (barge-in); returns how many frames were dropped."""
        with self._lock:
            dropped = len(self._outbound)
            self._outbound.clear()
            return dropped

    @property
    def pending_frames(self) -> int:
        return len(self._outbound)

    # --- called on the bridge clock thread -------------------------------------------
    def deliver(self, frame: bytes) -> None:
        self.frames_received += 1
        sink = self._sink
        if sink is not None:
            sink(time.monotonic(), frame)

    def next_frame(self) -> bytes:
        with self._lock:
            if self._outbound:
                now = time.monotonic()
                if self._idle:
                    self._idle = False
                    self.playout_started_at = now
                self.last_sent_at = now
                self.frames_sent += 1
                return self._outbound.popleft()
            self._idle = True
        return self._silence


class QueuePort(pj.AudioMediaPort):
    """A conference-bridge port backed by a :class:`CallAudio`."""

    def __init__(self, audio: CallAudio) -> None:
        super().__init__()
        self.audio = audio

    def create(self, name: str) -> None:
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, self.audio.sample_rate, 1, FRAME_MS * 1000, 16)
        self.createPort(name, fmt)

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 API)
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            self.audio.deliver(bytes(frame.buf))

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 API)
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(self.audio.next_frame())
        frame.size = self.audio.frame_size
