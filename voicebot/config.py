"""Hotline settings: defaults, then a TOML file, then VOICEBOT_* environment, then flags."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_models.dsp.backend import BACKENDS

# The bridge runs at the G.711 rate: no resampling between RTP and the agent.
CALL_SAMPLE_RATE = 8000
FRONT_END_STAGES = ("dc", "denoise", "agc")
DSP_BACKENDS = ("auto", *BACKENDS)  # auto: cuda when a GPU is present, else cpu


_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$")
_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")  # no MQTT wildcards or separators


class ConfigError(ValueError):
    """A setting is unknown or malformed; the message names it and what is expected."""


@dataclass
class HotlineConfig:
    host: str = "127.0.0.1"
    port: int = 5060
    transports: tuple[str, ...] = ("udp", "tcp")
    extension: str = "hotline"
    max_calls: int = 4
    rtp_port: int = 40000
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    asr_model: str = "tiny.en"  # tiny.en, base, or a CTranslate2 Whisper folder
    asr_language: str = "en"
    asr_window: str = "fit"  # fit: encode a window just longer than the turn; full: 30 s
    device: str = "cpu"  # cpu or cuda
    tts_voice: str = ""  # a Piper .onnx; empty: the packaged en_US voice
    tts_cache: int = 256  # texts whose audio is kept (prompts, fixed answers); 0: none
    model_cache: str = ""  # where prepared models go; empty: ~/.cache/voicebot
    # Call-audio front end stages (dc, denoise, agc; empty: none) before VAD and ASR, and
    # where they run: auto = cuda when a GPU is present, else cpu (Numba); numpy = reference.
    front_end: tuple[str, ...] = ("dc",)
    dsp_backend: str = "auto"
    vad_aggressiveness: int = 2
    hangover_ms: int = 400
    speculate_after_ms: int = 200  # start recognising after this much pause (0: at turn end)
    # "semantic": a pause whose words are understood and sound finished ends the turn as soon
    # as the answer prepared in the pause is ready (so it needs speculate_after_ms > 0);
    # "silence": only the full hangover does.
    turn_end: str = "semantic"
    # With turn_end semantic, a plain statement ("I lost my card yesterday.") is answered only
    # this long after its last word: callers often go on ("... Can you block it?").
    statement_hangover_ms: int = 700
    silence_timeout_s: float = 8.0
    # An answer not ready this long after the turn ended is preceded by the filler prompt
    # ("One moment, please."): with ~100 ms of transport the caller hears something by 0.5 s.
    filler_after_ms: int = 400  # 0: never
    records_dir: str = ""  # one JSON per call; empty: records only in the log
    intent_model: str = ""  # a folder from `voicebot nlu train`; empty: the shipped intent set
    # Below this an intent counts as not understood. Measured on the held-out split: 0.4
    # rejects 13 % of utterances and 96.6 % of the rest are right (0.5: 22 %, 97.7 %).
    min_confidence: float = 0.4
    kb_dir: str = ""  # knowledge-base folder (hot-reloaded); empty: the shipped example KB
    reply_languages: tuple[str, ...] = ("en",)  # languages the voice speaks, first = default
    # Live events and supervisor control over MQTT. "local": serve runs its own Mosquitto on
    # 127.0.0.1:mqtt_port; "host:port": a site's broker (mqtt_username/mqtt_password); "off".
    mqtt: str = "local"
    mqtt_port: int = 1883
    mqtt_username: str = "voicebot"
    mqtt_password: str = ""  # for a site's broker; better VOICEBOT_MQTT_PASSWORD than a file
    mqtt_buffer: int = 10000  # events kept while the broker is away; then the oldest go
    site: str = "main"  # hotline/<site>/... in every topic
    supervisors_file: str = "supervisors.toml"  # `voicebot supervisors add` writes it
    supervisor_answer_s: float = 20.0  # how long the bot rings a supervisor's phone
    audit_log: str = "audit/supervisor-actions.jsonl"
    dashboard_port: int = 8080  # 0: no dashboard
    dashboard_session_ttl_s: int = 1800  # idle dashboard logins expire after this
    log_level: str = "info"

    def __post_init__(self) -> None:
        if not 1 <= self.max_calls <= 4:
            # Measured: one pjsua2-python process takes at most 4 calls (design notes).
            raise ConfigError(f"max_calls must be 1..4 per process, got {self.max_calls}")
        for t in self.transports:
            if t not in ("udp", "tcp"):
                raise ConfigError(f"transport {t!r} is not supported: use udp and/or tcp")
        for c in self.codecs:
            if c not in ("PCMU", "PCMA"):
                raise ConfigError(f"codec {c!r} is not supported: use PCMU and/or PCMA")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"min_confidence must be 0..1, got {self.min_confidence}")
        if self.asr_window not in ("fit", "full"):
            raise ConfigError(f"asr_window must be fit or full, got {self.asr_window!r}")
        if self.turn_end not in ("semantic", "silence"):
            raise ConfigError(f"turn_end must be semantic or silence, got {self.turn_end!r}")
        for stage in self.front_end:
            if stage not in FRONT_END_STAGES:
                raise ConfigError(f"front_end stage {stage!r} is unknown: use any of "
                                  f"{', '.join(FRONT_END_STAGES)}")
        if self.dsp_backend not in DSP_BACKENDS:
            raise ConfigError(f"dsp_backend must be one of {', '.join(DSP_BACKENDS)}, "
                              f"got {self.dsp_backend!r}")
        if self.mqtt not in ("local", "off") and not _HOST_PORT.match(self.mqtt):
            raise ConfigError(f"mqtt must be local, off or host:port, got {self.mqtt!r}")
        if not _TOPIC_LEVEL.match(self.site):
            raise ConfigError(f"site must be letters, digits, '-', '_' or '.', got {self.site!r}")
        if self.device not in ("cpu", "cuda"):
            raise ConfigError(f"device must be cpu or cuda, got {self.device!r}")


_FIELDS = {f.name: f for f in dataclasses.fields(HotlineConfig)}


def _coerce(name: str, value: Any) -> Any:
    default = _FIELDS[name].default
    try:
        if isinstance(default, tuple):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(v).strip() for v in items if str(v).strip())
        if isinstance(default, bool):
            return str(value).lower() in ("1", "true", "yes", "on")
        kind: type = type(default)
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot read {value!r} as "
                          f"{type(default).__name__}") from exc


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None) -> HotlineConfig:
    values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        data = data.get("hotline", data)
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ConfigError(f"unknown settings in {path}: {', '.join(unknown)}; "
                              f"known: {', '.join(_FIELDS)}")
        values.update(data)
    env = os.environ if environ is None else environ
    for name in _FIELDS:
        key = f"VOICEBOT_{name.upper()}"
        if key in env:
            values[name] = env[key]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return HotlineConfig(**{k: _coerce(k, v) for k, v in values.items()})
