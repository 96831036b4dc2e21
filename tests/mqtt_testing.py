"""Test helpers for the MQTT side: a real Mosquitto with known accounts, probes and a relay."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiomqtt
from conftest import LOOPBACK, free_port

from voicebot.broker import Broker, BrokerAccount, service_account
from voicebot.mqtt import MqttSettings, subscribe
from voicebot.supervisors import hash_password

SITE = "main"
# A topic every account may read (call events), so probes reach supervisors' subscriptions too.
PROBE_TOPIC = f"hotline/{SITE}/calls/probe/events"


@functools.cache
def passwords() -> dict[str, tuple[BrokerAccount, str]]:
    """name -> (account, password): the service account, alice and bob; hashed once (~0.5 s)."""
    service, secret = service_account()
    return {"voicebot": (service, secret),
            **{name: (BrokerAccount(name, hash_password(f"{name}-pw")), f"{name}-pw")
               for name in ("alice", "bob")}}


@contextlib.contextmanager
def running_broker(folder: Path) -> Iterator[Broker]:
    accounts = passwords()
    with Broker(folder, free_port(), SITE, accounts["voicebot"][0],
                [accounts["alice"][0], accounts["bob"][0]]) as broker:
        yield broker


def login(name: str, port: int, reconnect_s: float = 0.1) -> MqttSettings:
    return MqttSettings(port=port, username=name, password=passwords()[name][1],
                        reconnect_s=reconnect_s)


def raw_client(name: str | None, port: int, password: str | None = None) -> aiomqtt.Client:
    """A plain aiomqtt client; the account's own password unless one is given."""
    if name is not None and password is None:
        password = passwords()[name][1]
    return aiomqtt.Client(LOOPBACK, port, username=name, password=password, timeout=10)


async def until(condition: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(0.02)


class Collector:
    """Runs `subscribe` in a task and keeps what it yields."""

    def __init__(self, settings: MqttSettings, topic_filter: str) -> None:
        self.received: list[tuple[str, bytes]] = []
        self._task = asyncio.create_task(self._collect(settings, topic_filter))

    async def _collect(self, settings: MqttSettings, topic_filter: str) -> None:
        async for message in subscribe(settings, topic_filter):
            self.received.append(message)

    def payloads(self, topic_prefix: str = "") -> list[bytes]:
        return [p for t, p in self.received
                if t.startswith(topic_prefix) and t != PROBE_TOPIC]

    async def subscribed(self, port: int, timeout: float = 20) -> None:
        """Wait until the subscription is live: probes from the service account come through."""
        probes = sum(t == PROBE_TOPIC for t, _ in self.received)
        async with raw_client("voicebot", port) as client:
            deadline = time.monotonic() + timeout
            while sum(t == PROBE_TOPIC for t, _ in self.received) == probes:
                assert time.monotonic() < deadline, "the subscription did not come back"
                await client.publish(PROBE_TOPIC, b"probe", qos=1)
                await asyncio.sleep(0.1)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.wait([self._task])
        assert self._task.cancelled(), "subscribe ended otherwise than by cancellation"


@contextlib.asynccontextmanager
async def collecting(settings: MqttSettings, topic_filter: str) -> AsyncIterator[Collector]:
    collector = Collector(settings, topic_filter)
    try:
        yield collector
    finally:
        await collector.close()


class Relay:
    """A TCP relay to the broker that a test can hold shut (connections refused), to keep one
    client away from a restarted broker until the test lets it through."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, LOOPBACK, self.port)

    def hold(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
                     ) -> None:
        try:
            broker_r, broker_w = await asyncio.open_connection(LOOPBACK, self.target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, broker_w), _pipe(broker_r, client_w))


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()
