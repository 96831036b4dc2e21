"""Shared by the dashboard tests: a clock to move by hand, a password check, and an event sink
that feeds a CallBoard through JSON the way MQTT does."""

from __future__ import annotations

import json
from typing import Any

from voicebot.call_events import CallEvents
from voicebot.dashboard.board import CallBoard


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Passwords:
    """A PasswordVerifier over a plain dict (the tests that need speed, not hashing)."""

    def __init__(self, **passwords: str) -> None:
        self.passwords = passwords

    def verify(self, name: str, password: str) -> str | None:
        return name if self.passwords.get(name) == password else None


class BoardSink:
    """The bot's event sink, delivering to a board as the MQTT feed would (via JSON)."""

    def __init__(self, board: CallBoard) -> None:
        self.board = board
        self.results: list[bool] = []

    def publish(self, topic: str, payload: dict[str, Any], qos: int = 1) -> None:
        self.results.append(self.board.apply(json.loads(json.dumps(payload))))


def lost_card_call(board: CallBoard, call_id: str = "in-1", started_at: float = 1_763_920_000.0,
                   ) -> CallEvents:
    """A call as the bot reports it: started, one caller turn understood, the bot's answer."""
    events = CallEvents(BoardSink(board), "main", call_id)
    events.call_started("sip:***1234@10.0.0.7", started_at)
    events.utterance("caller", "I lost my card")
    events.understanding(1, "card_lost", 0.93, "en", {})
    events.emotion(1, "neutral", 0.1)
    events.latency(1, {"asr": 180.0, "total": 412.0})
    events.utterance("bot", "I can block your card right away. Shall I?")
    return events
