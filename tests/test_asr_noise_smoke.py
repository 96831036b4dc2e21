"""The ASR-in-noise benchmark, run as an operator would on a small grid: every cell measured,
and the measurements plausible (clean speech mostly understood, 0 dB white noise no easier)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_asr_noise_benchmark_fills_every_cell(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.asr_noise", "--models", "tiny.en", "--sentences", "2",
         "--noises", "white", "--snrs", "clean,0", "--configs", "off,denoise",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "asr_noise.json").read_text())
    wer = {(c["noise"], c["snr_db"], c["config"]): c["wer"] for c in report["cells"]
           if c["model"] == "tiny.en"}
    assert set(wer) == {("none", None, "off"), ("none", None, "denoise"),
                        ("white", 0.0, "off"), ("white", 0.0, "denoise")}
    assert all(c["utterances"] == 6 and c["words"] > 0 for c in report["cells"])
    assert wer[("none", None, "off")] < 0.30, wer
    assert wer[("none", None, "denoise")] < 0.30, wer
    assert wer[("white", 0.0, "off")] >= wer[("none", None, "off")], wer
    assert (tmp_path / "asr_noise.png").stat().st_size > 10_000
    assert "[tiny.en]" in result.stdout
    assert "average over noisy conditions" in result.stdout
    assert "best on average over noisy conditions:" in result.stdout
