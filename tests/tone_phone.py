"""A test phone that plays a steady tone and records what it hears, one per process.

Run as a script (pjsua2 allows one endpoint per process) it dials ``--dial URI`` or answers
calls to ``--extension`` on ``--port``, plays a sine of ``--tone`` Hz for the whole call
(after ``--speech``: a WAV said once, framed by silence, when words must be understood), and
keeps every frame it hears with its wall-clock arrival time. It prints
"tone_phone ready" and "tone_phone connected"; on SIGTERM, or when the call ends, it hangs
up, writes ``--out`` (npz: times, pcm) and exits 0.

Imported by tests, it gives ``TonePhone`` (launch, wait for a line, stop, load the
recording) and ``Recording.level_db`` (a tone's level between two wall-clock times).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio_models.pcm import read_wav
from telephony.call import CallLeg
from telephony.endpoint import SipConfig, SipEndpoint

LOOPBACK = "127.0.0.1"
RATE = 8000
FRAME_SAMPLES = RATE // 50
TONE_DBFS = -12.0
FLOOR_DB = -120.0  # what total silence measures
_BAND_HZ = 25.0  # half-width of the band a tone's level is summed over
_QUEUE_FRAMES = 25  # tone kept queued ahead of the bridge: 0.5 s
_PROJECT = Path(__file__).resolve().parents[1]


class ToneSource:
    """A phase-continuous sine cut into 20 ms frames."""

    def __init__(self, hz: float, dbfs: float = TONE_DBFS) -> None:
        self.hz = hz
        self.amplitude = 32768 * 10 ** (dbfs / 20)
        self._next_sample = 0

    def frames(self, count: int) -> list[bytes]:
        n = np.arange(self._next_sample, self._next_sample + count * FRAME_SAMPLES)
        self._next_sample += count * FRAME_SAMPLES
        pcm = np.round(self.amplitude * np.sin(2 * np.pi * self.hz * n / RATE)).astype("<i2")
        return [f.tobytes() for f in pcm.reshape(count, FRAME_SAMPLES)]


# --- the subprocess -----------------------------------------------------------------------
class _Phone:
    """CallListener of the phone's endpoint: plays the tone, keeps what it hears."""

    def __init__(self, tone: ToneSource, prelude: list[bytes]) -> None:
        self.tone = tone
        self.prelude = prelude
        self.leg: CallLeg | None = None
        self.heard: list[tuple[float, bytes]] = []

    def on_call_started(self, leg: CallLeg) -> None:
        if self.leg is not None:
            leg.hangup(486)  # one call per phone: the recording is that call's
            return
        self.leg = leg
        leg.audio.set_sink(lambda _at, frame: self.heard.append((time.time(), frame)))
        leg.audio.play(self.prelude)
        self.feed()
        print("tone_phone connected", flush=True)

    def on_call_ended(self, leg: CallLeg) -> None:
        if leg is self.leg:
            leg.audio.set_sink(None)

    def feed(self) -> None:
        if self.leg is not None and self.leg.audio.pending_frames < _QUEUE_FRAMES:
            self.leg.audio.play(self.tone.frames(_QUEUE_FRAMES))

    def save(self, path: Path) -> None:
        times = np.array([at for at, _ in self.heard], dtype=np.float64)
        pcm = np.frombuffer(b"".join(frame for _, frame in self.heard), dtype="<i2")
        np.savez(path, times=times, pcm=pcm.astype(np.int16))


def prelude(speech: Path | None, after_s: float) -> list[bytes]:
    """What is said before the tone: silence, the words, and a second of silence so that
    the words' turn ends before the tone (which a VAD takes for speech) begins."""
    if speech is None:
        return []
    pcm = read_wav(speech, RATE)
    silence = np.zeros(int(after_s * RATE), np.int16)
    pcm = np.concatenate([silence, pcm, np.zeros(RATE, np.int16)])
    pcm = np.pad(pcm, (0, -len(pcm) % FRAME_SAMPLES))
    return [f.tobytes() for f in pcm.astype("<i2").reshape(-1, FRAME_SAMPLES)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dial", help="SIP URI to call")
    parser.add_argument("--port", type=int, default=0, help="SIP port (0: any)")
    parser.add_argument("--extension", help="answer calls to this extension")
    parser.add_argument("--tone", type=float, required=True, help="tone frequency, Hz")
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="recording (.npz)")
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--speech", type=Path, help="a WAV said once before the tone")
    parser.add_argument("--speech-after", type=float, default=0.0,
                        help="seconds of silence before --speech")
    args = parser.parse_args(argv)
    if (args.dial is None) == (args.extension is None):
        parser.error("give either --dial or --extension")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    phone = _Phone(ToneSource(args.tone), prelude(args.speech, args.speech_after))
    endpoint = SipEndpoint(SipConfig(
        host=LOOPBACK, port=args.port, transports=("udp",), extension=args.extension,
        max_calls=1, rtp_port=args.rtp_port, rtp_port_range=10, sample_rate=RATE), phone)
    endpoint.start()
    try:
        print(f"tone_phone ready {endpoint.uri}", flush=True)
        deadline = time.monotonic() + args.connect_timeout
        dialed = endpoint.dial(args.dial) if args.dial else None
        while not stop.wait(0.05):
            phone.feed()
            if phone.leg is not None and phone.leg.ended.is_set():
                break
            if dialed is not None and phone.leg is None and (
                    dialed.ended.is_set() or time.monotonic() > deadline):
                print(f"tone_phone: {args.dial} did not answer "
                      f"(SIP status {dialed.outcome.status_code})", flush=True)
                return 1
        if phone.leg is not None and not phone.leg.ended.is_set():
            phone.leg.hangup()
            phone.leg.ended.wait(5)
    finally:
        endpoint.stop()
        phone.save(args.out)
    return 0


# --- the parent's side --------------------------------------------------------------------
@dataclass(frozen=True)
class Recording:
    """What a phone heard: frame ``i`` is ``pcm[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES]``,
    arrived at wall-clock time ``times[i]``."""

    times: np.ndarray
    pcm: np.ndarray

    @classmethod
    def load(cls, path: Path) -> Recording:
        with np.load(path) as data:
            return cls(data["times"], data["pcm"])

    @classmethod
    def of_frames(cls, heard: list[tuple[float, bytes]]) -> Recording:
        """From (wall-clock time, frame) pairs, as a sink in this process collects them."""
        pcm = np.frombuffer(b"".join(frame for _, frame in heard), dtype="<i2")
        return cls(np.array([at for at, _ in heard], dtype=np.float64), pcm.astype(np.int16))

    def between(self, start: float, end: float) -> np.ndarray:
        chosen = np.flatnonzero((self.times >= start) & (self.times <= end))
        frames = self.pcm.reshape(-1, FRAME_SAMPLES)
        return frames[chosen].reshape(-1)

    def level_db(self, hz: float, start: float, end: float) -> float:
        """Level of ``hz`` heard from ``start`` to ``end`` (wall clock), dB re a full-scale sine."""
        return tone_level_db(self.between(start, end), hz)


def tone_level_db(pcm: np.ndarray, hz: float, rate: int = RATE) -> float:
    """Amplitude of a tone at ``hz`` in ``pcm`` in dB re a full-scale sine (-12 dBFS sine
    reads -12), from the Hann-windowed spectrum's energy within +-25 Hz; FLOOR_DB if silent."""
    if len(pcm) < rate // 10:
        raise ValueError(f"{len(pcm)} samples are too few to measure a tone")
    window = np.hanning(len(pcm))
    spectrum = np.fft.rfft(pcm.astype(np.float64) * window)
    freqs = np.fft.rfftfreq(len(pcm), 1 / rate)
    band = np.abs(freqs - hz) <= _BAND_HZ
    # Parseval: a sine of amplitude A puts N * A^2 / 4 * sum(w^2) into its one-sided band.
    power = float(np.sum(np.abs(spectrum[band]) ** 2))
    amplitude = np.sqrt(4 * power / (len(pcm) * float(np.sum(window ** 2))))
    return max(FLOOR_DB, 20 * float(np.log10(amplitude / 32768 + 1e-12)))


class TonePhone:
    """tone_phone.py as a subprocess; its output lines are kept for ``wait_for``."""

    def __init__(self, out: Path, tone_hz: float, rtp_port: int, *, dial: str | None = None,
                 port: int = 0, extension: str = "phone", speech: Path | None = None,
                 speech_after_s: float = 0.0) -> None:
        self.out = out
        self.port = port
        self.extension = extension
        self.lines: list[str] = []
        role = ["--dial", dial] if dial else ["--port", str(port), "--extension", extension]
        if speech is not None:
            role += ["--speech", str(speech), "--speech-after", str(speech_after_s)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               # The project first: tests/telephony must not hide the telephony package.
               "PYTHONPATH": os.pathsep.join([str(_PROJECT), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, *role, "--tone", str(tone_hz), "--rtp-port",
             str(rtp_port), "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=_PROJECT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def uri(self) -> str:
        return f"sip:{self.extension}@{LOOPBACK}:{self.port}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith(text) for line in self.lines):
                return
            if self.proc.poll() is not None:
                self._reader.join(2)
                break
            time.sleep(0.02)
        raise AssertionError(f"tone phone never printed {text!r}:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 15.0) -> int:
        """Hang up (SIGTERM) and wait for the recording; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 15.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise
        self._reader.join(2)
        return code

    def recording(self) -> Recording:
        return Recording.load(self.out)


if __name__ == "__main__":
    sys.exit(main())
