"""The dashboard's call board: state from events, malformed input, duplicates, retention and
the bounded subscriber queues."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from dashboard_helpers import FakeClock, lost_card_call

from voicebot.call_events import envelope
from voicebot.dashboard.board import CallBoard, Update


def event(kind: str, seq: int, data: dict[str, Any], call_id: str | None = "in-1",
          ) -> dict[str, Any]:
    return envelope(kind, "main", call_id, seq, data)


def test_a_call_is_built_from_the_bots_events() -> None:
    board = CallBoard()
    events = lost_card_call(board)
    events.supervision("alice", "listen")

    [row] = board.snapshot()
    assert row["call_id"] == "in-1"
    assert row["caller"] == "sip:***1234@10.0.0.7"
    assert row["started_at"] == 1_763_920_000.0
    assert (row["intent"], row["confidence"]) == ("card_lost", 0.93)
    assert (row["emotion"], row["emotion_score"]) == ("neutral", 0.1)
    assert row["latency_ms"] == 412.0
    assert row["supervision"] == [{"supervisor": "alice", "mode": "listen"}]
    assert row["ended"] is False
    assert "transcript" not in row

    call = board.call("in-1")
    assert call is not None
    assert [(t["speaker"], t["text"]) for t in call["transcript"]] == [
        ("caller", "I lost my card"), ("bot", "I can block your card right away. Shall I?")]
    assert board.call("in-9") is None
    assert board.applied == 7 and board.malformed == 0 and board.duplicates == 0


def test_supervision_changes_and_ends() -> None:
    board = CallBoard()
    events = lost_card_call(board)
    events.supervision("alice", "listen")
    events.supervision("bob", "whisper")
    events.supervision("alice", "barge")
    events.utterance("supervisor", "Hello, this is Alice from the card team.", "alice")
    assert board.snapshot()[0]["supervision"] == [{"supervisor": "alice", "mode": "barge"},
                                                  {"supervisor": "bob", "mode": "whisper"}]
    events.supervision("alice", "ended")
    assert board.snapshot()[0]["supervision"] == [{"supervisor": "bob", "mode": "whisper"}]
    call = board.call("in-1")
    assert call is not None
    assert call["transcript"][-1]["supervisor"] == "alice"


def test_malformed_envelopes_are_counted_and_never_raise() -> None:
    board = CallBoard()
    lost_card_call(board)
    before = board.call("in-1")
    good = event("utterance", 50, {"speaker": "caller", "text": "hello", "supervisor": None})
    bad: list[Any] = [None, 3, "text", [good], {}]
    for key in good:
        bad.append({k: v for k, v in good.items() if k != key})
        bad += [{**good, key: junk} for junk in (None, True, math.nan, [], {})]
    for key in ("speaker", "text"):
        bad.append({**good, "data": {k: v for k, v in good["data"].items() if k != key}})
    bad += [
        {**good, "schema": 2},
        {**good, "type": "shutdown"},
        {**good, "call_id": ""},
        {**good, "seq": -1},
        {**good, "seq": "51"},
        {**good, "at": "now"},
        {**good, "at": math.inf},
        {**good, "data": {**good["data"], "speaker": "robot"}},
        {**good, "data": {**good["data"], "supervisor": 7}},
        event("supervision", 51, {"supervisor": "alice", "mode": "dance"}),
        event("latency", 52, {"turn": 1, "total_ms": "fast"}),
        event("emotion", 53, {"turn": 1, "label": "angry", "score": math.nan}),
        event("understanding", 54, {"turn": 1, "intent": None, "confidence": 0.5}),
        event("call_started", 1, {"caller": "x", "started_at": 1.0}, call_id=None),
        event("call_ended", 55, {"reason": "x", "duration_s": "long"}),
    ]
    for envelope_ in bad:
        assert board.apply(envelope_) is False, envelope_
    assert board.malformed == len(bad)
    assert board.call("in-1") == before
    assert len(board.snapshot()) == 1


def test_redelivered_and_stale_events_are_ignored() -> None:
    board = CallBoard()
    lost_card_call(board)
    first_utterance = event("utterance", 2, {"speaker": "caller", "text": "I lost my card",
                                             "supervisor": None})
    assert board.apply(first_utterance) is False
    newer = event("utterance", 7, {"speaker": "caller", "text": "Yes please", "supervisor": None})
    assert board.apply(newer) is True
    assert board.apply(dict(newer)) is False
    assert board.apply(event("emotion", 6, {"turn": 2, "label": "angry", "score": 0.9})) is False
    assert board.duplicates == 3
    call = board.call("in-1")
    assert call is not None
    assert [t["text"] for t in call["transcript"]] == [
        "I lost my card", "I can block your card right away. Shall I?", "Yes please"]
    assert call["emotion"] == "neutral"


def test_a_call_first_seen_mid_way_is_shown_from_then_on() -> None:
    board = CallBoard()
    assert board.apply(event("utterance", 12, {"speaker": "bot", "text": "Anything else?",
                                               "supervisor": None}))
    [row] = board.snapshot()
    assert row["call_id"] == "in-1" and row["caller"] == ""
    assert row["started_at"] > 0


def test_ended_calls_stay_for_the_retention_then_leave() -> None:
    clock = FakeClock()
    board = CallBoard(retention_s=60, clock=clock)
    events = lost_card_call(board)
    events.supervision("alice", "takeover")
    events.call_ended("caller hung up", 42.04, 1)
    [row] = board.snapshot()
    assert row["ended"] is True and row["ended_reason"] == "caller hung up"
    assert row["duration_s"] == 42.0 and row["supervision"] == []
    assert board.is_live("in-1") is False

    with board.subscribe() as subscription:
        clock.advance(59)
        assert board.prune() == []
        clock.advance(1)
        assert board.snapshot() == []
        assert board.call("in-1") is None and board.is_live("in-1") is None
        update = asyncio.run(subscription.get())
    assert update == Update("removed", {"call_id": "in-1"})


def test_a_call_not_heard_of_for_long_leaves() -> None:
    clock = FakeClock()
    board = CallBoard(stale_after_s=3600, clock=clock)
    events = lost_card_call(board)  # its end will be lost (say, in a broker outage)
    clock.advance(3000)
    events.utterance("caller", "Still there?")
    clock.advance(3599)
    assert [row["call_id"] for row in board.snapshot()] == ["in-1"]
    clock.advance(1)
    assert board.snapshot() == []


def test_a_recycled_call_id_starts_a_new_call() -> None:
    board = CallBoard()
    old = lost_card_call(board, started_at=1_763_920_000.0)
    old.call_ended("caller hung up", 10, 1)
    # The bot restarted: its call ids and sequence numbers start again.
    lost_card_call(board, started_at=1_763_930_000.0)
    [row] = board.snapshot()
    assert row["ended"] is False and row["started_at"] == 1_763_930_000.0
    call = board.call("in-1")
    assert call is not None and len(call["transcript"]) == 2


def test_control_rejections() -> None:
    board = CallBoard()
    lost_card_call(board).control_rejected("alice", "barge", "alice has no SIP address", "r1")
    call = board.call("in-1")
    assert call is not None
    assert call["rejections"][0]["error"] == "alice has no SIP address"
    assert call["rejections"][0]["request_id"] == "r1"

    # From the errors topic, numbered apart from the calls' events: about a call the bot does
    # not know (not put on the board), or one the dashboard still shows.
    with board.subscribe() as subscription:
        rejected = event("control_rejected", 1, {"supervisor": "bob", "action": "listen",
                                                 "error": "no such call", "request_id": "r2"},
                         call_id="in-77")
        assert board.apply(rejected, numbered=False) is True
        assert board.apply(event("control_rejected", 2, {
            "supervisor": None, "action": None, "error": "not JSON", "request_id": None},
            call_id=None), numbered=False) is True
        assert board.apply(event("control_rejected", 3, {
            "supervisor": "bob", "action": "barge", "error": "no such call",
            "request_id": "r3"}), numbered=False) is True
        first = asyncio.run(subscription.get())
    assert first == Update("event", {"event": rejected, "call": None})
    assert [row["call_id"] for row in board.snapshot()] == ["in-1"]
    call = board.call("in-1")
    assert call is not None and [r["request_id"] for r in call["rejections"]] == ["r1", "r3"]
    assert call["last_seq"] == 7


def test_subscribers_get_every_update_and_a_slow_one_is_cut_off() -> None:
    async def scenario() -> None:
        board = CallBoard()
        fast = board.subscribe(limit=100)
        slow = board.subscribe(limit=3)
        events = lost_card_call(board)  # 6 events
        assert slow.overflowed and slow.closed
        assert await slow.get() is None
        assert board.subscribers == 1
        received = [await fast.get() for _ in range(6)]
        assert [u.data["event"]["type"] for u in received if u] == [
            "call_started", "utterance", "understanding", "emotion", "latency", "utterance"]
        last = received[-1]
        assert last is not None and last.data["call"]["latency_ms"] == 412.0
        events.utterance("caller", "Yes")
        update = await asyncio.wait_for(fast.get(), 5)
        assert update is not None and update.data["event"]["data"]["text"] == "Yes"
        board.close_subscriptions()
        assert await fast.get() is None
        assert board.subscribers == 0

    asyncio.run(scenario())


def test_transcripts_are_bounded() -> None:
    board = CallBoard(transcript_limit=5)
    events = lost_card_call(board)
    for n in range(20):
        events.utterance("caller", f"line {n}")
    call = board.call("in-1")
    assert call is not None
    assert [t["text"] for t in call["transcript"]] == [f"line {n}" for n in range(15, 20)]
