"""The dashboard in a real browser (Chromium through Playwright, on loopback): log in, watch a
call appear and its transcript grow, barge in, and see a rejected control request."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from dashboard_helpers import BoardSink, lost_card_call
from playwright import async_api as playwright_api

from voicebot.call_events import CallEvents
from voicebot.dashboard.board import CallBoard
from voicebot.dashboard.server import bound_port, create_app, start_dashboard
from voicebot.supervisors import Supervisor, SupervisorDirectory, hash_password

# Debian's chromium (scripts/setup.sh installs it): Playwright downloads nothing.
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "s3cret-dashboard-pass"


def test_a_supervisor_follows_a_call_and_barges_in(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_scenario(tmp_path), 90))


async def _scenario(tmp_path: Path) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=10_000)
    board = CallBoard()
    sent: list[tuple[str, str, dict[str, Any]]] = []

    async def send_control(supervisor: str, call_id: str, payload: dict[str, Any]) -> None:
        sent.append((supervisor, call_id, payload))

    # The real directory, as the hotline loads it from its TOML file.
    directory = SupervisorDirectory([Supervisor("alice", "sip:alice@127.0.0.1:5090",
                                                hash_password(PASSWORD))])
    directory.save(tmp_path / "supervisors.toml")
    app = create_app(board, SupervisorDirectory.load(tmp_path / "supervisors.toml"),
                     send_control)
    runner = await start_dashboard(app, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{bound_port(runner)}"
    problems: list[str] = []
    try:
        async with playwright_api.async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 760})
                page.on("console", lambda m: problems.append(m.text) if m.type == "error"
                        else None)
                page.on("pageerror", lambda e: problems.append(str(e)))

                await page.goto(f"{base}/")
                await expect(page).to_have_url(f"{base}/login")
                await page.fill("#name", "alice")
                await page.fill("#password", PASSWORD)
                await page.click("button[type=submit]")
                await expect(page).to_have_url(f"{base}/")
                await expect(page.locator("#supervisor-name")).to_have_text("alice")
                await expect(page.locator("#connection")).to_have_text("Live")
                await expect(page.locator("#no-calls")).to_be_visible()

                now = time.time()
                events = lost_card_call(board, "in-1", started_at=now - 95)
                angry = CallEvents(BoardSink(board), "main", "in-2")
                angry.call_started("sip:***5678@10.0.0.9", now - 48)
                angry.utterance("caller", "This is the third time I am calling!")
                angry.understanding(1, "complaint", 0.81, "en", {})
                angry.emotion(1, "angry", 0.82)
                angry.latency(1, {"total": 655.0})

                row = page.locator('tr[data-call-id="in-1"]')
                await expect(row).to_contain_text("sip:***1234@10.0.0.7")
                await expect(row).to_contain_text("card_lost")
                await expect(row).to_contain_text("412 ms")
                await expect(row.locator("[data-emotion=neutral]")).to_be_visible()
                await expect(page.locator('tr[data-call-id="in-2"] .emotion-alert')
                             ).to_contain_text("angry")
                await expect(page.locator("#no-calls")).to_be_hidden()

                await row.click()
                transcript = page.locator("#transcript")
                await expect(transcript).to_contain_text("I lost my card")
                await expect(transcript.locator("li[data-speaker=caller]")).to_have_count(1)
                await expect(transcript.locator("li[data-speaker=bot]")).to_have_count(1)
                events.utterance("caller", "Yes, block it please.")
                await expect(transcript.locator("li")).to_have_count(3)
                await expect(transcript.locator("li").last).to_contain_text(
                    "Yes, block it please.")

                await page.click("button[data-action=barge]")
                await expect(page.locator("#control-status")).to_contain_text("requested")
                assert len(sent) == 1
                supervisor, call_id, payload = sent[0]
                assert (supervisor, call_id, payload["action"]) == ("alice", "in-1", "barge")
                assert payload["schema"] == 1 and payload["request_id"]

                events.supervision("alice", "barge")
                events.utterance("supervisor", "Hello, this is Alice from the card team.",
                                 "alice")
                await expect(page.locator("#supervision-state")).to_have_text("alice: barge")
                await expect(row.locator(".supervision")).to_have_text("alice: barge")
                await expect(page.locator("button[data-action=barge]")).to_have_attribute(
                    "aria-pressed", "true")
                await expect(transcript.locator("li[data-speaker=supervisor]")).to_contain_text(
                    "Supervisor (alice)")
                await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

                await page.click("button[data-action=whisper]")
                await expect(page.locator("#control-status")).to_contain_text("Whisper")
                events.control_rejected("alice", "whisper", "alice is already in this call",
                                        sent[-1][2]["request_id"])
                error = page.locator("#control-error")
                await expect(error).to_contain_text("alice is already in this call")
                await expect(error).to_contain_text("Whisper refused")

                events.call_ended("caller hung up", 95.0, 2)
                await expect(page.locator("#call-status")).to_contain_text("Ended")
                await expect(page.locator("button[data-action=barge]")).to_be_disabled()
            finally:
                await browser.close()
    finally:
        await runner.cleanup()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert problems == []
