"""A failing engine costs one call a turn, never the other calls.

The hotline runs in this process with the real models; its recognizer is wrapped to raise on
short utterances (fault injection around the real engine, not a mock). Two `voicebot call`
processes dial in at the same time: one only says short things, the other asks a question.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import LOOPBACK, Speech, free_port, hotline_in_process

from voicebot.hotline import Hotline

pytestmark = pytest.mark.e2e


def fail_on_short_utterances(pcm: np.ndarray, sample_rate: int) -> None:
    if len(pcm) < 1.5 * sample_rate:
        raise RuntimeError("injected engine failure")


@pytest.fixture
def failing_hotline(tmp_path: Path) -> Iterator[Hotline]:
    with hotline_in_process(tmp_path, fail_on_short_utterances) as hotline:
        yield hotline


def test_engine_failure_ends_one_call_politely_and_the_other_goes_on(
        failing_hotline: Hotline, speech: Speech) -> None:
    uri = f"sip:hotline@{LOOPBACK}:{failing_hotline.config.port}"
    idle_ports = failing_hotline.endpoint.media_ports()

    def dial(*texts: str) -> subprocess.Popen[str]:
        plays = [arg for t in texts for arg in ("--play", str(speech.wav(t)))]
        return subprocess.Popen([sys.executable, "-m", "voicebot.cli", "call", uri, *plays,
                                 "--rtp-port", str(free_port())],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    unlucky = dial("Hi.", "Hello?")
    lucky = dial("Hello, I lost my credit card yesterday. Can you block it?")
    lucky_out, _ = lucky.communicate(timeout=120)
    unlucky_out, _ = unlucky.communicate(timeout=120)
    assert lucky.returncode == 0, lucky_out
    assert "block the card" in lucky_out.lower(), lucky_out
    assert "went wrong" in unlucky_out.lower(), unlucky_out  # the apology, then the goodbye
    assert "technical problem" in unlucky_out.lower(), unlucky_out
    records = [json.loads(p.read_text())
               for p in Path(failing_hotline.config.records_dir).glob("*.json")]
    assert sorted(r["end_reason"] for r in records) == ["caller hung up", "engine failure"]
    # Nothing of either call is left: no session task, no bridge port (after pjsua2's grace).
    assert not failing_hotline.sessions
    time.sleep(1.0)
    assert failing_hotline.endpoint.media_ports() == idle_ports
