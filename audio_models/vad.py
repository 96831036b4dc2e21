"""Voice activity and end of turn: when did the caller start, and when are they done?"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import numpy as np
import webrtcvad

from audio_models.dsp.settings import FEATURES
from audio_models.pcm import rms

NO_FEATURES = np.empty((0, FEATURES), dtype=np.float32)


class WebRtcVad:
    """WebRTC's VAD behind an energy gate.

    ``aggressiveness`` 0 (keeps most) to 3 (drops most non-speech). WebRTC's VAD ignores
    level and calls faint line hiss speech (measured: white noise at -60 dBFS starts a
    turn), so frames quieter than ``min_rms`` (default about -50 dBFS) never count.
    """

    frame_ms = 20

    def __init__(self, aggressiveness: int = 2, min_rms: float = 100.0) -> None:
        if not 0 <= aggressiveness <= 3:
            raise ValueError(f"VAD aggressiveness must be 0..3, got {aggressiveness}")
        self._vad = webrtcvad.Vad(aggressiveness)
        self.min_rms = min_rms

    def is_speech(self, frame: bytes, sample_rate: int) -> bool:
        return rms(frame) >= self.min_rms and bool(self._vad.is_speech(frame, sample_rate))


@dataclass(frozen=True)
class SpeechStarted:
    at: float  # arrival time of the first speech frame


@dataclass(frozen=True)
class SpeechPaused:
    """The caller has been quiet for ``pause_ms``: their words so far, to start on early."""

    audio: np.ndarray
    speech_ended_at: float
    at: float
    features: np.ndarray = field(default_factory=NO_FEATURES.copy)  # front end's, per 10 ms


@dataclass(frozen=True)
class SpeechResumed:
    """The caller spoke again after a pause was announced: the words so far are not final."""

    at: float


@dataclass(frozen=True)
class TurnEnded:
    audio: np.ndarray  # int16, pre-roll + speech + a little of the trailing pause
    speech_started_at: float
    speech_ended_at: float  # arrival time of the last speech frame
    decided_at: float  # arrival time of the frame that completed the hangover
    cut_off: bool  # the caller hit the utterance length limit
    features: np.ndarray = field(default_factory=NO_FEATURES.copy)  # front end's, per 10 ms


@dataclass
class TurnConfig:
    hangover_ms: int = 400  # this much non-speech ends the turn
    onset_ms: int = 60  # this much continuous speech starts one (ignores clicks)
    preroll_ms: int = 200  # kept before the onset so the first syllable is not clipped
    # Kept after the last speech frame: Whisper drops a final word that ends right at the
    # edge of its audio (seen with tiny.en when 100 ms or less of the pause follows it).
    tail_ms: int = 300
    max_utterance_ms: int = 15000
    # This much non-speech announces a pause (0: never), so the agent can start on the
    # words so far while the hangover runs; shorter than the hangover to be of use.
    pause_ms: int = 200


TurnEvent = SpeechStarted | SpeechPaused | SpeechResumed | TurnEnded


class EndOfTurnDetector:
    """Feeds 20 ms frames through a VAD and says when a caller's turn starts and ends."""

    def __init__(self, vad: WebRtcVad, sample_rate: int, config: TurnConfig | None = None) -> None:
        self.vad = vad
        self.sample_rate = sample_rate
        self.config = config or TurnConfig()
        ms = vad.frame_ms
        c = self.config
        self._onset = max(1, c.onset_ms // ms)
        self._hangover = max(1, c.hangover_ms // ms)
        self._tail = c.tail_ms // ms
        self._max = max(self._onset + 1, c.max_utterance_ms // ms)
        self._pause = c.pause_ms // ms
        self._paused = False
        # Frames with the front end's features for them (empty when fed without).
        self._preroll: collections.deque[tuple[bytes, np.ndarray]] = collections.deque(
            maxlen=c.preroll_ms // ms + self._onset)
        self._speech: list[tuple[bytes, np.ndarray]] = []
        self._run = 0  # consecutive speech frames (before onset) or non-speech frames (after)
        self._started_at = 0.0
        self._last_speech_at = 0.0
        self._onset_at = 0.0

    @property
    def in_speech(self) -> bool:
        return bool(self._speech)

    @property
    def paused_since(self) -> float | None:
        """The caller's last speech frame, while their turn is open and paused; else None."""
        return self._last_speech_at if self._speech and self._paused else None

    def end_now(self, at: float) -> TurnEnded:
        """Close the paused turn before the hangover runs out: the listener has decided,
        from what was said, that it is complete."""
        if self.paused_since is None:
            raise RuntimeError("end_now needs an open, paused turn")
        return self._finish(at, cut_off=False)

    def push(self, at: float, frame: bytes, features: np.ndarray = NO_FEATURES
             ) -> TurnEvent | None:
        """``frame``: 20 ms of int16 PCM at ``sample_rate``; ``features``: the front end's
        prosody features of that frame, carried along into the turn's events."""
        speech = self.vad.is_speech(frame, self.sample_rate)
        if not self._speech:
            return self._idle(at, (frame, features), speech)
        self._speech.append((frame, features))
        event: TurnEvent | None = None
        if speech:
            if self._paused:
                event = SpeechResumed(at)
            self._paused = False
            self._run = 0
            self._last_speech_at = at
        else:
            self._run += 1
        if self._run >= self._hangover or len(self._speech) >= self._max:
            return self._finish(at, cut_off=self._run < self._hangover)
        if self._pause and self._run == self._pause:
            self._paused = True
            frames = len(self._speech)
            return SpeechPaused(self._audio(frames), self._last_speech_at, at,
                                self._features(frames))
        return event

    def _idle(self, at: float, frame: tuple[bytes, np.ndarray], speech: bool
              ) -> SpeechStarted | None:
        self._preroll.append(frame)
        if not speech:
            self._run = 0
            return None
        if self._run == 0:
            self._onset_at = at
        self._run += 1
        if self._run < self._onset:
            return None
        self._speech = list(self._preroll)
        self._preroll.clear()
        self._run = 0
        self._started_at = self._onset_at
        self._last_speech_at = at
        return SpeechStarted(self._onset_at)

    def _audio(self, frames: int) -> np.ndarray:
        pcm = b"".join(frame for frame, _ in self._speech[:frames])
        return np.frombuffer(pcm, dtype="<i2").astype(np.int16)

    def _features(self, frames: int) -> np.ndarray:
        return np.concatenate([NO_FEATURES, *(f for _, f in self._speech[:frames])])

    def _finish(self, at: float, cut_off: bool) -> TurnEnded:
        keep = len(self._speech) - max(0, self._run - self._tail)
        ended = TurnEnded(self._audio(keep), self._started_at, self._last_speech_at, at, cut_off,
                          self._features(keep))
        self._speech = []
        self._run = 0
        self._paused = False
        return ended
