"""The dashboard's web app over HTTP: login, sessions, lockout, the API, control requests and
the event stream (aiohttp's test server on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from dashboard_helpers import FakeClock, Passwords, lost_card_call

from voicebot.dashboard.board import CallBoard
from voicebot.dashboard.server import SESSION_COOKIE, create_app

PASSWORD = "correct horse battery staple"
WRONG = "not-the-password-9f2"

Sent = list[tuple[str, str, dict[str, Any]]]


class Dashboard:
    def __init__(self, client: TestClient, board: CallBoard, sent: Sent, clock: FakeClock
                 ) -> None:
        self.client, self.board, self.sent, self.clock = client, board, sent, clock

    async def login(self, name: str = "alice", password: str = PASSWORD) -> ClientResponse:
        return await self.client.post("/login", data={"name": name, "password": password},
                                      allow_redirects=False)

    async def control(self, call_id: str, body: Any) -> ClientResponse:
        return await self.client.post(f"/api/calls/{call_id}/control", json=body)

    def token(self) -> str:
        return next(c.value for c in self.client.session.cookie_jar
                    if c.key == SESSION_COOKIE)


@contextlib.asynccontextmanager
async def dashboard(send_fails: bool = False, keepalive_s: float = 15.0
                    ) -> AsyncIterator[Dashboard]:
    board, sent, clock = CallBoard(), [], FakeClock()

    async def send_control(supervisor: str, call_id: str, payload: dict[str, Any]) -> None:
        if send_fails:
            raise ConnectionError("broker down")
        sent.append((supervisor, call_id, payload))

    app = create_app(board, Passwords(alice=PASSWORD, bob="hunter2"), send_control,
                     session_ttl_s=600, keepalive_s=keepalive_s, clock=clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Dashboard(client, board, sent, clock)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_nothing_without_a_session() -> None:
    async def scenario() -> None:
        async with dashboard() as d:
            lost_card_call(d.board)
            page = await d.client.get("/", allow_redirects=False)
            assert page.status == 302 and page.headers["Location"] == "/login"
            for path in ("/api/calls", "/api/calls/in-1", "/api/stream", "/api/me"):
                response = await d.client.get(path)
                assert response.status == 401, path
                assert (await response.json())["error"] == "log in first"
            response = await d.control("in-1", {"action": "barge"})
            assert response.status == 401
            assert d.sent == []
            login = await d.client.get("/login")
            assert login.status == 200
            text = await login.text()
            assert 'action="/login"' in text and "<!--error-->" not in text
            assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]

    run(scenario)


def test_login_gives_an_http_only_strict_session_cookie() -> None:
    async def scenario() -> None:
        async with dashboard() as d:
            lost_card_call(d.board)
            response = await d.login()
            assert response.status == 303 and response.headers["Location"] == "/"
            cookie = response.headers["Set-Cookie"]
            assert cookie.startswith(f"{SESSION_COOKIE}=")
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
            assert len(d.token()) >= 40
            page = await d.client.get("/")
            assert page.status == 200 and 'id="call-rows"' in await page.text()
            assert page.headers["Cache-Control"] == "no-store"
            assert (await (await d.client.get("/api/me")).json()) == {"name": "alice"}
            calls = await (await d.client.get("/api/calls")).json()
            assert [c["call_id"] for c in calls["calls"]] == ["in-1"] and calls["now"] > 0
            call = await (await d.client.get("/api/calls/in-1")).json()
            assert call["call"]["transcript"][0]["text"] == "I lost my card"
            missing = await d.client.get("/api/calls/in-404")
            assert missing.status == 404
            # Logged in, /login goes to the board.
            again = await d.client.get("/login", allow_redirects=False)
            assert again.status == 302 and again.headers["Location"] == "/"

    run(scenario)


def test_a_wrong_password_is_refused_and_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with dashboard() as d:
            for name, password, error in (
                    ("alice", WRONG, "Wrong name or password."),
                    ("mallory", WRONG, "Wrong name or password."),
                    ("alice", "", "Enter your name and password.")):
                response = await d.login(name, password)
                assert response.status == 200  # the form again, with the error
                assert SESSION_COOKIE not in response.cookies
                assert f'role="alert">{error}</p>' in await response.text()
            assert (await d.client.get("/api/calls")).status == 401

    run(scenario)
    assert "login failed for 'alice'" in caplog.text
    assert WRONG not in caplog.text and PASSWORD not in caplog.text


def test_sessions_expire_when_idle_and_at_logout() -> None:
    async def scenario() -> None:
        async with dashboard() as d:
            await d.login()
            d.clock.advance(599)
            assert (await d.client.get("/api/calls")).status == 200  # activity: idle restarts
            d.clock.advance(599)
            assert (await d.client.get("/api/calls")).status == 200
            d.clock.advance(600)
            assert (await d.client.get("/api/calls")).status == 401
            expired = await d.client.get("/", allow_redirects=False)
            assert expired.headers["Location"] == "/login"

            await d.login()
            token = d.token()
            out = await d.client.post("/logout", allow_redirects=False)
            assert out.status == 303 and out.headers["Location"] == "/login"
            assert (await d.client.get("/api/calls")).status == 401
            # The old token is dead, not merely forgotten by this browser.
            replay = await d.client.get("/api/calls",
                                        headers={"Cookie": f"{SESSION_COOKIE}={token}"})
            assert replay.status == 401

    run(scenario)


def test_repeated_failures_lock_the_name_for_a_while(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        async with dashboard() as d:
            for _ in range(5):
                assert "Wrong name or password." in await (await d.login("alice", WRONG)).text()
            locked = await d.login("alice", PASSWORD)
            assert SESSION_COOKIE not in locked.cookies
            assert "Too many failed attempts. Try again in 30 s." in await locked.text()
            assert (await d.client.get("/api/calls")).status == 401
            # Another supervisor is not affected.
            assert (await d.login("bob", "hunter2")).status == 303
            d.clock.advance(31)
            assert (await d.login("alice", PASSWORD)).status == 303
            assert (await (await d.client.get("/api/me")).json()) == {"name": "alice"}

    run(scenario)
    assert "locked for 30 s" in caplog.text
    assert WRONG not in caplog.text and PASSWORD not in caplog.text


def test_control_requests_are_validated_then_sent() -> None:
    async def scenario() -> None:
        async with dashboard() as d:
            lost_card_call(d.board, "in-1")
            lost_card_call(d.board, "in-2").call_ended("caller hung up", 12.0, 1)
            await d.login()
            form = await d.client.post("/api/calls/in-1/control", data={"action": "barge"})
            assert form.status == 415
            not_json = await d.client.post("/api/calls/in-1/control", data="{barge",
                                           headers={"Content-Type": "application/json"})
            assert not_json.status == 400
            for body in ({"action": "explode"}, {"action": 5}, {}, ["barge"], "barge",
                         {"action": "hangup"}):
                response = await d.control("in-1", body)
                assert response.status == 400, body
                assert "action must be one of" in (await response.json())["error"]
            assert (await d.control("in-404", {"action": "barge"})).status == 404
            assert (await d.control("in-2", {"action": "barge"})).status == 409
            cross_site = await d.client.post("/api/calls/in-1/control", json={"action": "barge"},
                                             headers={"Origin": "http://evil.example"})
            assert cross_site.status == 403
            assert d.sent == []

            accepted = await d.control("in-1", {"action": "barge"})
            assert accepted.status == 202
            request_id = (await accepted.json())["request_id"]
            assert d.sent == [("alice", "in-1", {"schema": 1, "action": "barge",
                                                 "request_id": request_id})]
            same_origin = await d.client.post(
                "/api/calls/in-1/control", json={"action": "release"},
                headers={"Origin": str(d.client.make_url("/")).rstrip("/")})
            assert same_origin.status == 202
            assert [s[2]["action"] for s in d.sent] == ["barge", "release"]

    run(scenario)


def test_control_reports_a_failed_send() -> None:
    async def scenario() -> None:
        async with dashboard(send_fails=True) as d:
            lost_card_call(d.board)
            await d.login()
            response = await d.control("in-1", {"action": "listen"})
            assert response.status == 503
            assert "try again" in (await response.json())["error"]

    run(scenario)


async def read_event(response: ClientResponse) -> tuple[str, str]:
    """The next server-sent event's (name, data); comments are returned as ("comment", text)."""
    fields: dict[str, str] = {}
    while True:
        line = (await response.content.readline()).decode().rstrip("\n")
        if line.startswith(":"):
            return "comment", line[1:].strip()
        if not line:
            if "event" in fields or "data" in fields:
                return fields.get("event", "message"), fields.get("data", "")
            continue
        name, _, value = line.partition(":")
        fields[name] = value.lstrip()


def test_the_stream_carries_events_and_keepalives_and_ends_with_the_session() -> None:
    async def scenario() -> None:
        async with dashboard(keepalive_s=0.2) as d:
            await d.login()
            stream = await d.client.get("/api/stream")
            assert stream.status == 200
            assert stream.headers["Content-Type"] == "text/event-stream"
            assert await stream.content.readline() == b"retry: 3000\n"
            assert d.board.subscribers == 1
            lost_card_call(d.board)
            name, data = await read_event(stream)
            assert name == "event" and '"type":"call_started"' in data
            assert '"caller":"sip:***1234@10.0.0.7"' in data
            for _ in range(5):
                await read_event(stream)
            assert await read_event(stream) == ("comment", "keep-alive")

            await d.client.post("/logout")
            # The stream ends (what is left is the keep-alive's blank line).
            assert (await asyncio.wait_for(stream.content.read(), 10)).strip() == b""
            await asyncio.sleep(0.05)
            assert d.board.subscribers == 0

    run(scenario)


def test_open_streams_end_at_shutdown() -> None:
    async def scenario() -> None:
        async with dashboard() as d:
            await d.login()
            stream = await d.client.get("/api/stream")
            await stream.content.readline()
            assert d.board.subscribers == 1
            # Closing the client below shuts the server down: it must not wait for the stream.
        assert d.board.subscribers == 0

    started = asyncio.run(asyncio.wait_for(_timed(scenario), 60))
    assert started < 10


async def _timed(scenario: Callable[[], Awaitable[None]]) -> float:
    loop = asyncio.get_running_loop()
    began = loop.time()
    await scenario()
    return loop.time() - began
