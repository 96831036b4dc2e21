"""Feeds the call board from MQTT: every call's events and the site's control errors."""

from __future__ import annotations

import asyncio
import json
import logging

from voicebot.dashboard.board import CallBoard
from voicebot.mqtt import MqttSettings, subscribe

log = logging.getLogger(__name__)


async def feed_board(board: CallBoard, settings: MqttSettings, site: str) -> None:
    """Runs until cancelled; ``subscribe`` reconnects by itself."""
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(_pump(board, settings, f"hotline/{site}/calls/+/events", True))
        # The errors topic numbers its envelopes on its own, not in the calls' sequences.
        tasks.create_task(_pump(board, settings, f"hotline/{site}/errors", False))


async def _pump(board: CallBoard, settings: MqttSettings, topic_filter: str,
                numbered: bool) -> None:
    async for topic, payload in subscribe(settings, topic_filter):
        try:
            envelope = json.loads(payload)
        except (ValueError, RecursionError) as exc:  # bad UTF-8 is a ValueError too
            log.warning("skipped a message on %s that is not JSON: %s", topic, exc)
            continue
        board.apply(envelope, numbered)
