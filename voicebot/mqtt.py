"""MQTT client side: a publisher that never blocks its caller, and a subscriber that never gives up.

Both reconnect by themselves with a capped exponential backoff and log one line per outage,
not one per attempt, so a broker that is down for an hour does not flood the log.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import aiomqtt

log = logging.getLogger("voicebot.mqtt")

# Supervisor names, sites and call ids are MQTT topic levels, and names are also mosquitto user
# names: no wildcards (+ #), separators (/), ':' (the password file) or upper case surprises.
TOPIC_LEVEL = re.compile(r"[a-z0-9_.-]{1,32}")
# Waiting for CONNACK, PUBACK, SUBACK. A connection the broker closes before CONNACK is only
# noticed when this runs out (aiomqtt waits for the CONNACK), so it must not be long.
_ACK_TIMEOUT_S = 5.0
_MAX_BACKOFF_S = 5.0
_CLOSE_FLUSH_S = 2.0
# Connect refusals that mean the credentials, not the network: MQTT 3.1.1 CONNACK 4 (bad user
# name or password) and 5 (not authorised), and their MQTT 5 reason codes 134 and 135.
_LOGIN_REFUSED = {4, 5, 134, 135}


def check_topic_level(value: str, what: str) -> str:
    if not TOPIC_LEVEL.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not usable: use 1 to 32 characters of a-z, 0-9, "
                         "'_', '.' and '-' (it is an MQTT topic level and a broker user name)")
    return value


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    client_id: str = ""  # empty: a random one per connection
    keepalive_s: int = 30
    reconnect_s: float = 1.0  # first retry delay; doubles per failure up to 5 s

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port} as {self.username or 'anonymous'}"


def _client(settings: MqttSettings) -> aiomqtt.Client:
    return aiomqtt.Client(settings.host, settings.port, username=settings.username or None,
                          password=settings.password or None,
                          identifier=settings.client_id or None,
                          keepalive=settings.keepalive_s, timeout=_ACK_TIMEOUT_S)


def _login_refused(exc: aiomqtt.MqttError) -> bool:
    if not isinstance(exc, aiomqtt.MqttCodeError):
        return False
    return getattr(exc.rc, "value", exc.rc) in _LOGIN_REFUSED


class _Link:
    """Reconnect pacing and logging for one connection: one log line per outage and cause."""

    def __init__(self, settings: MqttSettings, role: str) -> None:
        self._settings = settings
        self._role = role
        self._failures = 0
        self._reported = ""  # the cause already logged in this outage
        self.connected = False

    def up(self) -> None:
        again = " again" if self._reported else ""
        log.info("%s: connected to the MQTT broker at %s%s", self._role, self._settings.address,
                 again)
        self._failures = 0
        self._reported = ""
        self.connected = True

    def down(self, exc: aiomqtt.MqttError) -> float:
        """Log the failure if it is news and return how long to wait before the next attempt."""
        self.connected = False
        cause = "login" if _login_refused(exc) else "network"
        if cause != self._reported:
            self._reported = cause
            if cause == "login":
                log.error("%s: the MQTT broker at %s refused the login (%s): the user name or "
                          "password is wrong, or the broker's password file lacks the user; "
                          "retrying every %.0f s", self._role, self._settings.address, exc,
                          _MAX_BACKOFF_S)
            else:
                log.warning("%s: the MQTT broker at %s is unavailable (%s); retrying in the "
                            "background", self._role, self._settings.address, exc)
        base = self._settings.reconnect_s
        delay = min(base * 2.0 ** min(self._failures, 10), max(base, _MAX_BACKOFF_S))
        self._failures += 1
        return delay


class _Outgoing(NamedTuple):
    topic: str
    payload: bytes
    qos: int


async def _disconnection(client: aiomqtt.Client) -> None:
    # The publisher subscribes to nothing, so this only ends by raising MqttError once the
    # connection is lost: aiomqtt's public way to notice a dead connection while publishing.
    async for _ in client.messages:
        pass


class Publisher:
    """One per process: `publish` queues, a background task delivers in order, at least once.

    The queue is bounded: when full the oldest event goes (counted in `dropped`). A message
    whose publication was cut short stays first in line, so a broker restart loses nothing.
    Call `publish` on the event loop's thread or any other; it never blocks and never raises.
    """

    def __init__(self, settings: MqttSettings, buffer_limit: int = 10_000) -> None:
        if buffer_limit < 1:
            raise ValueError(f"buffer_limit must be at least 1, got {buffer_limit}")
        self._settings = settings
        self._limit = buffer_limit
        self._queue: collections.deque[_Outgoing] = collections.deque()
        self._link = _Link(settings, "event publisher")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._overflow_from: int | None = None  # `dropped` when the buffer overflowed
        self.dropped = 0
        self.published = 0

    @property
    def connected(self) -> bool:
        return self._link.connected

    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._task = asyncio.create_task(self._run(), name="mqtt-publisher")
        self._wake.set()

    async def close(self) -> None:
        if self._task is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _CLOSE_FLUSH_S
        while self._queue and self._link.connected and loop.time() < deadline:
            await asyncio.sleep(0.02)
        self._task.cancel()
        await asyncio.wait([self._task])  # a cancelled close() still propagates
        self._task = None
        self._link.connected = False
        if self._queue:
            log.warning("event publisher closed with %d events not delivered to the MQTT "
                        "broker at %s", len(self._queue), self._settings.address)

    def publish(self, topic: str, payload: dict[str, Any], qos: int = 1) -> None:
        try:
            data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            log.exception("event for %s is not JSON-serialisable; not published", topic)
            return
        message = _Outgoing(topic, data, qos)
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._enqueue(message)
        else:
            # The queue changes only on the loop's thread: _drain checks, then takes off.
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing would send it
                self._loop.call_soon_threadsafe(self._enqueue, message)

    def _enqueue(self, message: _Outgoing) -> None:
        if len(self._queue) >= self._limit:
            self._queue.popleft()
            self.dropped += 1
            if self._overflow_from is None:
                self._overflow_from = self.dropped - 1
                log.warning("event buffer full (%d events) while the MQTT broker at %s is not "
                            "taking them: dropping the oldest", self._limit,
                            self._settings.address)
        self._queue.append(message)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                await asyncio.sleep(self._link.down(exc))

    async def _session(self) -> None:
        async with _client(self._settings) as client:
            self._link.up()
            try:
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(_disconnection(client))
                    tasks.create_task(self._drain(client))
            except* aiomqtt.MqttError as failure:
                raise failure.exceptions[0] from None

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            while self._queue:
                message = self._queue[0]
                await client.publish(message.topic, message.payload, qos=message.qos)
                # Taken off only once the broker has it; it may have been dropped meanwhile.
                if self._queue and self._queue[0] is message:
                    self._queue.popleft()
                self.published += 1
            if self._overflow_from is not None:
                log.warning("event publisher caught up: %d events were dropped while the buffer "
                            "was full", self.dropped - self._overflow_from)
                self._overflow_from = None
            self._wake.clear()
            await self._wake.wait()


async def subscribe(settings: MqttSettings, topic_filter: str, qos: int = 1
                    ) -> AsyncIterator[tuple[str, bytes]]:
    """Yield (topic, payload) forever, reconnecting and subscribing again after each outage.

    Messages published while the connection is down are not seen (a clean session).
    """
    link = _Link(settings, f"subscription to {topic_filter}")
    while True:
        try:
            async with _client(settings) as client:
                # Mosquitto 2.0 grants any filter and applies its ACL per message instead.
                await client.subscribe(topic_filter, qos)
                link.up()
                async for message in client.messages:
                    payload = message.payload
                    yield message.topic.value, (payload if isinstance(payload, bytes)
                                                else str(payload).encode())
        except aiomqtt.MqttError as exc:
            await asyncio.sleep(link.down(exc))
