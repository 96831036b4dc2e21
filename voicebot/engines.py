"""The engines a hotline runs with, built once from config and shared by every call."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audio_models.asr.whisper import WhisperRecognizer
from audio_models.catalog import (
    ProgressFactory,
    default_cache_dir,
    piper_voice,
    whisper_model_dir,
)
from audio_models.dsp.backend import make_backend
from audio_models.dsp.scheduler import BatchScheduler
from audio_models.dsp.settings import WIDE_RATE, FrontEndSettings
from audio_models.interfaces import Recognizer, Synthesizer
from audio_models.tts.cache import CachingSynthesizer
from audio_models.tts.piper import PiperSynthesizer
from audio_models.vad import EndOfTurnDetector, TurnConfig, WebRtcVad
from voicebot.config import CALL_SAMPLE_RATE, HotlineConfig
from voicebot.knowledge import SHIPPED_KB_DIR
from voicebot.knowledge_store import KnowledgeStore
from voicebot.understanding.classifier import TrainedIntentClassifier
from voicebot.understanding.encoder import SentenceEncoder, prepare_encoder
from voicebot.understanding.intents import IntentClassifier
from voicebot.understanding.training import shipped_model

log = logging.getLogger(__name__)


@dataclass
class Engines:
    recognizer: Recognizer
    synthesizer: Synthesizer
    classifier: IntentClassifier
    knowledge: KnowledgeStore
    reply_languages: tuple[str, ...]
    min_confidence: float
    turn_config: TurnConfig
    vad_aggressiveness: int
    front_end: BatchScheduler
    sample_rate: int  # of what the front end hands on: what VAD and ASR hear
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
    return WhisperRecognizer(model_dir, language=language, device=config.device,
                             window=config.asr_window)


def load_classifier(config: HotlineConfig) -> IntentClassifier:
    cache = Path(config.model_cache) if config.model_cache else default_cache_dir()
    encoder = SentenceEncoder(prepare_encoder(cache))
    if config.intent_model:
        return TrainedIntentClassifier.load(Path(config.intent_model), encoder)
    return shipped_model(cache, encoder)


def load_front_end(config: HotlineConfig) -> BatchScheduler:
    settings = FrontEndSettings(dc_removal="dc" in config.front_end,
                                denoise="denoise" in config.front_end,
                                gain_control="agc" in config.front_end)
    backend = config.dsp_backend
    if backend == "auto":
        from audio_models.dsp.cuda import gpu_available
        backend = "cuda" if gpu_available() else "cpu"
    front_end = BatchScheduler(make_backend(backend, config.max_calls, settings))
    front_end.warm_up()
    log.info("front end: %s on %s", ", ".join(config.front_end) or "resampling only", backend)
    return front_end


def load_engines(config: HotlineConfig, progress: ProgressFactory | None = None) -> Engines:
    """Load and warm every model now, so that the first call is as fast as the tenth."""
    started = time.monotonic()
    knowledge = KnowledgeStore(Path(config.kb_dir) if config.kb_dir else SHIPPED_KB_DIR)
    kb = knowledge.for_call("start-up")
    languages = tuple(lang for lang in config.reply_languages if lang in kb.languages)
    if not languages:
        raise ValueError(f"reply_languages {config.reply_languages} are not in the knowledge "
                         f"base (it has {', '.join(kb.languages)})")
    recognizer = load_recognizer(config, progress)
    classifier = load_classifier(config)
    model, voice_config = piper_voice(config.tts_voice or None)
    synthesizer: Synthesizer = PiperSynthesizer(model, voice_config, sample_rate=CALL_SAMPLE_RATE,
                                                use_cuda=config.device == "cuda")
    if config.tts_cache:
        cache = CachingSynthesizer(synthesizer, config.tts_cache)
        cache.prepare([text for lang in languages for text in kb.texts(lang)])
        synthesizer = cache
    # Warm-up on real speech: the first decode of a real utterance is measurably slower
    # (515 ms vs 300 ms seen on the first turn) than later ones; pay that here, not on a call.
    greeting_text = kb.prompts(languages[0]).greeting
    greeting = np.concatenate(list(synthesizer.synthesize(greeting_text)))
    heard = recognizer.transcribe(greeting, CALL_SAMPLE_RATE).text
    classifier.classify(heard)  # the first ONNX run is slower; not on a call
    front_end = load_front_end(config)  # compiles its kernels (once, then cached on disk)
    log.info("models ready in %.1f s: %s, %s, knowledge base %s (self-check heard %r)",
             time.monotonic() - started, recognizer.name, synthesizer.name, kb.version, heard)
    return Engines(recognizer=recognizer, synthesizer=synthesizer, classifier=classifier,
                   knowledge=knowledge, reply_languages=languages,
                   min_confidence=config.min_confidence,
                   turn_config=TurnConfig(hangover_ms=config.hangover_ms,
                                          pause_ms=config.speculate_after_ms),
                   vad_aggressiveness=config.vad_aggressiveness,
                   front_end=front_end, sample_rate=WIDE_RATE)
