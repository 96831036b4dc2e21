"""The one thread that owns pjsua2: a ``libHandleEvents`` loop plus a command queue.

pjsua2 runs with ``threadCnt=0`` and ``mainThreadOnly``: every SIP callback happens on this
thread, and other threads reach pjsua2 only by ``submit``-ting a function to it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pjsua2 as pj

from telephony.call import CallLeg, CallListener, SipCall, new_leg
from telephony.media import QueuePort

log = logging.getLogger(__name__)
T = TypeVar("T")

SUPPORTED_CODECS = {"PCMU": "PCMU/8000/1", "PCMA": "PCMA/8000/1"}
# Disconnected ports stay referenced this long: since PJSIP 2.15.1 their removal from the
# bridge is queued, and freeing them at once crashes the clock thread.
_PORT_GRACE_S = 0.5
_REQUEST_URI = re.compile(r"^INVITE\s+sips?:([^@;>\s]+)@", re.IGNORECASE)


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class SipError(RuntimeError):
    """pjsua2 refused to start or to place a call; the message says why."""


@dataclass
class SipConfig:
    host: str = "127.0.0.1"
    port: int = 5060  # 0 lets the OS pick (test callers)
    transports: tuple[str, ...] = ("udp", "tcp")
    extension: str | None = "hotline"  # None: accept no incoming calls (a caller)
    max_calls: int = 4
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    rtp_port: int = 40000
    rtp_port_range: int = 200
    jitter_buffer_max_ms: int = 120
    retry_after_s: int = 30  # sent with 503 at capacity: when a caller's system may try again
    sample_rate: int = 8000
    log_level: int = 1


class _HotlineAccount(pj.Account):
    def __init__(self, endpoint: SipEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802 (pjsua2 API)
        self.endpoint._on_incoming(self, prm)


class SipEndpoint:
    """Starts pjsua2 on its own thread; answers or places calls; reports them to a listener."""

    def __init__(self, config: SipConfig, listener: CallListener) -> None:
        self.config = config
        self.listener = listener
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._calls: dict[str, SipCall] = {}
        self._rejecting: dict[str, SipCall] = {}
        self._retired_ports: list[tuple[float, QueuePort]] = []
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._ep: pj.Endpoint | None = None
        self._account: _HotlineAccount | None = None
        self.bound_port = config.port

    # --- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="pjsua2", daemon=True)
        self._thread.start()
        try:
            self._ready.result(timeout)
        except concurrent.futures.TimeoutError as exc:
            raise SipError(f"pjsua2 did not start within {timeout:.0f} s") from exc

    def stop(self, timeout: float = 10.0) -> None:
        """Hang up every call, then destroy pjsua2; safe to call twice."""
        if self._thread is None:
            return
        self._running.clear()
        self._thread.join(timeout)
        self._thread = None

    @property
    def uri(self) -> str:
        user = self.config.extension or "caller"
        return f"sip:{user}@{self.config.host}:{self.bound_port}"

    @property
    def started(self) -> bool:
        return self._ready.done() and self._ready.exception() is None

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    # --- other threads --------------------------------------------------------------------
    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``fn`` on the pjsua2 thread; the future holds its result or exception."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def command() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # handed to the waiting thread
                    future.set_exception(exc)
        self._commands.put(command)
        return future

    def media_ports(self) -> int:
        """Ports on the conference bridge now (the sound device's is one): a leak shows here."""
        return self.submit(lambda: int(self._ep.mediaActivePorts()) if self._ep else 0).result(5)

    def dial(self, uri: str, timeout: float = 5.0) -> CallLeg:
        """Place a call; returns its leg at once (wait on ``leg.connected`` for media)."""
        return self.submit(lambda: self._make_call(uri)).result(timeout)

    # --- the pjsua2 thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._create()
        except BaseException as exc:
            why = exc.reason if isinstance(exc, pj.Error) else str(exc)
            self._ready.set_exception(SipError(
                f"could not start SIP on {self.config.host}:{self.config.port}: {why} "
                "(is another program using that address? choose another with --host/--port)"))
            self._destroy()
            return
        self._ready.set_result(None)
        # No local reference to the pj.Endpoint here: a command's exception keeps this frame
        # alive through its traceback until the GC runs, and a pj.Endpoint destroyed that
        # late takes down the next endpoint of the process.
        while self._running.is_set():
            self._handle_events(10)
            self._run_commands()
            self._free_retired_ports()
        self._destroy()

    def _handle_events(self, ms: int) -> None:
        assert self._ep is not None
        self._ep.libHandleEvents(ms)

    def _run_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command()

    def _create(self) -> None:
        cfg = self.config
        ep = pj.Endpoint()
        self._ep = ep
        with _stdout_silenced():  # pjlib prints a banner before its log settings apply
            ep.libCreate()
        ep_cfg = pj.EpConfig()
        ep_cfg.uaConfig.threadCnt = 0
        ep_cfg.uaConfig.mainThreadOnly = True
        # One slot more than we take, so that we, not pjsua, answer the next caller (503).
        # pjsua2-python caps this at 4 whatever is asked (design notes): the 5th gets 486.
        ep_cfg.uaConfig.maxCalls = cfg.max_calls + 1
        ep_cfg.uaConfig.userAgent = "voicebot-hotline"
        ep_cfg.logConfig.level = cfg.log_level
        ep_cfg.logConfig.consoleLevel = cfg.log_level
        med = ep_cfg.medConfig
        med.clockRate = cfg.sample_rate
        med.sndClockRate = cfg.sample_rate
        med.channelCount = 1
        med.ecTailLen = 0
        med.noVad = True  # continuous RTP: silence suppression would hide the caller's pauses
        med.jbMax = cfg.jitter_buffer_max_ms
        ep.libInit(ep_cfg)
        for name in cfg.transports:
            tc = pj.TransportConfig()
            tc.port = self.bound_port
            tc.boundAddress = cfg.host
            tc.publicAddress = cfg.host
            kind = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP}[name]
            tid = ep.transportCreate(kind, tc)
            self.bound_port = ep.transportGetInfo(tid).localName.rsplit(":", 1)[1]
            self.bound_port = int(self.bound_port)
        ep.libStart()
        ep.audDevManager().setNullDev()  # no sound card; gives the bridge its clock
        self._select_codecs(ep)
        acc_cfg = pj.AccountConfig()
        acc_cfg.idUri = self.uri
        acc_cfg.mediaConfig.transportConfig.boundAddress = cfg.host
        acc_cfg.mediaConfig.transportConfig.publicAddress = cfg.host
        acc_cfg.mediaConfig.transportConfig.port = cfg.rtp_port
        acc_cfg.mediaConfig.transportConfig.portRange = cfg.rtp_port_range
        self._account = _HotlineAccount(self)
        self._account.create(acc_cfg, True)
        log.info("SIP endpoint up at %s (%s)", self.uri, ", ".join(cfg.transports))

    def _select_codecs(self, ep: pj.Endpoint) -> None:
        wanted = [SUPPORTED_CODECS[c] for c in self.config.codecs]
        for codec in ep.codecEnum2():
            ep.codecSetPriority(codec.codecId, 0)
        for rank, codec_id in enumerate(wanted):
            ep.codecSetPriority(codec_id, 255 - rank)

    def _on_incoming(self, account: pj.Account, prm: pj.OnIncomingCallParam) -> None:
        leg = new_leg("in", self.config.sample_rate, self.submit)
        call = SipCall(account, leg, self.listener, self._retire, prm.callId)
        match = _REQUEST_URI.match(prm.rdata.wholeMsg)
        extension = match.group(1) if match else ""
        if self.config.extension is None or extension != self.config.extension:
            self._reject(call, 404, f"unknown extension {extension!r}")
        elif len(self._calls) >= self.config.max_calls:
            self._reject(call, 503, f"at capacity ({self.config.max_calls} calls)")
        else:
            self._calls[leg.id] = call
            op = pj.CallOpParam()
            op.statusCode = 200
            call.answer(op)

    def _reject(self, call: SipCall, code: int, why: str) -> None:
        log.info("rejecting call with %d: %s", code, why)
        self._rejecting[call.leg.id] = call
        op = pj.CallOpParam()
        op.statusCode = code
        if code == 503:
            header = pj.SipHeader()
            header.hName, header.hValue = "Retry-After", str(self.config.retry_after_s)
            op.txOption.headers.append(header)
        # A final answer, not hangup(): inside onIncomingCall pjsua drops hangup's headers.
        call.answer(op)

    def _make_call(self, uri: str) -> CallLeg:
        assert self._account is not None
        leg = new_leg("out", self.config.sample_rate, self.submit)
        call = SipCall(self._account, leg, self.listener, self._retire)
        self._calls[leg.id] = call
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as exc:
            del self._calls[leg.id]
            raise SipError(f"cannot call {uri}: {exc.reason}") from exc
        return leg

    def _retire(self, call: SipCall) -> None:
        """Called from the call's DISCONNECTED callback: the last moment its call id is its own.

        pjsua2's Call destructor hangs up whatever call now holds its id, so the object must
        die before pjsua reuses the id: dropping every reference here frees it when the
        callback returns. Its media port lives on for a grace period.
        """
        self._calls.pop(call.leg.id, None)
        self._rejecting.pop(call.leg.id, None)
        port = call.release()
        if port is not None:
            self._retired_ports.append((time.monotonic(), port))

    def _free_retired_ports(self, everything: bool = False) -> None:
        now = time.monotonic()
        self._retired_ports = [(t, port) for t, port in self._retired_ports
                               if not everything and now - t < _PORT_GRACE_S]

    def _destroy(self) -> None:
        ep = self._ep
        if ep is None:
            return
        try:
            ep.hangupAllCalls()
            deadline = time.monotonic() + 2.0
            while self._calls and time.monotonic() < deadline:
                ep.libHandleEvents(20)
            if self._account is not None:
                self._account.shutdown()
            self._calls.clear()
            self._rejecting.clear()
            self._free_retired_ports(everything=True)
            self._account = None
            ep.libDestroy()
        finally:
            self._ep = None
