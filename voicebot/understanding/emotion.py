"""How upset the caller is, turn by turn: a bilingual anger lexicon on the transcript, raised or
lowered by vocal arousal measured against the caller's own voice earlier in the call.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from audio_models.prosody import Prosody

EmotionLabel = Literal["neutral", "frustrated", "angry"]

# Score thresholds for the labels (combined score, 0..1).
FRUSTRATED_THRESHOLD = 0.35
ANGRY_THRESHOLD = 0.7

# Text evidence: each matched term is an independent cue with its weight (noisy-OR).
NEGATED_POSITIVE_WEIGHT = 0.4  # "not happy", "不满意"
AMPLIFIER_WEIGHT = 0.15  # per intensifier or repeated exclamation, only next to real evidence
MAX_AMPLIFIERS = 2

# Combination: score = text + AROUSAL_WEIGHT * (arousal - AROUSAL_PIVOT). A voice at the caller's
# baseline lowers the text score a little, an excited one raises it; ASR text stays the main
# signal, and arousal alone (at most AROUSAL_WEIGHT * (1 - AROUSAL_PIVOT) = 0.255) never
# reaches "frustrated".
AROUSAL_WEIGHT = 0.3
AROUSAL_PIVOT = 0.15

# Arousal: how far the turn is above the caller's baseline; each cue reaches 1 at these deltas.
BASELINE_TURNS = 2  # the caller's first turns with speech
LOUDNESS_FULL_DB = 10.0
PITCH_FULL_SEMITONES = 5.0
PITCH_RANGE_FULL_SEMITONES = 6.0
RATE_FULL_RATIO = 0.4  # 40 % faster than usual
LOUDNESS_SHARE, PITCH_SHARE, PITCH_RANGE_SHARE, RATE_SHARE = 0.35, 0.3, 0.15, 0.2


@dataclass(frozen=True)
class Voice:
    """The acoustic cues arousal is measured on: a turn's, or the caller's usual ones."""

    rms_db: float
    pitch_hz: float
    pitch_range_semitones: float
    speaking_rate: float


# A calm voice on the first turn, before the caller has a baseline. Deliberately high (loud,
# female-high pitch, brisk) so that any ordinary voice reads as low arousal. It also caps the
# caller's own baseline: a caller who starts out shouting must not become their own calm.
REFERENCE_VOICE = Voice(rms_db=-20.0, pitch_hz=220.0, pitch_range_semitones=8.0,
                        speaking_rate=5.5)


@dataclass(frozen=True)
class Emotion:
    label: EmotionLabel
    score: float  # combined, 0..1
    text_score: float  # from the transcript alone, 0..1
    arousal: float | None  # 0..1 relative to the caller's baseline; None without speech audio


@dataclass(frozen=True)
class Lexicon:
    """Anger and frustration cues of one language; extend by adding entries.

    ``terms`` map phrases to weights 0..1. A term right after a negator ("not angry",
    "不生气") is dropped, a positive right after one ("not happy", "不满意") counts as
    frustration. Negation may skip one of ``intensifiers`` or ``negation_gap`` ("not so happy",
    "不太满意"). ``benign`` phrases contain a term but are no complaint ("scam call" reports a
    fraud); they are removed first. English matches whole words; Chinese, without spaces,
    matches substrings.
    """

    terms: Mapping[str, float]
    positives: tuple[str, ...]
    negators: tuple[str, ...]
    negation_gap: tuple[str, ...]
    intensifiers: tuple[str, ...]
    benign: tuple[str, ...]
    whole_words: bool

    @cached_property
    def _term_pattern(self) -> re.Pattern[str]:
        return self._bounded(self._alternation(self.terms))

    @cached_property
    def _intensifier_pattern(self) -> re.Pattern[str]:
        return self._bounded(self._alternation(self.intensifiers))

    @cached_property
    def _benign_pattern(self) -> re.Pattern[str]:
        return self._bounded(self._alternation(self.benign))

    @cached_property
    def _negation_pattern(self) -> re.Pattern[str]:
        """A negator, maybe one softening word, then a positive or a term."""
        negator = self._alternation(self.negators)
        gap = self._alternation((*self.intensifiers, *self.negation_gap))
        positive = self._alternation(self.positives)
        target = rf"(?P<positive>{positive})|{self._alternation(self.terms)}"
        if self.whole_words:
            # "n't" negates as a suffix: "isn't helpful", "don't feel happy".
            return re.compile(rf"(?:(?<!\w)(?:{negator})|(?<=\w)n't)\s+(?:(?:{gap})\s+)?"
                              rf"(?:{target})(?!\w)", re.ASCII)
        return re.compile(rf"(?:{negator})(?:{gap})?(?:{target})")

    def _alternation(self, phrases: Iterable[str]) -> str:
        # Longest first, so "what the hell" wins over a shorter term inside it.
        ordered = sorted(phrases, key=len, reverse=True)
        if self.whole_words:
            return "|".join(r"\s+".join(map(re.escape, p.split())) for p in ordered)
        return "|".join(map(re.escape, ordered))

    def _bounded(self, pattern: str) -> re.Pattern[str]:
        if self.whole_words:
            # ASCII word edges: in "真的useless" the Chinese characters are no part of the word.
            return re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.ASCII)
        return re.compile(pattern)

    def evidence(self, text: str) -> list[float]:
        """Weights of the anger cues in ``text`` (lower case), amplifiers included."""
        text = self._benign_pattern.sub(" ", text)
        cues = [NEGATED_POSITIVE_WEIGHT for m in self._negation_pattern.finditer(text)
                if m.group("positive")]
        # Negated phrases are done with: "not angry" is no anger, "not so happy" no intensifier.
        text = self._negation_pattern.sub(" ", text)
        cues += [self.terms[self._key(m.group())] for m in self._term_pattern.finditer(text)]
        if not cues:
            return []
        # Intensifiers inside a term ("太差了") are part of that term's weight already.
        rest = self._term_pattern.sub(" ", text)
        amplifiers = len(self._intensifier_pattern.findall(rest)) + bool(_EXCLAMATIONS.search(text))
        return cues + [AMPLIFIER_WEIGHT] * min(amplifiers, MAX_AMPLIFIERS)

    def _key(self, matched: str) -> str:
        return " ".join(matched.split()) if self.whole_words else matched


_EXCLAMATIONS = re.compile(r"!{2,}|\?!|!\?")

ENGLISH = Lexicon(
    terms={
        # frustration
        "ridiculous": 0.45, "unacceptable": 0.5, "useless": 0.45, "pathetic": 0.5,
        "terrible": 0.4, "awful": 0.4, "annoyed": 0.4, "annoying": 0.4, "frustrated": 0.45,
        "frustrating": 0.45, "unhappy": 0.4, "dissatisfied": 0.45, "fed up": 0.5,
        "sick of": 0.45, "sick and tired": 0.55, "waste of time": 0.45, "how many times": 0.4,
        "third time": 0.4, "this is the third time": 0.45, "waiting forever": 0.45,
        "waited forever": 0.45, "this is a joke": 0.5, "complaint": 0.3, "incompetent": 0.55,
        # anger
        "angry": 0.55, "furious": 0.75, "outrageous": 0.55, "disgusting": 0.6,
        "disgraceful": 0.6, "scam": 0.4, "scams": 0.4, "scammers": 0.55, "this is a scam": 0.6,
        "rip off": 0.5, "rip-off": 0.5, "sue": 0.6, "suing": 0.6, "lawyer": 0.55,
        "lawyers": 0.55, "what the hell": 0.6, "bloody hell": 0.55, "pissed off": 0.6,
        # swearing
        "damn": 0.5, "dammit": 0.5, "crap": 0.5, "bloody": 0.45, "shit": 0.6,
        "bullshit": 0.65, "fuck": 0.75, "fucking": 0.75, "screw you": 0.75,
    },
    positives=("happy", "satisfied", "pleased", "helpful", "acceptable", "okay", "ok",
               "fair", "good enough", "impressed"),
    negators=("not", "never", "no", "hardly"),
    negation_gap=("that", "too", "even", "feel", "feeling", "being"),
    intensifiers=("so", "really", "absolutely", "totally", "completely", "very", "extremely",
                  "utterly"),
    benign=("scam call", "scam calls", "scam text", "scam message", "scam email",
            "report a scam", "reporting a scam"),
    whole_words=True,
)

CHINESE = Lexicon(
    terms={
        # frustration
        "太差了": 0.5, "没用": 0.45, "没有用": 0.45, "等了半天": 0.45, "第三次了": 0.45,
        "无语": 0.4, "失望": 0.4, "离谱": 0.45, "过分": 0.45, "投诉": 0.3, "忽悠": 0.45,
        "烦死了": 0.55,
        # anger
        "什么破服务": 0.6, "破服务": 0.55, "气死我了": 0.75, "投诉你们": 0.6, "搞什么": 0.5,
        "骗子": 0.55, "受不了": 0.5, "生气": 0.5, "愤怒": 0.6, "太过分了": 0.6, "垃圾": 0.55,
        "坑人": 0.55, "起诉": 0.6, "告你们": 0.6, "律师": 0.55,
        # swearing
        "他妈的": 0.75, "混蛋": 0.75, "见鬼": 0.55,
    },
    positives=("满意", "高兴", "开心", "靠谱", "专业"),
    negators=("不是", "没有", "并不", "不", "没"),
    negation_gap=("是很", "怎么", "那么"),
    intensifiers=("太", "非常", "真的", "特别", "简直", "实在", "根本", "到底", "很"),
    # Spam reports and "haven't used it yet" are not complaints.
    benign=("垃圾短信", "垃圾邮件", "垃圾电话", "骗子电话", "骗子短信", "没用过", "没用完",
            "还没用", "搞什么活动"),
    whole_words=False,
)

# Chinese transcripts often carry English words (code switching), so zh reads both.
LEXICONS: dict[str, tuple[Lexicon, ...]] = {"en": (ENGLISH,), "zh": (CHINESE, ENGLISH)}


def text_score(text: str, language: str) -> float:
    """Anger in a transcript, 0..1; ``language`` is Whisper's code (others read as English)."""
    lexicons = LEXICONS.get(re.split(r"[-_]", language.lower())[0], LEXICONS["en"])
    # NFKC folds full-width Chinese punctuation into ASCII; ASR writes both apostrophes.
    normal = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    cues = [w for lexicon in lexicons for w in lexicon.evidence(normal)]
    return float(1 - np.prod([1 - w for w in cues]))


def voice_of(prosody: Prosody) -> Voice | None:
    """The turn's arousal cues, or None when its audio held no speech."""
    if prosody.rms_db == 0.0 and prosody.voiced_ratio == 0.0:
        return None
    return Voice(prosody.rms_db, prosody.pitch_hz, prosody.pitch_range_semitones,
                 prosody.speaking_rate)


def arousal(voice: Voice, baseline: Voice) -> float:
    """0..1: how much louder, higher, wider-pitched and faster than ``baseline`` this is."""
    cues = [(LOUDNESS_SHARE, (voice.rms_db - baseline.rms_db) / LOUDNESS_FULL_DB),
            (RATE_SHARE, _ratio(voice.speaking_rate, baseline.speaking_rate) / RATE_FULL_RATIO)]
    if voice.pitch_hz > 0 and baseline.pitch_hz > 0:  # unvoiced turns have no pitch to compare
        cues += [(PITCH_SHARE, _semitones(voice.pitch_hz, baseline.pitch_hz)
                  / PITCH_FULL_SEMITONES),
                 (PITCH_RANGE_SHARE, (voice.pitch_range_semitones
                                      - baseline.pitch_range_semitones)
                  / PITCH_RANGE_FULL_SEMITONES)]
    total = sum(share * min(max(rise, 0.0), 1.0) for share, rise in cues)
    return total / sum(share for share, _ in cues)


def _ratio(value: float, usual: float) -> float:
    return value / usual - 1 if usual > 0 else 0.0


def _semitones(value: float, usual: float) -> float:
    return float(12 * np.log2(value / usual))


def _usual(values: list[float], reference: float) -> float:
    return min(float(np.mean(values)), reference) if values else reference


def label_for(score: float) -> EmotionLabel:
    if score >= ANGRY_THRESHOLD:
        return "angry"
    return "frustrated" if score >= FRUSTRATED_THRESHOLD else "neutral"


def combine(text: float, turn_arousal: float | None) -> float:
    if turn_arousal is None:
        return text
    return min(max(text + AROUSAL_WEIGHT * (turn_arousal - AROUSAL_PIVOT), 0.0), 1.0)


class EmotionTracker:
    """The emotion of each caller turn in one call, and whether anger has set in."""

    def __init__(self) -> None:
        self._trajectory: list[Emotion] = []
        self._baseline_voices: list[Voice] = []

    def observe(self, text: str, prosody: Prosody | None, language: str) -> Emotion:
        """Score one caller turn; ``prosody`` is None when the turn had no audio."""
        from_text = text_score(text, language)
        voice = voice_of(prosody) if prosody is not None else None
        turn_arousal = None if voice is None else arousal(voice, self.baseline())
        if voice is not None and len(self._baseline_voices) < BASELINE_TURNS:
            self._baseline_voices.append(voice)
        score = combine(from_text, turn_arousal)
        emotion = Emotion(label_for(score), score, from_text, turn_arousal)
        self._trajectory.append(emotion)
        return emotion

    def baseline(self) -> Voice:
        """The caller's usual voice: mean of their first turns, no more excited than
        REFERENCE_VOICE; REFERENCE_VOICE itself before they have spoken."""
        voices = self._baseline_voices
        # Pitch cues from voiced turns only: an unvoiced turn's 0 Hz would drag the mean down.
        voiced = [v for v in voices if v.pitch_hz > 0]
        return Voice(
            rms_db=_usual([v.rms_db for v in voices], REFERENCE_VOICE.rms_db),
            pitch_hz=_usual([v.pitch_hz for v in voiced], REFERENCE_VOICE.pitch_hz),
            pitch_range_semitones=_usual([v.pitch_range_semitones for v in voiced],
                                         REFERENCE_VOICE.pitch_range_semitones),
            speaking_rate=_usual([v.speaking_rate for v in voices],
                                 REFERENCE_VOICE.speaking_rate),
        )

    @property
    def trajectory(self) -> list[Emotion]:
        return list(self._trajectory)

    def sustained_anger(self) -> bool:
        """Angry on the last two turns, or frustrated-or-worse on the last three with the
        score rising each time."""
        last = self._trajectory[-3:]
        if len(last) >= 2 and all(e.label == "angry" for e in last[-2:]):
            return True
        return (len(last) == 3 and all(e.label != "neutral" for e in last)
                and last[0].score < last[1].score < last[2].score)
