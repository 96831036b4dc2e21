"""The latency benchmark, run as an operator would for one call: it must measure something
plausible. No timing threshold here: targets live in the benchmark's own report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port

pytestmark = pytest.mark.e2e


def test_latency_benchmark_measures_one_call(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "bench", "latency", "--concurrency", "1",
         "--calls", "1", "--port", str(free_port()), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "latency.json").read_text())
    (level,) = report["variants"]["defaults"]["levels"].values()
    assert level["concurrent_calls"] == 1 and level["timed_turns"] >= 2
    latency = level["voice_to_voice_ms"]
    assert 100 < latency["p50"] < 5000, latency  # plausible: a caller heard an answer
    assert set(level["bot_stages_ms"]) >= {"end_of_turn_wait", "asr", "tts_first_audio"}
    assert 0 < level["bot_cpu_cores"] <= 2.5
    assert (tmp_path / "latency.png").stat().st_size > 10_000
    assert "voice-to-voice (caller side)" in result.stdout


def test_dsp_benchmark_times_every_backend_and_batch(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "bench", "dsp", "--backends", "numpy,cpu",
         "--batches", "1,8", "--frames", "5", "--runs", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "dsp.json").read_text())["results"]
    for backend in ("numpy", "cpu"):
        for stages in ("dc", "all"):
            rows = report[backend][stages]
            assert set(rows) == {"1", "8"}
            for row in rows.values():
                assert row["per_call_frame_us"] > 0 and row["calls_per_core"] > 0
                assert row["frame_wall_ms"]["n"] == 5
    assert (tmp_path / "dsp.png").stat().st_size > 10_000
    assert "calls/core" in result.stdout
