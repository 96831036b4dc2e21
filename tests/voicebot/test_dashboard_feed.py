"""The dashboard's MQTT feed against a real Mosquitto: call events and site errors reach the
board; payloads that are not JSON are skipped."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from mqtt_testing import SITE, login, raw_client, running_broker, until

from voicebot.call_events import CallEvents, envelope, errors_topic, events_topic
from voicebot.dashboard.board import CallBoard
from voicebot.dashboard.feed import feed_board


class Recorder:
    """An event sink keeping what the bot would publish."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: dict[str, Any], qos: int = 1) -> None:
        self.messages.append((topic, payload))


async def publish_until(client: aiomqtt.Client, topic: str, payload: dict[str, Any],
                        seen: Any) -> None:
    """Publishes until the board shows it: the feed's subscriptions are then live."""
    async def again() -> None:
        while not seen():
            await client.publish(topic, json.dumps(payload), qos=1)
            await asyncio.sleep(0.1)
    await asyncio.wait_for(again(), 20)


def test_the_feed_applies_events_and_errors_and_skips_bad_json(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "voicebot.dashboard.feed")

    async def scenario(port: int) -> None:
        board = CallBoard()
        feed = asyncio.create_task(feed_board(board, login("alice", port), SITE))
        try:
            async with raw_client("voicebot", port) as bot:
                probe = envelope("call_started", SITE, "probe-1", 1,
                                 {"caller": "probe", "started_at": 1.0})
                await publish_until(bot, events_topic(SITE, "probe-1"), probe,
                                    lambda: board.call("probe-1") is not None)
                rejection = envelope("control_rejected", SITE, "probe-1", 1, {
                    "supervisor": "alice", "action": "barge", "error": "no such call",
                    "request_id": "r1"})
                applied = board.applied
                # About a call on the board, with the errors topic's own numbering.
                await publish_until(bot, errors_topic(SITE), rejection,
                                    lambda: board.applied > applied)
                probe_call = board.call("probe-1")
                assert probe_call is not None and probe_call["rejections"][0]["request_id"] == "r1"

                await bot.publish(events_topic(SITE, "in-1"), b"{not json", qos=1)
                await bot.publish(events_topic(SITE, "in-1"), b"\xff\xfe", qos=1)
                recorder = Recorder()
                events = CallEvents(recorder, SITE, "in-1")  # the bot's own event builder
                events.call_started("sip:***1234@10.0.0.7", 1_763_920_000.0)
                events.utterance("caller", "I lost my card")
                events.understanding(1, "card_lost", 0.93, "en", {})
                redelivered = recorder.messages[1]
                for topic, payload in [*recorder.messages, redelivered]:
                    await bot.publish(topic, json.dumps(payload), qos=1)
                await until(lambda: board.duplicates == 1, what="the redelivery")
            call = board.call("in-1")
            assert call is not None and call["intent"] == "card_lost"
            assert [t["text"] for t in call["transcript"]] == ["I lost my card"]
            assert board.malformed == 0  # what was not JSON never reached the board
        finally:
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)

    with running_broker(tmp_path) as broker:
        asyncio.run(asyncio.wait_for(scenario(broker.port), 60))
    skipped = [r.getMessage() for r in caplog.records if "not JSON" in r.getMessage()]
    assert len(skipped) == 2 and all("hotline/main/calls/in-1/events" in m for m in skipped)
