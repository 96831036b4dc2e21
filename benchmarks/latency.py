"""Voice-to-voice latency seen from the caller, with the bot's own per-stage breakdown.

    .venv/bin/python -m benchmarks.latency [--calls 5] [--variant "FLAGS" ...] [--out DIR]

Starts `voicebot serve` on loopback (one per ``--variant``, each with those extra flags),
places ``--calls`` calls to each, alternating between variants call by call so that they
share the machine's noise, with the pjsua2 test caller (three questions spoken by
espeak-ng per call), and measures per turn: last caller speech frame sent -> first bot
speech frame heard. Writes latency.json and latency.png under ``--out`` and prints a
table. Concurrency levels come with issue 6.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from audio_models.pcm import read_wav
from benchmarks.stats import machine, percentiles
from voicebot.caller import Exchange, ScriptedCaller
from voicebot.config import CALL_SAMPLE_RATE

QUESTIONS = (
    "Hello, I lost my credit card yesterday. Can you block it?",
    "What is the balance of my account?",
    "Can I talk to a real person please?",
)
STAGES = ("end_of_turn_wait", "asr", "understanding", "tts_first_audio")


@dataclass
class Variant:
    label: str
    flags: list[str]
    port: int
    folder: Path
    exchanges: list[Exchange] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.folder / "serve.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicebot.cli", "serve", "--port", str(self.port),
             "--rtp-port", str(40000 + 200 * (self.port % 10)),
             "--records-dir", str(self.folder / "records"), *self.flags],
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while b"voicebot ready" not in log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the hotline ({self.label}) did not start; see {log}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)

    def caller_ms(self) -> list[float]:
        return [ex.latency_ms for ex in self.exchanges if ex.latency_ms is not None]

    def stages(self) -> dict[str, list[float]]:
        stages: dict[str, list[float]] = {s: [] for s in (*STAGES, "total")}
        for record in (self.folder / "records").glob("*.json"):
            for turn in json.loads(record.read_text())["turns"]:
                for s in stages:
                    if turn["stages_ms"][s] is not None:
                        stages[s].append(turn["stages_ms"][s])
        return stages


def _speak(text: str, folder: Path) -> np.ndarray:
    path = folder / f"question-{len(list(folder.glob('question-*')))}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return read_wav(path, CALL_SAMPLE_RATE)


def _plot(results: dict[str, dict[str, Any]], variants: list[Variant], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cdf, bars) = plt.subplots(1, 2, figsize=(12, 1.5 + 1.2 * len(variants) + 2.5))
    for v in variants:
        xs = np.sort(v.caller_ms())
        cdf.step(xs, np.arange(1, len(xs) + 1) / len(xs), where="post", label=v.label)
    cdf.axvline(500, color="red", linestyle="--", label="500 ms target")
    cdf.set(xlabel="voice-to-voice latency at the caller (ms)", ylabel="share of turns",
            title="Latency CDF, 1 call at a time")
    cdf.legend(fontsize=8)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for row, v in enumerate(variants):
        medians = results[v.label]["bot_stages_ms"]
        left = 0.0
        parts = [(s, medians[s]["p50"]) for s in STAGES]
        parts.append(("transport+jitter",
                      results[v.label]["voice_to_voice_ms"]["p50"] - sum(m for _, m in parts)))
        for i, (name, value) in enumerate(parts):
            bars.barh([v.label], [value], left=left, color=colors[i % len(colors)],
                      label=name if row == 0 else None)
            bars.text(left + value / 2, row, f"{value:.0f}", ha="center", va="center",
                      fontsize=8)
            left += value
    bars.set(xlabel="ms (medians)", title="Where the time goes")
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
    parser.add_argument("--calls", type=int, default=5, help="calls per variant")
    parser.add_argument("--variant", action="append", metavar="FLAGS",
                        help='extra `voicebot serve` flags, e.g. "--speculate-after-ms 0"; '
                             "repeat to compare (default: one variant with the defaults)")
    parser.add_argument("--port", type=int, default=5090, help="first SIP port")
    parser.add_argument("--out", type=Path, default=Path("results/latency"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="latency-"))
    utterances = [_speak(q, work) for q in QUESTIONS]
    variants = []
    for i, flags in enumerate(args.variant or [""]):
        (work / str(i)).mkdir()
        variants.append(Variant(flags or "defaults", shlex.split(flags), args.port + i,
                                work / str(i)))
    try:
        for v in variants:
            v.start()
        with tqdm(total=args.calls * len(variants), desc="calls", unit="call") as bar:
            for _ in range(args.calls):
                for n, v in enumerate(variants):
                    uri = f"sip:hotline@127.0.0.1:{v.port}"
                    v.exchanges += asyncio.run(_one_call(uri, utterances, 44000 + 20 * n))
                    bar.update()
    finally:
        for v in variants:
            v.stop()
    results = {}
    for v in variants:
        if not v.caller_ms():
            raise SystemExit(f"no turn could be timed ({v.label}); see {v.folder}/serve.log")
        results[v.label] = {
            "flags": v.flags, "calls": args.calls, "questions": len(v.exchanges),
            "timed_turns": len(v.caller_ms()),
            "unanswered": sum(ex.answer_started_at is None for ex in v.exchanges),
            "overlapped": sum(ex.overlapped for ex in v.exchanges),
            "voice_to_voice_ms": percentiles(v.caller_ms()),
            "bot_stages_ms": {s: percentiles(x) for s, x in v.stages().items() if x},
            "raw_voice_to_voice_ms": v.caller_ms(),
        }
    (args.out / "latency.json").write_text(json.dumps({"machine": machine(),
                                                       "variants": results}, indent=2))
    _plot(results, variants, args.out / "latency.png")
    for label, r in results.items():
        print(f"\n[{label}]  questions {r['questions']}, timed {r['timed_turns']}, unanswered "
              f"{r['unanswered']}, bot still talking at the caller's last word "
              f"{r['overlapped']}")
        print(f"{'measure (ms)':32} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
        rows = {"voice-to-voice (caller side)": r["voice_to_voice_ms"],
                **{f"bot: {s}": p for s, p in r["bot_stages_ms"].items()}}
        for name, p in rows.items():
            print(f"{name:32} {p['n']:>4} {p['p50']:>7.0f} {p['p95']:>7.0f} {p['p99']:>7.0f} "
                  f"{p['max']:>7.0f}")
    print(f"\nwritten: {args.out / 'latency.json'}, {args.out / 'latency.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
