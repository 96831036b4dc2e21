"""Caller emotion: the bilingual lexicon, arousal against the caller's baseline, the tracker."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from audio_models.pcm import read_wav
from audio_models.prosody import Prosody, measure_prosody
from voicebot.understanding.emotion import (
    FRUSTRATED_THRESHOLD,
    REFERENCE_VOICE,
    EmotionLabel,
    EmotionTracker,
    Voice,
    arousal,
    label_for,
    text_score,
    voice_of,
)

NEUTRAL: list[tuple[str, str]] = [
    ("I lost my card yesterday, can you block it?", "en"),
    ("What's my account balance?", "en"),
    ("No problem, thanks.", "en"),
    ("I'm not angry, I just want my balance.", "en"),
    ("I'm not frustrated, thanks for your help.", "en"),
    ("Thank you so much, that was really helpful!!", "en"),
    ("I'd like to report a scam call I got this morning.", "en"),
    ("Can I talk to a real person please?", "en"),
    ("The issue is that my card doesn't work.", "en"),
    ("So I wanted to ask about my insurance policy.", "en"),
    ("我的卡丢了, 帮我冻结一下。", "zh"),
    ("我想查一下余额。", "zh"),
    ("好的, 谢谢, 没问题。", "zh"),
    ("我不是生气, 我只是想查余额。", "zh"),
    ("我收到一条垃圾短信, 想问问是不是诈骗。", "zh"),
    ("这张卡我还没用过。", "zh"),
    ("你们在搞什么活动?", "zh"),
    ("非常感谢, 你们很专业。", "zh"),
]
FRUSTRATED: list[tuple[str, str]] = [
    ("This is ridiculous.", "en"),
    ("I've been waiting forever for someone to pick up.", "en"),
    ("I'm not happy with how this was handled.", "en"),
    ("Honestly I'm fed up with this bank.", "en"),
    ("This is the third time I'm calling about the same problem.", "en"),
    ("Your app is useless.", "en"),
    ("That's not fair, you charged me twice.", "en"),
    ("That isn't helpful at all.", "en"),
    ("I'm really frustrated that nobody called me back.", "en"),
    ("This is absolutely unacceptable!!", "en"),
    ("What the hell is going on with my account?", "en"),
    ("How many times do I have to explain this?", "en"),
    ("我对这个处理不太满意。", "zh"),
    ("等了半天也没人接。", "zh"),
    ("这已经是第三次了。", "zh"),
    ("你们的服务太差了。", "zh"),
    ("你们这个APP太离谱了。", "zh"),
    ("我很失望。", "zh"),
]
ANGRY: list[tuple[str, str]] = [
    ("I'm furious, you people stole my money.", "en"),
    ("This is a scam and I'm going to sue you.", "en"),
    ("I'm so sick of this, it's fucking useless.", "en"),
    ("I'm calling my lawyer, this is disgusting.", "en"),
    ("Damn it, this is the third time, absolutely ridiculous!!", "en"),
    ("What the hell, this is absolutely unacceptable!!", "en"),
    ("I'm really angry, this is outrageous.", "en"),
    ("This is bullshit, I'm fed up.", "en"),
    ("真的无语, 这个app没用。", "zh"),
    ("气死我了!!", "zh"),
    ("什么破服务, 我要投诉你们!", "zh"),
    ("你们就是骗子, 我要找律师起诉你们。", "zh"),
    ("我真的受不了了, 你们到底在搞什么?", "zh"),
    ("他妈的, 又扣我钱。", "zh"),
    ("太过分了, 我真的受不了你们了。", "zh"),
]
LABELLED = ([(*s, "neutral") for s in NEUTRAL] + [(*s, "frustrated") for s in FRUSTRATED]
            + [(*s, "angry") for s in ANGRY])

BORDERLINE = "I want to make a complaint."  # a cue, but not enough on its own


def voice(rms_db: float = -24.0, pitch_hz: float = 120.0, pitch_range: float = 4.0,
          rate: float = 4.5) -> Prosody:
    return Prosody(rms_db=rms_db, energy_range_db=20.0, pitch_hz=pitch_hz,
                   pitch_range_semitones=pitch_range, voiced_ratio=0.6, speaking_rate=rate,
                   duration_s=3.0)


def cues(prosody: Prosody) -> Voice:
    found = voice_of(prosody)
    assert found is not None
    return found


CALM = voice()
AGITATED = voice(rms_db=-14.0, pitch_hz=170.0, pitch_range=9.0, rate=6.5)
SILENT = Prosody(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0)


def calm_caller() -> EmotionTracker:
    tracker = EmotionTracker()
    tracker.observe("Hello, I have a question about my card.", CALM, "en")
    tracker.observe("It's the one ending in four five six.", CALM, "en")
    return tracker


@pytest.mark.parametrize(("text", "language", "label"), LABELLED)
def test_labelled_sentences_from_text_alone(text: str, language: str,
                                            label: EmotionLabel) -> None:
    emotion = EmotionTracker().observe(text, None, language)
    assert emotion.label == label, f"{text!r}: score {emotion.score:.2f}"


def test_english_terms_match_whole_words_only() -> None:
    assert text_score("There is an issue with the crossing.", "en") == 0.0
    assert text_score("Suddenly the crossing was closed.", "en") == 0.0
    assert text_score("Your app's useless.", "en") > FRUSTRATED_THRESHOLD


def test_intensifiers_and_exclamations_amplify_only_real_cues() -> None:
    plain = text_score("This is ridiculous.", "en")
    assert text_score("This is really ridiculous.", "en") > plain
    assert text_score("This is ridiculous!!", "en") > plain
    assert text_score("你们的服务非常差劲, 太差了。", "zh") > text_score("太差了。", "zh")
    assert text_score("Really, thank you so much!!", "en") == 0.0


def test_full_width_punctuation_reads_like_ascii() -> None:
    full_width = "\uff0c\uff01\uff01"  # full-width comma and "!!", as Whisper writes Chinese
    assert text_score(f"什么破服务{full_width}", "zh") == text_score("什么破服务, !!", "zh")
    assert text_score("I\u2019m not happy", "en") == text_score("I'm not happy", "en") > 0


def test_language_codes_choose_the_lexicon() -> None:
    assert text_score("气死我了", "zh-CN") == text_score("气死我了", "zh") > 0.7
    assert text_score("气死我了", "en") == 0.0
    # Mandarin callers switch to English words; unknown codes read as English.
    assert text_score("这个app真的useless", "zh") > FRUSTRATED_THRESHOLD
    assert text_score("This is ridiculous.", "fr") == text_score("This is ridiculous.", "en")


def test_a_normal_first_turn_is_low_arousal_against_the_reference() -> None:
    emotion = EmotionTracker().observe("Hello.", CALM, "en")
    assert emotion.arousal is not None
    assert emotion.arousal < 0.1


def test_arousal_is_relative_to_the_callers_own_voice() -> None:
    quiet_low_voice = voice(rms_db=-32.0, pitch_hz=95.0, pitch_range=3.0, rate=4.0)
    tracker = EmotionTracker()
    tracker.observe("Hello.", quiet_low_voice, "en")
    tracker.observe("Yes, my card.", quiet_low_voice, "en")
    same_turn_for_them = tracker.observe("Why is it blocked?", CALM, "en").arousal
    assert same_turn_for_them is not None
    assert same_turn_for_them > 0.4  # CALM is 8 dB louder and 4 semitones higher than they are
    assert arousal(cues(CALM), tracker.baseline()) == same_turn_for_them


def test_arousal_grows_with_each_excited_cue_and_never_drops_below_zero() -> None:
    baseline = calm_caller().baseline()
    louder_and_louder = [CALM, voice(rms_db=-16.0), voice(rms_db=-16.0, pitch_hz=160.0),
            voice(rms_db=-16.0, pitch_hz=160.0, pitch_range=9.0),
            voice(rms_db=-16.0, pitch_hz=160.0, pitch_range=9.0, rate=6.5)]
    values = [arousal(cues(p), baseline) for p in louder_and_louder]
    assert values == sorted(values)
    assert values[0] == 0.0
    assert values[-1] > 0.8
    assert arousal(cues(voice(rms_db=-40.0, pitch_hz=90.0, rate=2.0)), baseline) == 0.0


def test_a_caller_shouting_from_the_start_is_not_their_own_calm() -> None:
    shouting = voice(rms_db=-10.0, pitch_hz=260.0, pitch_range=10.0, rate=7.0)
    tracker = EmotionTracker()
    tracker.observe("Block my card now!", shouting, "en")
    second = tracker.observe("Now!", shouting, "en").arousal
    assert second is not None
    assert second > 0.5


def test_arousal_raises_a_borderline_text_score_and_a_calm_voice_lowers_it() -> None:
    text_only = text_score(BORDERLINE, "en")
    assert 0.2 < text_only < FRUSTRATED_THRESHOLD
    agitated = calm_caller().observe(BORDERLINE, AGITATED, "en")
    calm = calm_caller().observe(BORDERLINE, CALM, "en")
    assert agitated.label == "frustrated"
    assert agitated.text_score == calm.text_score == text_only
    assert calm.label == "neutral"
    assert calm.score < text_only < agitated.score


def test_arousal_alone_never_makes_a_turn_frustrated() -> None:
    emotion = calm_caller().observe("Hello? Hello?", voice(rms_db=-6.0, pitch_hz=300.0,
                                                           pitch_range=14.0, rate=9.0), "en")
    assert emotion.arousal == 1.0
    assert emotion.label == "neutral"


def test_no_audio_or_no_speech_leaves_the_text_score_alone() -> None:
    for prosody in (None, SILENT):
        emotion = EmotionTracker().observe("This is ridiculous.", prosody, "en")
        assert emotion.arousal is None
        assert emotion.score == emotion.text_score


def test_silent_turns_do_not_become_the_baseline() -> None:
    tracker = EmotionTracker()
    tracker.observe("", SILENT, "en")
    assert tracker.baseline() == REFERENCE_VOICE


def turns(*texts: str) -> EmotionTracker:
    tracker = EmotionTracker()
    for text in texts:
        tracker.observe(text, None, "en")
    return tracker


ANGRY_TEXT = "I'm furious, this is a scam."
FED_UP = "I'm fed up."
FED_UP_REALLY = "I'm really fed up."
FED_UP_SO_REALLY = "I'm so really fed up!!"


@pytest.mark.parametrize(("texts", "sustained"), [
    ((ANGRY_TEXT,), False),
    ((ANGRY_TEXT, ANGRY_TEXT), True),
    (("Hello.", ANGRY_TEXT, ANGRY_TEXT), True),
    ((ANGRY_TEXT, "What's my balance?"), False),
    ((ANGRY_TEXT, "Thanks.", ANGRY_TEXT), False),
    ((FED_UP, FED_UP_REALLY, FED_UP_SO_REALLY), True),
    ((FED_UP, FED_UP, FED_UP), False),
    ((FED_UP_SO_REALLY, FED_UP_REALLY, FED_UP), False),
    (("Hello.", FED_UP_REALLY, FED_UP_SO_REALLY), False),
])
def test_sustained_anger(texts: tuple[str, ...], sustained: bool) -> None:
    assert turns(*texts).sustained_anger() is sustained


def test_rising_frustration_is_sustained_without_any_angry_turn() -> None:
    trajectory = turns(FED_UP, FED_UP_REALLY, FED_UP_SO_REALLY).trajectory
    assert [e.label for e in trajectory] == ["frustrated"] * 3


def test_trajectory_keeps_every_turn_in_order_and_is_a_copy() -> None:
    tracker = turns("Hello.", FED_UP, ANGRY_TEXT)
    trajectory = tracker.trajectory
    assert [e.label for e in trajectory] == ["neutral", "frustrated", "angry"]
    trajectory.clear()
    assert len(tracker.trajectory) == 3


def test_label_thresholds() -> None:
    assert [label_for(s) for s in (0.0, 0.34, 0.35, 0.69, 0.7, 1.0)] == [
        "neutral", "neutral", "frustrated", "frustrated", "angry", "angry"]


def test_espeak_speech_louder_higher_faster_reads_as_aroused(tmp_path: Path) -> None:
    def spoken(text: str, *options: str) -> Prosody:
        path = tmp_path / "turn.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", *options, "-w", str(path), text],
                       check=True)
        return measure_prosody(read_wav(path, 8000), 8000)

    tracker = EmotionTracker()
    first = tracker.observe("hello", spoken("Hello, I would like to check my balance."), "en")
    tracker.observe("yes", spoken("Yes, it is the account ending in four five six."), "en")
    question = "Why has nobody called me back about the missing payment yet."
    calm = tracker.observe(question, spoken(question), "en")
    excited = tracker.observe(question, spoken(question, "-a", "200", "-p", "85", "-s", "230"),
                              "en")
    assert first.arousal is not None
    assert calm.arousal is not None
    assert excited.arousal is not None
    assert first.arousal < 0.15
    assert calm.arousal < 0.2
    assert excited.arousal > 0.5
