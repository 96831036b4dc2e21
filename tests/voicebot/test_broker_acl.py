"""The loopback Mosquitto: logins, and what each account may write and read (its ACL)."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from mqtt_testing import collecting, login, passwords, raw_client, running_broker, until

from voicebot import broker as broker_module
from voicebot.broker import Broker, BrokerError

CALL = "hotline/main/calls/in-1"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker(tmp_path_factory.mktemp("broker")) as running:
        yield running


async def _publish(name: str, port: int, messages: list[tuple[str, bytes]]) -> None:
    async with raw_client(name, port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1)


def _received(who: str, publisher: str, port: int, messages: list[tuple[str, bytes]]
              ) -> list[tuple[str, bytes]]:
    """What `who`, subscribed to all of the site, gets of `messages` sent by `publisher`.

    The last message must get through: QoS 1 from one connection arrives in order, so once it
    is there, anything before it that the broker let through is there too.
    """
    async def main() -> list[tuple[str, bytes]]:
        async with collecting(login(who, port), "hotline/main/#") as collector:
            await collector.subscribed(port)
            await _publish(publisher, port, messages)
            await until(lambda: messages[-1][1] in collector.payloads(), what=str(messages[-1]))
            sent = {payload for _, payload in messages}
            return [(t, p) for t, p in collector.received if p in sent]

    return asyncio.run(main())


def test_alice_controls_calls_as_herself_only(broker: Broker) -> None:
    forged = [(f"{CALL}/control/bob", b"as bob"), (f"{CALL}/events", b"fake event"),
              ("hotline/main/errors", b"fake error"), ("hotline/main/other", b"other")]
    own = (f"{CALL}/control/alice", b'{"schema": 1, "action": "listen"}')
    assert _received("voicebot", "alice", broker.port, [*forged, own]) == [own]


def test_alice_reads_call_events_and_errors_only(broker: Broker) -> None:
    hidden = [(f"{CALL}/control/bob", b"bob's control"), (f"{CALL}/audit", b"audit"),
              ("hotline/main/status", b"status")]
    seen = [(f"{CALL}/events", b"event"), ("hotline/main/errors", b"error"),
            (f"{CALL}/events", b"last event")]
    assert _received("alice", "voicebot", broker.port, [*hidden, *seen]) == seen


@pytest.mark.parametrize(("name", "password"), [
    ("alice", "wrong"), ("bob", "alice-pw"), ("nobody", "x"), (None, None)])
def test_bad_logins_are_refused(broker: Broker, name: str | None, password: str | None) -> None:
    async def main() -> None:
        async with raw_client(name, broker.port, password or ""):
            pass

    with pytest.raises(aiomqtt.MqttCodeError) as refused:
        asyncio.run(main())
    assert "Not authorized" in str(refused.value)


def test_files_are_loopback_only_and_private(broker: Broker) -> None:
    config = (broker.folder / "mosquitto.conf").read_text().splitlines()
    for line in (f"listener {broker.port} 127.0.0.1", "allow_anonymous false",
                 "per_listener_settings false", "persistence false"):
        assert line in config
    passwords_file = broker.folder / "passwords"
    assert stat.S_IMODE(passwords_file.stat().st_mode) == 0o600
    assert [line.split(":")[0] for line in passwords_file.read_text().splitlines()] == [
        "voicebot", "alice", "bob"]
    assert all(line.split(":")[1].startswith("$7$")
               for line in passwords_file.read_text().splitlines())


def test_a_second_broker_on_a_taken_port_says_so(broker: Broker, tmp_path: Path) -> None:
    accounts = passwords()
    other = Broker(tmp_path, broker.port, "main", accounts["voicebot"][0], [])
    with pytest.raises(BrokerError, match="already in use"):
        other.start()


def test_a_missing_mosquitto_says_how_to_install_it(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_module, "MOSQUITTO", tmp_path / "mosquitto")
    with pytest.raises(BrokerError, match="install the Debian package mosquitto"):
        Broker(tmp_path, 1, "main", passwords()["voicebot"][0], []).start()


def test_account_names_must_be_unique_and_topic_safe(tmp_path: Path) -> None:
    service, alice = passwords()["voicebot"][0], passwords()["alice"][0]
    with pytest.raises(ValueError, match="alice is there twice"):
        Broker(tmp_path, 1, "main", alice, [alice])
    with pytest.raises(ValueError, match="site 'a/b' is not usable"):
        Broker(tmp_path, 1, "a/b", service, [])
    with pytest.raises(ValueError, match="not usable"):
        broker_module.BrokerAccount("Alice+", alice.password_hash)
    with pytest.raises(ValueError, match="not a mosquitto"):
        broker_module.BrokerAccount("carol", "plain")


def test_restart_listens_on_the_same_port(broker: Broker) -> None:
    broker.restart()
    assert broker.running
    asyncio.run(_publish("alice", broker.port, [(f"{CALL}/control/alice", b"after restart")]))
