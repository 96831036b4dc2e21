"""The live call board: what the dashboard shows, built from the calls' event envelopes.

Pure state, fed one envelope at a time (from MQTT, so anything may arrive: malformed
envelopes are counted and ignored, never raised). Browsers follow it through subscriptions
with bounded queues; all of it runs on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SPEAKERS = ("caller", "bot", "supervisor")
SUPERVISION_MODES = ("listen", "whisper", "barge", "takeover", "ended")

_NUMBER = "number"
_TEXT = "text"
_OPTIONAL_TEXT = "text or null"
_OPTIONAL_NUMBER = "number or null"
# The data fields the board reads, per event type; other fields are carried along unread.
_FIELDS: dict[str, dict[str, str]] = {
    "call_started": {"caller": _TEXT, "started_at": _NUMBER},
    "utterance": {"speaker": _TEXT, "text": _TEXT, "supervisor": _OPTIONAL_TEXT},
    "understanding": {"intent": _TEXT, "confidence": _NUMBER},
    "emotion": {"label": _TEXT, "score": _NUMBER},
    "latency": {"total_ms": _OPTIONAL_NUMBER},
    "handoff": {"reason": _TEXT},
    "supervision": {"supervisor": _TEXT, "mode": _TEXT},
    "control_rejected": {"supervisor": _OPTIONAL_TEXT, "action": _OPTIONAL_TEXT,
                         "error": _TEXT, "request_id": _OPTIONAL_TEXT},
    "call_ended": {"reason": _TEXT, "duration_s": _OPTIONAL_NUMBER},
}


def _is_number(value: Any) -> bool:
    # Non-finite floats would make JSON the browser cannot parse.
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _fits(value: Any, kind: str) -> bool:
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _NUMBER:
        return _is_number(value)
    if kind == _OPTIONAL_TEXT:
        return value is None or isinstance(value, str)
    return value is None or _is_number(value)


def envelope_problem(envelope: Any) -> str | None:
    """Why ``envelope`` cannot be applied, or None when it is well formed."""
    if not isinstance(envelope, dict):
        return "not an object"
    schema = envelope.get("schema")
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        return f"schema {schema!r} is not {SCHEMA_VERSION}"
    if not isinstance(envelope.get("site"), str):
        return "no site"
    kind = envelope.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        return f"unknown type {kind!r}"
    call_id = envelope.get("call_id")
    # A rejection on the errors topic may name no call (or one the bot does not know).
    if not (isinstance(call_id, str) and call_id) and not (
            kind == "control_rejected" and call_id is None):
        return "no call_id"
    seq = envelope.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return f"bad seq {seq!r}"
    if not _is_number(envelope.get("at")):
        return "bad at"
    data = envelope.get("data")
    if not isinstance(data, dict):
        return "data is not an object"
    for name, expected in _FIELDS[kind].items():
        optional = expected in (_OPTIONAL_TEXT, _OPTIONAL_NUMBER)
        if (name not in data and not optional) or not _fits(data.get(name), expected):
            return f"{kind}.{name} is not a {expected}"
    if kind == "utterance" and data["speaker"] not in SPEAKERS:
        return f"unknown speaker {data['speaker']!r}"
    if kind == "supervision" and data["mode"] not in SUPERVISION_MODES:
        return f"unknown supervision mode {data['mode']!r}"
    return None


@dataclass(frozen=True)
class TranscriptLine:
    seq: int
    speaker: str
    text: str
    at: float
    supervisor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "speaker": self.speaker, "text": self.text, "at": self.at,
                "supervisor": self.supervisor}


@dataclass
class LiveCall:
    call_id: str
    caller: str
    started_at: float
    transcript: deque[TranscriptLine]
    rejections: deque[dict[str, Any]]
    last_seq: int = 0
    intent: str | None = None
    confidence: float | None = None
    emotion: str | None = None
    emotion_score: float | None = None
    latency_ms: float | None = None
    supervisors: dict[str, str] = field(default_factory=dict)  # name -> mode
    handoff: str | None = None
    ended: bool = False
    ended_reason: str | None = None
    duration_s: float | None = None
    ended_clock: float | None = None  # the board's clock when it ended (for retention)
    heard_clock: float = 0.0  # the board's clock at its latest event

    def summary(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id, "caller": self.caller, "started_at": self.started_at,
            "intent": self.intent, "confidence": self.confidence,
            "emotion": self.emotion, "emotion_score": self.emotion_score,
            "latency_ms": self.latency_ms,
            "supervision": [{"supervisor": name, "mode": mode}
                            for name, mode in self.supervisors.items()],
            "handoff": self.handoff, "ended": self.ended, "ended_reason": self.ended_reason,
            "duration_s": self.duration_s, "last_seq": self.last_seq,
        }

    def detail(self) -> dict[str, Any]:
        return {**self.summary(),
                "transcript": [line.as_dict() for line in self.transcript],
                "rejections": list(self.rejections)}


@dataclass(frozen=True)
class Update:
    """One thing a browser should learn: ``event`` (an applied envelope and the call's summary
    after it) or ``removed`` (an ended call left the board)."""

    name: str
    data: dict[str, Any]


class Subscription:
    """One follower's queue of updates. It holds at most ``limit``; a follower that falls that
    far behind is cut off (``get`` returns None) and reloads the board, rather than letting
    memory grow."""

    def __init__(self, board: CallBoard, limit: int) -> None:
        self._board = board
        self._limit = limit
        # Unbounded only so that the end marker always fits; offer() bounds it.
        self._queue: asyncio.Queue[Update | None] = asyncio.Queue()
        self.closed = False
        self.overflowed = False

    def offer(self, update: Update) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self._limit:
            self.overflowed = True
            self.close()
            return
        self._queue.put_nowait(update)

    def close(self) -> None:
        """Ends the subscription: what is queued is dropped and ``get`` returns None."""
        if self.closed:
            return
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)
        self._board.unsubscribe(self)

    async def get(self) -> Update | None:
        """The next update; None once the subscription has ended."""
        if self.closed and self._queue.empty():
            return None
        return await self._queue.get()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


class CallBoard:
    """Live calls keyed by call id. Ended calls stay ``retention_s`` (so a supervisor sees how
    a call ended), then leave. A call not heard of for ``stale_after_s`` leaves too: its end
    may have been published while the feed was disconnected (MQTT does not keep it for us).
    Call from the event loop's thread only."""

    def __init__(self, retention_s: float = 60.0, stale_after_s: float = 3600.0,
                 transcript_limit: int = 1000, rejection_limit: int = 20,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.retention_s = retention_s
        self.stale_after_s = stale_after_s
        self.transcript_limit = transcript_limit
        self.rejection_limit = rejection_limit
        self._clock = clock
        self._calls: dict[str, LiveCall] = {}
        self._subscribers: set[Subscription] = set()
        self.applied = 0
        self.malformed = 0
        self.duplicates = 0

    def apply(self, envelope: Any, numbered: bool = True) -> bool:
        """Takes one event envelope into the board; False (and counted) when it was malformed,
        of an unknown type or a duplicate. ``numbered``: False for envelopes from the site's
        errors topic, whose seq counts the site's errors, not the call's events."""
        problem = envelope_problem(envelope)
        if problem is not None:
            self.malformed += 1
            # Bounded: a broken publisher must not flood the log.
            if self.malformed <= 10 or self.malformed % 1000 == 0:
                log.warning("ignored a malformed call event (%d so far): %s",
                            self.malformed, problem)
            return False
        kind: str = envelope["type"]
        data: dict[str, Any] = envelope["data"]
        seq: int = envelope["seq"]
        call = self._call_for(envelope)
        if call is not None and numbered:
            # One publisher per call topic and QoS 1: the broker keeps them in order, so an
            # event not newer than the last applied one is a redelivery.
            if seq <= call.last_seq:
                self.duplicates += 1
                return False
            call.last_seq = seq
        if call is not None:
            call.heard_clock = self._clock()
            self._change(call, kind, data, envelope["at"], seq)
        self.applied += 1
        self._publish(Update("event", {"event": envelope,
                                       "call": call.summary() if call else None}))
        return True

    def _call_for(self, envelope: dict[str, Any]) -> LiveCall | None:
        """The call an envelope belongs to, made when first seen. Call ids are unique only
        within one bot process, so a call_started whose start time differs from the board's
        is a new call under a recycled id."""
        call_id: str | None = envelope["call_id"]
        kind: str = envelope["type"]
        data: dict[str, Any] = envelope["data"]
        if call_id is None:
            return None
        call = self._calls.get(call_id)
        if kind == "call_started" and call is not None and call.started_at != data["started_at"]:
            call = None
        if call is None:
            if kind == "control_rejected":
                return None  # about a call the board never saw: only the browsers hear of it
            # The dashboard may start in the middle of a call: show it from the first event.
            started = kind == "call_started"
            call = LiveCall(call_id=call_id, caller=data["caller"] if started else "",
                            started_at=data["started_at"] if started else envelope["at"],
                            transcript=deque(maxlen=self.transcript_limit),
                            rejections=deque(maxlen=self.rejection_limit))
            self._calls[call_id] = call
        return call

    def _change(self, call: LiveCall, kind: str, data: dict[str, Any], at: float,
                seq: int) -> None:
        if kind == "utterance":
            call.transcript.append(TranscriptLine(seq, data["speaker"], data["text"], at,
                                                  data.get("supervisor")))
        elif kind == "understanding":
            call.intent, call.confidence = data["intent"], data["confidence"]
        elif kind == "emotion":
            call.emotion, call.emotion_score = data["label"], data["score"]
        elif kind == "latency":
            call.latency_ms = data["total_ms"]
        elif kind == "handoff":
            call.handoff = data["reason"]
        elif kind == "supervision":
            if data["mode"] == "ended":
                call.supervisors.pop(data["supervisor"], None)
            else:
                call.supervisors[data["supervisor"]] = data["mode"]
        elif kind == "control_rejected":
            call.rejections.append({**data, "at": at})
        elif kind == "call_ended":
            call.ended, call.ended_reason = True, data["reason"]
            call.duration_s = data.get("duration_s")
            call.supervisors.clear()
            call.ended_clock = self._clock()

    def prune(self) -> list[str]:
        """Drops the calls ended longer than ``retention_s`` ago and those not heard of for
        ``stale_after_s``; returns their ids."""
        now = self._clock()
        gone = [c.call_id for c in self._calls.values()
                if (c.ended_clock is not None and now - c.ended_clock >= self.retention_s)
                or now - c.heard_clock >= self.stale_after_s]
        for call_id in gone:
            del self._calls[call_id]
            self._publish(Update("removed", {"call_id": call_id}))
        return gone

    def snapshot(self) -> list[dict[str, Any]]:
        """Every call on the board, oldest first, without transcripts."""
        self.prune()
        return [c.summary() for c in sorted(self._calls.values(), key=lambda c: c.started_at)]

    def call(self, call_id: str) -> dict[str, Any] | None:
        """One call with its transcript and recent control rejections; None if not on the board."""
        self.prune()
        call = self._calls.get(call_id)
        return call.detail() if call is not None else None

    def is_live(self, call_id: str) -> bool | None:
        """True while the call goes on, False once ended, None when not on the board."""
        call = self._calls.get(call_id)
        return None if call is None else not call.ended

    def subscribe(self, limit: int = 256) -> Subscription:
        subscription = Subscription(self, limit)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def close_subscriptions(self) -> None:
        """Ends every subscription (at shutdown, so streams finish at once)."""
        for subscription in list(self._subscribers):
            subscription.close()

    def _publish(self, update: Update) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(update)
