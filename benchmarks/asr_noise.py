"""Word error rate against SNR on telephone speech, with and without the call-audio front end,
for each shipped Whisper model.

    .venv/bin/python -m benchmarks.asr_noise [--models tiny.en,base] [--snrs clean,20,10,5,0]
        [--noises white,pink,babble,street] [--configs "off,dc,denoise,..."] [--sentences N]
    .venv/bin/voicebot bench asr-noise ...       (the same)

Speech: short banking-hotline sentences (numbers spelt out), each spoken by the Piper voice
(joe, male) and by espeak-ng en-us (male) and en-us+f3 (female), made at start-up and kept in
memory. (espeak en-gb was tried: through the clean telephone line alone tiny.en already made
22 % errors on it, against 7 % for en-us+f3, which would hide what noise does.)

The line, per utterance: 16 kHz speech -> 8 kHz with the front end's own decimator
(``reference.downsample_signal``) -> 0.5 s of silence appended -> band-pass
300-3400 Hz -> active speech level set to -26 dBFS -> 2.3 s of silence in front (2 s the
front end hears before the turn, as it would in a running call, so that its noise tracker has
settled; 0.3 s kept before the words) -> noise added -> G.711 mu-law encode and decode.
The noise is acoustic: it goes through the same band-pass before it is added, so the SNR is
the one on the line. SNR = active speech power / noise power, both measured over the same
samples: the 20 ms frames of the clean speech within 30 dB of its loudest frame.

Noises (8 kHz, seeded per noise and utterance, the same waveform at every SNR):
  white     Gaussian.
  pink      Gaussian shaped to a 1/f power spectrum in the FFT domain.
  babble    4-6 other sentences by other voices, each looped from a random offset, summed.
  street (synthetic)  traffic rumble: brown (1/f^2) noise low-passed at 1 kHz, its level
            swelling as vehicles pass (a Gaussian bump of 0.8-2 s per vehicle, about one
            every 3 s, over a steady floor), plus occasional bursts (0.5-1.2 s, about one
            every 4 s) of a passer-by from the corpus, 6 dB under the rumble's floor.

Front-end configurations (``FrontEndSettings``): scipy (no front end: the 8 kHz audio goes to
Whisper, which resamples it with SciPy), off (no stage: only the front end's 2x
up-sampler), dc (DC removal, the default), denoise, denoise+agc, and denoise with a -6 dB
gain floor instead of -12 dB. Each degraded utterance goes through the NumPy reference front
end; its 16 kHz output, from 0.3 s before the words on, is transcribed by
``WhisperRecognizer(language="en", device="cpu", window="fit")``.

Scoring: jiwer WER after lowercasing, spelling out numbers and currency ("$2,500" -> "two
thousand five hundred dollars"), dropping punctuation; a cell's WER is its errors over its
reference words, all utterances pooled (the JSON also has it per voice). Writes asr_noise.json
and asr_noise.png under ``--out`` and prints a table per model.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
from scipy.signal import butter, sosfilt
from tqdm import tqdm

from audio_models.asr.whisper import WhisperRecognizer
from audio_models.catalog import piper_voice, whisper_model_dir
from audio_models.dsp import reference
from audio_models.dsp.settings import FRAME, RATE, WIDE_RATE, FrontEndSettings
from audio_models.pcm import read_wav
from audio_models.tts.piper import PiperSynthesizer
from benchmarks.stats import machine, percentiles
from voicebot.progress import progress_bar

SENTENCES = (
    "I would like to check the balance of my savings account.",
    "My credit card was stolen yesterday and I need to block it.",
    "Please transfer two thousand five hundred dollars to my checking account.",
    "Can you tell me why I was charged thirty five dollars last week?",
    "Please send a new debit card to my home address.",
    "I want to pay four hundred twenty dollars on my loan today.",
    "How much is the fee for an international wire transfer?",
    "What is the interest rate on a fixed deposit for twelve months?",
    "I forgot the password for my online banking.",
    "There are two payments on my statement that I did not make.",
    "Can I raise my daily withdrawal limit to one thousand dollars?",
    "I would like to speak to someone about a mortgage.",
)
ESPEAK_VOICES = ("en-us", "en-us+f3")
PIPER = "piper joe"
SEED = 2024

SPEECH_LEVEL_DB = -26.0  # nominal active speech level on a telephone line (ITU-T P.56 sense)
ACTIVE_RANGE_DB = 30.0  # frames this far under the loudest still count as active speech
LEAD_IN_S = 2.0  # > the denoiser's 1.6 s minimum search, so its noise estimate has settled
PRE_ROLL_S = 0.3
TAIL_S = 0.5
BAND_HZ = (300.0, 3400.0)
STREET_FLOOR = 0.4  # the rumble between vehicles, relative to a passing vehicle's 0.5-2
BURST_DB = -6.0

NOISES = {"white": "white", "pink": "pink", "babble": "babble",
          "street": "street (synthetic)"}
# None: no front end at all, the 8 kHz line audio handed to Whisper, which resamples it with
# SciPy (how calls were heard before the front end existed).
CONFIGS: dict[str, FrontEndSettings | None] = {
    "scipy": None,
    "off": FrontEndSettings(dc_removal=False),
    "dc": FrontEndSettings(),
    "denoise": FrontEndSettings(denoise=True),
    "denoise+agc": FrontEndSettings(denoise=True, gain_control=True),
    "denoise -6dB floor": FrontEndSettings(denoise=True, gain_floor_db=-6.0),
}
CLEAN = "clean"

# G.711 mu-law, the segment law of the standard (not the continuous mu=255 curve), as in the
# reference g711.c on 16-bit samples: 8 segments of 16 steps, each twice as coarse as the one
# before. Decoding matches Python's audioop; encoding too, but for 381 of the 65536 inputs,
# negative ones on a decision boundary, where audioop's 14-bit shift rounds one step apart.
MULAW_BIAS = 0x84
MULAW_CLIP = 32635


@dataclass(frozen=True)
class Utterance:
    """One sentence by one voice, on the line: 8 kHz, band-limited, at the nominal level."""

    sentence: int
    voice: str
    text: str
    speech: np.ndarray  # the words and the tail, without the silence in front


@dataclass
class Cell:
    """One model, noise, SNR and front-end configuration: every utterance's transcript."""

    model: str
    noise: str
    snr_db: float | None  # None: clean
    config: str
    references: list[str]
    voices: list[str]  # who spoke each reference
    hypotheses: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        counts = [jiwer.process_words(r, normalise(h)) for r, h in zip(
            self.references, self.hypotheses, strict=True)]
        errors, words = _pooled(counts)
        by_voice = {v: _pooled([c for c, cv in zip(counts, self.voices, strict=True) if cv == v])
                    for v in dict.fromkeys(self.voices)}
        return {
            "model": self.model, "noise": self.noise, "snr_db": self.snr_db,
            "config": self.config, "wer": errors / words, "errors": errors, "words": words,
            "utterances": len(counts),
            "substitutions": sum(c.substitutions for c in counts),
            "deletions": sum(c.deletions for c in counts),
            "insertions": sum(c.insertions for c in counts),
            "utterance_wer": percentiles([c.wer for c in counts]),
            "wer_by_voice": {v: e / w for v, (e, w) in by_voice.items()},
            "hypotheses": self.hypotheses,
        }


def _pooled(counts: Sequence[jiwer.WordOutput]) -> tuple[int, int]:
    """(errors, reference words) of utterances scored together."""
    errors = sum(c.substitutions + c.deletions + c.insertions for c in counts)
    return errors, sum(c.hits + c.substitutions + c.deletions for c in counts)


# --- speech ------------------------------------------------------------------------------
def synthesize_corpus(sentences: Sequence[str]) -> list[Utterance]:
    """Every sentence by every voice, kept in memory for the run."""
    piper = PiperSynthesizer(*piper_voice(), sample_rate=WIDE_RATE)
    voices = [PIPER, *(f"espeak {v}" for v in ESPEAK_VOICES)]
    jobs = [(i, voice) for i in range(len(sentences)) for voice in voices]
    with tempfile.TemporaryDirectory(prefix="asr-noise-") as folder:
        return [Utterance(i, voice, sentences[i],
                          on_the_line(_speak(sentences[i], voice, piper, Path(folder)) / 32768))
                for i, voice in tqdm(jobs, desc="speech", unit="utt")]


def _speak(text: str, voice: str, piper: PiperSynthesizer, folder: Path) -> np.ndarray:
    """int16 speech at 16 kHz."""
    if voice == PIPER:
        return np.concatenate(list(piper.synthesize(text)))
    path = folder / "utterance.wav"
    subprocess.run(["espeak-ng", "-v", voice.removeprefix("espeak "), "-s", "150", "-w",
                    str(path), text], check=True)
    return read_wav(path, WIDE_RATE)


def on_the_line(wide: np.ndarray) -> np.ndarray:
    """16 kHz speech as the line carries it before any noise (see the module docstring)."""
    narrow = reference.downsample_signal(wide)  # the front end's own 16 -> 8 kHz decimator
    line = band_pass(np.pad(narrow, (0, int(TAIL_S * RATE))))
    return np.asarray(line * 10 ** (SPEECH_LEVEL_DB / 20) / np.sqrt(active_power(line, line)))


def band_pass(x: np.ndarray) -> np.ndarray:
    sos = butter(4, BAND_HZ, btype="bandpass", fs=RATE, output="sos")
    return np.asarray(sosfilt(sos, x))


def active_frames(speech: np.ndarray) -> np.ndarray:
    """Sample mask of the 20 ms frames of ``speech`` within ACTIVE_RANGE_DB of the loudest."""
    frames = np.pad(speech, (0, -len(speech) % FRAME)).reshape(-1, FRAME)
    power = np.mean(frames**2, axis=1)
    active = power >= power.max() * 10 ** (-ACTIVE_RANGE_DB / 10)
    return np.repeat(active, FRAME)[:len(speech)]


def active_power(signal: np.ndarray, speech: np.ndarray) -> float:
    """Mean power of ``signal`` over the active-speech samples of ``speech``."""
    return float(np.mean(signal[active_frames(speech)] ** 2))


# --- noise -------------------------------------------------------------------------------
def make_noise(kind: str, n: int, rng: np.random.Generator, talkers: Sequence[np.ndarray]
               ) -> np.ndarray:
    if kind == "white":
        return rng.standard_normal(n)
    if kind == "pink":
        return coloured(rng, n, exponent=1.0)
    if kind == "babble":
        count = int(rng.integers(4, 7))
        chosen = rng.choice(len(talkers), count, replace=count > len(talkers))
        return np.asarray(np.sum([looped(talkers[i], n, rng) for i in chosen], axis=0))
    if kind == "street":
        return street(rng, n, talkers)
    raise ValueError(f"unknown noise {kind!r}: use one of {', '.join(NOISES)}")


def coloured(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Gaussian noise whose power falls as 1/f**exponent (1: pink, 2: brown), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    spectrum[1:] /= f[1:] ** (exponent / 2)
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return np.asarray(x / np.sqrt(np.mean(x**2)))


def looped(talker: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``talker`` repeated end to end from a random offset, ``n`` samples long."""
    start = int(rng.integers(len(talker)))
    return np.resize(np.roll(talker, -start), n)


def street(rng: np.random.Generator, n: int, talkers: Sequence[np.ndarray]) -> np.ndarray:
    """Traffic rumble swelling as vehicles pass, with a passer-by speaking now and then."""
    seconds = n / RATE
    rumble = np.asarray(sosfilt(butter(4, 1000.0, fs=RATE, output="sos"),
                                coloured(rng, n, exponent=2.0)))
    rumble /= np.sqrt(np.mean(rumble**2))
    t = np.arange(n) / RATE
    envelope = np.full(n, STREET_FLOOR)
    for _ in range(rng.poisson(seconds / 3.0) + 1):
        centre, width = rng.uniform(-2.0, seconds + 2.0), rng.uniform(0.8, 2.0)
        envelope += rng.uniform(0.5, 2.0) * np.exp(-(((t - centre) / width) ** 2))
    noise: np.ndarray = rumble * envelope
    # Talkers are at the nominal speech level; a passer-by is BURST_DB under the rumble floor.
    burst_gain = STREET_FLOOR * 10 ** ((BURST_DB - SPEECH_LEVEL_DB) / 20)
    for _ in range(rng.poisson(seconds / 4.0)):
        length = min(n, int(rng.uniform(0.5, 1.2) * RATE))
        burst = looped(talkers[int(rng.integers(len(talkers)))], length, rng)
        at = int(rng.integers(n - length + 1))
        noise[at:at + length] += burst_gain * np.hanning(length) * burst
    return noise


def babble_talkers(corpus: Sequence[Utterance], target: Utterance) -> list[np.ndarray]:
    """Other sentences by other voices; any other utterance if the corpus has too few."""
    others = [u for u in corpus if u.sentence != target.sentence and u.voice != target.voice]
    return [u.speech for u in (others or [u for u in corpus if u is not target])]


def degrade(utterance: Utterance, noise: np.ndarray | None, snr_db: float | None
            ) -> np.ndarray:
    """The utterance as the hotline receives it: silence in front, noise, G.711."""
    lead = np.zeros(int((LEAD_IN_S + PRE_ROLL_S) * RATE))
    speech = np.concatenate([lead, utterance.speech])
    line = speech
    if noise is not None and snr_db is not None:
        noise = band_pass(noise)
        gain = np.sqrt(active_power(speech, speech)
                       / (active_power(noise, speech) * 10 ** (snr_db / 10)))
        line = speech + gain * noise
    return mulaw_decode(mulaw_encode(line))


def mulaw_encode(x: np.ndarray) -> np.ndarray:
    pcm = np.clip(np.rint(x * 32768), -32768, 32767).astype(np.int32)
    magnitude = np.minimum(np.abs(pcm), MULAW_CLIP) + MULAW_BIAS
    segment = np.frexp(magnitude)[1] - 8  # highest set bit, 7..14 -> segment 0..7
    mantissa = (magnitude >> (segment + 3)) & 0x0F
    sign = np.where(pcm < 0, 0x80, 0)
    return np.asarray(~(sign | (segment << 4) | mantissa) & 0xFF, dtype=np.uint8)


def mulaw_decode(code: np.ndarray) -> np.ndarray:
    bits = ~code.astype(np.int32) & 0xFF
    segment, mantissa = (bits >> 4) & 0x07, bits & 0x0F
    magnitude = (((mantissa << 3) + MULAW_BIAS) << segment) - MULAW_BIAS
    return np.where(bits & 0x80, -magnitude, magnitude) / 32768.0


# --- front end and recognition -----------------------------------------------------------
def to_pcm16(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(np.rint(x * 32768), -32768, 32767), dtype=np.int16)


_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_CURRENCIES = {"$": "dollars", "£": "pounds", "€": "euros"}
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"


def number_words(n: int) -> str:
    """American style, no "and": 2500 -> "two thousand five hundred"."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return f"{_ONES[n // 100]} hundred" + (f" {number_words(rest)}" if rest else "")
    scale, name = next((s, w) for s, w in _SCALES if n >= s)
    rest = n % scale
    return f"{number_words(n // scale)} {name}" + (f" {number_words(rest)}" if rest else "")


def _spoken_number(text: str) -> str:
    """"2,500" -> "two thousand five hundred", "4.25" -> "four point two five"."""
    whole, _, decimals = text.replace(",", "").partition(".")
    words = [number_words(int(whole))]
    if decimals:
        words += ["point", *(_ONES[int(d)] for d in decimals)]
    return " ".join(words)


def normalise(text: str) -> str:
    """Lowercase words only, numbers and currency amounts spelt out, no punctuation."""
    text = text.lower()
    text = re.sub(rf"([$£€])\s?({_NUMBER})",
                  lambda m: f"{m[2]} {_CURRENCIES[m[1]]}", text)
    text = text.replace("%", " percent")
    text = re.sub(_NUMBER, lambda m: f" {_spoken_number(m[0])} ", text)
    text = re.sub(r"[^\w\s']|_", " ", text).replace("'", "")
    return " ".join(text.split())


# --- the run -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    noise: str  # "none" when clean
    snr_db: float | None

    @property
    def label(self) -> str:
        return CLEAN if self.snr_db is None else f"{NOISES[self.noise]} {self.snr_db:g} dB"


def conditions(noises: Sequence[str], snrs: Sequence[float | None]) -> list[Condition]:
    clean = [Condition("none", None)] if None in snrs else []
    return clean + [Condition(n, s) for n in noises for s in snrs if s is not None]


def line_audio(corpus: Sequence[Utterance], condition: Condition) -> list[np.ndarray]:
    signals = []
    for index, utterance in enumerate(corpus):
        noise = None
        if condition.snr_db is not None:
            rng = np.random.default_rng([SEED, list(NOISES).index(condition.noise), index])
            n = int((LEAD_IN_S + PRE_ROLL_S) * RATE) + len(utterance.speech)
            noise = make_noise(condition.noise, n, rng, babble_talkers(corpus, utterance))
        signals.append(degrade(utterance, noise, condition.snr_db))
    return signals


def run(corpus: Sequence[Utterance], recognizers: dict[str, WhisperRecognizer],
        plan: Sequence[Condition], configs: Sequence[str]) -> tuple[list[Cell], dict[str, float]]:
    cells: list[Cell] = []
    seconds = {"front_end": 0.0, **{f"asr {m}": 0.0 for m in recognizers}}
    references = [normalise(u.text) for u in corpus]
    voices = [u.voice for u in corpus]
    lead = 2 * int(LEAD_IN_S * RATE)  # 16 kHz samples the recogniser does not get
    total = len(plan) * len(configs) * len(recognizers) * len(corpus)
    with tqdm(total=total, desc="transcriptions", unit="utt") as bar:
        for condition in plan:
            signals = line_audio(corpus, condition)
            for config in configs:
                started = time.perf_counter()
                settings = CONFIGS[config]
                if settings is None:
                    heard, rate = [to_pcm16(s[lead // 2:]) for s in signals], RATE
                else:
                    processed = reference.process_signals(signals, settings)
                    heard = [to_pcm16(w[lead:2 * len(s)])
                             for (w, _), s in zip(processed, signals, strict=True)]
                    rate = WIDE_RATE
                seconds["front_end"] += time.perf_counter() - started
                for model, recognizer in recognizers.items():
                    cell = Cell(model, condition.noise, condition.snr_db, config, references,
                                voices)
                    started = time.perf_counter()
                    for pcm in heard:
                        cell.hypotheses.append(recognizer.transcribe(pcm, rate).text)
                        bar.update()
                    seconds[f"asr {model}"] += time.perf_counter() - started
                    cells.append(cell)
    return cells, seconds


def average_wer(cells: Sequence[dict[str, Any]], model: str, config: str) -> float:
    """Mean of the cell WERs over the noisy conditions (each condition weighs the same)."""
    wers = [c["wer"] for c in cells
            if c["model"] == model and c["config"] == config and c["snr_db"] is not None]
    return float(np.mean(wers)) if wers else float("nan")


def _plot(cells: Sequence[dict[str, Any]], models: Sequence[str], noises: Sequence[str],
          configs: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snrs = sorted({c["snr_db"] for c in cells if c["snr_db"] is not None})
    has_clean = any(c["snr_db"] is None for c in cells)
    ticks = [*snrs, *([(snrs[-1] + 10) if snrs else 0.0] if has_clean else [])]
    labels = [*(f"{s:g}" for s in snrs), *([CLEAN] if has_clean else [])]
    fig, axes = plt.subplots(len(models), len(noises), squeeze=False, sharey=True,
                             figsize=(3.6 * len(noises), 3.0 * len(models)))
    for row, model in enumerate(models):
        for col, noise in enumerate(noises):
            ax = axes[row][col]
            for i, config in enumerate(configs):
                color = f"C{i}"
                points = sorted((c["snr_db"], 100 * c["wer"]) for c in cells
                                if (c["model"], c["noise"], c["config"]) == (model, noise, config)
                                and c["snr_db"] is not None)
                clean = [100 * c["wer"] for c in cells if (c["model"], c["snr_db"],
                         c["config"]) == (model, None, config)]
                if points:
                    ax.plot(*zip(*points, strict=True), marker="o", color=color, label=config)
                if clean:
                    ax.plot(ticks[-1:], clean, marker="s", color=color, linestyle="none",
                            label=None if points else config)
                    if points:
                        ax.plot([points[-1][0], ticks[-1]], [points[-1][1], clean[0]],
                                color=color, linestyle=":")
            ax.set_xticks(ticks, labels)
            ax.set(title=f"{model}: {NOISES.get(noise, 'clean')}", xlabel="SNR (dB)")
            ax.grid(alpha=0.3)
            if col == 0:
                ax.set_ylabel("WER %")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _print(cells: Sequence[dict[str, Any]], models: Sequence[str], plan: Sequence[Condition],
           configs: Sequence[str]) -> None:
    widths = [max(8, len(c) + 2) for c in configs]
    for model in models:
        wer = {(c["noise"], c["snr_db"], c["config"]): c["wer"] for c in cells
               if c["model"] == model}
        utterances = next(c["utterances"] for c in cells if c["model"] == model)
        print(f"\n[{model}]  WER % (all {utterances} utterances of a condition pooled)")
        print(f"{'condition':30}" + "".join(f"{c:>{w}}" for c, w in zip(configs, widths,
                                                                          strict=True)))
        for condition in plan:
            row = [wer[(condition.noise, condition.snr_db, c)] for c in configs]
            print(f"{condition.label:30}" + _percentages(row, widths))
        averages = {c: average_wer(cells, model, c) for c in configs}
        if any(s.snr_db is not None for s in plan):
            print(f"{'average over noisy conditions':30}"
                  + _percentages(list(averages.values()), widths))
            best = min(configs, key=lambda c: averages[c])
            print(f"best on average over noisy conditions: {best} "
                  f"({100 * averages[best]:.1f} % WER)")


def _percentages(values: Sequence[float], widths: Sequence[int]) -> str:
    return "".join(f"{100 * v:>{w}.1f}" for v, w in zip(values, widths, strict=True))


def _models(names: Sequence[str]) -> dict[str, WhisperRecognizer]:
    return {name: WhisperRecognizer(whisper_model_dir(name, None, progress_bar()), language="en",
                                    device="cpu", window="fit") for name in names}


def _snr(token: str) -> float | None:
    return None if token == CLEAN else float(token)


def _choices(text: str, known: Sequence[str], option: str,
             parser: argparse.ArgumentParser) -> list[str]:
    chosen = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [c for c in chosen if c not in known]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)}; use {', '.join(known)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.asr_noise",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="tiny.en,base", help="Whisper models, comma-separated")
    parser.add_argument("--snrs", default="clean,20,10,5,0",
                        help="SNRs in dB and/or 'clean', comma-separated")
    parser.add_argument("--noises", default=",".join(NOISES),
                        help=f"noise types among {', '.join(NOISES)}")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"front-end configurations among {', '.join(CONFIGS)}")
    parser.add_argument("--sentences", type=int, default=len(SENTENCES),
                        help=f"how many of the {len(SENTENCES)} sentences (3 voices each)")
    parser.add_argument("--out", type=Path, default=Path("results/asr_noise"))
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    noises = _choices(args.noises, list(NOISES), "--noises", parser)
    configs = _choices(args.configs, list(CONFIGS), "--configs", parser)
    try:
        snrs = [_snr(t.strip()) for t in args.snrs.split(",") if t.strip()]
    except ValueError:
        parser.error("--snrs takes numbers in dB and 'clean'")
    if not 1 <= args.sentences <= len(SENTENCES):
        parser.error(f"--sentences must be 1..{len(SENTENCES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    recognizers = _models(models)
    corpus = synthesize_corpus(SENTENCES[:args.sentences])
    plan = conditions(noises, sorted(set(snrs), key=lambda s: np.inf if s is None else -s))
    cells, seconds = run(corpus, recognizers, plan, configs)
    summaries = [c.summary() for c in cells]
    report = {
        "machine": machine(), "wall_seconds": round(time.monotonic() - started, 1),
        "busy_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "settings": {
            "models": models, "snrs_db": snrs, "noises": {n: NOISES[n] for n in noises},
            "configs": {c: asdict(settings) if (settings := CONFIGS[c]) else "no front end"
                        for c in configs},
            "sentences": list(SENTENCES[:args.sentences]),
            "voices": [PIPER, *(f"espeak {v}" for v in ESPEAK_VOICES)],
            "speech_level_dbfs": SPEECH_LEVEL_DB, "active_range_db": ACTIVE_RANGE_DB,
            "band_hz": BAND_HZ, "codec": "G.711 mu-law (segment law)",
            "lead_in_s": LEAD_IN_S, "pre_roll_s": PRE_ROLL_S, "tail_s": TAIL_S, "seed": SEED,
            "references": [normalise(u.text) for u in corpus],
        },
        "averages_over_noisy_conditions": {
            m: {c: average_wer(summaries, m, c) for c in configs} for m in models},
        "cells": summaries,
    }
    (args.out / "asr_noise.json").write_text(json.dumps(report, indent=2))
    _plot(summaries, models, noises if any(s is not None for s in snrs) else ["none"],
          configs, args.out / "asr_noise.png")
    _print(summaries, models, plan, configs)
    print(f"\nwall time {report['wall_seconds']:.0f} s; written: {args.out / 'asr_noise.json'}, "
          f"{args.out / 'asr_noise.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
