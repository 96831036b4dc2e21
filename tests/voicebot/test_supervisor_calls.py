"""Supervisors on live calls, end to end: `voicebot serve` as a subprocess, a real Mosquitto
with the project's ACL, callers and supervisors as pjsua2 phones in their own processes,
and what each side hears checked by audio (tones: the caller's 500 Hz, the supervisor's
1700 Hz), what the bot publishes checked on the broker, and every action in the audit log.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LOOPBACK, HotlineProcess, Speech, free_port
from mqtt_testing import (
    PROBE_TOPIC,
    Relay,
    collecting,
    login,
    passwords,
    raw_client,
    running_broker,
    until,
)
from tone_phone import Recording, TonePhone

from voicebot.broker import Broker
from voicebot.supervisors import Supervisor, SupervisorDirectory

pytestmark = pytest.mark.e2e

CALLER_HZ, SUPERVISOR_HZ = 500.0, 1700.0
HEARD_DB, UNHEARD_DB = -25.0, -45.0  # tones are sent at -12 dB; G.711 noise reads ~ -60 dB
SITE = "main"
EVENTS = f"hotline/{SITE}/#"


class RelayThread:
    """The relay between the hotline and the broker, on a loop of its own for the module."""

    def __init__(self, broker_port: int) -> None:
        self.relay = Relay(broker_port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.open()

    @property
    def port(self) -> int:
        return self.relay.port

    def open(self) -> None:
        asyncio.run_coroutine_threadsafe(self.relay.open(), self.loop).result(5)

    def hold(self) -> None:
        self.loop.call_soon_threadsafe(self.relay.hold)

    def close(self) -> None:
        self.hold()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Site:
    """A broker, the hotline behind a relay to it, and alice's phone number."""

    def __init__(self, folder: Path, broker: Broker, relay: RelayThread) -> None:
        self.folder = folder
        self.broker = broker
        self.relay = relay
        self.alice_port = free_port()
        self.audit = folder / "audit.jsonl"
        supervisors = folder / "supervisors.toml"
        alice = passwords()["alice"][0]
        SupervisorDirectory([Supervisor("alice", f"sip:alice@{LOOPBACK}:{self.alice_port}",
                                        alice.password_hash)]).save(supervisors)
        self.dashboard_port = free_port()
        self.hotline = HotlineProcess(
            folder, "--mqtt", f"{LOOPBACK}:{relay.port}", "--supervisors-file",
            str(supervisors), "--audit-log", str(self.audit), "--dashboard-port",
            str(self.dashboard_port), "--silence-timeout-s", "30",
            env={"VOICEBOT_MQTT_PASSWORD": passwords()["voicebot"][1]})

    def phone(self, name: str, tone: float, **kwargs: Any) -> TonePhone:
        return TonePhone(self.folder / f"{name}-{time.monotonic_ns()}.npz", tone, free_port(),
                         **kwargs)

    def alice(self, **kwargs: Any) -> TonePhone:
        phone = self.phone("alice", SUPERVISOR_HZ, port=self.alice_port, extension="alice",
                           **kwargs)
        phone.wait_for("tone_phone ready")
        return phone

    def caller(self, **kwargs: Any) -> TonePhone:
        phone = self.phone("caller", CALLER_HZ, dial=self.hotline.uri, **kwargs)
        phone.wait_for("tone_phone connected")
        return phone

    def audited(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines()]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("site")
    with running_broker(folder / "broker") as broker:
        relay = RelayThread(broker.port)
        hotline = Site(folder, broker, relay)
        try:
            yield hotline
        finally:
            code = hotline.hotline.stop()
            relay.close()
            assert code == 0, "\n".join(hotline.hotline.lines[-40:])


def events_of(received: list[tuple[str, bytes]], call_id: str) -> list[dict[str, Any]]:
    """The call's events, in order, without the duplicates QoS 1 may deliver."""
    seen: dict[int, dict[str, Any]] = {}
    for topic, payload in received:
        if topic == f"hotline/{SITE}/calls/{call_id}/events":
            event = json.loads(payload)
            seen.setdefault(event["seq"], event)
    return [seen[seq] for seq in sorted(seen)]


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def newest_call(received: list[tuple[str, bytes]]) -> str | None:
    started = [json.loads(p) for t, p in received
               if t.endswith("/events") and t != PROBE_TOPIC]
    ids = [e["call_id"] for e in started if e["type"] == "call_started"]
    return ids[-1] if ids else None


def test_events_of_a_call_arrive_in_order_and_survive_a_broker_restart(
        site: Site, speech: Speech) -> None:
    asyncio.run(asyncio.wait_for(_events_through_a_restart(site, speech), 150))


async def _events_through_a_restart(site: Site, speech: Speech) -> None:
    port = site.broker.port
    async with collecting(login("alice", port), EVENTS) as seen:
        await seen.subscribed(port)
        caller = site.caller(speech=speech.wav(
            "Hello, I lost my credit card yesterday. Can you block it?"), speech_after_s=3.0)
        await until(lambda: newest_call(seen.received) is not None, what="call_started")
        call_id = newest_call(seen.received)
        assert call_id is not None

        def understood() -> bool:
            return bool(of_type(events_of(seen.received, call_id), "understanding"))
        await until(understood, 60, "the first turn understood")
        # The broker goes away mid-call; the bot must not notice beyond buffering, and the
        # relay keeps it from reconnecting until this subscriber is back, so nothing
        # it publishes meanwhile is delivered to nobody.
        site.relay.hold()
        site.broker.restart()
        await seen.subscribed(port)
        await asyncio.sleep(1.0)  # the bot tries to reconnect in vain, events pile up
        site.relay.open()
        caller.stop()
        await until(lambda: bool(of_type(events_of(seen.received, call_id), "call_ended")),
                    30, "call_ended after the restart")
    events = events_of(seen.received, call_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), "a gap"
    assert all(e["schema"] == 1 and e["site"] == SITE and e["call_id"] == call_id
               for e in events)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "call_started" and kinds[-1] == "call_ended"
    assert kinds.index("understanding") < kinds.index("call_ended")
    (understanding,) = of_type(events, "understanding")
    assert understanding["data"]["intent"] == "card_lost"
    said = [(e["data"]["speaker"], e["data"]["text"]) for e in of_type(events, "utterance")]
    assert said[0][0] == "bot" and "help" in said[0][1]  # the greeting
    assert any(who == "caller" and "card" in text.lower() for who, text in said)
    assert of_type(events, "emotion") and of_type(events, "latency")
    assert events[-1]["data"]["reason"] == "caller hung up"


def test_each_mode_routes_audio_as_promised_and_is_audited(site: Site, speech: Speech) -> None:
    asyncio.run(asyncio.wait_for(_modes(site, speech), 180))


async def _modes(site: Site, speech: Speech) -> None:
    port = site.broker.port
    async with collecting(login("alice", port), EVENTS) as seen, \
            raw_client("alice", port) as alice_mqtt:
        await seen.subscribed(port)
        caller = site.caller()
        await until(lambda: newest_call(seen.received) is not None, what="call_started")
        call_id = newest_call(seen.received)
        assert call_id is not None

        async def switch(action: str, mode: str | None = None) -> float:
            """Send ``action``; returns when the bot reports the new mode."""
            before = len(of_type(events_of(seen.received, call_id), "supervision"))
            await alice_mqtt.publish(f"hotline/{SITE}/calls/{call_id}/control/alice",
                                     json.dumps({"schema": 1, "action": action}), qos=1)

            def switched() -> bool:
                modes = of_type(events_of(seen.received, call_id), "supervision")
                return len(modes) > before and modes[-1]["data"]["mode"] == (mode or action)
            await until(switched, 40, f"supervision {action}")
            return time.time()

        # Whisper: alice's words reach the bot's transcript, never the caller.
        alice = site.alice(speech=speech.wav("Please offer the caller a new card."),
                           speech_after_s=1.0)
        whisper = await switch("whisper")

        def whispered() -> bool:
            return any(e["data"]["speaker"] == "supervisor"
                       for e in of_type(events_of(seen.received, call_id), "utterance"))
        await until(whispered, 40, "alice's whisper in the transcript")
        await asyncio.sleep(2.0)  # her tone after her words: still not for the caller
        barge = await switch("barge")
        await asyncio.sleep(2.5)
        takeover = await switch("takeover")
        await asyncio.sleep(2.5)
        listen = await switch("listen")
        await asyncio.sleep(2.5)
        released = await switch("release", "ended")
        assert alice.wait(20) == 0  # the bot hung up her phone
        heard_by_alice = alice.recording()

        # Barge again with a fresh phone, and alice hangs up mid-barge: the call goes on.
        alice = site.alice()
        await switch("barge")
        await asyncio.sleep(1.5)
        alice.stop()
        await until(lambda: of_type(events_of(seen.received, call_id), "supervision")[-1][
            "data"]["mode"] == "ended", 20, "alice's hang-up noticed")
        assert caller.proc.poll() is None, "the caller's call ended with the supervisor's"
        caller.stop()
        await until(lambda: bool(of_type(events_of(seen.received, call_id), "call_ended")),
                    30, "call_ended")
    heard_by_caller = caller.recording()

    def level(recording: Recording, hz: float, start: float, end: float) -> float:
        return recording.level_db(hz, start + 0.5, end)

    whisper_tone = (barge - 2.0, barge)  # after her words: only her tone is on the line
    assert level(heard_by_caller, SUPERVISOR_HZ, *whisper_tone) < UNHEARD_DB
    assert level(heard_by_alice, CALLER_HZ, whisper, barge) > HEARD_DB
    assert level(heard_by_caller, SUPERVISOR_HZ, barge, takeover) > HEARD_DB
    assert level(heard_by_alice, CALLER_HZ, barge, takeover) > HEARD_DB
    assert level(heard_by_caller, SUPERVISOR_HZ, takeover, listen) > HEARD_DB
    assert level(heard_by_alice, CALLER_HZ, listen, released) > HEARD_DB

    events = events_of(seen.received, call_id)
    (whispered_words,) = [e["data"] for e in of_type(events, "utterance")
                          if e["data"]["speaker"] == "supervisor"]
    assert whispered_words["supervisor"] == "alice"
    assert "card" in whispered_words["text"].lower()
    modes = [e["data"]["mode"] for e in of_type(events, "supervision")]
    assert modes == ["whisper", "barge", "takeover", "listen", "ended", "barge", "ended"]
    audited = [(e["who"], e["action"], e["outcome"]) for e in site.audited()
               if e["call_id"] == call_id]
    assert audited == [("alice", a, "done") for a in (
        "whisper", "barge", "takeover", "listen", "release", "barge", "hung up")]


def test_bad_or_unauthorised_control_is_refused_audited_and_harmless(site: Site) -> None:
    asyncio.run(asyncio.wait_for(_bad_control(site), 120))


async def _bad_control(site: Site) -> None:
    port = site.broker.port
    async with collecting(login("alice", port), EVENTS) as seen, \
            raw_client("alice", port) as alice, raw_client("voicebot", port) as service:
        await seen.subscribed(port)
        caller = site.caller()
        await until(lambda: newest_call(seen.received) is not None, what="call_started")
        call_id = newest_call(seen.received)
        assert call_id is not None
        control = f"hotline/{SITE}/calls/{call_id}/control"
        await alice.publish(f"{control}/alice", b"{not json", qos=1)
        await alice.publish(f"{control}/alice", json.dumps({"schema": 1, "action": "explode"}),
                            qos=1)
        await alice.publish(f"hotline/{SITE}/calls/in-999/control/alice",
                            json.dumps({"schema": 1, "action": "listen"}), qos=1)
        await alice.publish(f"{control}/alice", json.dumps({"schema": 1, "action": "release"}),
                            qos=1)
        # An account that is no supervisor, and alice posing as bob (the broker drops that).
        await service.publish(f"{control}/mallory", json.dumps({"schema": 1,
                                                                "action": "barge"}), qos=1)
        await alice.publish(f"{control}/bob", json.dumps({"schema": 1, "action": "barge"}),
                            qos=1)

        def refusals() -> list[dict[str, Any]]:
            on_call = of_type(events_of(seen.received, call_id), "control_rejected")
            elsewhere = [json.loads(p) for t, p in seen.received if t.endswith("/errors")]
            return [e["data"] for e in on_call + elsewhere]
        await until(lambda: len(refusals()) >= 5, 30, "five refusals")
        await asyncio.sleep(1.0)  # bob's forged message would have arrived by now
        assert caller.proc.poll() is None, "bad control messages ended the call"
        caller.stop()
    errors = sorted(r["error"] for r in refusals())
    assert len(errors) == 5, errors
    assert any("not JSON" in e for e in errors)
    assert any("unknown action 'explode'" in e for e in errors)
    assert any("no live call 'in-999'" in e for e in errors)
    assert any("alice is not on call" in e for e in errors)
    assert any("'mallory' is not a supervisor" in e for e in errors)
    refused = [(e["who"], e["outcome"]) for e in site.audited()
               if e["outcome"] == "refused" and e["call_id"] in (call_id, "in-999")]
    assert sorted(refused) == sorted([("alice", "refused")] * 4 + [("mallory", "refused")])
    assert not any(e["who"] == "bob" for e in site.audited())


CHROMIUM = "/usr/bin/chromium"


def test_a_supervisor_in_the_browser_sees_the_call_and_barges_in(
        site: Site, speech: Speech) -> None:
    asyncio.run(asyncio.wait_for(_browser(site, speech), 150))


async def _browser(site: Site, speech: Speech) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=30_000)
    base = f"http://{LOOPBACK}:{site.dashboard_port}"
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 760})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{base}/")
            await page.fill("#name", "alice")
            await page.fill("#password", passwords()["alice"][1])
            await page.click("button[type=submit]")
            await expect(page.locator("#supervisor-name")).to_have_text("alice")

            caller = site.caller(speech=speech.wav(
                "Hello, I lost my credit card yesterday. Can you block it?"), speech_after_s=2.0)
            row = page.locator("tr[data-call-id]").last
            await expect(row).to_contain_text("card_lost", timeout=60_000)
            await row.click()
            transcript = page.locator("#transcript")
            await expect(transcript.locator("li[data-speaker=caller]").first).to_contain_text(
                "credit card")
            await expect(transcript.locator("li[data-speaker=bot]").first).to_contain_text(
                "help")

            alice = site.alice()
            await page.click("button[data-action=barge]")
            alice.wait_for("tone_phone connected", timeout=40)
            connected = time.time()
            await expect(page.locator("#supervision-state")).to_have_text("alice: barge")
            await expect(page.locator("#control-status")).to_have_text("Barge: on the line.")
            await page.screenshot(path=str(site.folder / "dashboard.png"))
            await asyncio.sleep(3.0)
            alice.stop()
            caller.stop()
        finally:
            await browser.close()
    # The phone the button rang carries the caller's voice (the tone after their words).
    heard = alice.recording()
    assert heard.level_db(CALLER_HZ, connected + 0.5, connected + 3.0) > HEARD_DB
    assert problems == []
