"""Voice-to-voice latency seen from the caller, per number of concurrent calls, with the
bot's own per-stage breakdown and its CPU use.

    .venv/bin/python -m benchmarks.latency [--concurrency 1,2,4] [--calls 3] [--variant "FLAGS"]
    .venv/bin/voicebot bench latency ...            (the same)

Starts `voicebot serve` on loopback (one per ``--variant``, each with those extra flags). For
each concurrency level N, N caller processes (the pjsua2 test caller: pjsua2 allows one
endpoint per process) each place ``--calls`` calls one after another, speaking three
questions (espeak-ng) per call; variants take turns level by level so that they share the
machine's noise. Per turn: last caller speech frame sent -> first bot speech frame heard,
stamped by the caller as the frames cross its pjsua2 media port. Levels stop once the 95th
percentile passes 1.5 s. Writes latency.json and latency.png under ``--out`` and prints a
table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
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
STAGES = ("end_of_turn_wait", "asr", "understanding", "statement_hold", "tts_first_audio")
GIVE_UP_P95_MS = 1500.0
MAX_CALLS_PER_PROCESS = 4  # pjsua2-python answers at most 4 calls per process (design notes)


@dataclass
class Level:
    """One variant at one concurrency level: what the callers heard, what the bot logged."""

    calls: int
    exchanges: list[Exchange] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    def caller_ms(self) -> list[float]:
        return [ex.latency_ms for ex in self.exchanges if ex.latency_ms is not None]

    def stages(self) -> dict[str, list[float]]:
        stages: dict[str, list[float]] = {s: [] for s in (*STAGES, "total")}
        for record in self.records:
            for turn in record["turns"]:
                for s in stages:
                    if turn["stages_ms"][s] is not None:
                        stages[s].append(turn["stages_ms"][s])
        return stages

    def summary(self) -> dict[str, Any]:
        return {
            "concurrent_calls": self.calls, "questions": len(self.exchanges),
            "timed_turns": len(self.caller_ms()),
            "unanswered": sum(ex.answer_started_at is None for ex in self.exchanges),
            "overlapped": sum(ex.overlapped for ex in self.exchanges),
            "voice_to_voice_ms": percentiles(self.caller_ms()),
            "bot_stages_ms": {s: percentiles(x) for s, x in self.stages().items() if x},
            "bot_cpu_cores": round(self.cpu_seconds / self.wall_seconds, 2),
            "raw_voice_to_voice_ms": self.caller_ms(),
        }


@dataclass
class Variant:
    label: str
    flags: list[str]
    port: int
    folder: Path
    levels: dict[int, Level] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, max_calls: int) -> None:
        log = self.folder / "serve.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicebot.cli", "serve", "--port", str(self.port),
             "--rtp-port", str(40000 + 200 * (self.port % 10)), "--max-calls", str(max_calls),
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

    def cpu_seconds(self) -> float:
        """CPU time the hotline process has used so far (user + system)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run_level(self, calls: int, per_caller: int, utterances: list[np.ndarray],
                  first_rtp_port: int) -> Level:
        level = Level(calls)
        before = set((self.folder / "records").glob("*.json"))
        cpu, wall = self.cpu_seconds(), time.monotonic()
        uri = f"sip:hotline@127.0.0.1:{self.port}"
        jobs = [(uri, utterances, first_rtp_port + 20 * i, per_caller) for i in range(calls)]
        # A fresh process per caller: pjsua2 allows one library instance per process.
        with multiprocessing.get_context("spawn").Pool(calls) as pool:
            try:
                heard = pool.starmap_async(_caller, jobs).get(timeout=120 * per_caller)
            except multiprocessing.TimeoutError:
                raise SystemExit(f"callers at {calls} concurrent calls did not finish; see "
                                 f"{self.folder}/serve.log") from None
        for exchanges in heard:
            level.exchanges += exchanges
        level.wall_seconds = time.monotonic() - wall
        level.cpu_seconds = self.cpu_seconds() - cpu
        deadline = time.monotonic() + 10  # records are written as each call ends
        while len(set((self.folder / "records").glob("*.json")) - before) < calls * per_caller:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        new = sorted(set((self.folder / "records").glob("*.json")) - before)
        level.records = [json.loads(p.read_text()) for p in new]
        return level


def _caller(uri: str, utterances: list[np.ndarray], rtp_port: int, calls: int) -> list[Exchange]:
    """One caller process: ``calls`` calls one after another, each asking every question."""
    async def one_call() -> list[Exchange]:
        # A fresh caller per call: a pjsua2 endpoint that placed a call and hung up can assert
        # on the next call from another thread ("unknown/external thread").
        caller = ScriptedCaller(rtp_port=rtp_port)
        try:
            return (await caller.converse(uri, utterances))[1:]  # the greeting: no question
        finally:
            await caller.close()
    return [exchange for _ in range(calls) for exchange in asyncio.run(one_call())]


def _speak(text: str, folder: Path) -> np.ndarray:
    path = folder / f"question-{len(list(folder.glob('question-*')))}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return read_wav(path, CALL_SAMPLE_RATE)


def _plot(results: dict[str, dict[int, dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(label, n) for label, levels in results.items() for n in levels]
    fig, (cdf, bars) = plt.subplots(1, 2, figsize=(13, 2.5 + 0.5 * len(rows)))
    for label, n in rows:
        xs = np.sort(results[label][n]["raw_voice_to_voice_ms"])
        cdf.step(xs, np.arange(1, len(xs) + 1) / len(xs), where="post",
                 label=f"{label}, {n} call{'s' if n > 1 else ''}")
    cdf.axvline(500, color="red", linestyle="--", label="500 ms target")
    cdf.set(xlabel="voice-to-voice latency at the caller (ms)", ylabel="share of turns",
            title="Latency CDF per concurrency")
    cdf.legend(fontsize=7)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for row, (label, n) in enumerate(rows):
        r = results[label][n]
        parts = [(s, r["bot_stages_ms"][s]["p50"]) for s in STAGES if s in r["bot_stages_ms"]]
        parts.append(("transport+jitter",
                      max(0.0, r["voice_to_voice_ms"]["p50"] - sum(m for _, m in parts))))
        left = 0.0
        for i, (name, value) in enumerate(parts):
            bars.barh([f"{label}, {n}"], [value], left=left, color=colors[i % len(colors)],
                      label=name if row == 0 else None)
            if value >= 30:
                bars.text(left + value / 2, row, f"{value:.0f}", ha="center", va="center",
                          fontsize=7)
            left += value
    bars.set(xlabel="ms (medians)", title="Where the time goes")
    bars.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _print(results: dict[str, dict[int, dict[str, Any]]]) -> None:
    for label, levels in results.items():
        for n, r in levels.items():
            print(f"\n[{label}, {n} concurrent call{'s' if n > 1 else ''}]  questions "
                  f"{r['questions']}, timed {r['timed_turns']}, unanswered {r['unanswered']}, "
                  f"bot CPU {r['bot_cpu_cores']} cores")
            print(f"{'measure (ms)':32} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
            rows = {"voice-to-voice (caller side)": r["voice_to_voice_ms"],
                    **{f"bot: {s}": p for s, p in r["bot_stages_ms"].items()}}
            for name, p in rows.items():
                print(f"{name:32} {p['n']:>4} {p['p50']:>7.0f} {p['p95']:>7.0f} "
                      f"{p['p99']:>7.0f} {p['max']:>7.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.latency",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1",
                        help="concurrent-call levels, comma-separated (default 1; at most "
                             f"{MAX_CALLS_PER_PROCESS}, the calls one hotline process takes)")
    parser.add_argument("--calls", type=int, default=3, help="calls per caller at each level")
    parser.add_argument("--variant", action="append", metavar="FLAGS",
                        help='extra `voicebot serve` flags, e.g. "--turn-end silence"; '
                             "repeat to compare (default: one variant with the defaults)")
    parser.add_argument("--port", type=int, default=5090, help="first SIP port")
    parser.add_argument("--out", type=Path, default=Path("results/latency"))
    args = parser.parse_args(argv)
    levels = sorted({int(n) for n in args.concurrency.split(",")})
    if levels[0] < 1 or levels[-1] > MAX_CALLS_PER_PROCESS:
        parser.error(f"--concurrency levels must be 1..{MAX_CALLS_PER_PROCESS}: more calls "
                     "need more hotline processes")
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
            v.start(max_calls=levels[-1])
        total = sum(levels) * args.calls * len(variants)
        with tqdm(total=total, desc="calls", unit="call") as bar:
            for n in levels:
                for i, v in enumerate(variants):
                    v.levels[n] = v.run_level(n, args.calls, utterances, 44000 + 100 * i)
                    bar.update(n * args.calls)
                if all(np.percentile(v.levels[n].caller_ms() or [np.inf], 95) > GIVE_UP_P95_MS
                       for v in variants):
                    print(f"p95 passed {GIVE_UP_P95_MS:.0f} ms at {n} calls: stopping")
                    break
    finally:
        for v in variants:
            v.stop()
    results = {}
    for v in variants:
        if not any(level.caller_ms() for level in v.levels.values()):
            raise SystemExit(f"no turn could be timed ({v.label}); see {v.folder}/serve.log")
        results[v.label] = {n: level.summary() for n, level in v.levels.items()}
    (args.out / "latency.json").write_text(json.dumps(
        {"machine": machine(), "calls_per_caller": args.calls,
         "variants": {v.label: {"flags": v.flags, "levels": results[v.label]}
                      for v in variants}}, indent=2))
    _plot(results, args.out / "latency.png")
    _print(results)
    print(f"\nwritten: {args.out / 'latency.json'}, {args.out / 'latency.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
