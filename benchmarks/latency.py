"""Voice-to-voice latency seen from the caller, with the bot's own per-stage breakdown.

    .venv/bin/python -m benchmarks.latency [--calls 5] [--out results/latency]

Starts `voicebot serve` on loopback, places ``--calls`` calls one after another with the
pjsua2 test caller (each asks the same questions, spoken by espeak-ng), and measures per
turn: last caller speech frame sent -> first bot speech frame heard. Writes latency.json
and latency.png under ``--out`` and prints a table. Concurrency levels come with issue 6.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from audio_models.pcm import read_wav
from voicebot.caller import Exchange, ScriptedCaller
from voicebot.config import CALL_SAMPLE_RATE

QUESTIONS = (
    "Hello, I lost my credit card yesterday. Can you block it?",
    "What is the balance of my account?",
    "Can I talk to a real person please?",
)
STAGES = ("end_of_turn_wait", "asr", "understanding", "tts_first_audio")


def _speak(text: str, folder: Path) -> np.ndarray:
    path = folder / f"{len(list(folder.iterdir()))}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return read_wav(path, CALL_SAMPLE_RATE)


def _start_hotline(port: int, records: Path, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicebot.cli", "serve", "--port", str(port),
         "--records-dir", str(records)], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while b"voicebot ready" not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the hotline did not start; see {log}")
        time.sleep(0.2)
    return proc


def _percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {"n": len(a), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "p99": float(np.percentile(a, 99)), "min": float(a.min()), "max": float(a.max())}


def _plot(caller_ms: list[float], stages: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cdf, bars) = plt.subplots(1, 2, figsize=(11, 4))
    xs = np.sort(caller_ms)
    cdf.step(xs, np.arange(1, len(xs) + 1) / len(xs), where="post")
    cdf.axvline(500, color="red", linestyle="--", label="500 ms target")
    cdf.set(xlabel="voice-to-voice latency at the caller (ms)", ylabel="share of turns",
            title="Latency CDF, 1 call at a time")
    cdf.legend()
    medians = [float(np.median(stages[s])) for s in STAGES]
    left = 0.0
    for name, value in zip(STAGES, medians, strict=True):
        bars.barh(["bot (median)"], [value], left=left, label=f"{name} {value:.0f} ms")
        left += value
    transport = float(np.median(caller_ms)) - left
    bars.barh(["bot (median)"], [transport], left=left,
              label=f"transport+jitter {transport:.0f} ms")
    bars.set(xlabel="ms", title="Where the time goes (medians)")
    bars.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def _one_call(uri: str, utterances: list[np.ndarray], rtp_port: int) -> list[Exchange]:
    caller = ScriptedCaller(rtp_port=rtp_port)
    try:
        return (await caller.converse(uri, utterances))[1:]  # the greeting answers no question
    finally:
        await caller.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--port", type=int, default=5098)
    parser.add_argument("--out", type=Path, default=Path("results/latency"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="latency-"))
    utterances = [_speak(q, work) for q in QUESTIONS]
    hotline = _start_hotline(args.port, work / "records", work / "serve.log")
    exchanges: list[Exchange] = []
    try:
        for i in tqdm(range(args.calls), desc="calls", unit="call"):
            exchanges += asyncio.run(_one_call(f"sip:hotline@127.0.0.1:{args.port}", utterances,
                                               43000 + 10 * i))
    finally:
        hotline.send_signal(signal.SIGINT)
        hotline.wait(30)
    caller_ms = [ex.latency_ms for ex in exchanges if ex.latency_ms is not None]
    if not caller_ms:
        raise SystemExit(f"no turn could be timed; see {work / 'serve.log'}")
    stages: dict[str, list[float]] = {s: [] for s in (*STAGES, "total")}
    for record in (work / "records").glob("*.json"):
        for turn in json.loads(record.read_text())["turns"]:
            for s in stages:
                if turn["stages_ms"][s] is not None:
                    stages[s].append(turn["stages_ms"][s])
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
        "calls": args.calls, "questions": len(exchanges), "timed_turns": len(caller_ms),
        "unanswered": sum(ex.answer_started_at is None for ex in exchanges),
        "overlapped": sum(ex.overlapped for ex in exchanges),
        "voice_to_voice_ms": _percentiles(caller_ms),
        "bot_stages_ms": {s: _percentiles(v) for s, v in stages.items() if v},
        "raw_voice_to_voice_ms": caller_ms,
    }
    (args.out / "latency.json").write_text(json.dumps(result, indent=2))
    _plot(caller_ms, stages, args.out / "latency.png")
    print(f"\n{'measure (ms)':32} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
    rows = {"voice-to-voice (caller side)": result["voice_to_voice_ms"],
            **{f"bot: {s}": p for s, p in result["bot_stages_ms"].items()}}
    for name, p in rows.items():
        print(f"{name:32} {p['n']:>4} {p['p50']:>7.0f} {p['p95']:>7.0f} {p['p99']:>7.0f} "
              f"{p['max']:>7.0f}")
    print(f"questions {result['questions']}, timed {result['timed_turns']}, unanswered "
          f"{result['unanswered']}, bot still talking at the caller's last word "
          f"{result['overlapped']}")
    print(f"\nwritten: {args.out / 'latency.json'}, {args.out / 'latency.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
