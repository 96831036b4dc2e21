"""The engines a hotline runs with, built once from config and shared by every call."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audio_models.asr.whisper import WhisperRecognizer
from audio_models.catalog import ProgressFactory, piper_voice, whisper_model_dir
from audio_models.interfaces import Recognizer, Synthesizer
from audio_models.tts.cache import CachingSynthesizer
from audio_models.tts.piper import PiperSynthesizer
from audio_models.vad import EndOfTurnDetector, TurnConfig, WebRtcVad
from voicebot.config import CALL_SAMPLE_RATE, HotlineConfig
from voicebot.dialogue import Dialogue
from voicebot.understanding.intents import IntentClassifier
from voicebot.understanding.keywords import KeywordIntentClassifier

log = logging.getLogger(__name__)


@dataclass
class Engines:
    recognizer: Recognizer
    synthesizer: Synthesizer
    classifier: IntentClassifier
    dialogue: Dialogue
    turn_config: TurnConfig
    vad_aggressiveness: int
    sample_rate: int
    # Model inference runs off the event loop, one worker per engine: calls queue up
    # rather than oversubscribe the cores that CTranslate2 and ONNX already use.
    asr_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="asr"))
    tts_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="tts"))

    def turn_detector(self) -> EndOfTurnDetector:
        return EndOfTurnDetector(WebRtcVad(self.vad_aggressiveness), self.sample_rate,
                                 self.turn_config)

    def close(self) -> None:
        self.asr_pool.shutdown(wait=True, cancel_futures=True)
        self.tts_pool.shutdown(wait=True, cancel_futures=True)


def load_recognizer(config: HotlineConfig, progress: ProgressFactory | None = None) -> Recognizer:
    cache = Path(config.model_cache) if config.model_cache else None
    model_dir = whisper_model_dir(config.asr_model, cache, progress)
    language = None if config.asr_language == "auto" else config.asr_language
    return WhisperRecognizer(model_dir, language=language, device=config.device)


def load_engines(config: HotlineConfig, progress: ProgressFactory | None = None) -> Engines:
    """Load and warm every model now, so that the first call is as fast as the tenth."""
    started = time.monotonic()
    recognizer = load_recognizer(config, progress)
    model, voice_config = piper_voice(config.tts_voice or None)
    synthesizer: Synthesizer = PiperSynthesizer(model, voice_config, sample_rate=CALL_SAMPLE_RATE,
                                                use_cuda=config.device == "cuda")
    dialogue = Dialogue()
    if config.tts_cache:
        cache = CachingSynthesizer(synthesizer, config.tts_cache)
        cache.prepare(dialogue.fixed_texts())
        synthesizer = cache
    # Warm-up on real speech: the first decode of a real utterance is measurably slower
    # (515 ms vs 300 ms seen on the first turn) than later ones; pay that here, not on a call.
    greeting = np.concatenate(list(synthesizer.synthesize(dialogue.prompts.greeting)))
    heard = recognizer.transcribe(greeting, CALL_SAMPLE_RATE).text
    log.info("models ready in %.1f s: %s, %s (self-check heard %r)",
             time.monotonic() - started, recognizer.name, synthesizer.name, heard)
    return Engines(recognizer=recognizer, synthesizer=synthesizer,
                   classifier=KeywordIntentClassifier(), dialogue=dialogue,
                   turn_config=TurnConfig(hangover_ms=config.hangover_ms,
                                          pause_ms=config.speculate_after_ms),
                   vad_aggressiveness=config.vad_aggressiveness,
                   sample_rate=CALL_SAMPLE_RATE)
