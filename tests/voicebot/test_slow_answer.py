"""A slow answer is preceded by the filler prompt, so the caller never waits in silence.

The hotline runs in this process with the real models; its recognizer is wrapped to take an
extra second (delay injection around the real engine, standing in for a slow back end).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import LOOPBACK, Speech, free_port, hotline_in_process

pytestmark = pytest.mark.e2e


def take_a_second(pcm: np.ndarray, sample_rate: int) -> None:
    time.sleep(1.0)


def test_a_slow_answer_is_preceded_by_the_filler(tmp_path: Path, speech: Speech) -> None:
    with hotline_in_process(tmp_path, take_a_second) as hotline:
        uri = f"sip:hotline@{LOOPBACK}:{hotline.config.port}"
        result = subprocess.run(
            [sys.executable, "-m", "voicebot.cli", "call", uri, "--play",
             str(speech.wav("Hello, I lost my credit card yesterday. Can you block it?")),
             "--rtp-port", str(free_port())], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    turn = record["turns"][0]
    assert turn["timings"]["filler"] and turn["intent"] == "card_lost"
    filler = record["bot_utterances"].index("One moment, please.")
    assert record["bot_utterances"][filler + 1] == turn["answer"]
    # The caller heard the filler first: the answer follows it in the same recording.
    answer_line = next(line for line in result.stdout.splitlines()
                       if line.startswith("bot:") and "card" in line.lower())
    assert "moment" in answer_line.lower(), result.stdout
