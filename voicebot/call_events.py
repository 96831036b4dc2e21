"""What a call tells the outside world while it happens: JSON events on MQTT.

Every text leaves the call redacted (card, account and phone numbers masked). Events of one
call carry a sequence number, so a dashboard can drop the duplicates QoS 1 may redeliver and
see a gap when the bot's buffer overflowed during a broker outage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from voicebot.redaction import redact

SCHEMA_VERSION = 1


class EventSink(Protocol):
    """Where events go (the MQTT publisher); must never block or raise."""

    def publish(self, topic: str, payload: dict[str, Any], qos: int = 1) -> None: ...


class NoEvents:
    """The sink when events are switched off (``mqtt = "off"``)."""

    def publish(self, topic: str, payload: dict[str, Any], qos: int = 1) -> None:
        return None


def events_topic(site: str, call_id: str) -> str:
    return f"hotline/{site}/calls/{call_id}/events"


def control_topic(site: str, call_id: str = "+", supervisor: str = "+") -> str:
    """Where supervisors send control; the last level names the sender, which the broker's ACL
    enforces, so the bot knows who asked."""
    return f"hotline/{site}/calls/{call_id}/control/{supervisor}"


def errors_topic(site: str) -> str:
    return f"hotline/{site}/errors"


def redacted(value: Any) -> Any:
    """``value`` with every string in it redacted, however deeply nested."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


class CallEvents:
    """The events of one call, numbered in the order they happen."""

    def __init__(self, sink: EventSink, site: str, call_id: str) -> None:
        self.sink = sink
        self.site = site
        self.call_id = call_id
        self._seq = 0

    def emit(self, kind: str, data: Mapping[str, Any]) -> None:
        self._seq += 1
        self.sink.publish(events_topic(self.site, self.call_id),
                          envelope(kind, self.site, self.call_id, self._seq, data))

    def call_started(self, caller: str, started_at: float) -> None:
        self.emit("call_started", {"caller": caller, "started_at": started_at})

    def utterance(self, speaker: str, text: str, supervisor: str | None = None) -> None:
        self.emit("utterance", {"speaker": speaker, "text": text, "supervisor": supervisor})

    def understanding(self, turn: int, intent: str, confidence: float, language: str,
                      slots: Mapping[str, str]) -> None:
        self.emit("understanding", {"turn": turn, "intent": intent, "confidence": confidence,
                                    "language": language, "slots": dict(slots)})

    def emotion(self, turn: int, label: str, score: float) -> None:
        self.emit("emotion", {"turn": turn, "label": label, "score": score})

    def latency(self, turn: int, stages_ms: Mapping[str, float | None]) -> None:
        self.emit("latency", {"turn": turn, "total_ms": stages_ms.get("total"),
                              "stages_ms": dict(stages_ms)})

    def handoff(self, reason: str, package: Mapping[str, Any]) -> None:
        self.emit("handoff", {"reason": reason, "package": dict(package)})

    def supervision(self, supervisor: str, mode: str) -> None:
        self.emit("supervision", {"supervisor": supervisor, "mode": mode})

    def control_rejected(self, supervisor: str | None, action: str | None, error: str,
                         request_id: str | None) -> None:
        self.emit("control_rejected", rejection(supervisor, action, error, request_id))

    def call_ended(self, reason: str, duration_s: float, turns: int) -> None:
        self.emit("call_ended", {"reason": reason, "duration_s": round(duration_s, 1),
                                 "turns": turns})


def envelope(kind: str, site: str, call_id: str | None, seq: int,
             data: Mapping[str, Any]) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "type": kind, "site": site, "call_id": call_id,
            "seq": seq, "at": round(time.time(), 3), "data": redacted(data)}


def rejection(supervisor: str | None, action: str | None, error: str,
              request_id: str | None) -> dict[str, Any]:
    return {"supervisor": supervisor, "action": action, "error": error,
            "request_id": request_id}
