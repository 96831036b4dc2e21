"""Call events: the envelope every consumer relies on, numbering, and redaction of whatever
text leaves the call."""

from __future__ import annotations

from typing import Any

from voicebot.call_events import (
    SCHEMA_VERSION,
    CallEvents,
    control_topic,
    errors_topic,
    events_topic,
)


class Collected:
    """An event sink that keeps what it is given (the MQTT publisher's interface)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], int]] = []

    def publish(self, topic: str, payload: dict[str, Any], qos: int = 1) -> None:
        self.messages.append((topic, payload, qos))


def test_events_are_numbered_per_call_on_the_calls_topic_at_qos_1() -> None:
    sink = Collected()
    first, second = CallEvents(sink, "main", "in-1"), CallEvents(sink, "main", "in-2")
    first.call_started("sip:caller@127.0.0.1", 1.0)
    second.call_started("sip:other@127.0.0.1", 2.0)
    first.utterance("bot", "Welcome.")
    first.call_ended("caller hung up", 12.34, 0)
    by_call = [(t, p["call_id"], p["seq"], p["type"], q) for t, p, q in sink.messages]
    assert by_call == [
        ("hotline/main/calls/in-1/events", "in-1", 1, "call_started", 1),
        ("hotline/main/calls/in-2/events", "in-2", 1, "call_started", 1),
        ("hotline/main/calls/in-1/events", "in-1", 2, "utterance", 1),
        ("hotline/main/calls/in-1/events", "in-1", 3, "call_ended", 1),
    ]
    ended = sink.messages[-1][1]
    assert ended["schema"] == SCHEMA_VERSION and ended["site"] == "main"
    assert ended["data"] == {"reason": "caller hung up", "duration_s": 12.3, "turns": 0}
    assert isinstance(ended["at"], float)


def test_every_text_leaving_the_call_is_redacted_however_deep() -> None:
    sink = Collected()
    events = CallEvents(sink, "main", "in-1")
    events.utterance("caller", "my card is 4111 1111 1111 1111, call me on 13812345678")
    events.understanding(1, "card_lost", 0.9, "en", {"account": "6222 0212 3456 7890"})
    events.handoff("angry", {"transcript": [{"speaker": "caller",
                                             "text": "four one one one one one one one"}]})
    texts = str([p["data"] for _, p, _ in sink.messages])
    assert "4111 1111" not in texts and "13812345678" not in texts
    assert "6222" not in texts and "four one one one" not in texts
    assert "[16 digits ending 1111]" in texts and "[11 digits ending 5678]" in texts
    assert "[8 digits ending 1111]" in texts
    # short numbers (amounts, the last four digits asked for) stay readable
    events.utterance("caller", "the last four are 4521 and it was 300 dollars")
    assert sink.messages[-1][1]["data"]["text"] == "the last four are 4521 and it was 300 dollars"


def test_topics() -> None:
    assert events_topic("hq", "in-7") == "hotline/hq/calls/in-7/events"
    assert control_topic("hq") == "hotline/hq/calls/+/control/+"
    assert control_topic("hq", "in-7", "alice") == "hotline/hq/calls/in-7/control/alice"
    assert errors_topic("hq") == "hotline/hq/errors"


def test_dates_in_slots_stay_readable() -> None:
    sink = Collected()
    CallEvents(sink, "main", "in-1").understanding(
        1, "card_lost", 0.9, "en", {"date": "2026-11-22", "when": "22.11.2026",
                                    "card": "4111-1111-1111-1111"})
    slots = sink.messages[-1][1]["data"]["slots"]
    assert slots == {"date": "2026-11-22", "when": "22.11.2026",
                     "card": "[16 digits ending 1111]"}
