"""Control messages: what is accepted, and the clear reason for whatever is not."""

from __future__ import annotations

import json

import pytest

from voicebot.supervision import ACTIONS, Control, ControlError, parse_control

TOPIC = "hotline/main/calls/in-3/control/alice"


def message(**fields: object) -> bytes:
    return json.dumps({"schema": 1, **fields}).encode()


def test_the_topic_names_the_call_and_the_supervisor() -> None:
    assert parse_control(TOPIC, message(action="barge", request_id="r1")) == Control(
        "in-3", "alice", "barge", "r1")
    assert parse_control(TOPIC, message(action="release")).request_id is None
    assert set(ACTIONS) == {"listen", "whisper", "barge", "takeover", "release"}


@pytest.mark.parametrize(("topic", "payload", "error"), [
    (TOPIC, b"{not json", "not JSON"),
    (TOPIC, b"\xff\xfe", "not JSON"),
    (TOPIC, b"[1, 2]", "JSON object"),
    (TOPIC, json.dumps({"action": "barge"}).encode(), "schema"),
    (TOPIC, message(action="barge", schema=2), "schema"),
    (TOPIC, message(action="hangup"), "unknown action 'hangup'"),
    (TOPIC, message(), "unknown action None"),
    (TOPIC, message(action="listen", request_id=7), "request_id"),
    (TOPIC, message(action="listen", request_id="x" * 65), "request_id"),
    ("hotline/main/calls/in-3/events", message(action="listen"), "not a control topic"),
    ("hotline/main/calls/in-3/control", message(action="listen"), "not a control topic"),
])
def test_malformed_control_is_refused_with_the_reason(topic: str, payload: bytes,
                                                      error: str) -> None:
    with pytest.raises(ControlError, match=error.replace("(", r"\(")):
        parse_control(topic, payload)
