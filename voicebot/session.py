"""One call, top to bottom: greet, listen, understand, answer, and again until someone hangs up."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import json
import logging
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import numpy as np

from audio_models.pcm import frames
from audio_models.prosody import prosody_of
from audio_models.vad import SpeechPaused, SpeechResumed, SpeechStarted, TurnEnded
from telephony.call import CallLeg
from voicebot.call_events import CallEvents
from voicebot.config import HotlineConfig
from voicebot.dialogue import Dialogue, Plan, canonical
from voicebot.engines import Engines
from voicebot.hearing import Hearing
from voicebot.records import CallRecord, TurnRecord, TurnTimings, log_turn
from voicebot.speculation import Answer, Speculation

log = logging.getLogger(__name__)
T = TypeVar("T")

# After the last queued frame leaves, wait this long before a BYE so it is heard.
_PLAYOUT_TAIL_S = 0.2
# A caller cutting in this soon after the answer began was finishing their sentence.
_CONTINUATION_S = 0.8


@dataclasses.dataclass(frozen=True)
class Utterance:
    """What the caller said: audio as VAD and ASR hear it, with its prosody features."""

    audio: np.ndarray
    features: np.ndarray


class BackToBot:
    """A supervisor gave the call back: the bot picks the conversation up again."""


class Session:
    def __init__(self, leg: CallLeg, engines: Engines, config: HotlineConfig,
                 loop: asyncio.AbstractEventLoop, events: CallEvents) -> None:
        self.leg = leg
        self.engines = engines
        self.config = config
        self.loop = loop
        self.events = events
        self.record = CallRecord(call_id=leg.id, remote_uri=leg.remote_uri)
        # While a supervisor whispers or has taken over, the bot stays quiet but listens on.
        self.held = False
        self._frames: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._caller: asyncio.Queue[SpeechStarted | TurnEnded | BackToBot] = asyncio.Queue()
        self._frame_samples = leg.audio.frame_size // 2
        self._hearing = Hearing(leg.id, engines, self._frame_samples)
        self._turns = self._hearing.turns
        self._responding: asyncio.Task[Any] | None = None  # what the caller may cut short
        self._speculation = Speculation()
        self._resumed: Utterance | None = None  # words of a turn the caller went on with
        self._cut_in_at = 0.0  # when the caller last started speaking
        # The knowledge-base version is fixed for the whole call: a reload or a gray
        # release changes what new calls hear, never a call in progress.
        kb = engines.knowledge.for_call(leg.id)
        self.record.knowledge_version = kb.version
        self.dialogue = Dialogue(kb, engines.classifier, engines.reply_languages,
                                 engines.min_confidence)

    def attach(self) -> None:
        """Start taking the caller's audio; safe to call from the SIP thread."""
        put = self._frames.put_nowait

        def sink(at: float, frame: bytes) -> None:
            self.loop.call_soon_threadsafe(put, (at, frame))
        self.leg.audio.set_sink(sink)

    async def run(self) -> None:
        self._hearing.open()
        listener = asyncio.create_task(self._listen(), name=f"listen-{self.leg.id}")
        try:
            await self._converse()
        except asyncio.CancelledError:
            self.record.end_reason = self.record.end_reason or "caller hung up"
            raise
        finally:
            listener.cancel()
            self._hearing.close()
            self._speculation.cancel()
            self._interrupt()
            self.leg.audio.set_sink(None)
            self.record.ended_at = time.time()

    # --- the conversation -----------------------------------------------------------------
    async def _converse(self) -> None:
        await self._respond(self.say(self.dialogue.prompts.greeting))
        unanswered = failures = 0
        while True:
            turn = await self._next_turn()
            if isinstance(turn, BackToBot):
                await self._respond(self.say(self.dialogue.prompts.anything_else))
                continue
            if self.held:  # a supervisor has the floor: the caller's words are only written down
                if turn is not None:
                    await self._write_down(turn)
                continue
            if turn is None:  # the caller said nothing
                unanswered += 1
                prompts = self.dialogue.prompts
                if await self._strike(unanswered, prompts.reprompt, prompts.goodbye_silence,
                                      "silence"):
                    return
                continue
            unanswered = 0
            words, self._resumed = self._words(turn), None
            timings = TurnTimings(speech_ended=turn.speech_ended_at, turn_decided=turn.decided_at)
            understood_so_far = self.dialogue.state
            try:
                end_call = await self._respond(self._answer(turn, words, timings))
            except Exception:
                # A failing engine costs this turn, not the call, and never the other calls.
                log.exception("%s: answering a turn failed", self.leg.id)
                failures += 1
                prompts = self.dialogue.prompts
                if await self._strike(failures, prompts.technical_problem,
                                      prompts.goodbye_failure, "engine failure"):
                    return
                continue
            if end_call is None and self.held:
                continue  # a supervisor stepped in while the bot answered
            if end_call is None and self._caller_went_on(timings):
                # Not the end of their turn after all: the whole turn is understood again,
                # from where the call stood before it.
                self._resumed = words
                self.dialogue.state = understood_so_far
            elif end_call:
                return self._hang_up(self.record.end_reason or "caller said goodbye")

    async def _strike(self, strikes: int, retry: str, goodbye: str, reason: str) -> bool:
        """One more try is allowed: the first strike says ``retry``; the second says
        ``goodbye`` and ends the call (True)."""
        if strikes < 2:
            await self._respond(self.say(retry))
            return False
        await self._respond(self.say(goodbye))
        self._hang_up(reason)
        return True

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

    async def _answer(self, turn: TurnEnded, words: Utterance, timings: TurnTimings) -> bool:
        """Answer one turn, from what was prepared during the pause if it still holds."""
        prepared = self._speculation.take(turn.speech_ended_at)
        timings.speculative = prepared is not None
        pending = prepared or asyncio.ensure_future(self._prepare(words))
        try:
            timings.filler = await self._fill_silence(pending)
            answer = await pending
        finally:  # cut short: the answer being made is not wanted any more
            pending.cancel()
        timings.asr_done, timings.answer_ready = answer.asr_done, answer.answer_ready
        plan = answer.plan
        if plan is None:
            log.info("%s: no words in %.1f s of audio; still listening", self.leg.id,
                     answer.transcript.audio_seconds)
            return False
        if self.config.turn_end == "semantic" and not plan.ends_turn:
            # A statement may go on: give the caller the longer hangover to continue (their
            # speech cancels this answer before anything of it is heard).
            await asyncio.sleep(turn.speech_ended_at - time.monotonic()
                                + self.config.statement_hangover_ms / 1000)
            timings.held_until = time.monotonic()
        self.dialogue.commit(plan)
        self._keep(plan, timings)
        record = self.record.turns[-1]
        try:
            await self.say(plan.reply.text, timings, answer.speech, noted=True)
            record.interrupted = False
        finally:  # a caller hanging up or cutting in still leaves the turn in the log
            log_turn(self.leg.id, record)
            self.events.latency(record.index, timings.stages_ms())
        return plan.reply.end_call

    def _keep(self, plan: Plan, timings: TurnTimings) -> None:
        """Write what this turn understood and decided into the call's record."""
        m, reply = plan.meaning, plan.reply
        self.record.turns.append(TurnRecord(
            len(self.record.turns) + 1, m.text, m.language, m.intent.name,
            round(m.intent.confidence, 3), canonical(m.slots), m.emotion.label,
            round(m.emotion.score, 3), reply.text, timings, interrupted=True))
        self.record.actions = [dataclasses.asdict(a) for a in plan.state.actions]
        turn = self.record.turns[-1]
        self.events.utterance("caller", m.text)
        self.events.understanding(turn.index, turn.intent, turn.confidence, turn.language,
                                  turn.slots)
        self.events.emotion(turn.index, turn.emotion, turn.emotion_score)
        if reply.handoff:
            package = dataclasses.asdict(self.dialogue.handoff_package())
            self.record.handoff = package
            self.record.end_reason = "handed off: " + reply.handoff
            log.info("%s: handoff %s", self.leg.id, json.dumps(package, ensure_ascii=False))
            self.events.handoff(reply.handoff, package)

    async def _fill_silence(self, pending: asyncio.Future[Answer]) -> bool:
        """If the answer is not ready within ``filler_after_ms``, queue the filler prompt now
        (its audio is cached); the answer follows it. True if it was said."""
        wait_s = self.config.filler_after_ms / 1000
        if not wait_s or (await asyncio.wait({pending}, timeout=wait_s))[0]:
            return False
        text = self.dialogue.prompts.filler
        chunks = await self.loop.run_in_executor(
            self.engines.tts_pool, lambda: list(self.engines.synthesizer.synthesize(text)))
        for chunk in chunks:
            self.leg.audio.play(frames(chunk, self._frame_samples))
        self._note_said(text)
        return True

    def _words(self, said: SpeechPaused | TurnEnded) -> Utterance:
        """The caller's audio for this turn, after the words of a turn they went on with."""
        words = Utterance(said.audio, said.features)
        if self._resumed is None:
            return words
        return Utterance(np.concatenate([self._resumed.audio, words.audio]),
                         np.concatenate([self._resumed.features, words.features]))

    async def _prepare(self, words: Utterance) -> Answer:
        """Words, meaning, reply and its first synthesised sentence, for the caller's audio."""
        rate = self.engines.sample_rate
        transcript = await self.loop.run_in_executor(
            self.engines.asr_pool, self.engines.recognizer.transcribe, words.audio, rate)
        prosody = prosody_of(words.features, len(words.audio) / rate)
        asr_done = time.monotonic()
        if not transcript.text:
            return Answer(transcript, asr_done, asr_done)
        plan = self.dialogue.plan(transcript.text, prosody)
        answer_ready = time.monotonic()
        speech = self.engines.synthesizer.synthesize(plan.reply.text)
        first = await self.loop.run_in_executor(self.engines.tts_pool, next, speech, None)
        return Answer(transcript, asr_done, answer_ready, plan,
                      itertools.chain([] if first is None else [first], speech))

    def _caller_went_on(self, timings: TurnTimings) -> bool:
        """Did the caller cut in before, or just as, the answer began? Then it was a pause
        in their sentence, not its end: their next turn is heard with these words in front."""
        started = timings.first_audio_queued
        return started is None or self._cut_in_at - started < _CONTINUATION_S

    def _hang_up(self, reason: str) -> None:
        self.record.end_reason = reason
        self.leg.hangup()

    # --- listening ------------------------------------------------------------------------
    async def _listen(self) -> None:
        """Runs for the whole call: the front end and VAD on every frame, barge-in, turns to
        the conversation."""
        while True:
            at, frame = await self._frames.get()
            event = await self._hearing.hear(at, frame)
            if isinstance(event, SpeechPaused) and not self.held:  # held: nothing to answer
                prepared = self._speculation.start(event.speech_ended_at,
                                                   self._prepare(self._words(event)))
                if self.config.turn_end == "semantic":
                    prepared.add_done_callback(
                        functools.partial(self._end_turn_if_complete, event.speech_ended_at))
            elif isinstance(event, SpeechResumed):
                self._speculation.cancel()
            elif isinstance(event, SpeechStarted | TurnEnded):
                if isinstance(event, SpeechStarted):
                    self._cut_in_at = event.at
                    if self._interrupt():
                        ms = round((time.monotonic() - event.at) * 1000, 1)
                        self.record.barge_ins_ms.append(ms)
                self._caller.put_nowait(event)

    def _end_turn_if_complete(self, speech_ended_at: float, prepared: asyncio.Task[Answer]
                              ) -> None:
        """End the turn now, not after the hangover, when the answer prepared in this pause
        understood a finished sentence and the caller is still silent."""
        if prepared.cancelled() or prepared.exception() is not None:
            return
        plan = prepared.result().plan
        if plan is None or not plan.ends_turn or self._turns.paused_since != speech_ended_at:
            return
        self._caller.put_nowait(self._turns.end_now(time.monotonic()))

    async def _next_turn(self) -> TurnEnded | BackToBot | None:
        """The caller's next finished turn, or None if they stay silent past the timeout (no
        timeout while a supervisor has the floor); or word that a supervisor gave the call
        back."""
        speaking = self._turns.in_speech
        while True:
            timeout = None if speaking or self.held else self.config.silence_timeout_s
            try:
                event = await asyncio.wait_for(self._caller.get(), timeout)
            except TimeoutError:
                return None
            if isinstance(event, TurnEnded | BackToBot):
                return event
            speaking = True

    # --- a supervisor on the line ---------------------------------------------------------
    def hold(self) -> None:
        """A supervisor whispers to the bot or takes the call over: the bot stops speaking
        and answering, and only writes down what the caller says."""
        self.held = True
        self._speculation.cancel()
        self._interrupt()

    def give_back(self) -> None:
        """The supervisor is done: the bot takes the conversation up again."""
        if self.held:
            self.held = False
            self._caller.put_nowait(BackToBot())

    def note(self, speaker: str, text: str, supervisor: str | None = None) -> None:
        """Words said while the bot was not answering (the caller while held, a supervisor)
        go into the transcript and the handoff context."""
        self.dialogue.note_said(speaker, text)
        self.events.utterance(speaker, text, supervisor)

    async def _write_down(self, turn: TurnEnded) -> None:
        words, self._resumed = self._words(turn), None
        transcript = await self.loop.run_in_executor(
            self.engines.asr_pool, self.engines.recognizer.transcribe, words.audio,
            self.engines.sample_rate)
        if transcript.text:
            self.note("caller", transcript.text)

    # --- speaking -------------------------------------------------------------------------
    async def say(self, text: str, timings: TurnTimings | None = None,
                  speech: Iterator[np.ndarray] | None = None, noted: bool = False) -> None:
        """Speak ``text`` sentence by sentence as synthesised (or from ``speech`` already
        begun); returns once it has been heard. ``noted``: the dialogue has it already."""
        self._note_said(text, in_dialogue=not noted)
        chunks = speech or self.engines.synthesizer.synthesize(text)
        pool = self.engines.tts_pool
        while (chunk := await self.loop.run_in_executor(pool, next, chunks, None)) is not None:
            self.leg.audio.play(frames(chunk, self._frame_samples))
            if timings is not None and timings.first_audio_queued is None:
                timings.first_audio_queued = time.monotonic()
        while self.leg.audio.pending_frames:
            await asyncio.sleep(0.02)
        await asyncio.sleep(_PLAYOUT_TAIL_S)

    def _note_said(self, text: str, in_dialogue: bool = True) -> None:
        """What the bot says goes into the call record, and into the dialogue's transcript
        unless the dialogue planned it (then it is there already)."""
        self.record.bot_utterances.append(text)
        self.events.utterance("bot", text)
        if in_dialogue:
            self.dialogue.note_said("bot", text)

    def _interrupt(self) -> bool:
        """Stop whatever the bot is doing for the caller; True if that cut off its audio."""
        if self._responding is not None:
            self._responding.cancel()
        return self.leg.audio.clear() > 0
