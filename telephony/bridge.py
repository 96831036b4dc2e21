"""Who hears whom on a supervised call: pure routing, and applying it on the pjsua2 bridge.

Nodes are the caller's call media (``CALLER``), the bot's port for that call (``BOT``, the
caller leg's QueuePort) and one call media per supervisor leg, named by the supervisor.
Each supervisor leg keeps its own QueuePort connected both ways (SipCall._connect_media):
the bridge never touches it, so the voicebot still hears each supervisor on their own port.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Mapping
from enum import StrEnum

import pjsua2 as pj

from telephony.call import CallLeg
from telephony.endpoint import SipEndpoint

log = logging.getLogger(__name__)

CALLER = "caller"
BOT = "bot"
Edge = tuple[str, str]  # (source, destination): the destination hears the source


class Mode(StrEnum):
    LISTEN = "listen"  # hears the call
    WHISPER = "whisper"  # hears the call; heard only by a supervisor who has taken over
    BARGE = "barge"  # hears everyone, heard by everyone
    TAKEOVER = "takeover"  # talks with the caller instead of the bot; the bot still listens


class BridgeError(ValueError):
    """A routing change that cannot be made; the message says why."""


def handler_of(modes: Mapping[str, Mode]) -> str | None:
    """The supervisor who has taken over the call, or None while the bot handles it."""
    takers = sorted(name for name, mode in modes.items() if mode is Mode.TAKEOVER)
    if len(takers) > 1:
        raise BridgeError(f"only one supervisor can take over a call, not {takers}")
    return takers[0] if takers else None


def change_mode(modes: Mapping[str, Mode], supervisor: str, mode: Mode | None
                ) -> dict[str, Mode]:
    """``modes`` with ``supervisor`` in ``mode`` (None: gone); refuses a second takeover."""
    if supervisor in (CALLER, BOT):
        raise BridgeError(f"{supervisor!r} names a call party, not a supervisor")
    holder = handler_of(modes)
    if mode is Mode.TAKEOVER and holder not in (None, supervisor):
        raise BridgeError(f"{supervisor} cannot take over: {holder} has already taken over "
                          "this call")
    changed = {name: m for name, m in modes.items() if name != supervisor}
    if mode is not None:
        changed[supervisor] = mode
    return changed


def routes(modes: Mapping[str, Mode]) -> frozenset[Edge]:
    """Every directed audio edge wanted on the bridge for supervisors in ``modes``."""
    handler = handler_of(modes)
    edges = {(CALLER, BOT)}  # the bot keeps transcribing whoever handles the call
    if handler is None:
        edges.add((BOT, CALLER))
    for supervisor, mode in modes.items():
        edges |= {(CALLER, supervisor), (BOT, supervisor)}
        if mode is Mode.TAKEOVER:
            edges.add((supervisor, CALLER))
        elif mode is Mode.BARGE:
            for other in (CALLER, BOT, *modes):
                if other != supervisor:
                    edges |= {(supervisor, other), (other, supervisor)}
        elif handler is not None:
            # With the bot handling the call a whisper goes on no edge: the voicebot hears
            # the supervisor on their own leg's port.
            edges.add((handler, supervisor))
            if mode is Mode.WHISPER:
                edges.add((supervisor, handler))
    return frozenset(edges)


class CallBridge:
    """The routing of one supervised call, applied as differences on the conference bridge.

    Methods may be called from any thread: each returns a future done once its change is
    made on the pjsua2 thread (``asyncio.wrap_future`` awaits it), holding BridgeError if
    it was refused. A leg that has ended is dropped without error: its bridge slot left the
    bridge with every edge on it, so nothing is sent to it (the slot may be reused already).
    """

    def __init__(self, endpoint: SipEndpoint, caller: CallLeg) -> None:
        self._endpoint = endpoint
        self._caller = caller
        self._legs: dict[str, CallLeg] = {}
        self._modes: dict[str, Mode] = {}  # replaced, never mutated: other threads read it
        self._edges = routes({})  # caller <-> bot, as SipCall._connect_media made them

    @property
    def modes(self) -> dict[str, Mode]:
        return dict(self._modes)

    @property
    def handler(self) -> str | None:
        return handler_of(self._modes)

    def join(self, supervisor: str, leg: CallLeg, mode: Mode
             ) -> concurrent.futures.Future[None]:
        """Put a supervisor's connected leg on the call; one already on it with another leg
        is moved to this one."""
        def _join() -> None:
            if not leg.connected.is_set():
                raise BridgeError(f"{supervisor}'s leg {leg.id} has no audio yet")
            change_mode(self._modes, supervisor, mode)  # a refusal changes nothing
            if self._legs.get(supervisor, leg) is not leg:
                self._drop(supervisor)
            self._legs[supervisor] = leg
            self._modes = change_mode(self._modes, supervisor, mode)
            self._apply()
        return self._on_pjsua_thread(_join)

    def set_mode(self, supervisor: str, mode: Mode) -> concurrent.futures.Future[None]:
        def _set_mode() -> None:
            if supervisor not in self._legs:
                raise BridgeError(f"{supervisor} is not on call {self._caller.id}")
            self._modes = change_mode(self._modes, supervisor, mode)
            self._apply()
        return self._on_pjsua_thread(_set_mode)

    def leave(self, supervisor: str) -> concurrent.futures.Future[None]:
        """Take a supervisor off the call (hanging up their leg is the caller's business);
        a supervisor already gone is no error."""
        return self._on_pjsua_thread(lambda: self._drop(supervisor))

    def _on_pjsua_thread(self, change: Callable[[], None]) -> concurrent.futures.Future[None]:
        return self._endpoint.submit(change)

    # --- the pjsua2 thread ----------------------------------------------------------------
    def _drop(self, supervisor: str) -> None:
        self._modes = change_mode(self._modes, supervisor, None)
        self._apply()  # while the leg is still known, so that its edges can be stopped
        self._legs.pop(supervisor, None)

    def _apply(self) -> None:
        nodes = self._live_nodes()
        for name in [n for n in self._legs if n not in nodes]:
            log.info("call %s: %s's leg has ended; off the bridge", self._caller.id, name)
            del self._legs[name]
            self._modes = change_mode(self._modes, name, None)
        wanted = routes(self._modes)
        for src, dst in sorted(self._edges - wanted):
            self._transmit(nodes, src, dst, start=False)
        for src, dst in sorted(wanted - self._edges):
            self._transmit(nodes, src, dst, start=True)
        self._edges = wanted
        log.info("call %s: supervisors %s", self._caller.id,
                 {name: str(mode) for name, mode in self._modes.items()} or "none")

    def _live_nodes(self) -> dict[str, pj.AudioMedia]:
        nodes: dict[str, pj.AudioMedia] = {}
        caller = self._caller.bridge_media()
        if caller is not None:
            nodes[CALLER], nodes[BOT] = caller
        for name, leg in self._legs.items():
            media = leg.bridge_media()
            if media is not None:
                nodes[name] = media[0]
        return nodes

    def _transmit(self, nodes: dict[str, pj.AudioMedia], src: str, dst: str,
                  start: bool) -> None:
        if src not in nodes or dst not in nodes:
            return  # an ended leg: its edges left the bridge with its slot
        try:
            if start:
                nodes[src].startTransmit(nodes[dst])
            else:
                nodes[src].stopTransmit(nodes[dst])
        except pj.Error as exc:  # media torn down by a BYE being handled right now
            log.debug("call %s: %s -> %s not changed: %s", self._caller.id, src, dst,
                      exc.reason)
