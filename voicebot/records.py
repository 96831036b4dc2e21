"""What a call leaves behind: per-turn timings and a record of the whole call."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("voicebot.records")


def _ms(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round((end - start) * 1000, 1)


@dataclass
class TurnTimings:
    """Monotonic timestamps of one caller turn, from end of speech to first bot audio."""

    speech_ended: float
    turn_decided: float
    asr_done: float | None = None
    answer_ready: float | None = None
    first_audio_queued: float | None = None
    held_until: float | None = None  # a statement's answer waited for the caller to go on
    speculative: bool = False  # recognition started in the pause, before the turn was decided
    filler: bool = False  # the answer was slow: a filler was said first

    def stages_ms(self) -> dict[str, float | None]:
        """Time each stage adds after the turn is decided (work done earlier adds nothing)."""
        decided = self.turn_decided
        asr_end = None if self.asr_done is None else max(self.asr_done, decided)
        answer_end = None if self.answer_ready is None else max(self.answer_ready, decided)
        hold_end = answer_end if answer_end is None else max(answer_end, self.held_until or 0.0)
        return {
            "end_of_turn_wait": _ms(self.speech_ended, decided),
            "asr": _ms(decided, asr_end),
            "understanding": _ms(asr_end, answer_end),
            "statement_hold": _ms(answer_end, hold_end),
            "tts_first_audio": _ms(hold_end, self.first_audio_queued),
            "total": _ms(self.speech_ended, self.first_audio_queued),
        }


@dataclass
class TurnRecord:
    index: int
    transcript: str
    language: str
    intent: str
    confidence: float
    slots: dict[str, str]  # as the bot would say them back
    emotion: str
    emotion_score: float
    answer: str
    timings: TurnTimings
    interrupted: bool = False

    def to_dict(self) -> dict[str, object]:
        d = dataclasses.asdict(self)
        d["stages_ms"] = self.timings.stages_ms()
        return d


@dataclass
class CallRecord:
    call_id: str
    remote_uri: str
    started_at: float = field(default_factory=time.time)  # wall clock, for people
    ended_at: float | None = None
    end_reason: str = ""
    turns: list[TurnRecord] = field(default_factory=list)
    bot_utterances: list[str] = field(default_factory=list)
    barge_ins_ms: list[float] = field(default_factory=list)  # caller onset -> bot audio cut
    knowledge_version: str = ""
    actions: list[dict[str, object]] = field(default_factory=list)  # confirmed requests
    handoff: dict[str, object] | None = None  # the package a human agent reads

    def to_dict(self) -> dict[str, object]:
        d = dataclasses.asdict(self)
        d["turns"] = [t.to_dict() for t in self.turns]
        return d


def log_turn(call_id: str, turn: TurnRecord) -> None:
    """One structured line per turn, for log shippers and for people grepping."""
    log.info("turn %s", json.dumps({"call_id": call_id, **turn.to_dict()}, sort_keys=True))


def write_record(record: CallRecord, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(record.started_at))
    path = folder / f"{stamp}-{record.call_id}.json"
    tmp = path.with_suffix(".partial")
    tmp.write_text(json.dumps(record.to_dict(), indent=2))
    tmp.replace(path)
    return path
