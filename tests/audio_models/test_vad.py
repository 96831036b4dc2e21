"""End of turn on real speech: espeak-ng audio padded with silence, fed in 20 ms frames."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CALL_RATE, Speech

from audio_models.pcm import frames
from audio_models.vad import EndOfTurnDetector, SpeechStarted, TurnConfig, TurnEnded, WebRtcVad

FRAME = CALL_RATE // 50


def feed(detector: EndOfTurnDetector, pcm: np.ndarray) -> list[tuple[float, object]]:
    events = []
    for i, frame in enumerate(frames(pcm, FRAME)):
        at = (i + 1) * 0.02  # arrival time: the end of the frame
        event = detector.push(at, frame)
        if event is not None:
            events.append((at, event))
    return events


def padded(speech: Speech, text: str, before_s: float, after_s: float) -> np.ndarray:
    pcm = speech.pcm(text)
    return np.concatenate([np.zeros(int(before_s * CALL_RATE), np.int16), pcm,
                           np.zeros(int(after_s * CALL_RATE), np.int16)])


@pytest.mark.parametrize("hangover_ms", [300, 600])
def test_turn_ends_one_hangover_after_the_last_word(speech: Speech, hangover_ms: int) -> None:
    pcm = padded(speech, "I lost my card.", 1.0, 2.0)
    detector = EndOfTurnDetector(WebRtcVad(2), CALL_RATE, TurnConfig(hangover_ms=hangover_ms))
    events = feed(detector, pcm)
    assert [type(e) for _, e in events] == [SpeechStarted, TurnEnded]
    started = events[0][1]
    ended = events[1][1]
    assert isinstance(started, SpeechStarted) and isinstance(ended, TurnEnded)
    assert 0.95 <= started.at <= 1.3  # speech begins at 1.0 s
    assert ended.decided_at - ended.speech_ended_at == pytest.approx(hangover_ms / 1000, abs=0.03)
    assert not ended.cut_off
    # The utterance keeps the first syllable (pre-roll) and drops most of the pause.
    words = len(speech.pcm("I lost my card.").nonzero()[0])
    assert len(ended.audio) >= 0.8 * words
    assert len(ended.audio) <= len(pcm) - 1.5 * CALL_RATE


def test_silence_and_faint_noise_start_no_turn() -> None:
    rng = np.random.default_rng(0)
    noise = (rng.normal(0, 30, 3 * CALL_RATE)).astype(np.int16)  # about -60 dBFS hiss
    detector = EndOfTurnDetector(WebRtcVad(3), CALL_RATE)
    assert feed(detector, np.zeros(CALL_RATE, np.int16)) == []
    assert feed(detector, noise) == []


def test_endless_talker_is_cut_off_at_the_limit(speech: Speech) -> None:
    pcm = np.concatenate([speech.pcm("one two three four five six seven eight")] * 3)
    detector = EndOfTurnDetector(WebRtcVad(0), CALL_RATE, TurnConfig(max_utterance_ms=2000))
    ends = [e for _, e in feed(detector, pcm) if isinstance(e, TurnEnded)]
    assert ends and ends[0].cut_off
    assert len(ends[0].audio) == 2 * CALL_RATE


def test_bad_aggressiveness_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.\.3"):
        WebRtcVad(5)
