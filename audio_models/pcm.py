"""Conversions between the PCM shapes the engines and the call use."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling of int16 or float audio; returns the input dtype."""
    if from_rate == to_rate or samples.size == 0:
        return samples
    g = gcd(from_rate, to_rate)
    out = resample_poly(samples.astype(np.float32), to_rate // g, from_rate // g)
    if samples.dtype == np.int16:
        return np.asarray(np.clip(np.rint(out), -32768, 32767), dtype=np.int16)
    return np.asarray(out, dtype=samples.dtype)


def to_float(samples: np.ndarray) -> np.ndarray:
    """int16 -> float32 in [-1, 1)."""
    return samples.astype(np.float32) / 32768.0


def frames(samples: np.ndarray, frame_samples: int) -> Iterator[bytes]:
    """Split int16 audio into frames of exactly ``frame_samples``, zero-padding the last."""
    for start in range(0, len(samples), frame_samples):
        chunk = samples[start:start + frame_samples]
        if len(chunk) < frame_samples:
            chunk = np.pad(chunk, (0, frame_samples - len(chunk)))
        yield chunk.astype("<i2").tobytes()


def rms(frame: bytes) -> float:
    """Root-mean-square level of a 16-bit PCM frame, in sample units."""
    x = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def read_wav(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono 16-bit samples of a WAV file at ``sample_rate`` (stereo is mixed down)."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise ValueError(f"{path}: need 16-bit PCM, got {8 * w.getsampwidth()}-bit")
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            channels, rate = w.getnchannels(), w.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a readable WAV file ({exc})") from exc
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1)
    return resample(pcm.astype(np.int16), rate, sample_rate)


def write_wav(path: str | Path, pcm: np.ndarray, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.astype("<i2").tobytes())
