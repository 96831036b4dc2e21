"""The hotline: a SIP endpoint whose every answered call gets its own Session, and whose
calls supervisors can step into."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from telephony.call import CallLeg
from telephony.endpoint import SipConfig, SipEndpoint
from voicebot.audit import AuditLog
from voicebot.call_events import CallEvents, EventSink, NoEvents
from voicebot.config import CALL_SAMPLE_RATE, HotlineConfig
from voicebot.engines import Engines
from voicebot.knowledge_store import watch
from voicebot.records import write_record
from voicebot.redaction import redact
from voicebot.session import Session
from voicebot.supervision import Supervision
from voicebot.supervisors import SupervisorDirectory

log = logging.getLogger(__name__)


def sip_config(config: HotlineConfig) -> SipConfig:
    return SipConfig(host=config.host, port=config.port, transports=config.transports,
                     extension=config.extension, max_calls=config.max_calls,
                     codecs=config.codecs, rtp_port=config.rtp_port,
                     sample_rate=CALL_SAMPLE_RATE)


class Hotline:
    def __init__(self, config: HotlineConfig, engines: Engines, events: EventSink | None = None,
                 supervisors: SupervisorDirectory | None = None) -> None:
        self.config = config
        self.engines = engines
        self.events = events or NoEvents()
        self.endpoint = SipEndpoint(sip_config(config), self)
        self.sessions: dict[str, asyncio.Task[None]] = {}
        self.live: dict[str, Session] = {}
        self.supervision = Supervision(
            config.site, supervisors or SupervisorDirectory(), self.endpoint, engines,
            self.events, AuditLog(Path(config.audit_log) if config.audit_log else None),
            self.live.get, config.supervisor_answer_s)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, stop: asyncio.Event) -> None:
        """Answer calls until ``stop`` is set; then hang up the calls that are left."""
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(None, self.endpoint.start)
        print(f"voicebot ready: {self.endpoint.uri} ({', '.join(self.config.transports)}), "
              f"max {self.config.max_calls} calls", flush=True)
        # Knowledge-base edits reach new calls without a restart; a bad edit is refused.
        watcher = asyncio.create_task(watch(self.engines.knowledge), name="kb-watch")
        try:
            await stop.wait()
        finally:
            watcher.cancel()
            for task in list(self.sessions.values()):
                task.cancel()
            await asyncio.gather(*self.sessions.values(), return_exceptions=True)
            await self._loop.run_in_executor(None, self.endpoint.stop)

    # --- CallListener: called on the SIP thread ------------------------------------------
    def on_call_started(self, leg: CallLeg) -> None:
        assert self._loop is not None
        if leg.direction == "out":
            return  # a supervisor's phone the bot rang: Supervision waits for it to answer
        events = CallEvents(self.events, self.config.site, leg.id)
        session = Session(leg, self.engines, self.config, self._loop, events)
        session.attach()
        self._loop.call_soon_threadsafe(self._start, session)

    def on_call_ended(self, leg: CallLeg) -> None:
        assert self._loop is not None
        if leg.direction == "out":
            asyncio.run_coroutine_threadsafe(self.supervision.supervisor_hung_up(leg),
                                             self._loop)
        else:
            self._loop.call_soon_threadsafe(self._end, leg.id)

    # --- on the event loop ----------------------------------------------------------------
    def _start(self, session: Session) -> None:
        log.info("call %s from %s answered", session.leg.id, session.leg.remote_uri)
        task = asyncio.create_task(self._run(session), name=f"session-{session.leg.id}")
        self.sessions[session.leg.id] = task
        self.live[session.leg.id] = session
        session.events.call_started(redact(session.leg.remote_uri), session.record.started_at)

    def _end(self, call_id: str) -> None:
        task = self.sessions.get(call_id)
        if task is not None:
            task.cancel()

    async def _run(self, session: Session) -> None:
        try:
            await session.run()
        except asyncio.CancelledError:
            pass  # the call ended: hang-up or shutdown
        except Exception:
            # One broken call must not take the others down: end it and keep serving.
            log.exception("call %s failed; hanging up", session.leg.id)
            session.record.end_reason = "internal error"
            session.leg.hangup(500)
        finally:
            self.sessions.pop(session.leg.id, None)
            self.live.pop(session.leg.id, None)
            await self.supervision.call_ended(session.leg.id)
            self._save(session)

    def _save(self, session: Session) -> None:
        record = session.record
        log.info("call %s ended (%s): %d turns", record.call_id, record.end_reason,
                 len(record.turns))
        session.events.call_ended(record.end_reason, (record.ended_at or time.time())
                                  - record.started_at, len(record.turns))
        if self.config.records_dir:
            try:
                path = write_record(record, Path(self.config.records_dir))
                log.info("call record written to %s", path)
            except OSError as exc:
                log.error("could not write the record of call %s: %s", record.call_id, exc)
