"""Shared fixtures: test speech made with espeak-ng, free loopback ports, a running hotline."""

from __future__ import annotations

import os

# numba.cuda picks the simulator or the GPU once, at its first import: the CUDA kernels run
# under the simulator unless VOICEBOT_CUDA_TESTS=gpu asks for the real device.
os.environ["NUMBA_ENABLE_CUDASIM"] = "0" if os.environ.get("VOICEBOT_CUDA_TESTS") == "gpu" else "1"

import asyncio
import contextlib
import hashlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio_models.catalog import default_cache_dir
from audio_models.interfaces import Recognizer, Transcript
from audio_models.pcm import read_wav
from voicebot.config import HotlineConfig
from voicebot.engines import load_engines
from voicebot.hotline import Hotline
from voicebot.understanding.classifier import TrainedIntentClassifier
from voicebot.understanding.encoder import SentenceEncoder, prepare_encoder
from voicebot.understanding.training import shipped_model

LOOPBACK = "127.0.0.1"
CALL_RATE = 8000


def free_port() -> int:
    """A port free for both UDP and TCP on loopback (SIP listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((LOOPBACK, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((LOOPBACK, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free loopback port")


class Speech:
    """Caller speech made at test time with espeak-ng (another voice than the bot's)."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("espeak-ng") is None:
            raise RuntimeError("espeak-ng is missing: run scripts/setup.sh")
        self.folder = folder

    def wav(self, text: str) -> Path:
        path = self.folder / f"{hashlib.sha1(text.encode()).hexdigest()[:12]}.wav"
        if not path.exists():
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text],
                           check=True)
        return path

    def pcm(self, text: str, rate: int = CALL_RATE) -> np.ndarray:
        return read_wav(self.wav(text), rate)

    def g711(self, text: str, codec: str = "PCMU") -> Path:
        """Raw 8 kHz mu-law (PCMU) or A-law (PCMA), as SIPp's rtp_stream wants it."""
        kind = {"PCMU": "ul", "PCMA": "al"}[codec]
        path = self.wav(text).with_suffix(f".{kind}")
        if not path.exists():
            subprocess.run(["sox", str(self.wav(text)), "-r", "8000", "-c", "1", "-t", kind,
                            str(path)], check=True)
        return path


SIPP_SCENARIOS = Path(__file__).parent / "sipp"


class Sipp:
    """SIPp (Debian's sip-tester) as a real caller; scenarios are templates in tests/sipp."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("sipp") is None:
            raise RuntimeError("sipp is missing: run scripts/setup.sh")
        self.folder = folder

    def start(self, scenario: str, target_port: int, service: str = "hotline", calls: int = 1,
              transport: str = "u1", **values: object) -> subprocess.Popen[str]:
        text = (SIPP_SCENARIOS / scenario).read_text()
        defaults = {"pt": 0, "codec": "PCMU", "expect": "SIP/2.0"}
        for key, value in {**defaults, **values}.items():
            text = text.replace(f"@{key.upper()}@", str(value))
        path = self.folder / f"{len(list(self.folder.iterdir()))}-{scenario}"
        path.write_text(text)
        return subprocess.Popen(
            ["sipp", "-sf", str(path), "-s", service, "-m", str(calls), "-l", str(calls),
             "-r", "10", "-t", transport, "-i", LOOPBACK, "-p", str(free_port()),
             "-mp", str(free_port()),
             "-timeout", "60s", "-timeout_error", "-nostdin", "-trace_err",
             f"{LOOPBACK}:{target_port}"],
            cwd=self.folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def run(self, scenario: str, target_port: int, **kwargs: object) -> tuple[int, str]:
        """Run a scenario to its end: (exit code, SIPp's output); 0 means every call passed."""
        proc = self.start(scenario, target_port, **kwargs)
        out, _ = proc.communicate(timeout=90)
        return proc.returncode, out


@pytest.fixture
def sipp(tmp_path: Path) -> Sipp:
    return Sipp(tmp_path)


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    return Speech(tmp_path_factory.mktemp("speech"))


class HotlineProcess:
    """`voicebot serve` as an operator runs it, on loopback, with its log kept for asserts."""

    def __init__(self, folder: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.records = folder / "records"
        self.lines: list[str] = []
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        # No events and no dashboard unless a test asks (``args`` come last and win).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicebot.cli", "serve", "--host", LOOPBACK,
             "--port", str(self.port), "--rtp-port", str(40000 + self.port % 1000 * 10),
             "--records-dir", str(self.records), "--mqtt", "off", "--dashboard-port", "0",
             *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for_log("voicebot ready", timeout=120)
        self.uri = f"sip:hotline@{LOOPBACK}:{self.port}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_log(self, text: str, count: int = 1, since: int = 0, timeout: float = 30) -> None:
        """Wait until ``text`` appears on ``count`` log lines after line ``since``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(text in line for line in self.lines[since:]) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"hotline never logged {text!r} x{count}:\n"
                             + "\n".join(self.lines[-40:]))

    def wait_records(self, count: int, timeout: float = 30.0) -> list[dict[str, object]]:
        """The first ``count`` call records, oldest first, once written."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = sorted(self.records.glob("*.json"), key=lambda p: p.stat().st_mtime)
            if len(files) >= count:
                return [json.loads(p.read_text()) for p in files]
            time.sleep(0.1)
        raise AssertionError(f"expected {count} call records in {self.records}:\n"
                             + "\n".join(self.lines[-40:]))

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HotlineProcess]:
    """A hotline with 2 calls at most and a 2 s silence timeout, shared by a test module."""
    server = HotlineProcess(tmp_path_factory.mktemp("hotline"), "--max-calls", "2",
                            "--silence-timeout-s", "2")
    yield server
    assert server.stop() == 0, "\n".join(server.lines[-40:])


# --- understanding ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    """The real sentence encoder (all-MiniLM-L6-v2 on ONNX Runtime), prepared offline."""
    return SentenceEncoder(prepare_encoder(default_cache_dir()))


@pytest.fixture(scope="session")
def intent_model(encoder: SentenceEncoder) -> TrainedIntentClassifier:
    """The shipped financial intent model, trained once and cached like `voicebot models`."""
    return shipped_model(default_cache_dir(), encoder)


class InjectedRecognizer:
    """The real recognizer with ``before(pcm, sample_rate)`` run first: fault or delay
    injection around the real engine, not a mock."""

    def __init__(self, inner: Recognizer, before: Callable[[np.ndarray, int], None]) -> None:
        self.inner = inner
        self.before = before
        self.name = f"injected-{inner.name}"

    def transcribe(self, pcm: np.ndarray, sample_rate: int) -> Transcript:
        self.before(pcm, sample_rate)
        return self.inner.transcribe(pcm, sample_rate)


@contextlib.contextmanager
def hotline_in_process(records: Path,
                       before_transcribe: Callable[[np.ndarray, int], None] = lambda *_: None,
                       **settings: Any) -> Iterator[Hotline]:
    """A hotline served from a thread of this process with the real models and ``settings``;
    every transcription first runs ``before_transcribe`` (see InjectedRecognizer)."""
    config = HotlineConfig(port=free_port(), rtp_port=free_port(), records_dir=str(records),
                           **settings)
    engines = load_engines(config)
    engines.recognizer = InjectedRecognizer(engines.recognizer, before_transcribe)
    hotline = Hotline(config, engines)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(hotline.serve(stop),))
    thread.start()
    deadline = time.monotonic() + 30
    while not hotline.endpoint.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hotline.endpoint.started
    try:
        yield hotline
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
        engines.close()
        assert not thread.is_alive()
