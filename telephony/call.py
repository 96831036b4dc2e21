"""A call leg: its pjsua2 object, its audio, and how it ends.

Every method that touches pjsua2 runs on the endpoint thread; the public ``hangup`` may be
called from anywhere because it goes through the endpoint's command queue.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pjsua2 as pj

from telephony.media import CallAudio, QueuePort

_leg_numbers = itertools.count(1)


class CallListener(Protocol):
    """What the application is told about calls; called on the endpoint thread, must not block."""

    def on_call_started(self, leg: CallLeg) -> None: ...

    def on_call_ended(self, leg: CallLeg) -> None: ...


@dataclass
class CallOutcome:
    """How a call ended, as SIP saw it."""

    status_code: int = 0
    reason: str = ""
    hung_up_by_us: bool = False


class CallLeg:
    """One call as the application sees it."""

    def __init__(self, number: int, direction: str, sample_rate: int,
                 submit: Callable[[Callable[[], object]], object]) -> None:
        self.id = f"{direction}-{number}"
        self.direction = direction
        self.audio = CallAudio(sample_rate)
        self.remote_uri = ""
        self.outcome = CallOutcome()
        self.connected = threading.Event()
        self.ended = threading.Event()
        self._submit = submit
        self.sip_call: SipCall | None = None

    def hangup(self, status_code: int = 200) -> None:
        """End the call (from any thread); a no-op once it has ended."""
        def _hangup() -> None:
            if self.sip_call is not None and not self.ended.is_set():
                self.outcome.hung_up_by_us = True
                self.sip_call.hangup_now(status_code)
        self._submit(_hangup)

    def bridge_media(self) -> tuple[pj.AudioMedia, QueuePort] | None:
        """The call's audio on the conference bridge and the application's port for it, or
        None before media starts and once the call has ended (its bridge slot may then belong
        to another call already). Endpoint thread only."""
        call = self.sip_call
        if call is None or call.media is None or not call.media.connected:
            return None
        return call.media.call_media, call.media.port

    def __repr__(self) -> str:
        return f"CallLeg({self.id}, {self.remote_uri})"


@dataclass
class _Media:
    port: QueuePort
    call_media: pj.AudioMedia
    connected: bool = field(default=True)


class SipCall(pj.Call):
    """pjsua2's call object; lives and dies on the endpoint thread."""

    def __init__(self, account: pj.Account, leg: CallLeg, listener: CallListener,
                 on_disconnected: Callable[[SipCall], None],
                 call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.leg = leg
        self.listener = listener
        self._on_disconnected = on_disconnected
        self.media: _Media | None = None
        leg.sip_call = self

    def hangup_now(self, status_code: int) -> None:
        prm = pj.CallOpParam(True)
        prm.statusCode = status_code
        self.hangup(prm)

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802 (pjsua2 API)
        ci = self.getInfo()
        self.leg.remote_uri = ci.remoteUri
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.leg.outcome.status_code = ci.lastStatusCode
            self.leg.outcome.reason = ci.lastReason
            self.disconnect_media()
            was_started = self.leg.connected.is_set()
            self.leg.ended.set()
            if was_started:
                self.listener.on_call_ended(self.leg)
            self._on_disconnected(self)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802 (pjsua2 API)
        ci = self.getInfo()  # keep ci alive while reading ci.media (see design notes)
        for mi in ci.media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                if self.media is None:
                    self._connect_media(self.getAudioMedia(mi.index))
                return

    def _connect_media(self, call_media: pj.AudioMedia) -> None:
        port = QueuePort(self.leg.audio)
        port.create(f"bot-{self.leg.id}")
        self.media = _Media(port, call_media)
        # Tell the application first so that its sink is in place before frames flow.
        self.listener.on_call_started(self.leg)
        self.leg.connected.set()
        call_media.startTransmit(port)
        port.startTransmit(call_media)

    def release(self) -> QueuePort | None:
        """Break the leg <-> call cycle so that this object can be freed; returns its port."""
        self.leg.sip_call = None
        port = self.media.port if self.media is not None else None
        self.media = None
        return port

    def disconnect_media(self) -> None:
        if self.media is not None and self.media.connected:
            self.media.connected = False
            try:
                self.media.call_media.stopTransmit(self.media.port)
                self.media.port.stopTransmit(self.media.call_media)
            except pj.Error:
                pass  # the call's media may already be gone; the port is removed with it


def new_leg(direction: str, sample_rate: int,
            submit: Callable[[Callable[[], object]], object]) -> CallLeg:
    return CallLeg(next(_leg_numbers), direction, sample_rate, submit)
