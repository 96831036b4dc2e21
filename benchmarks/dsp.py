"""Cost of the call-audio front end per call and 20 ms frame, and how many calls one CPU core
(or one GPU) keeps up with, per backend and batch size.

    .venv/bin/python -m benchmarks.dsp [--batches 1,4,16,64,256,1000] [--backends numpy,cpu]
                                        [--frames 50] [--runs 3] [--out results/dsp]
    .venv/bin/voicebot bench dsp ...             (the same)

Each backend processes ``--frames`` consecutive 20 ms frames of a batch of calls (speech-like
harmonic tones in noise, each call its own pitch), after a warm-up that compiles its kernels,
for two stage sets: ``dc`` (the default: DC removal, features, up-sampling) and ``all``
(also noise suppression and gain control). Runs alternate backends so that they share the
machine's noise; per batch the wall and CPU time of each frame are recorded. Calls per core =
20 ms / (CPU time per call per frame); for ``cuda`` wall time is used (the GPU does the work)
and the host-device copies are included. ``cuda`` is added by default when a GPU is present.
Writes dsp.json and dsp.png under ``--out`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from audio_models.dsp.backend import FrontEndBackend, make_backend
from audio_models.dsp.settings import FRAME, RATE, FrontEndSettings
from benchmarks.stats import machine, percentiles

STAGE_SETS = {
    "dc": FrontEndSettings(),
    "all": FrontEndSettings(dc_removal=True, denoise=True, gain_control=True),
}
FRAME_MS = 1000 * FRAME / RATE


def call_audio(calls: int, frames: int, seed: int = 0) -> np.ndarray:
    """(frames, calls, FRAME) int16: voiced tones from 90 to 300 Hz in -30 dBFS noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames * FRAME) / RATE
    f0 = rng.uniform(90, 300, (calls, 1))
    voice = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5)) * 0.2
    audio = voice + rng.normal(0, 0.03, voice.shape)
    pcm = np.clip(np.rint(audio * 32767), -32768, 32767).astype(np.int16)
    return pcm.reshape(calls, frames, FRAME).transpose(1, 0, 2).copy()


def time_backend(backend: FrontEndBackend, audio: np.ndarray) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each frame of the batch."""
    rows = np.arange(audio.shape[1])
    backend.reset(rows)
    wall, cpu = [], []
    for frame in audio:
        w, c = time.perf_counter(), time.process_time()
        backend.process(frame, rows)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return wall, cpu


def run(backends: list[str], batches: list[int], frames: int, runs: int) -> dict[str, Any]:
    largest = max(batches)
    instances = {(name, stages): make_backend(name, largest, settings)
                 for name in backends for stages, settings in STAGE_SETS.items()}
    audio = {b: call_audio(b, frames) for b in batches}
    for backend in instances.values():  # compile and touch every code path once
        time_backend(backend, audio[min(batches)][:2])
    samples: dict[tuple[str, str, int], tuple[list[float], list[float]]] = {
        (n, s, b): ([], []) for (n, s) in instances for b in batches}
    jobs = [(r, b, key) for r in range(runs) for b in batches for key in instances]
    for _, batch, (name, stages) in tqdm(jobs, desc="dsp", unit="batch run"):
        wall, cpu = time_backend(instances[(name, stages)], audio[batch])
        samples[(name, stages, batch)][0].extend(wall)
        samples[(name, stages, batch)][1].extend(cpu)
    results: dict[str, Any] = {}
    for (name, stages, batch), (wall, cpu) in samples.items():
        busy = wall if name == "cuda" else cpu
        per_call_us = 1e6 * float(np.median(busy)) / batch
        results.setdefault(name, {}).setdefault(stages, {})[str(batch)] = {
            "calls": batch,
            "frame_wall_ms": percentiles([1000 * w for w in wall]),
            "frame_cpu_ms": percentiles([1000 * c for c in cpu]),
            "per_call_frame_us": per_call_us,
            "calls_per_core": 1000 * FRAME_MS / per_call_us,
            "keeps_up": float(np.percentile(wall, 95)) * 1000 < FRAME_MS,
        }
    return results


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'backend':<8} {'stages':<6} {'calls':>6} {'frame p50 ms':>13} {'p95 ms':>9} "
          f"{'µs/call/frame':>14} {'calls/core':>11}  real time")
    for name, by_stage in results.items():
        for stages, by_batch in by_stage.items():
            for row in by_batch.values():
                wall = row["frame_wall_ms"]
                print(f"{name:<8} {stages:<6} {row['calls']:>6} {wall['p50']:>13.3f} "
                      f"{wall['p95']:>9.3f} {row['per_call_frame_us']:>14.1f} "
                      f"{row['calls_per_core']:>11.0f}  {'yes' if row['keeps_up'] else 'NO'}")


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cost, capacity) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, by_stage in results.items():
        for stages, by_batch in by_stage.items():
            calls = [row["calls"] for row in by_batch.values()]
            label = f"{name} ({stages})"
            style = "-" if stages == "dc" else "--"
            cost.plot(calls, [r["per_call_frame_us"] for r in by_batch.values()], style,
                      marker="o", label=label)
            capacity.plot(calls, [r["calls_per_core"] for r in by_batch.values()], style,
                          marker="o", label=label)
    cost.set(xscale="log", yscale="log", xlabel="calls in the batch",
             ylabel="µs per call per 20 ms frame", title="front-end cost per call")
    capacity.set(xscale="log", yscale="log", xlabel="calls in the batch",
                 ylabel="calls one core keeps up with", title="calls per core (GPU: per GPU)")
    for ax in (cost, capacity):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.dsp", description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="1,4,16,64,256,1000",
                        help="calls per batch, comma-separated")
    parser.add_argument("--backends", default="",
                        help="numpy,cpu,cuda (default numpy,cpu, plus cuda with a GPU)")
    parser.add_argument("--frames", type=int, default=50, help="frames timed per batch run")
    parser.add_argument("--runs", type=int, default=3, help="runs per backend and batch")
    parser.add_argument("--out", type=Path, default=Path("results/dsp"))
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b] or default_backends()
    batches = sorted({int(b) for b in args.batches.split(",")})
    results = run(backends, batches, args.frames, args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "frames": args.frames, "runs": args.runs,
              "frame_ms": FRAME_MS, "results": results}
    (args.out / "dsp.json").write_text(json.dumps(report, indent=2))
    plot(results, args.out / "dsp.png")
    print_table(results)
    print(f"\nwrote {args.out / 'dsp.json'} and {args.out / 'dsp.png'}")
    return 0


def default_backends() -> list[str]:
    from audio_models.dsp.cuda import gpu_available
    return ["numpy", "cpu", *(["cuda"] if gpu_available() else [])]


if __name__ == "__main__":
    sys.exit(main())
