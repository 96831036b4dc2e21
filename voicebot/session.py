"""One call, top to bottom: greet, listen, understand, answer, and again until someone hangs up."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import numpy as np

from audio_models.pcm import frames
from audio_models.vad import SpeechStarted, TurnEnded
from telephony.call import CallLeg
from voicebot.config import HotlineConfig
from voicebot.engines import Engines
from voicebot.records import CallRecord, TurnRecord, TurnTimings, log_turn

log = logging.getLogger(__name__)
T = TypeVar("T")

# After the last queued frame leaves, wait this long before a BYE so it is heard.
_PLAYOUT_TAIL_S = 0.2


class Session:
    def __init__(self, leg: CallLeg, engines: Engines, config: HotlineConfig,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.leg = leg
        self.engines = engines
        self.config = config
        self.loop = loop
        self.record = CallRecord(call_id=leg.id, remote_uri=leg.remote_uri)
        self._frames: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._caller: asyncio.Queue[SpeechStarted | TurnEnded] = asyncio.Queue()
        self._turns = engines.turn_detector()
        self._responding: asyncio.Task[Any] | None = None  # what the caller may cut short
        self._frame_samples = leg.audio.frame_size // 2

    def attach(self) -> None:
        """Start taking the caller's audio; safe to call from the SIP thread."""
        put = self._frames.put_nowait

        def sink(at: float, frame: bytes) -> None:
            self.loop.call_soon_threadsafe(put, (at, frame))
        self.leg.audio.set_sink(sink)

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen(), name=f"listen-{self.leg.id}")
        try:
            await self._converse()
        except asyncio.CancelledError:
            self.record.end_reason = self.record.end_reason or "caller hung up"
            raise
        finally:
            listener.cancel()
            self._interrupt()
            self.leg.audio.set_sink(None)
            self.record.ended_at = time.time()

    # --- the conversation -----------------------------------------------------------------
    async def _converse(self) -> None:
        prompts = self.engines.dialogue.prompts
        await self._respond(self.say(prompts.greeting))
        unanswered = failures = 0
        resumed: np.ndarray | None = None  # words of a turn the caller went on with
        while True:
            turn = await self._next_turn()
            if turn is None:  # the caller said nothing
                unanswered += 1
                if unanswered > 1:
                    await self._respond(self.say(prompts.goodbye_silence))
                    return self._hang_up("silence")
                await self._respond(self.say(prompts.reprompt))
                continue
            unanswered = 0
            if resumed is not None:
                turn = dataclasses.replace(turn, audio=np.concatenate([resumed, turn.audio]))
                resumed = None
            timings = TurnTimings(speech_ended=turn.speech_ended_at, turn_decided=turn.decided_at)
            try:
                end_call = await self._respond(self._answer(turn, timings))
            except Exception:
                # A failing engine costs this turn, not the call, and never the other calls.
                log.exception("%s: answering a turn failed", self.leg.id)
                failures += 1
                if failures > 1:
                    await self._respond(self.say(prompts.goodbye_failure))
                    return self._hang_up("engine failure")
                await self._respond(self.say(prompts.technical_problem))
                continue
            if end_call is None and timings.first_audio_queued is None:
                # They spoke again before we did: it was a pause, not the end of their turn.
                resumed = turn.audio
            elif end_call:
                return self._hang_up("caller said goodbye")

    async def _respond(self, response: Coroutine[Any, Any, T]) -> T | None:
        """Run one bot response so that the caller can cut it short; None if they did."""
        task = asyncio.create_task(response)
        self._responding = task
        try:
            await asyncio.wait({task})
        finally:
            self._responding = None
            task.cancel()  # a no-op once done; ends it if the call itself is being torn down
        return None if task.cancelled() else task.result()

    async def _answer(self, turn: TurnEnded, timings: TurnTimings) -> bool:
        """Transcribe, understand and answer one turn; True if the call should end."""
        transcript = await self.loop.run_in_executor(
            self.engines.asr_pool, self.engines.recognizer.transcribe, turn.audio,
            self.engines.sample_rate)
        timings.asr_done = time.monotonic()
        if not transcript.text:
            log.info("%s: no words in %.1f s of audio; still listening", self.leg.id,
                     transcript.audio_seconds)
            return False
        intent = self.engines.classifier.classify(transcript.text)
        reply = self.engines.dialogue.reply(intent)
        timings.answer_ready = time.monotonic()
        record = TurnRecord(len(self.record.turns) + 1, transcript.text, intent.name,
                            round(intent.confidence, 3), reply.text, timings, interrupted=True)
        self.record.turns.append(record)
        self.record.handoff_requested |= reply.handoff
        try:
            await self.say(reply.text, timings)
            record.interrupted = False
        finally:  # a caller hanging up or cutting in still leaves the turn in the log
            log_turn(self.leg.id, record)
        return reply.end_call

    def _hang_up(self, reason: str) -> None:
        self.record.end_reason = reason
        self.leg.hangup()

    # --- listening ------------------------------------------------------------------------
    async def _listen(self) -> None:
        """Runs for the whole call: VAD on every frame, barge-in, turns to the conversation."""
        while True:
            at, frame = await self._frames.get()
            event = self._turns.push(at, frame)
            if event is None:
                continue
            if isinstance(event, SpeechStarted) and self._interrupt():
                self.record.barge_ins_ms.append(round((time.monotonic() - event.at) * 1000, 1))
            self._caller.put_nowait(event)

    async def _next_turn(self) -> TurnEnded | None:
        """The caller's next finished turn, or None if they stay silent past the timeout."""
        speaking = self._turns.in_speech
        while True:
            timeout = None if speaking else self.config.silence_timeout_s
            try:
                event = await asyncio.wait_for(self._caller.get(), timeout)
            except TimeoutError:
                return None
            if isinstance(event, TurnEnded):
                return event
            speaking = True

    # --- speaking -------------------------------------------------------------------------
    async def say(self, text: str, timings: TurnTimings | None = None) -> None:
        """Speak ``text``, sentence by sentence as they are synthesised; returns once heard."""
        self.record.bot_utterances.append(text)
        chunks = self.engines.synthesizer.synthesize(text)
        pool = self.engines.tts_pool
        while (chunk := await self.loop.run_in_executor(pool, next, chunks, None)) is not None:
            self.leg.audio.play(frames(chunk, self._frame_samples))
            if timings is not None and timings.first_audio_queued is None:
                timings.first_audio_queued = time.monotonic()
        while self.leg.audio.pending_frames:
            await asyncio.sleep(0.02)
        await asyncio.sleep(_PLAYOUT_TAIL_S)

    def _interrupt(self) -> bool:
        """Stop whatever the bot is doing for the caller; True if that cut off its audio."""
        if self._responding is not None:
            self._responding.cancel()
        return self.leg.audio.clear() > 0
