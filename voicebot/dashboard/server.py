"""The dashboard's web app: login, the call board as JSON and a live event stream, and
supervisor control requests handed to ``send_control`` (which publishes them on MQTT).

CSRF defence: the session cookie is SameSite=Strict, state-changing API calls must be JSON
(a cross-site form cannot send that without a CORS preflight, which is never granted), and a
POST whose Origin names another host is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from aiohttp import web

from voicebot.dashboard.auth import Authenticator, PasswordVerifier
from voicebot.dashboard.board import CallBoard

log = logging.getLogger(__name__)

SendControl = Callable[[str, str, dict[str, Any]], Awaitable[None]]
CONTROL_ACTIONS = ("listen", "whisper", "barge", "takeover", "release")
CONTROL_SCHEMA = 1
SESSION_COOKIE = "voicebot_session"
STATIC = Path(__file__).parent / "static"
ERROR_MARK = "<!--error-->"
PRUNE_EVERY_S = 1.0
MAX_NAME = 128
MAX_PASSWORD = 1024

BOARD = web.AppKey("board", CallBoard)
AUTH = web.AppKey("auth", Authenticator)
SEND_CONTROL = web.AppKey[SendControl]("send_control")
KEEPALIVE_S = web.AppKey("keepalive_s", float)
SECURE_COOKIE = web.AppKey("secure_cookie", bool)
LOGIN_PAGE = web.AppKey("login_page", str)

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; object-src 'none'; base-uri 'none'; "
                                "frame-ancestors 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts say Origin: null
}


def create_app(board: CallBoard, directory: PasswordVerifier, send_control: SendControl,
               session_ttl_s: float = 1800, *, keepalive_s: float = 15.0,
               secure_cookie: bool = False,
               clock: Callable[[], float] = time.monotonic) -> web.Application:
    """The dashboard for ``board``. ``secure_cookie``: set where a TLS proxy fronts it."""
    app = web.Application(middlewares=[_same_origin_posts])
    app[BOARD] = board
    app[AUTH] = Authenticator(directory, session_ttl_s=session_ttl_s, clock=clock)
    app[SEND_CONTROL] = send_control
    app[KEEPALIVE_S] = keepalive_s
    app[SECURE_COOKIE] = secure_cookie
    app[LOGIN_PAGE] = (STATIC / "login.html").read_text(encoding="utf-8")
    app.router.add_get("/login", _login_page)
    app.router.add_post("/login", _login)
    app.router.add_post("/logout", _logout)
    app.router.add_get("/", _index)
    app.router.add_get("/api/me", _me)
    app.router.add_get("/api/calls", _calls)
    app.router.add_get("/api/calls/{call_id}", _call)
    app.router.add_post("/api/calls/{call_id}/control", _control)
    app.router.add_get("/api/stream", _stream)
    app.router.add_static("/static/", STATIC)
    app.on_response_prepare.append(_add_headers)
    app.on_shutdown.append(_end_streams)
    app.cleanup_ctx.append(_pruning)
    return app


async def start_dashboard(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serves ``app`` on host:port (0: any free port, see ``bound_port``)."""
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("dashboard on http://%s:%d/", host, bound_port(runner))
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port a started dashboard listens on."""
    return int(runner.addresses[0][1])


# --- pages ----------------------------------------------------------------------------------

async def _login_page(request: web.Request) -> web.StreamResponse:
    if _supervisor(request) is not None:
        raise web.HTTPFound("/")
    return _login_form(request, "")


async def _login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = form.get("name"), form.get("password")
    if not (isinstance(name, str) and isinstance(password, str) and name and password
            and len(name) <= MAX_NAME and len(password) <= MAX_PASSWORD):
        return _login_form(request, "Enter your name and password.")
    result = await request.app[AUTH].login(name, password)
    if result.locked_for_s > 0:
        wait = max(1, round(result.locked_for_s))
        return _login_form(request, f"Too many failed attempts. Try again in {wait} s.")
    if result.token is None:
        return _login_form(request, "Wrong name or password.")
    response = _see_other("/")
    response.set_cookie(SESSION_COOKIE, result.token, httponly=True, samesite="Strict",
                        secure=request.app[SECURE_COOKIE], path="/")
    return response


async def _logout(request: web.Request) -> web.StreamResponse:
    request.app[AUTH].logout(request.cookies.get(SESSION_COOKIE))
    response = _see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def _index(request: web.Request) -> web.StreamResponse:
    if _supervisor(request) is None:
        raise web.HTTPFound("/login")
    return web.FileResponse(STATIC / "index.html")


def _see_other(location: str) -> web.Response:
    """A redirect that can carry a cookie (raised HTTP exceptions are for errors)."""
    return web.Response(status=303, headers={"Location": location})


def _login_form(request: web.Request, error: str) -> web.Response:
    """The login page, with what went wrong. Always 200: an error status would only add a
    console error in the browser, and the page says what happened."""
    page = request.app[LOGIN_PAGE].replace(ERROR_MARK, html.escape(error))
    return web.Response(text=page, content_type="text/html")


# --- API ------------------------------------------------------------------------------------

async def _me(request: web.Request) -> web.StreamResponse:
    return web.json_response({"name": _require_supervisor(request)})


async def _calls(request: web.Request) -> web.StreamResponse:
    _require_supervisor(request)
    # The browser's clock may differ from ours: it times durations from this "now".
    return web.json_response({"now": time.time(), "calls": request.app[BOARD].snapshot()})


async def _call(request: web.Request) -> web.StreamResponse:
    _require_supervisor(request)
    call = request.app[BOARD].call(request.match_info["call_id"])
    if call is None:
        _fail(web.HTTPNotFound, "no such call")
    return web.json_response({"now": time.time(), "call": call})


async def _control(request: web.Request) -> web.StreamResponse:
    supervisor = _require_supervisor(request)
    if request.content_type != "application/json":
        _fail(web.HTTPUnsupportedMediaType, "send JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        _fail(web.HTTPBadRequest, "the body is not JSON")
    action = body.get("action") if isinstance(body, dict) else None
    if action not in CONTROL_ACTIONS:
        _fail(web.HTTPBadRequest, f"action must be one of {', '.join(CONTROL_ACTIONS)}")
    call_id = request.match_info["call_id"]
    live = request.app[BOARD].is_live(call_id)
    if live is None:
        _fail(web.HTTPNotFound, "no such call")
    if not live:
        _fail(web.HTTPConflict, "the call has ended")
    request_id = secrets.token_hex(8)
    payload = {"schema": CONTROL_SCHEMA, "action": action, "request_id": request_id}
    try:
        await request.app[SEND_CONTROL](supervisor, call_id, payload)
    except Exception:
        log.exception("could not send %s on call %s for %r", action, call_id, supervisor)
        _fail(web.HTTPServiceUnavailable, "the request could not be sent; try again")
    log.info("supervisor %r asked to %s call %s (request %s)", supervisor, action, call_id,
             request_id)
    return web.json_response({"request_id": request_id}, status=202)


async def _stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every update of the board, and a keep-alive comment when quiet.
    Ends when the session does; the stream itself is not activity that keeps it alive."""
    _require_supervisor(request)
    auth, token = request.app[AUTH], request.cookies.get(SESSION_COOKIE)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "X-Accel-Buffering": "no"})
    # Subscribed before the browser hears the stream is open, so nothing falls in between.
    with request.app[BOARD].subscribe() as subscription, \
            contextlib.suppress(ConnectionError):
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        while True:
            try:
                update = await asyncio.wait_for(subscription.get(), request.app[KEEPALIVE_S])
            except TimeoutError:
                if auth.session(token, touch=False) is None:
                    break
                await response.write(b": keep-alive\n\n")
                continue
            if update is None or auth.session(token, touch=False) is None:
                break  # cut off for lagging, shut down, or logged out: the browser reconnects
            data = json.dumps(update.data, separators=(",", ":"))
            await response.write(f"event: {update.name}\ndata: {data}\n\n".encode())
    return response


# --- plumbing -------------------------------------------------------------------------------

def _supervisor(request: web.Request) -> str | None:
    return request.app[AUTH].session(request.cookies.get(SESSION_COOKIE))


def _require_supervisor(request: web.Request) -> str:
    name = _supervisor(request)
    if name is None:
        _fail(web.HTTPUnauthorized, "log in first")
    return name


def _fail(error: type[web.HTTPException], message: str) -> NoReturn:
    raise error(text=json.dumps({"error": message}), content_type="application/json")


@web.middleware
async def _same_origin_posts(request: web.Request, handler: Callable[
        [web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if request.method == "POST" and origin is not None and urlsplit(origin).netloc != request.host:
        log.warning("refused a cross-origin %s %s from %r", request.method, request.path, origin)
        _fail(web.HTTPForbidden, "cross-origin request refused")
    return await handler(request)


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Static files may be revalidated; pages and data hold call details: never stored.
    cache = "no-cache" if request.path.startswith("/static/") else "no-store"
    response.headers.setdefault("Cache-Control", cache)


async def _end_streams(app: web.Application) -> None:
    app[BOARD].close_subscriptions()


async def _pruning(app: web.Application) -> AsyncIterator[None]:
    """Takes ended calls off the board once their retention is over, telling the browsers."""
    async def prune_forever() -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            app[BOARD].prune()

    task = asyncio.create_task(prune_forever())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
