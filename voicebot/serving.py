"""Everything `voicebot serve` runs, started in order and stopped in reverse: the MQTT broker
(when local), the event publisher, the supervisors' dashboard, supervisor control, and the
hotline itself. Without a broker the hotline still answers calls; it only goes unwatched."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from voicebot.broker import Broker, BrokerAccount, service_account
from voicebot.call_events import control_topic
from voicebot.config import ConfigError, HotlineConfig
from voicebot.dashboard.board import CallBoard
from voicebot.dashboard.feed import feed_board
from voicebot.dashboard.server import bound_port, create_app, start_dashboard
from voicebot.engines import Engines
from voicebot.hotline import Hotline
from voicebot.mqtt import MqttSettings, Publisher, subscribe
from voicebot.supervisors import SupervisorDirectory

log = logging.getLogger(__name__)


def load_supervisors(config: HotlineConfig) -> SupervisorDirectory:
    path = Path(config.supervisors_file) if config.supervisors_file else None
    if path is None or not path.exists():
        log.warning("no supervisors file %s: nobody can log in to the dashboard or step into "
                    "calls (add one with `voicebot supervisors add NAME --sip-uri URI`)",
                    path)
        return SupervisorDirectory()
    return SupervisorDirectory.load(path)


@contextlib.asynccontextmanager
async def mqtt_broker(config: HotlineConfig, supervisors: SupervisorDirectory
                      ) -> AsyncIterator[MqttSettings]:
    """Where the hotline's events go: its own loopback Mosquitto, or the site's broker."""
    if config.mqtt != "local":
        host, port = config.mqtt.rsplit(":", 1)
        yield MqttSettings(host=host, port=int(port), username=config.mqtt_username,
                           password=config.mqtt_password)
        return
    account, password = service_account(config.mqtt_username)
    accounts = [BrokerAccount(s.name, s.password_hash) for s in supervisors]
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="voicebot-broker-") as folder:
        broker = Broker(Path(folder), config.mqtt_port, config.site, account, accounts)
        await loop.run_in_executor(None, broker.start)
        try:
            yield MqttSettings(port=config.mqtt_port, username=account.name, password=password)
        finally:
            await loop.run_in_executor(None, broker.stop)


async def serve(config: HotlineConfig, engines: Engines, stop: asyncio.Event) -> None:
    supervisors = load_supervisors(config)
    if config.mqtt == "off":
        log.info("mqtt = off: no live events, no supervisor control, no dashboard")
        await Hotline(config, engines, supervisors=supervisors).serve(stop)
        return
    async with contextlib.AsyncExitStack() as stack:
        settings = await stack.enter_async_context(mqtt_broker(config, supervisors))
        publisher = Publisher(settings, config.mqtt_buffer)
        await publisher.start()
        stack.push_async_callback(publisher.close)
        hotline = Hotline(config, engines, publisher, supervisors)
        tasks = [asyncio.create_task(_take_control(settings, config.site, hotline),
                                     name="supervisor-control")]
        if config.dashboard_port:
            tasks.append(await _dashboard(config, settings, supervisors, publisher, stack))
        print(f"events: mqtt://{settings.host}:{settings.port} hotline/{config.site}/calls/"
              "<call>/events", flush=True)
        try:
            await hotline.serve(stop)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _take_control(settings: MqttSettings, site: str, hotline: Hotline) -> None:
    handling: set[asyncio.Task[None]] = set()
    try:
        async for topic, payload in subscribe(settings, control_topic(site)):
            # Not one at a time: a supervisor whose phone rings must not hold up the others.
            task = asyncio.create_task(hotline.supervision.handle(topic, payload))
            handling.add(task)
            task.add_done_callback(handling.discard)
    finally:
        for task in handling:
            task.cancel()


async def _dashboard(config: HotlineConfig, settings: MqttSettings,
                     supervisors: SupervisorDirectory, publisher: Publisher,
                     stack: contextlib.AsyncExitStack) -> asyncio.Task[None]:
    board = CallBoard()

    async def send_control(supervisor: str, call_id: str, payload: dict[str, Any]) -> None:
        # The dashboard logged the supervisor in, so it speaks on their behalf.
        publisher.publish(control_topic(config.site, call_id, supervisor),
                          {"schema": 1, **payload})

    app = create_app(board, supervisors, send_control, config.dashboard_session_ttl_s)
    try:
        runner = await start_dashboard(app, config.host, config.dashboard_port)
    except OSError as exc:
        raise ConfigError(f"cannot serve the dashboard on {config.host}:"
                          f"{config.dashboard_port}: {exc.strerror} (choose another with "
                          "--dashboard-port, or 0 for none)") from exc
    stack.push_async_callback(runner.cleanup)
    print(f"dashboard: http://{config.host}:{bound_port(runner)}/ "
          f"({len(supervisors.names())} supervisors)", flush=True)
    return asyncio.create_task(feed_board(board, settings, config.site), name="dashboard-feed")
