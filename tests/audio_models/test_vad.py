"""End of turn on real speech: espeak-ng audio padded with silence, fed in 20 ms frames."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CALL_RATE, Speech

from audio_models.pcm import frames
from audio_models.vad import (
    EndOfTurnDetector,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    TurnConfig,
    TurnEnded,
    WebRtcVad,
)
from voicebot.caller import trim_silence

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
    events = [e for _, e in feed(detector, pcm)]
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused, TurnEnded]
    started, paused, ended = events
    assert isinstance(started, SpeechStarted) and isinstance(ended, TurnEnded)
    assert 0.95 <= started.at <= 1.3  # speech begins at 1.0 s
    assert ended.decided_at - ended.speech_ended_at == pytest.approx(hangover_ms / 1000, abs=0.03)
    assert not ended.cut_off
    # The pause was announced 200 ms after the same last word, with the words so far.
    assert isinstance(paused, SpeechPaused)
    assert paused.speech_ended_at == ended.speech_ended_at
    assert paused.at - paused.speech_ended_at == pytest.approx(0.2, abs=0.03)
    assert np.array_equal(paused.audio, ended.audio[:len(paused.audio)])
    # The utterance keeps the first syllable (pre-roll) and drops most of the pause.
    words = len(speech.pcm("I lost my card.").nonzero()[0])
    assert len(ended.audio) >= 0.8 * words
    assert len(ended.audio) <= len(pcm) - 1.5 * CALL_RATE


def test_a_pause_shorter_than_the_hangover_is_announced_then_withdrawn(speech: Speech) -> None:
    first, second = (trim_silence(speech.pcm(t), FRAME) for t in ("I lost my card.",
                                                                   "Please block it."))
    gap = np.zeros(int(0.4 * CALL_RATE), np.int16)
    pcm = np.concatenate([first, gap, second, np.zeros(CALL_RATE, np.int16)])
    detector = EndOfTurnDetector(WebRtcVad(2), CALL_RATE, TurnConfig(hangover_ms=600))
    kinds = [type(e) for _, e in feed(detector, pcm)]
    assert kinds[0] is SpeechStarted and kinds[-2:] == [SpeechPaused, TurnEnded]
    assert kinds.count(TurnEnded) == 1  # the 400 ms gap did not end the turn
    assert SpeechResumed in kinds
    for i, kind in enumerate(kinds):  # every resumption follows an announced pause
        if kind is SpeechResumed:
            assert kinds[i - 1] is SpeechPaused


def test_a_paused_turn_can_be_ended_before_the_hangover(speech: Speech) -> None:
    pcm = padded(speech, "I lost my card.", 0.5, 2.0)
    detector = EndOfTurnDetector(WebRtcVad(2), CALL_RATE, TurnConfig(hangover_ms=600))
    with pytest.raises(RuntimeError, match="open, paused turn"):
        detector.end_now(0.0)
    chunks = list(frames(pcm, FRAME))
    for i, frame in enumerate(chunks):
        event = detector.push((i + 1) * 0.02, frame)
        if isinstance(event, SpeechPaused):
            break
    assert isinstance(event, SpeechPaused) and detector.paused_since == event.speech_ended_at
    ended = detector.end_now(event.at + 0.1)
    assert ended.speech_ended_at == event.speech_ended_at and ended.decided_at == event.at + 0.1
    assert np.array_equal(ended.audio[:len(event.audio)], event.audio)
    assert detector.paused_since is None and not detector.in_speech
    # The rest of the silence starts nothing and ends nothing a second time.
    later = [detector.push(1.0 + j * 0.02, f) for j, f in enumerate(chunks[i + 1:])]
    assert not any(later)


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
