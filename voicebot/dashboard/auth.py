"""Dashboard logins: password check, sessions that expire when idle, and a lockout after
repeated failures. Passwords are never logged or kept."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

# Failure records are kept for any name tried, existing or not (so a probe cannot tell the
# difference); this bounds how many a name-spraying client can make us hold.
MAX_TRACKED_NAMES = 10_000


class PasswordVerifier(Protocol):
    """Checks a supervisor's password (the SupervisorDirectory does); None when wrong."""

    def verify(self, name: str, password: str) -> object | None: ...


@dataclass(frozen=True)
class LoginResult:
    token: str | None = None  # the new session's token when the login succeeded
    locked_for_s: float = 0.0  # > 0: refused unchecked, the name is locked this much longer


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0
    checking: int = 0  # attempts being verified right now: they count against the limit


@dataclass
class _Session:
    name: str
    last_seen: float


class Authenticator:
    def __init__(self, verifier: PasswordVerifier, session_ttl_s: float = 1800.0,
                 max_failures: int = 5, lockout_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.verifier = verifier
        self.session_ttl_s = session_ttl_s
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._failures: dict[str, _Failures] = {}

    async def login(self, name: str, password: str) -> LoginResult:
        now = self._clock()
        record = self._failures_of(name, now)
        if record.locked_until > now:
            log.warning("login refused for %r: locked for %.0f s more", _shown(name),
                        record.locked_until - now)
            return LoginResult(locked_for_s=record.locked_until - now)
        if record.count + record.checking >= self.max_failures:
            # Attempts already being verified would reach the limit: refuse this one too.
            return LoginResult(locked_for_s=self.lockout_s)
        record.checking += 1
        try:
            # Password hashing is deliberately slow: keep it off the event loop.
            who = await asyncio.to_thread(self.verifier.verify, name, password)
        finally:
            record.checking -= 1
        now = self._clock()
        if who is None:
            record.count += 1
            record.last = now
            if record.count >= self.max_failures:
                record.count = 0
                record.locked_until = now + self.lockout_s
                log.warning("login failed for %r: %d failures, locked for %.0f s",
                            _shown(name), self.max_failures, self.lockout_s)
                return LoginResult()
            log.warning("login failed for %r (%d of %d before lockout)", _shown(name),
                        record.count, self.max_failures)
            return LoginResult()
        if record.checking == 0:
            self._failures.pop(name, None)
        self._drop_expired_sessions(now)
        token = secrets.token_urlsafe(32)
        self._sessions[token] = _Session(name, now)
        log.info("supervisor %r logged in to the dashboard", name)
        return LoginResult(token=token)

    def session(self, token: str | None, touch: bool = True) -> str | None:
        """The supervisor a session token belongs to, None when unknown or expired. ``touch``
        counts this as activity (user requests do; the event stream does not)."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_seen >= self.session_ttl_s:
            del self._sessions[token]
            log.info("dashboard session of %r expired", session.name)
            return None
        if touch:
            session.last_seen = now
        return session.name

    def logout(self, token: str | None) -> None:
        session = self._sessions.pop(token, None) if token else None
        if session is not None:
            log.info("supervisor %r logged out of the dashboard", session.name)

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    def _failures_of(self, name: str, now: float) -> _Failures:
        record = self._failures.get(name)
        if record is None or self._forgiven(record, now):
            record = _Failures()
            self._failures.pop(name, None)
            if len(self._failures) >= MAX_TRACKED_NAMES:
                self._forget_forgiven(now)
            if len(self._failures) >= MAX_TRACKED_NAMES:
                del self._failures[next(iter(self._failures))]
            self._failures[name] = record
        return record

    def _forgiven(self, record: _Failures, now: float) -> bool:
        """Old failures are forgiven after a quiet lockout period."""
        return (record.checking == 0 and record.locked_until <= now
                and now - record.last >= self.lockout_s)

    def _forget_forgiven(self, now: float) -> None:
        for name in [n for n, r in self._failures.items() if self._forgiven(r, now)]:
            del self._failures[name]

    def _drop_expired_sessions(self, now: float) -> None:
        expired = [t for t, s in self._sessions.items()
                   if now - s.last_seen >= self.session_ttl_s]
        for token in expired:
            del self._sessions[token]


def _shown(name: str) -> str:
    """A user-typed name as it may appear in the log: bounded in length."""
    return name if len(name) <= 64 else name[:64] + "..."
