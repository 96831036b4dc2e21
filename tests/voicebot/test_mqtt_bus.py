"""Publisher and subscriber against a real Mosquitto: order at QoS 1, a broker restart, the
bounded buffer, a refused login."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port
from mqtt_testing import Relay, collecting, login, running_broker, until

from voicebot.broker import Broker
from voicebot.mqtt import MqttSettings, Publisher

EVENTS = "hotline/main/calls/in-1/events"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with running_broker(tmp_path) as running:
        yield running


def _event(seq: int) -> dict[str, object]:
    return {"schema": 1, "type": "utterance", "seq": seq, "data": {"text": "héllo"}}


def _seqs(payloads: list[bytes]) -> list[int]:
    return [json.loads(p)["seq"] for p in payloads]


def _messages(caplog: pytest.LogCaptureFixture, *words: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if all(w in r.getMessage() for w in words)]


def test_events_arrive_in_order_at_qos1_from_any_thread(broker: Broker) -> None:
    async def main() -> tuple[Publisher, list[bytes]]:
        async with collecting(login("voicebot", broker.port), "hotline/main/#") as events:
            await events.subscribed(broker.port)
            publisher = Publisher(login("voicebot", broker.port))
            await publisher.start()
            for seq in range(1, 101):
                publisher.publish(EVENTS, _event(seq))

            def from_another_thread() -> None:  # as pjsua2's thread might
                for seq in range(101, 201):
                    publisher.publish(EVENTS, _event(seq))

            await asyncio.to_thread(from_another_thread)
            await until(lambda: len(events.payloads(EVENTS)) >= 200, what="200 events")
            await publisher.close()
        return publisher, events.payloads(EVENTS)

    publisher, payloads = asyncio.run(main())
    assert _seqs(payloads) == list(range(1, 201))
    assert json.loads(payloads[0])["data"]["text"] == "héllo"
    assert (publisher.published, publisher.dropped, publisher.connected) == (200, 0, False)


def test_events_outlive_a_broker_restart_and_subscribe_resumes(
        broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="voicebot.mqtt")

    async def main() -> tuple[Publisher, list[bytes]]:
        # The publisher goes through a relay the test holds shut after the restart until the
        # subscriber is back: events delivered before it resubscribes would never reach it.
        relay = Relay(broker.port)
        await relay.open()
        publisher = Publisher(login("voicebot", relay.port))
        async with collecting(login("voicebot", broker.port), "hotline/main/#") as events:
            await events.subscribed(broker.port)
            await publisher.start()
            for seq in range(1, 6):
                publisher.publish(EVENTS, _event(seq))
            await until(lambda: len(events.payloads(EVENTS)) >= 5, what="events 1-5")
            # Blocking on purpose: the loop stands still, so event 6 goes out on a connection
            # that is already dead and must be sent again.
            broker.stop()
            relay.hold()
            for seq in range(6, 11):
                publisher.publish(EVENTS, _event(seq))
            await until(lambda: not publisher.connected, what="the publisher to notice")
            await asyncio.sleep(1.0)  # a few failed reconnection attempts
            broker.start()
            await events.subscribed(broker.port)  # resubscribed by itself
            await relay.open()
            await until(lambda: set(_seqs(events.payloads(EVENTS))) >= set(range(1, 11)),
                        what="events 6-10 after the restart")
            await publisher.close()
            relay.hold()
        return publisher, events.payloads(EVENTS)

    publisher, payloads = asyncio.run(main())
    # At least once: a redelivered event may come twice, but in order and none is missing.
    assert list(dict.fromkeys(_seqs(payloads))) == list(range(1, 11))
    assert publisher.dropped == 0
    # One log line per outage, however many attempts failed.
    assert len(_messages(caplog, "event publisher", "unavailable")) == 1
    assert len(_messages(caplog, "subscription to hotline/main/#", "unavailable")) == 1
    assert _messages(caplog, "event publisher", "connected", "again")


def test_a_full_buffer_drops_the_oldest_events(broker: Broker,
                                               caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[Publisher, list[bytes]]:
        relay = Relay(broker.port)  # shut until the subscriber listens
        publisher = Publisher(login("voicebot", relay.port), buffer_limit=5)
        await publisher.start()
        for seq in range(1, 13):
            publisher.publish(EVENTS, _event(seq))
        async with collecting(login("voicebot", broker.port), "hotline/main/#") as events:
            await events.subscribed(broker.port)
            await relay.open()
            await until(lambda: len(events.payloads(EVENTS)) >= 5, what="the 5 kept events")
            await publisher.close()
            relay.hold()
        return publisher, events.payloads(EVENTS)

    publisher, payloads = asyncio.run(main())
    assert _seqs(payloads) == [8, 9, 10, 11, 12]
    assert (publisher.dropped, publisher.published) == (7, 5)
    assert len(_messages(caplog, "event buffer full (5 events)")) == 1
    assert len(_messages(caplog, "7 events were dropped")) == 1


def test_publish_never_raises_and_close_does_not_wait_for_an_absent_broker(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[Publisher, float]:
        publisher = Publisher(MqttSettings(port=free_port(), reconnect_s=0.1))
        await publisher.start()
        publisher.publish(EVENTS, {"not json": object()})
        publisher.publish(EVENTS, _event(1))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await publisher.close()
        return publisher, time.monotonic() - started

    publisher, closing_s = asyncio.run(main())
    assert closing_s < 1.0  # nothing to flush into: no 2 s wait
    assert (publisher.published, publisher.connected) == (0, False)
    assert _messages(caplog, "not JSON-serialisable")
    assert _messages(caplog, "closed with 1 events not delivered")


def test_a_refused_login_is_logged_once_and_retried_with_backoff(
        broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    settings = dataclasses.replace(login("alice", broker.port, reconnect_s=0.5),
                                   password="wrong")

    async def main() -> Publisher:
        publisher = Publisher(settings)
        await publisher.start()
        publisher.publish(EVENTS, _event(1))
        await asyncio.sleep(2.5)
        await publisher.close()
        return publisher

    publisher = asyncio.run(main())
    refusals = _messages(caplog, "refused the login", "user name or password")
    assert [r.levelno for r in refusals] == [logging.ERROR]
    # Backoff 0.5, 1, 2 s: about 3 attempts in 2.5 s, where a tight loop would make dozens.
    attempts = broker.log_path.read_text().count("not authorised")
    assert 1 <= attempts <= 5
    assert (publisher.published, publisher.connected) == (0, False)
