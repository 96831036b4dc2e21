"""A test caller on pjsua2: dials the hotline, speaks, and times what it hears back.

It stands where a real caller stands: latency is measured from the caller's last speech
frame handed to its RTP stream to the first bot frame carrying speech that comes out of
its jitter buffer.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np

from audio_models.pcm import frames, rms
from telephony.call import CallLeg
from telephony.endpoint import SipConfig, SipEndpoint
from voicebot.config import CALL_SAMPLE_RATE

# A frame this loud carries speech: about -40 dBFS; silence after G.711 is a few units.
SPEECH_RMS = 300.0
_POLL_S = 0.01
# Bot speech heard this close before the caller's last word means they talked over each other.
_OVERLAP_S = 0.1
_UTTERANCE_TAIL_S = 0.3


class CallerError(RuntimeError):
    """The call could not be placed or the bot did not answer in time."""


@dataclass(frozen=True)
class HeardFrame:
    at: float
    pcm: bytes
    speech: bool


@dataclass
class Exchange:
    """One caller utterance (none for the greeting) and the bot's answer to it."""

    said: np.ndarray | None
    speech_ended_at: float | None
    answer: np.ndarray
    answer_started_at: float | None
    latency_ms: float | None  # None where there is no answer, or the bot was still talking
    overlapped: bool = False  # bot speech was heard as the caller finished: no latency then
    caller_text: str = ""
    bot_text: str = ""


def trim_silence(pcm: np.ndarray, frame_samples: int) -> np.ndarray:
    """Cut leading and trailing frames that carry no speech, so timing starts at the words."""
    loud = [i for i, f in enumerate(frames(pcm, frame_samples)) if rms(f) > SPEECH_RMS]
    if not loud:
        return pcm[:0]
    return pcm[loud[0] * frame_samples:(loud[-1] + 1) * frame_samples]


@dataclass
class ScriptedCaller:
    host: str = "127.0.0.1"
    rtp_port: int = 42000
    heard: list[HeardFrame] = field(default_factory=list)
    leg: CallLeg | None = None

    def __post_init__(self) -> None:
        self.endpoint = SipEndpoint(
            SipConfig(host=self.host, port=0, transports=("udp",), extension=None, max_calls=1,
                      rtp_port=self.rtp_port, sample_rate=CALL_SAMPLE_RATE), self)
        self.frame_samples = CALL_SAMPLE_RATE // 50

    # --- CallListener ---------------------------------------------------------------------
    def on_call_started(self, leg: CallLeg) -> None:
        leg.audio.set_sink(self._hear)

    def on_call_ended(self, leg: CallLeg) -> None:
        leg.audio.set_sink(None)

    def _hear(self, at: float, frame: bytes) -> None:
        self.heard.append(HeardFrame(at, frame, rms(frame) > SPEECH_RMS))

    # --- the call -------------------------------------------------------------------------
    async def dial(self, uri: str, timeout: float = 5.0) -> CallLeg:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.endpoint.start)
        self.leg = await loop.run_in_executor(None, self.endpoint.dial, uri)
        if not await loop.run_in_executor(None, self.leg.connected.wait, timeout):
            raise CallerError(f"{uri} did not answer within {timeout:.0f} s "
                              f"(SIP status {self.leg.outcome.status_code or 'none'})")
        return self.leg

    async def speak(self, pcm: np.ndarray) -> float:
        """Send ``pcm`` in real time; returns when its last frame left, and that time."""
        assert self.leg is not None
        audio = self.leg.audio
        audio.play(frames(pcm, self.frame_samples))
        while audio.pending_frames:
            await asyncio.sleep(_POLL_S)
        assert audio.last_sent_at is not None
        return audio.last_sent_at

    async def wait_for_speech(self, after: float, timeout: float) -> float | None:
        """Arrival time of the first bot speech frame heard after ``after``."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline and not self.hung_up:
            for frame in self.heard[seen:]:
                if frame.speech and frame.at > after:
                    return frame.at
            seen = len(self.heard)
            await asyncio.sleep(_POLL_S)
        return None

    async def wait_for_silence(self, gap_s: float, timeout: float) -> float:
        """Arrival time of the last bot speech frame once ``gap_s`` of silence has followed."""
        deadline = time.monotonic() + timeout
        last = 0.0
        while time.monotonic() < deadline and not self.hung_up:
            last = next((f.at for f in reversed(self.heard) if f.speech), 0.0)
            if self.heard and self.heard[-1].at - last >= gap_s:
                return last
            await asyncio.sleep(_POLL_S)
        return last

    def heard_between(self, start: float, end: float) -> np.ndarray:
        pcm = b"".join(f.pcm for f in self.heard if start <= f.at <= end)
        return np.frombuffer(pcm, dtype="<i2").astype(np.int16)

    def heard_utterance(self, start: float, last_speech: float) -> np.ndarray:
        """What the bot said from ``start`` to its last speech frame, with a little of the
        pause after it: Whisper tends to drop a final word that ends right at the edge of
        its audio (seen: "Thank you for calling." for "... Goodbye.")."""
        return self.heard_between(start, last_speech + _UTTERANCE_TAIL_S)

    def recording(self) -> np.ndarray:
        return np.frombuffer(b"".join(f.pcm for f in self.heard), dtype="<i2").astype(np.int16)

    @property
    def hung_up(self) -> bool:
        return self.leg is not None and self.leg.ended.is_set()

    async def hang_up(self) -> None:
        if self.leg is not None and not self.hung_up:
            self.leg.hangup()
            await asyncio.get_running_loop().run_in_executor(None, self.leg.ended.wait, 5.0)

    async def close(self) -> None:
        await self.hang_up()
        await asyncio.get_running_loop().run_in_executor(None, self.endpoint.stop)

    # --- a scripted conversation ------------------------------------------------------------
    async def converse(self, uri: str, utterances: list[np.ndarray], answer_timeout: float = 15.0,
                       gap_s: float = 1.0) -> list[Exchange]:
        """Dial, hear the greeting out, then say each utterance and hear each answer out."""
        await self.dial(uri)
        exchanges = [await self._hear_answer(None, 0.0, answer_timeout, gap_s)]
        for pcm in utterances:
            said = trim_silence(pcm, self.frame_samples)
            ended = await self.speak(said)
            exchanges.append(await self._hear_answer(said, ended, answer_timeout, gap_s))
            if self.hung_up:
                break
        return exchanges

    async def _hear_answer(self, said: np.ndarray | None, speech_ended_at: float,
                           timeout: float, gap_s: float) -> Exchange:
        overlapped = said is not None and any(
            f.speech for f in self.heard if speech_ended_at - _OVERLAP_S <= f.at <= speech_ended_at)
        started = await self.wait_for_speech(speech_ended_at, timeout)
        if started is None:
            return Exchange(said, speech_ended_at or None, np.zeros(0, np.int16), None, None,
                            overlapped)
        ended = await self.wait_for_silence(gap_s, timeout)
        latency = None
        if said is not None and not overlapped:
            latency = round((started - speech_ended_at) * 1000, 1)
        return Exchange(said, speech_ended_at or None, self.heard_utterance(started, ended),
                        started, latency, overlapped)
