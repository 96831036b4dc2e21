"""Supervisors on live calls: control messages in, the supervisor's phone rung, who hears whom
set on the bridge, the bot held or given the call back, and every action audited.

A control message arrives on ``hotline/<site>/calls/<call_id>/control/<supervisor>``; the
broker's ACL lets a user write only under their own name, so the topic says who asked. The
bot rings the SIP address the supervisor directory holds for that name, never one named in
a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from audio_models.vad import TurnEnded
from telephony.bridge import BridgeError, CallBridge, Mode
from telephony.call import CallLeg
from telephony.endpoint import SipEndpoint, SipError
from voicebot.audit import AuditLog
from voicebot.call_events import EventSink, envelope, errors_topic, rejection
from voicebot.engines import Engines
from voicebot.hearing import Hearing
from voicebot.session import Session
from voicebot.supervisors import SupervisorDirectory

log = logging.getLogger(__name__)

RELEASE = "release"
ACTIONS = (*(m.value for m in Mode), RELEASE)
# The bot stays quiet while a supervisor whispers to it or has taken the call over.
_HOLDING = (Mode.WHISPER, Mode.TAKEOVER)
_MAX_REQUEST_ID = 64


class ControlError(ValueError):
    """A control message that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Control:
    call_id: str
    supervisor: str
    action: str
    request_id: str | None


def parse_control(topic: str, payload: bytes) -> Control:
    """The control message on ``topic``; ControlError names what is wrong with it."""
    levels = topic.split("/")
    if len(levels) != 6 or levels[2] != "calls" or levels[4] != "control":
        raise ControlError(f"not a control topic: {topic!r}")
    call_id, supervisor = levels[3], levels[5]
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ControlError(f"control message is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ControlError("control message must be a JSON object")
    if message.get("schema") != 1:
        raise ControlError(f"unsupported control schema {message.get('schema')!r}; "
                              "expected 1")
    action, request_id = message.get("action"), message.get("request_id")
    if request_id is not None and (not isinstance(request_id, str)
                                   or len(request_id) > _MAX_REQUEST_ID):
        raise ControlError(f"request_id must be a string of at most {_MAX_REQUEST_ID} "
                              "characters")
    if action not in ACTIONS:
        raise ControlError(f"unknown action {action!r}; expected one of "
                              f"{', '.join(ACTIONS)}")
    return Control(call_id, supervisor, str(action), request_id)


@dataclass
class SupervisedCall:
    session: Session
    bridge: CallBridge
    legs: dict[str, CallLeg] = field(default_factory=dict)
    transcripts: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one change at a time


class Supervision:
    def __init__(self, site: str, directory: SupervisorDirectory, endpoint: SipEndpoint,
                 engines: Engines, sink: EventSink, audit: AuditLog,
                 sessions: Callable[[str], Session | None], answer_timeout_s: float) -> None:
        self.site = site
        self.directory = directory
        self.endpoint = endpoint
        self.engines = engines
        self.sink = sink
        self.audit = audit
        self.sessions = sessions
        self.answer_timeout_s = answer_timeout_s
        self.calls: dict[str, SupervisedCall] = {}
        self._errors = 0

    async def handle(self, topic: str, payload: bytes) -> None:
        """Carry out one control message; anything wrong with it is answered with a
        ``control_rejected`` event and audited, and never affects a call."""
        control: Control | None = None
        try:
            control = parse_control(topic, payload)
            if self.directory.get(control.supervisor) is None:
                raise ControlError(f"{control.supervisor!r} is not a supervisor here")
            session = self.sessions(control.call_id)
            if session is None:
                raise ControlError(f"no live call {control.call_id!r}")
            await self._carry_out(control, session)
        except (ControlError, BridgeError, SipError) as exc:
            self._reject(topic, control, str(exc))
        except Exception as exc:  # a bug here must not take the control loop down
            log.exception("control message on %s failed", topic)
            self._reject(topic, control, f"internal error: {exc}")

    async def _carry_out(self, control: Control, session: Session) -> None:
        call = self.calls.get(control.call_id)
        if call is None:
            call = SupervisedCall(session, CallBridge(self.endpoint, session.leg))
            self.calls[control.call_id] = call
        async with call.lock:
            name = control.supervisor
            if control.action == RELEASE:
                if name not in call.legs:
                    raise ControlError(f"{name} is not on call {control.call_id}")
                await self._leave(call, name)
                call.legs.pop(name).hangup()
                outcome = "released"
            else:
                mode = Mode(control.action)
                if name in call.legs:
                    await asyncio.wrap_future(call.bridge.set_mode(name, mode))
                else:
                    await self._join(call, name, mode)
                outcome = str(mode)
            self._hold_or_resume(call)
            session.events.supervision(name, "ended" if control.action == RELEASE
                                       else control.action)
            self.audit.write(name, control.action, control.call_id, "done",
                             request_id=control.request_id, mode=outcome)

    async def _join(self, call: SupervisedCall, name: str, mode: Mode) -> None:
        """Ring the supervisor's phone, and put them on the call once they answer."""
        if mode is Mode.TAKEOVER and call.bridge.handler not in (None, name):
            raise ControlError(f"{call.bridge.handler} has already taken over this call")
        if self.endpoint.active_calls >= self.endpoint.config.max_calls:
            raise ControlError("no free line to ring the supervisor on: this process has "
                                  f"{self.endpoint.active_calls} calls, its limit")
        supervisor = self.directory.get(name)
        assert supervisor is not None
        loop = asyncio.get_running_loop()
        leg = await loop.run_in_executor(None, self.endpoint.dial, supervisor.sip_uri)
        answered = await loop.run_in_executor(None, leg.connected.wait, self.answer_timeout_s)
        if not answered or leg.ended.is_set():
            leg.hangup()
            raise ControlError(f"{name} did not answer at {supervisor.sip_uri} within "
                                  f"{self.answer_timeout_s:.0f} s")
        call.legs[name] = leg
        await asyncio.wrap_future(call.bridge.join(name, leg, mode))
        call.transcripts[name] = asyncio.create_task(
            self._write_down(call, name, leg), name=f"supervisor-{name}-{leg.id}")

    async def _leave(self, call: SupervisedCall, name: str) -> None:
        task = call.transcripts.pop(name, None)
        if task is not None:
            task.cancel()
        await asyncio.wrap_future(call.bridge.leave(name))

    def _hold_or_resume(self, call: SupervisedCall) -> None:
        if any(mode in _HOLDING for mode in call.bridge.modes.values()):
            call.session.hold()
        else:
            call.session.give_back()

    async def _write_down(self, call: SupervisedCall, name: str, leg: CallLeg) -> None:
        """What the supervisor says to the call (not while only listening) goes into its
        transcript: a whisper to the bot is shown, a takeover is context for the bot."""
        loop = asyncio.get_running_loop()
        frames: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        def sink(at: float, frame: bytes) -> None:  # on the bridge's clock thread
            loop.call_soon_threadsafe(frames.put_nowait, (at, frame))
        leg.audio.set_sink(sink)
        hearing = Hearing(leg.id, self.engines, leg.audio.frame_size // 2)
        hearing.open()
        try:
            while True:
                event = await hearing.hear(*await frames.get())
                if not isinstance(event, TurnEnded):
                    continue
                if call.bridge.modes.get(name, Mode.LISTEN) is Mode.LISTEN:
                    continue  # a listener's aside reaches nobody, so it is not written down
                transcript = await loop.run_in_executor(
                    self.engines.asr_pool, self.engines.recognizer.transcribe, event.audio,
                    self.engines.sample_rate)
                if transcript.text:
                    call.session.note("supervisor", transcript.text, name)
        finally:
            leg.audio.set_sink(None)
            hearing.close()

    # --- legs ending (on the event loop) --------------------------------------------------
    async def supervisor_hung_up(self, leg: CallLeg) -> None:
        for call_id, call in list(self.calls.items()):
            for name, supervisor_leg in list(call.legs.items()):
                if supervisor_leg is leg:
                    async with call.lock:
                        call.legs.pop(name, None)
                        await self._leave(call, name)
                        self._hold_or_resume(call)
                    call.session.events.supervision(name, "ended")
                    self.audit.write(name, "hung up", call_id, "done")

    async def call_ended(self, call_id: str) -> None:
        """The caller hung up: the supervisors on the call are hung up too."""
        call = self.calls.pop(call_id, None)
        if call is None:
            return
        for name, leg in call.legs.items():
            task = call.transcripts.pop(name, None)
            if task is not None:
                task.cancel()
            leg.hangup()
            self.audit.write(name, "call ended", call_id, "done")

    def _reject(self, topic: str, control: Control | None, error: str) -> None:
        name = control.supervisor if control else _topic_level(topic, 5)
        call_id = control.call_id if control else _topic_level(topic, 3)
        action = control.action if control else None
        request_id = control.request_id if control else None
        log.warning("control from %s on call %s refused: %s", name, call_id, error)
        self.audit.write(name, action, call_id, "refused", error=error, request_id=request_id)
        session = self.sessions(call_id) if call_id else None
        if session is not None:
            session.events.control_rejected(name, action, error, request_id)
        else:
            self._errors += 1
            self.sink.publish(errors_topic(self.site), envelope(
                "control_rejected", self.site, call_id, self._errors,
                rejection(name, action, error, request_id)))


def _topic_level(topic: str, index: int) -> str | None:
    levels = topic.split("/")
    return levels[index] if len(levels) > index else None

